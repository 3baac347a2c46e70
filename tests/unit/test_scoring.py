"""domain.scoring: weights, popularity prior, confidence blend, predicted value, top k."""

from __future__ import annotations

import math

import numpy as np
import pytest

from holdfast.domain.scoring import (
    ScoringWeights,
    blend_confidence,
    popularity_prior,
    predicted_value,
    top_k,
)


def clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def reference_top_k(scores: np.ndarray, k: int, excluded: np.ndarray | None) -> list[list[int]]:
    """Brute force: sort the allowed columns by (-score, column), keep k, pad with -1."""
    n_rows, n_cols = scores.shape
    width = min(k, n_cols)
    result = []
    for row in range(n_rows):
        allowed = [c for c in range(n_cols) if excluded is None or not excluded[row, c]]
        best = sorted(allowed, key=lambda c: (-float(scores[row, c]), c))[:width]
        result.append(best + [-1] * (width - len(best)))
    return result


# ScoringWeights ------------------------------------------------------------------------------


def test_default_weights_are_non_negative_and_sum_to_one():
    weights = ScoringWeights()
    parts = (weights.similarity, weights.segment, weights.popularity)
    assert all(p >= 0 for p in parts)
    assert sum(parts) == pytest.approx(1.0)


@pytest.mark.parametrize("parts", [(1.0, 0.0, 0.0), (0.2, 0.3, 0.5), (0.0, 0.0, 1.0)])
def test_weights_summing_to_one_are_accepted(parts):
    weights = ScoringWeights(*parts)
    assert (weights.similarity, weights.segment, weights.popularity) == parts


@pytest.mark.parametrize(
    "parts",
    [
        (0.5, 0.5, 0.5),
        (0.1, 0.1, 0.1),
        (1.2, -0.1, -0.1),
        (0.5, 0.6, -0.1),
        (float("nan"), 0.5, 0.5),
        (float("inf"), 0.0, 0.0),
    ],
)
def test_weights_that_are_negative_or_do_not_sum_to_one_raise(parts):
    with pytest.raises(ValueError, match="sum to 1"):
        ScoringWeights(*parts)


# popularity_prior ----------------------------------------------------------------------------


def test_popularity_prior_is_log1p_count_over_log1p_max():
    counts = [0, 1, 9, 99, 40]
    expected = [math.log1p(c) / math.log1p(99) for c in counts]
    prior = popularity_prior(np.array(counts))
    assert prior.dtype == np.float32
    np.testing.assert_allclose(prior, expected, rtol=1e-6)


def test_popularity_prior_is_in_unit_interval_with_one_for_the_best_seller():
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
    similarity = rng.uniform(-1.2, 1.2, size=(5, 7))
    affinity = rng.uniform(-0.2, 1.2, size=(5, 7))
    popularity = rng.uniform(0, 1, size=7)
    weights = ScoringWeights(0.5, 0.3, 0.2)
    confidence = blend_confidence(similarity, affinity, popularity, weights)
    for i in range(5):
        for j in range(7):
            expected = (
                0.5 * clip01(similarity[i, j])
                + 0.3 * clip01(affinity[i, j])
                + 0.2 * clip01(popularity[j])
            )
            assert confidence[i, j] == pytest.approx(round(expected, 6), abs=1.5e-6)
            assert confidence[i, j] == round(float(confidence[i, j]), 6)


def test_blend_confidence_stays_in_unit_interval_for_any_inputs():
    rng = np.random.default_rng(2)
    confidence = blend_confidence(
        rng.normal(scale=3, size=(20, 30)),
        rng.normal(scale=3, size=(20, 30)),
        rng.normal(scale=3, size=30),
        ScoringWeights(),
    )
    assert confidence.min() >= 0.0 and confidence.max() <= 1.0


