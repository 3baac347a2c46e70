"""Baselines of `holdfast evaluate`: same rules, deterministic ties."""

from __future__ import annotations

import numpy as np
import pytest

from holdfast.evaluation.baselines import (
    Interactions,
    item_knn_scores,
    item_similarity,
    popularity_scores,
    recommend_top_k,
    segment_popularity_scores,
    top_candidates,
    top_k,
)

PRODUCTS = ["p1", "p2", "p3", "p4"]


def interactions() -> Interactions:
    pairs = [
        ("a", "p1"),
        ("a", "p2"),
        ("b", "p1"),
        ("b", "p2"),
        ("c", "p1"),
        ("c", "p3"),
        ("d", "p3"),
        ("d", "p4"),
        ("d", "zz"),  # not in the catalog: dropped
    ]
    return Interactions.from_pairs(pairs, PRODUCTS)


def test_interactions_are_sorted_and_binary():
    data = interactions()
    assert data.customer_ids == ["a", "b", "c", "d"]
    assert data.product_ids == PRODUCTS
    assert data.matrix.sum() == 8


def test_popularity_never_recommends_bought_or_out_of_stock_products():
    data = interactions()
    in_stock = np.array([True, True, True, False])
    recs = recommend_top_k(popularity_scores(data), data, in_stock, 10)
    assert recs["a"] == ["p3"]  # p1, p2 bought; p4 out of stock
    assert recs["d"] == ["p1", "p2"]  # p1 (3 buyers) before p2 (2)


def test_ties_go_to_the_lower_product_id():
    data = Interactions.from_pairs([("a", "p4"), ("b", "p2"), ("c", "p3")], PRODUCTS)
    recs = recommend_top_k(popularity_scores(data), data, np.ones(4, dtype=bool), 2)
    assert recs["a"] == ["p2", "p3"]


def test_item_knn_recommends_what_co_buyers_of_my_products_bought():
    data = interactions()
    recs = recommend_top_k(
        item_knn_scores(data, neighbours=0),
        data,
        np.ones(4, dtype=bool),
        1,
        require_positive=True,
    )
    assert recs["a"] == ["p3"]  # p1's buyer c also bought p3
    assert recs["d"] == ["p1"]  # p3's buyer c also bought p1


def test_item_similarity_keeps_only_the_nearest_neighbours():
    data = interactions()
    full = item_similarity(data.matrix, 0)
    pruned = item_similarity(data.matrix, 1)
    assert np.all(np.diag(full) == 0)
    assert (full > 0).sum() == 6
    # each product keeps its single nearest co-purchased product
    assert (pruned > 0).sum(axis=0).tolist() == [1, 1, 1, 1]
    assert pruned[1, 0] > 0 and pruned[2, 0] == 0  # p1's neighbour is p2, not p3


def test_segment_popularity_uses_the_segment_and_falls_back_to_global_for_noise():
    data = interactions()
    scores = segment_popularity_scores(data, [0, 0, 1, -1])
    in_stock = np.ones(4, dtype=bool)
    recs = recommend_top_k(scores, data, in_stock, 1)
    # c's segment (only c) bought p1, p3; both bought by c, so the global tie-break decides
    assert recs["c"] == ["p2"]
    # d is noise: global popularity
    assert recs["d"] == ["p1"]
    with pytest.raises(ValueError, match="one segment per customer"):
        segment_popularity_scores(data, [0])


def test_top_candidates_carry_their_scores_and_obey_the_rules():
    data = interactions()
    scores = popularity_scores(data)
    in_stock = np.array([True, True, True, False])
    rows = top_candidates(scores, data, in_stock, 2)
    assert ("a", "p3", 2.0) in rows
    assert all(p != "p4" for _, p, _ in rows)
    assert [r for r in rows if r[0] == "d"] == [("d", "p1", 3.0), ("d", "p2", 2.0)]


def test_top_k_breaks_ties_by_lower_index_and_never_returns_excluded_cells():
    scores = np.array([[1.0, 3.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    excluded = np.array([[False, False, True, False], [True, True, False, True]])
    assert top_k(scores, 3, excluded).tolist() == [[1, 3, 0], [2, -1, -1]]
