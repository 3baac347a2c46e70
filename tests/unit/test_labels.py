"""c-TF-IDF segment labels against a term-by-term reference."""

from __future__ import annotations

import math

import numpy as np

from holdfast.domain.labels import (
    category_terms,
    class_tfidf,
    distinct_labels,
    name_terms,
    over_represented,
    product_terms,
    ranked_terms,
    segment_term_counts,
    without_plural_repeats,
)


def test_class_tfidf_matches_the_formula_term_by_term():
    counts = np.array([[4, 0, 1, 2], [1, 3, 0, 2], [0, 0, 5, 2]], dtype=float)
    weights = class_tfidf(counts)
    average = counts.sum() / 3
    for c in range(3):
        for t in range(4):
            tf = counts[c, t] / counts[c].sum()
            expected = tf * math.log(1 + average / counts[:, t].sum())
            assert abs(weights[c, t] - expected) < 1e-12


def test_a_term_no_class_has_and_an_empty_class_weigh_nothing():
    weights = class_tfidf(np.array([[2.0, 0.0], [0.0, 0.0]]))
    assert weights.tolist() == [[2.0 / 2.0 * math.log(1 + 1.0 / 2.0), 0.0], [0.0, 0.0]]


def test_the_distinctive_term_ranks_above_the_common_one():
    # "bag" is everywhere; "lunch" only in segment 0, "candle" only in segment 1
    counts = np.array([[5, 5, 0], [5, 0, 5]], dtype=float)
    ranked = ranked_terms(class_tfidf(counts), ["bag", "lunch", "candle"])
    assert ranked[0][0] == "lunch" and ranked[1][0] == "candle"


def test_name_terms_drop_short_words_numbers_stop_words_and_repeats():
    assert name_terms("SET OF 3 CAKE TINS, cake 12x") == ["cake", "tins"]


def test_a_category_every_product_shares_is_never_a_term():
    assert category_terms({"p1": "Giftware", "p2": "Giftware"}) == {}
    assert category_terms({"p1": "Bags ", "p2": "Home", "p3": ""}) == {
        "p1": ["bags"],
        "p2": ["home"],
    }
    # a word every product name has is dropped too
    assert product_terms({"a": "Gift Box", "b": "Gift Tag"}) == {"a": ["box"], "b": ["tag"]}
    assert product_terms({"a": "Red Bag", "b": "Blue Candle"}) == {
        "a": ["red", "bag"],
        "b": ["blue", "candle"],
    }


def test_over_represented_terms_have_a_larger_share_in_the_class_than_overall():
    counts = np.array([[4, 4, 2], [1, 0, 9], [0, 0, 0]], dtype=float)
    mask = over_represented(counts)
    overall = counts.sum(axis=0) / counts.sum()
    for c in range(3):
        total = counts[c].sum()
        for t in range(3):
            share = counts[c, t] / total if total else 0.0
            assert mask[c, t] == (share > overall[t])


def test_plural_repeats_are_dropped_keeping_the_first():
    assert without_plural_repeats(["bag", "jumbo", "bags", "cases", "case", "glass"]) == [
        "bag",
        "jumbo",
        "cases",
        "glass",
    ]


def test_labels_are_distinct_extending_with_the_next_terms():
    ranked = [["a", "b", "c", "d"], ["a", "b", "c", "e"], ["a", "b", "c"], []]
    labels = distinct_labels(ranked, [0, 1, 2, 3], n_terms=3)
    assert labels == ["a, b, c", "a, b, c, e", "Segment 2 (a, b, c)", "Segment 3"]
    assert len(set(labels)) == len(labels)


def test_a_label_starts_with_the_segments_top_category():
    ranked = [["lunch", "jumbo"], ["lunch", "jumbo"], ["candle"]]
    labels = distinct_labels(ranked, [0, 1, 2], n_terms=2, prefixes=["bags", "home", None])
    assert labels == ["bags: lunch, jumbo", "home: lunch, jumbo", "candle"]


def test_term_counts_add_each_purchase_to_its_buyers_segment():
    baskets = [["p1", "p2"], ["p2"], ["p1"], ["p3"]]
    segments = np.array([0, 1, 1, -1])
    terms = {"p1": ["red", "bag"], "p2": ["bag"], "p3": ["tin"]}
    counts, vocabulary = segment_term_counts(baskets, segments, [0, 1], terms)
    assert vocabulary == ["bag", "red", "tin"]
    expected = np.zeros((2, 3))
    for basket, segment in zip(baskets, segments, strict=True):
        if segment < 0:
            continue
        for product in basket:
            for term in terms[product]:
                expected[segment, vocabulary.index(term)] += 1
    np.testing.assert_array_equal(counts, expected)
