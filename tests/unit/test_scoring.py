"""domain.scoring: weights, popularity prior, confidence blend, predicted value, affinity
rows and the recommender refit policy."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from holdfast.domain.scoring import (
    SCORE_DECIMALS,
    RecommenderFitInfo,
    ScoringWeights,
    affinity_rows,
    blend_confidence,
    copurchase_evidence,
    popularity_prior,
    predicted_value,
    recommender_refit_decision,
)
from holdfast.settings import ScoringSettings

# the project's default blend (vars recommendation_weight_*)
PROJECT_WEIGHTS = ScoringSettings().weights


def clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


# ScoringWeights ------------------------------------------------------------------------------


def test_default_weights_are_non_negative_finite_and_sum_to_one():
    weights = PROJECT_WEIGHTS
    parts = (
        weights.copurchase,
        weights.semantic,
        weights.segment,
        weights.popularity,
        weights.ease,
    )
    assert all(math.isfinite(p) and p >= 0 for p in parts)
    assert sum(parts) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "parts",
    [
        (1.0, 0.0, 0.0, 0.0),
        (0.0, 1.0, 0.0, 0.0),
        (0.0, 0.0, 1.0, 0.0),
        (0.0, 0.0, 0.0, 1.0),
        (0.4, 0.3, 0.2, 0.1),
        (0.25, 0.25, 0.25, 0.25),
    ],
)
def test_four_weights_summing_to_one_are_accepted_in_field_order(parts):
    weights = ScoringWeights(*parts)
    assert (weights.copurchase, weights.semantic, weights.segment, weights.popularity) == parts


def test_weights_can_be_given_by_name():
    weights = ScoringWeights(copurchase=0.1, semantic=0.2, segment=0.3, popularity=0.4)
    assert (weights.copurchase, weights.semantic, weights.segment, weights.popularity) == (
        0.1,
        0.2,
        0.3,
        0.4,
    )


@pytest.mark.parametrize(
    "parts",
    [
        (0.5, 0.5, 0.5, 0.5),
        (0.1, 0.1, 0.1, 0.1),
        (0.0, 0.0, 0.0, 0.0),
        (1.2, -0.1, -0.1, 0.0),
        (0.5, 0.6, 0.0, -0.1),
        (-1.0, 1.0, 0.5, 0.5),
        (float("nan"), 0.5, 0.25, 0.25),
        (0.0, float("inf"), 0.0, 0.0),
        (0.5, 0.5, 0.0, float("-inf")),
    ],
)
def test_weights_that_are_negative_not_finite_or_do_not_sum_to_one_raise(parts):
    with pytest.raises(ValueError, match="sum to 1"):
        ScoringWeights(*parts)


def test_weights_are_immutable():
    weights = PROJECT_WEIGHTS
    with pytest.raises(AttributeError):
        weights.copurchase = 1.0  # type: ignore[misc]


def test_weights_label_names_every_weight_with_its_value_in_field_order():
    weights = ScoringWeights(0.4, 0.3, 0.2, 0.1)
    assert weights.label() == "copurchase=0.4,semantic=0.3,segment=0.2,popularity=0.1,ease=0"


def test_weights_label_is_stable_and_differs_when_a_weight_differs():
    a = ScoringWeights(0.55, 0.15, 0.15, 0.15)
    assert a.label() == ScoringWeights(0.55, 0.15, 0.15, 0.15).label()
    others = [
        ScoringWeights(0.5, 0.2, 0.15, 0.15),
        ScoringWeights(0.55, 0.15, 0.2, 0.1),
        ScoringWeights(0.55, 0.1, 0.15, 0.2),
        ScoringWeights(0.15, 0.15, 0.15, 0.55),
    ]
    labels = {w.label() for w in others}
    assert a.label() not in labels
    assert len(labels) == len(others)


def test_weights_label_round_trips_to_the_same_weights():
    weights = ScoringWeights(0.125, 0.25, 0.0, 0.5, ease=0.125)
    parsed = dict(part.split("=") for part in weights.label().split(","))
    assert list(parsed) == ["copurchase", "semantic", "segment", "popularity", "ease"]
    assert ScoringWeights(**{name: float(value) for name, value in parsed.items()}) == weights


# popularity_prior ----------------------------------------------------------------------------


def test_popularity_prior_is_log1p_count_over_log1p_max():
    counts = [0, 1, 9, 99, 40]
    expected = [math.log1p(c) / math.log1p(99) for c in counts]
    prior = popularity_prior(np.array(counts))
    assert prior.dtype == np.float32
    np.testing.assert_allclose(prior, expected, rtol=1e-6)


def test_popularity_prior_is_in_unit_interval_monotone_with_one_for_the_best_seller():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 10_000, size=200)
    prior = popularity_prior(counts)
    assert prior.min() >= 0.0 and prior.max() <= 1.0
    assert prior[np.argmax(counts)] == pytest.approx(1.0)
    order = np.argsort(counts, kind="stable")
    assert np.all(np.diff(prior[order]) >= 0)


def test_popularity_prior_is_all_zeros_when_nothing_sold():
    np.testing.assert_array_equal(popularity_prior(np.zeros(4)), np.zeros(4))


def test_popularity_prior_of_no_products_is_empty():
    assert popularity_prior(np.array([])).shape == (0,)


def test_popularity_prior_treats_negative_counts_as_zero():
    prior = popularity_prior(np.array([-5.0, 0.0, 3.0]))
    assert prior[0] == 0.0 and prior[1] == 0.0
    assert prior[2] == pytest.approx(1.0)


# blend_confidence ----------------------------------------------------------------------------


def test_blend_confidence_is_the_clipped_weighted_sum_rounded_to_six_decimals():
    rng = np.random.default_rng(1)
    n = 200
    copurchase = rng.uniform(-0.3, 1.3, size=n)
    semantic = rng.uniform(-0.3, 1.3, size=n)
    affinity = rng.uniform(-0.3, 1.3, size=n)
    popularity = rng.uniform(-0.3, 1.3, size=n)
    weights = ScoringWeights(0.4, 0.3, 0.2, 0.1)
    confidence = blend_confidence(copurchase, semantic, affinity, popularity, weights)
    assert confidence.shape == (n,)
    assert SCORE_DECIMALS == 6
    for i in range(n):
        expected = (
            0.4 * clip01(copurchase[i])
            + 0.3 * clip01(semantic[i])
            + 0.2 * clip01(affinity[i])
            + 0.1 * clip01(popularity[i])
        )
        assert confidence[i] == pytest.approx(round(expected, 6), abs=1.5e-6)
        assert confidence[i] == round(float(confidence[i]), 6)


@pytest.mark.parametrize("signal", range(4))
def test_blend_confidence_with_all_weight_on_one_signal_returns_that_signal_clipped(signal):
    rng = np.random.default_rng(10 + signal)
    signals = [rng.uniform(-0.5, 1.5, size=50) for _ in range(4)]
    parts = [0.0] * 4
    parts[signal] = 1.0
    confidence = blend_confidence(*signals, ScoringWeights(*parts))
    np.testing.assert_allclose(
        confidence, np.round(np.clip(signals[signal], 0.0, 1.0), 6), atol=1e-12
    )


def test_blend_confidence_stays_in_unit_interval_for_any_inputs():
    rng = np.random.default_rng(2)
    confidence = blend_confidence(
        rng.normal(scale=3, size=500),
        rng.normal(scale=3, size=500),
        rng.normal(scale=3, size=500),
        rng.normal(scale=3, size=500),
        PROJECT_WEIGHTS,
    )
    assert confidence.min() >= 0.0 and confidence.max() <= 1.0


def test_blend_confidence_is_one_when_every_signal_is_maximal_and_zero_when_none_is():
    weights = PROJECT_WEIGHTS
    ones = blend_confidence(
        np.ones(3), np.ones(3), np.full(3, 2.0), np.ones(3), weights, ease=np.ones(3)
    )
    zeros = blend_confidence(
        -np.ones(3), np.zeros(3), np.zeros(3), -np.ones(3), weights, ease=np.zeros(3)
    )
    np.testing.assert_allclose(ones, 1.0)
    np.testing.assert_array_equal(zeros, 0.0)


def test_blend_confidence_is_monotone_in_each_signal():
    rng = np.random.default_rng(3)
    base = [rng.uniform(0, 0.9, size=100) for _ in range(4)]
    weights = ScoringWeights(0.4, 0.3, 0.2, 0.1)
    before = blend_confidence(*base, weights)
    for signal in range(4):
        raised = list(base)
        raised[signal] = base[signal] + 0.1
        assert np.all(blend_confidence(*raised, weights) > before)


def test_blend_confidence_does_not_modify_its_inputs_and_accepts_lists():
    copurchase = np.array([1.5, -0.2])
    kept = copurchase.copy()
    from_arrays = blend_confidence(copurchase, [0.5, 0.5], [0.2, 0.2], [0.1, 0.9], PROJECT_WEIGHTS)
    np.testing.assert_array_equal(copurchase, kept)
    from_lists = blend_confidence([1.5, -0.2], [0.5, 0.5], [0.2, 0.2], [0.1, 0.9], PROJECT_WEIGHTS)
    np.testing.assert_array_equal(from_arrays, from_lists)


def test_blend_confidence_adds_the_weighted_ease_signal():
    rng = np.random.default_rng(4)
    signals = [rng.uniform(-0.3, 1.3, size=100) for _ in range(5)]
    weights = ScoringWeights(0.25, 0.2, 0.1, 0.15, ease=0.3)
    confidence = blend_confidence(*signals[:4], weights, ease=signals[4])
    for i in range(100):
        parts = [clip01(s[i]) for s in signals]
        expected = (
            0.25 * parts[0] + 0.2 * parts[1] + 0.1 * parts[2] + 0.15 * parts[3] + 0.3 * parts[4]
        )
        assert confidence[i] == pytest.approx(round(expected, 6), abs=1.5e-6)
    # without an ease array the signal is 0
    without = blend_confidence(*signals[:4], weights)
    np.testing.assert_allclose(
        without,
        blend_confidence(*signals[:4], weights, ease=np.zeros(100)),
        atol=0,
    )


def test_copurchase_evidence_is_the_weighted_mean_of_the_two_co_purchase_signals():
    rng = np.random.default_rng(5)
    knn, ease = rng.uniform(-0.2, 1.2, size=50), rng.uniform(-0.2, 1.2, size=50)
    weights = ScoringWeights(0.2, 0.2, 0.0, 0.3, ease=0.3)
    evidence = copurchase_evidence(knn, ease, weights)
    for i in range(50):
        expected = (0.2 * clip01(knn[i]) + 0.3 * clip01(ease[i])) / 0.5
        assert evidence[i] == pytest.approx(expected, abs=1e-12)
    # the confidence is the blend of the four reported signals, co-purchase weighing 0.5
    semantic, affinity, popularity = (rng.uniform(0, 1, size=50) for _ in range(3))
    confidence = blend_confidence(knn, semantic, affinity, popularity, weights, ease=ease)
    four = blend_confidence(
        evidence, semantic, affinity, popularity, ScoringWeights(0.5, 0.2, 0.0, 0.3)
    )
    np.testing.assert_allclose(confidence, four, atol=1.5e-6)
    # no co-purchase weight at all: the item-kNN signal as it is (clipped)
    none = ScoringWeights(0.0, 0.5, 0.0, 0.5)
    np.testing.assert_allclose(copurchase_evidence(knn, ease, none), np.clip(knn, 0, 1))


# predicted_value -----------------------------------------------------------------------------


def test_predicted_value_is_confidence_times_typical_spend_to_two_decimals():
    rng = np.random.default_rng(3)
    confidence = np.round(rng.uniform(0, 1, size=50), 6)
    spend = np.round(rng.uniform(0.5, 300, size=50), 2)
    values = predicted_value(confidence, spend)
    for c, s, v in zip(confidence, spend, values, strict=True):
        assert v == round(float(c) * float(s), 2)


def test_predicted_value_is_zero_for_zero_confidence_and_the_spend_for_full_confidence():
    spend = np.array([1.0, 5.0, 9.99])
    np.testing.assert_array_equal(predicted_value(np.zeros(3), spend), 0.0)
    np.testing.assert_array_equal(predicted_value(np.ones(3), spend), spend)


# affinity_rows -------------------------------------------------------------------------------


def test_affinity_rows_divide_each_row_by_its_maximum_at_six_decimals():
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 30, size=(5, 12)).astype(np.float64)
    affinity = affinity_rows(counts)
    assert affinity.shape == counts.shape
    assert affinity.dtype == np.float32
    for g in range(5):
        top = counts[g].max()
        for j in range(12):
            expected = round(counts[g, j] / top, 6) if top > 0 else 0.0
            assert affinity[g, j] == pytest.approx(expected, abs=1e-7)


def test_affinity_rows_are_in_unit_interval_with_one_at_each_rows_best():
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 1000, size=(8, 40))
    affinity = affinity_rows(counts)
    assert affinity.min() >= 0.0 and affinity.max() <= 1.0
    for g in range(8):
        assert affinity[g, np.argmax(counts[g])] == 1.0
        order = np.argsort(counts[g], kind="stable")
        assert np.all(np.diff(affinity[g, order]) >= 0)


def test_affinity_rows_keep_all_zero_rows_at_zero():
    counts = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 4.0], [0.0, 0.0, 0.0]])
    affinity = affinity_rows(counts)
    np.testing.assert_array_equal(affinity[0], 0.0)
    np.testing.assert_array_equal(affinity[2], 0.0)
    np.testing.assert_allclose(affinity[1], [0.5, 0.0, 1.0])
    assert np.isfinite(affinity).all()


def test_affinity_rows_of_no_items_keep_the_number_of_groups():
    assert affinity_rows(np.zeros((3, 0))).shape == (3, 0)


# recommender_refit_decision ------------------------------------------------------------------

CURRENT = RecommenderFitInfo(
    recommender_model_id="rec-0000",
    population_at_fit=100,
    catalog_fingerprint="cat-1",
    segment_model_id="seg-1",
)


def decide(current=CURRENT, **overrides):
    kwargs = {
        "population": 100,
        "catalog_fingerprint": "cat-1",
        "segment_model_id": "seg-1",
        "forced": False,
        "growth_threshold": 0.2,
    }
    kwargs.update(overrides)
    return recommender_refit_decision(current, **kwargs)


def test_refit_is_skipped_when_no_customer_has_purchases_even_if_forced_or_missing():
    for current in (None, CURRENT):
        for forced in (False, True):
            assert decide(current, population=0, forced=forced) == (
                False,
                "no customer with purchases yet",
            )


def test_refit_happens_when_there_is_no_recommender_yet():
    assert decide(None) == (True, "no recommender yet")
    assert decide(None, forced=True) == (True, "no recommender yet")


def test_refit_happens_when_the_operator_forces_it():
    assert decide(forced=True) == (True, "refit requested (var recommender_refit)")


def test_forcing_takes_precedence_over_the_other_reasons():
    fit, reason = decide(forced=True, catalog_fingerprint="cat-2", segment_model_id="seg-2")
    assert fit and reason == "refit requested (var recommender_refit)"


def test_refit_happens_when_the_embedded_catalog_changed():
    assert decide(catalog_fingerprint="cat-2") == (True, "the embedded catalog changed")
    both = decide(catalog_fingerprint="cat-2", segment_model_id="seg-2", population=1000)
    assert both == (True, "the embedded catalog changed")


def test_refit_happens_when_the_segment_model_changed():
    assert decide(segment_model_id="seg-2") == (True, "the segment model changed")
    assert decide(segment_model_id="seg-2", population=1000) == (
        True,
        "the segment model changed",
    )


def test_refit_happens_when_customers_grew_past_the_threshold_and_says_by_how_much():
    fit, reason = decide(population=150, growth_threshold=0.2)
    assert fit
    assert reason == "customers grew 50% since the last fit (threshold 20%)"


def test_growth_exactly_at_the_threshold_keeps_the_current_recommender():
    assert decide(population=120, growth_threshold=0.2) == (False, "current recommender kept")
    fit, _ = decide(population=121, growth_threshold=0.2)
    assert fit


def test_shrinking_or_unchanged_population_keeps_the_current_recommender():
    for population in (1, 50, 99, 100):
        assert decide(population=population) == (False, "current recommender kept")


def test_growth_from_an_empty_fit_is_measured_against_one_customer():
    empty = replace(CURRENT, population_at_fit=0)
    assert decide(empty, population=1, growth_threshold=0.2) == (
        False,
        "current recommender kept",
    )
    fit, reason = decide(empty, population=3, growth_threshold=0.2)
    assert fit
    assert reason == "customers grew 200% since the last fit (threshold 20%)"


@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("population", [100, 101, 104, 106, 149, 151, 200, 401])
def test_growth_rule_matches_its_definition(threshold, population):
    fit, reason = decide(population=population, growth_threshold=threshold)
    growth = (population - 100) / 100
    assert fit == (growth > threshold)
    if fit:
        assert reason.startswith(f"customers grew {round(growth * 100)}% since the last fit")
    else:
        assert reason == "current recommender kept"


def test_refit_happens_when_the_fit_settings_changed():
    fitted = replace(CURRENT, fit_settings='{"ease_max_items": 5000}')
    assert decide(fitted, fit_settings='{"ease_max_items": 5000}') == (
        False,
        "current recommender kept",
    )
    assert decide(fitted, fit_settings='{"ease_max_items": 2000}') == (
        True,
        "the fit settings changed",
    )
    # a recommender whose settings are not known is compared on the rest only
    assert decide(CURRENT) == (False, "current recommender kept")
    # the catalog and the segment model are named first
    assert decide(fitted, fit_settings="{}", catalog_fingerprint="cat-2") == (
        True,
        "the embedded catalog changed",
    )
