"""The prototype blend of `holdfast evaluate`: confidence in [0, 1], each signal counts."""

from __future__ import annotations

import numpy as np
import pytest

from holdfast.evaluation.baselines import Interactions
from holdfast.evaluation.blend import BlendWeights, blend_scores, embedding_similarity

PRODUCTS = ["p1", "p2", "p3", "p4"]


def data() -> Interactions:
    pairs = [("a", "p1"), ("b", "p1"), ("b", "p2"), ("c", "p3")]
    return Interactions.from_pairs(pairs, PRODUCTS)


def embeddings() -> np.ndarray:
    e = np.zeros((4, 3))
    e[0] = [1, 0, 0]
    e[1] = [0, 1, 0]
    e[2] = [0, 0, 1]
    e[3] = [0.8, 0.6, 0]  # close to p1: reachable only through text similarity
    return e


def test_confidence_is_between_zero_and_one():
    scores = blend_scores(data(), embeddings(), np.array([0, 0, 5, 1]), BlendWeights())
    assert scores.shape == (3, 4)
    assert scores.min() >= 0 and scores.max() <= 1


def test_co_purchase_signal_ranks_what_co_buyers_bought_first():
    weights = BlendWeights(item_knn=1, embedding_knn=0, recent_popularity=0, popularity=0)
    scores = blend_scores(data(), embeddings(), np.zeros(4), weights)
    assert scores[0].argmax() == 1  # a bought p1; b bought p1 and p2


def test_embedding_signal_reaches_a_product_nobody_bought():
    weights = BlendWeights(item_knn=0, embedding_knn=1, recent_popularity=0, popularity=0)
    scores = blend_scores(data(), embeddings(), np.zeros(4), weights)
    assert scores[0, 3] == pytest.approx(1.0)  # a bought p1; p4's text is close to p1's


def test_recent_popularity_is_the_same_prior_for_everyone():
    weights = BlendWeights(item_knn=0, embedding_knn=0, recent_popularity=1, popularity=0)
    scores = blend_scores(data(), embeddings(), np.array([0, 0, 9, 1]), weights)
    assert np.all(scores.argmax(axis=1) == 2)
    assert np.allclose(scores[0], scores[1])


def test_embedding_similarity_keeps_neighbours_and_ignores_missing_embeddings():
    e = embeddings()
    e[2] = 0  # no embedding
    sim = embedding_similarity(e, 1)
    assert np.all(sim[:, 2] == 0) and np.all(sim[2] == 0)
    assert sim[3, 0] > 0 and sim[1, 0] == 0  # p1's single neighbour is p4


def test_weights_must_be_non_negative_and_not_all_zero():
    with pytest.raises(ValueError):
        BlendWeights(-1, 1, 1, 1)
    with pytest.raises(ValueError):
        BlendWeights(0, 0, 0, 0)
    assert sum(BlendWeights().normalised().values()) == pytest.approx(1.0)
