"""Purchase-based segment features against a dense brute-force computation."""

from __future__ import annotations

import numpy as np
import pytest

from holdfast.domain.segment_features import fit_purchase_factors, vocabulary

BASKETS = [
    ["a", "b", "c"],
    ["a", "b"],
    ["c", "d", "e"],
    ["d", "e", "e"],
    ["a", "e"],
    ["b", "c", "d", "f"],
    ["f"],
]


def _dense(baskets, products, idf):
    matrix = np.zeros((len(baskets), len(products)))
    for i, basket in enumerate(baskets):
        for j, product in enumerate(products):
            if product in basket:
                matrix[i, j] = idf[j]
    return matrix


def test_the_vocabulary_is_the_most_bought_products_ties_by_id():
    products, buyers = vocabulary(BASKETS, 4)
    counted = {p: sum(p in set(b) for b in BASKETS) for p in "abcdef"}
    expected = sorted(counted, key=lambda p: (-counted[p], p))[:4]
    assert products == expected
    assert buyers.tolist() == [counted[p] for p in expected]


def test_factors_are_the_top_right_singular_vectors_of_the_tfidf_matrix():
    factors = fit_purchase_factors(BASKETS, n_products=5, n_components=3)
    products = list(factors.product_ids)
    buyers = np.array([sum(p in set(b) for b in BASKETS) for p in products], dtype=float)
    idf = np.log((1 + len(BASKETS)) / (1 + buyers)) + 1
    np.testing.assert_allclose(factors.idf, idf)
    dense = _dense(BASKETS, products, idf)
    _, singular, vt = np.linalg.svd(dense, full_matrices=False)
    np.testing.assert_allclose(factors.singular_values, singular[:3], rtol=1e-9)
    for j in range(3):  # equal up to sign; the sign is fixed by the largest loading
        reference = vt[j] * np.sign(vt[j][np.argmax(np.abs(vt[j]))])
        np.testing.assert_allclose(factors.components[:, j], reference, atol=1e-9)
    assert factors.explained_variance_ratio == pytest.approx(
        (singular[:3] ** 2).sum() / (singular**2).sum()
    )


def test_a_customer_is_the_unit_fold_in_of_their_basket_outside_products_ignored():
    factors = fit_purchase_factors(BASKETS, n_products=5, n_components=2)
    products = list(factors.product_ids)
    new = [["a", "zzz", "c"], ["zzz"], []]
    dense = _dense(new, products, factors.idf)
    folded = dense @ factors.components
    norms = np.linalg.norm(folded, axis=1)
    features = factors.transform(new)
    np.testing.assert_allclose(features[0], folded[0] / norms[0])
    np.testing.assert_allclose(features[1:], 0.0)  # nothing to place them by
    assert factors.transform([]).shape == (0, 2)


def test_the_same_baskets_give_the_same_factors():
    first = fit_purchase_factors(BASKETS, n_products=6, n_components=3)
    second = fit_purchase_factors([list(b) for b in BASKETS], n_products=6, n_components=3)
    assert first.product_ids == second.product_ids
    np.testing.assert_array_equal(first.components, second.components)


def test_no_purchases_is_refused():
    with pytest.raises(ValueError, match="no purchases"):
        fit_purchase_factors([[], []], n_products=10, n_components=2)


def test_an_arrow_list_array_gives_the_same_features_as_python_lists():
    import pyarrow as pa

    factors = fit_purchase_factors(BASKETS, n_products=6, n_components=3)
    baskets = [["a", "a", "c"], None, ["f", "zzz"], []]
    arrow = pa.array(baskets, pa.list_(pa.string()))
    python = [b or [] for b in baskets]
    np.testing.assert_array_equal(factors.transform(arrow), factors.transform(python))
    dense = _dense(python, list(factors.product_ids), factors.idf)
    np.testing.assert_allclose(factors.matrix(arrow).toarray(), dense)


def test_a_large_sample_takes_the_sparse_svd_with_the_same_factors():
    rng = np.random.default_rng(8)
    products = [f"p{j:03d}" for j in range(120)]
    # three tastes of 40 products each, so the top factors are well separated
    baskets = [
        sorted({products[40 * (i % 3) + int(j)] for j in rng.integers(0, 40, 6)})
        for i in range(300)
    ]
    factors = fit_purchase_factors(baskets, n_products=120, n_components=4)
    ordered = list(factors.product_ids)
    dense = _dense(baskets, ordered, factors.idf)
    _, singular, vt = np.linalg.svd(dense, full_matrices=False)
    np.testing.assert_allclose(factors.singular_values, singular[:4], rtol=1e-8)
    for j in range(3):  # the 4th may share its singular value with the 5th
        reference = vt[j] * np.sign(vt[j][np.argmax(np.abs(vt[j]))])
        np.testing.assert_allclose(factors.components[:, j], reference, atol=1e-8)
