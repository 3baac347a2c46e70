"""domain.segmentation: refit policy, cluster size, sampling order."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from holdfast.domain.segmentation import (
    NOISE_SEGMENT_ID,
    FittedModelInfo,
    auto_min_cluster_size,
    match_segment_ids,
    refit_decision,
    sample_rank_key,
)

POLICY = {"growth_threshold": 1.0, "minimum_population": 50}


def test_noise_segment_id_is_minus_one():
    assert NOISE_SEGMENT_ID == -1


# refit_decision ------------------------------------------------------------------------------


def test_refit_decision_refuses_to_fit_below_the_minimum_population_even_when_forced():
    fit, reason = refit_decision(None, 49, forced=True, **POLICY)
    assert fit is False
    assert "49" in reason and "50" in reason


def test_refit_decision_fits_when_there_is_no_model_yet():
    fit, reason = refit_decision(None, 50, forced=False, **POLICY)
    assert fit is True
    assert "no segment model" in reason


def test_refit_decision_fits_when_the_operator_forces_it():
    current = FittedModelInfo("seg-a", population_at_fit=1000)
    fit, reason = refit_decision(current, 1000, forced=True, **POLICY)
    assert fit is True
    assert "segment_refit" in reason


def test_refit_decision_fits_when_population_grew_more_than_the_threshold():
    current = FittedModelInfo("seg-a", population_at_fit=100)
    fit, reason = refit_decision(current, 201, forced=False, **POLICY)  # growth 101%
    assert fit is True
    assert "101%" in reason and "100%" in reason


def test_refit_decision_keeps_the_model_when_growth_equals_the_threshold():
    current = FittedModelInfo("seg-a", population_at_fit=100)
    assert refit_decision(current, 200, forced=False, **POLICY) == (False, "current model kept")


@pytest.mark.parametrize("population_now", [100, 150, 60])
def test_refit_decision_keeps_the_model_when_growth_is_small_or_negative(population_now):
    current = FittedModelInfo("seg-a", population_at_fit=100)
    fit, reason = refit_decision(current, population_now, forced=False, **POLICY)
    assert (fit, reason) == (False, "current model kept")


def test_refit_decision_treats_a_model_fitted_on_zero_customers_as_base_one():
    current = FittedModelInfo("seg-a", population_at_fit=0)
    fit, _ = refit_decision(current, 60, forced=False, **POLICY)  # growth (60-1)/1
    assert fit is True


def test_refit_decision_uses_the_given_growth_threshold():
    current = FittedModelInfo("seg-a", population_at_fit=100)
    policy = {"growth_threshold": 0.25, "minimum_population": 10}
    assert refit_decision(current, 126, forced=False, **policy)[0] is True
    assert refit_decision(current, 125, forced=False, **policy)[0] is False


# auto_min_cluster_size -----------------------------------------------------------------------


@pytest.mark.parametrize("n_sample", [0, 1, 100, 1000])
def test_auto_min_cluster_size_is_at_least_ten(n_sample):
    assert auto_min_cluster_size(n_sample) == 10


@pytest.mark.parametrize(("n_sample", "expected"), [(5000, 50), (20_000, 200), (50_000, 500)])
def test_auto_min_cluster_size_is_one_percent_of_large_samples(n_sample, expected):
    assert auto_min_cluster_size(n_sample) == expected


def test_auto_min_cluster_size_never_decreases_with_the_sample():
    sizes = [auto_min_cluster_size(n) for n in range(0, 50_000, 37)]
    assert sizes == sorted(sizes)


# sample_rank_key -----------------------------------------------------------------------------


def test_sample_rank_key_is_deterministic():
    assert sample_rank_key("cust-1", 7) == sample_rank_key("cust-1", 7)


def test_sample_rank_key_is_the_sha256_of_seed_colon_customer_id():
    expected = hashlib.sha256(b"7:cust-1").hexdigest()
    assert sample_rank_key("cust-1", 7) == expected
    assert re.fullmatch(r"[0-9a-f]{64}", sample_rank_key("x", 0))


def test_sample_rank_key_depends_on_the_seed_and_the_customer():
    assert sample_rank_key("cust-1", 7) != sample_rank_key("cust-1", 8)
    assert sample_rank_key("cust-1", 7) != sample_rank_key("cust-2", 7)


def test_sample_rank_key_orders_customers_differently_under_another_seed():
    ids = [f"customer-{i}" for i in range(50)]
    first = sorted(ids, key=lambda c: sample_rank_key(c, 1))
    again = sorted(ids, key=lambda c: sample_rank_key(c, 1))
    other = sorted(ids, key=lambda c: sample_rank_key(c, 2))
    assert first == again
    assert first != other
    assert first[:10] != other[:10]


# match_segment_ids ---------------------------------------------------------------------------


def test_refit_clusters_keep_the_ids_of_the_segments_they_match():
    # previous model: segments 0 (customers 0-5), 1 (6-9), noise 10-11
    previous = np.array([0] * 6 + [1] * 4 + [-1] * 2)
    # refit: the clusterer numbers them the other way round and noise moves a bit
    new = np.array([4] * 5 + [-1] + [2] * 4 + [2, -1])
    mapping, next_id = match_segment_ids(new, previous, next_segment_id=2)
    assert mapping == {4: 0, 2: 1}
    assert next_id == 2


def test_a_new_cluster_gets_an_id_never_used_before():
    previous = np.array([0] * 4 + [3] * 4 + [-1] * 4)  # ids 1, 2 retired earlier
    new = np.array([1] * 4 + [-1] * 4 + [0] * 4)  # segment 3 vanished, a new group appeared
    mapping, next_id = match_segment_ids(new, previous, next_segment_id=5)
    assert mapping == {1: 0, 0: 5}
    assert next_id == 6


def test_a_weak_overlap_is_not_a_match():
    previous = np.array([0] * 10 + [-1] * 10)
    new = np.array([-1] * 9 + [7] * 11)  # shares 1 customer of 20: Jaccard 0.05
    mapping, _ = match_segment_ids(new, previous, next_segment_id=1)
    assert mapping == {7: 1}


def test_unmatched_clusters_are_numbered_by_size_then_label():
    previous = np.full(9, -1)
    new = np.array([5, 5, 2, 2, 9, 9, 9, -1, -1])
    mapping, next_id = match_segment_ids(new, previous, next_segment_id=0)
    assert mapping == {9: 0, 2: 1, 5: 2}
    assert next_id == 3


def test_matching_needs_the_same_customers_on_both_sides():
    with pytest.raises(ValueError, match="same customers"):
        match_segment_ids(np.array([0, 1]), np.array([0]), next_segment_id=0)
