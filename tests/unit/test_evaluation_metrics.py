"""Ranking metrics and the calibration table of `holdfast evaluate`."""

from __future__ import annotations

import math

import pytest

from holdfast.evaluation.metrics import (
    CalibrationBucket,
    calibration_table,
    ndcg_at_k,
    ranking_metrics,
    threshold_from_calibration,
)


def test_metrics_count_hits_recall_and_ndcg_per_evaluated_customer():
    truth = {"a": {"p1", "p9"}, "b": {"p3"}, "c": set()}
    recommended = {"a": ["p0", "p1"], "b": ["p2"], "c": ["p5"]}
    m = ranking_metrics(recommended, truth, k=2, n_recommendable=10)
    assert m.n_customers == 2  # c bought nothing new: not evaluated
    assert m.hit_rate == pytest.approx(0.5)
    assert m.precision == pytest.approx((1 / 2 + 0) / 2)
    assert m.recall == pytest.approx((1 / 2 + 0) / 2)
    ideal_a = 1 + 1 / math.log2(3)
    assert m.ndcg == pytest.approx((1 / math.log2(3)) / ideal_a / 2)
    assert m.catalog_coverage == pytest.approx(3 / 10)  # p0, p1, p2 shown to evaluated
    assert m.customers_with_recommendations == 1.0


def test_only_the_first_k_recommendations_count():
    truth = {"a": {"p3"}}
    m = ranking_metrics({"a": ["p1", "p2", "p3"]}, truth, k=2, n_recommendable=5)
    assert m.hit_rate == 0.0


def test_a_customer_without_recommendations_counts_as_a_miss():
    truth = {"a": {"p1"}, "b": {"p1"}}
    m = ranking_metrics({"a": ["p1"]}, truth, k=10, n_recommendable=5)
    assert m.hit_rate == 0.5
    assert m.customers_with_recommendations == 0.5


def test_ndcg_is_one_for_a_perfect_list():
    assert ndcg_at_k(["x", "y", "z"], {"x", "y"}, 10) == pytest.approx(1.0)


def test_nothing_to_evaluate_is_a_clear_error():
    with pytest.raises(ValueError, match="nothing to evaluate"):
        ranking_metrics({}, {"a": set()}, k=10, n_recommendable=1)


def test_calibration_buckets_by_confidence_and_counts_hits():
    truth = {"a": {"p1"}, "b": {"p2"}}
    candidates = [
        ("a", "p1", 0.9),
        ("a", "p2", 0.85),
        ("b", "p2", 0.15),
        ("b", "p3", 0.1),
        ("z", "p1", 0.95),  # not an evaluated customer
        ("a", "p4", 1.0),  # the top edge belongs to the last bucket
    ]
    buckets = calibration_table(candidates, truth, [0.0, 0.5, 1.0])
    assert [(b.n_candidates, b.n_hits) for b in buckets] == [(2, 1), (3, 1)]
    assert buckets[0].hit_rate == 0.5


def test_threshold_is_the_lowest_bucket_before_hit_rate_drops_below_the_bar():
    buckets = [
        CalibrationBucket(0.0, 0.2, 1000, 5),
        CalibrationBucket(0.2, 0.4, 1000, 30),
        CalibrationBucket(0.4, 0.6, 500, 40),
        CalibrationBucket(0.6, 0.8, 10, 0),  # too few to judge
        CalibrationBucket(0.8, 1.0, 100, 20),
    ]
    assert threshold_from_calibration(buckets, min_hit_rate=0.02) == 0.2
    assert threshold_from_calibration(buckets, min_hit_rate=0.005) == 0.0
    assert threshold_from_calibration(buckets, min_hit_rate=0.5) == 1.0


def test_calibration_edges_must_increase():
    with pytest.raises(ValueError, match="increasing"):
        calibration_table([], {}, [0.5, 0.5])