def test_blend_confidence_is_one_when_every_signal_is_maximal_and_zero_when_none_is():
    weights = ScoringWeights()
    ones = blend_confidence(np.ones((2, 3)), np.ones((2, 3)), np.ones(3), weights)
    zeros = blend_confidence(-np.ones((2, 3)), np.zeros((2, 3)), np.zeros(3), weights)
    np.testing.assert_allclose(ones, 1.0)
    np.testing.assert_array_equal(zeros, 0.0)


# predicted_value -----------------------------------------------------------------------------


def test_predicted_value_is_confidence_times_typical_spend_to_two_decimals():
    rng = np.random.default_rng(3)
    confidence = np.round(rng.uniform(0, 1, size=50), 6)
    spend = np.round(rng.uniform(0.5, 300, size=50), 2)
    values = predicted_value(confidence, spend)
    for c, s, v in zip(confidence, spend, values, strict=True):
        assert v == round(float(c) * float(s), 2)


def test_predicted_value_is_zero_for_zero_confidence():
    np.testing.assert_array_equal(predicted_value(np.zeros(3), np.array([1.0, 5.0, 9.9])), 0.0)


# top_k ---------------------------------------------------------------------------------------


def test_top_k_returns_best_columns_first():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2]]


def test_top_k_breaks_ties_by_lower_column_index():
    scores = np.array([[0.5, 0.8, 0.5, 0.8, 0.5], [0.3, 0.3, 0.3, 0.3, 0.3]])
    assert top_k(scores, 4).tolist() == [[1, 3, 0, 2], [0, 1, 2, 3]]


def test_top_k_never_returns_an_excluded_column():
    scores = np.array([[0.9, 0.8, 0.7, 0.6]])
    excluded = np.array([[True, False, True, False]])
    assert top_k(scores, 2, excluded).tolist() == [[1, 3]]


def test_top_k_pads_with_minus_one_when_a_row_has_fewer_allowed_candidates_than_k():
    scores = np.array([[0.2, 0.4, 0.6], [0.1, 0.2, 0.3], [0.5, 0.5, 0.5]])
    excluded = np.array([[False, True, True], [True, True, True], [False, False, False]])
    assert top_k(scores, 2, excluded).tolist() == [[0, -1], [-1, -1], [0, 1]]


def test_top_k_with_k_above_the_number_of_columns_returns_every_column():
    scores = np.array([[0.3, 0.1, 0.2]])
    assert top_k(scores, 10).tolist() == [[0, 2, 1]]


def test_top_k_with_k_zero_returns_an_empty_row_per_input_row():
    assert top_k(np.ones((3, 4)), 0).shape == (3, 0)


def test_top_k_does_not_modify_the_scores():
    scores = np.array([[0.1, 0.2, 0.3]])
    top_k(scores, 2, np.array([[False, False, True]]))
    np.testing.assert_array_equal(scores, [[0.1, 0.2, 0.3]])


def test_top_k_rejects_scores_that_are_not_a_matrix():
    with pytest.raises(ValueError):
        top_k(np.ones(4), 2)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [1, 3, 5, 12])
def test_top_k_matches_a_brute_force_sort_on_random_scores_with_ties_and_exclusions(seed, k):
    rng = np.random.default_rng(seed)
    n_rows, n_cols = 15, 9
    # Few distinct values, so ties are everywhere.
    scores = rng.integers(0, 4, size=(n_rows, n_cols)) / 4.0
    excluded = rng.random((n_rows, n_cols)) < 0.35
    excluded[0] = True  # a row with nothing allowed
    excluded[1] = True
    excluded[1, 4] = False  # a row with exactly one allowed column
    picked = top_k(scores, k, excluded)
    assert picked.dtype == np.int64
    assert picked.tolist() == reference_top_k(scores, k, excluded)


@pytest.mark.parametrize("seed", range(4))
def test_top_k_matches_a_brute_force_sort_on_continuous_scores_without_exclusions(seed):
    rng = np.random.default_rng(100 + seed)
    scores = rng.uniform(size=(10, 25))
    assert top_k(scores, 6).tolist() == reference_top_k(scores, 6, None)
