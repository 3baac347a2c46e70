"""EASE^R and RP3beta baselines against brute-force references on small matrices."""

from __future__ import annotations

import numpy as np
import pytest

from holdfast.evaluation.baselines import (
    Interactions,
    ease_scores,
    ease_weights,
    most_bought_columns,
    recommend_top_k,
    rp3beta_scores,
    rp3beta_weights,
)


def random_interactions(seed: int, n_customers: int = 30, n_products: int = 12) -> Interactions:
    rng = np.random.default_rng(seed)
    matrix = (rng.random((n_customers, n_products)) < 0.3).astype(np.float32)
    matrix[np.arange(n_customers), rng.integers(0, n_products, n_customers)] = 1.0
    customers = [f"c{i:02d}" for i in range(n_customers)]
    products = [f"p{j:02d}" for j in range(n_products)]
    return Interactions(customers, products, matrix)


def reference_ease(x: np.ndarray, l2: float) -> np.ndarray:
    """B from the paper's constrained problem, column by column: B = I - P / diag(P)."""
    n = x.shape[1]
    gram = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            gram[i, j] = sum(float(x[u, i]) * float(x[u, j]) for u in range(x.shape[0]))
    p = np.linalg.inv(gram + l2 * np.eye(n))
    b = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                b[i, j] = -p[i, j] / p[j, j]
    return b


def reference_rp3beta(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """W[i, j] = sum over customers of (x_ui/deg_i)^alpha (x_uj/deg_u)^alpha / deg_j^beta."""
    n_customers, n = x.shape
    deg_u = [sum(x[u]) for u in range(n_customers)]
    deg_i = [sum(x[:, i]) for i in range(n)]
    w = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j or deg_i[j] == 0:
                continue
            total = 0.0
            for u in range(n_customers):
                if x[u, i] and x[u, j]:
                    total += (1.0 / deg_i[i]) ** alpha * (1.0 / deg_u[u]) ** alpha
            w[i, j] = total / deg_i[j] ** beta
    return w


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("l2", [0.5, 10.0])
def test_ease_weights_match_the_closed_form_with_a_zero_diagonal(seed, l2):
    x = random_interactions(seed).matrix
    b = ease_weights(x, l2)
    assert np.all(np.diag(b) == 0)
    np.testing.assert_allclose(b, reference_ease(x, l2), atol=1e-5)


def test_ease_scores_are_x_times_b():
    data = random_interactions(3)
    scores = ease_scores(data, l2=5.0, max_items=0)
    np.testing.assert_allclose(scores, data.matrix @ reference_ease(data.matrix, 5.0), atol=1e-5)


def test_ease_refuses_a_non_positive_l2():
    with pytest.raises(ValueError, match="l2 > 0"):
        ease_weights(np.ones((2, 2)), 0.0)


def test_ease_never_recommends_already_bought_products():
    data = random_interactions(4)
    recs = recommend_top_k(ease_scores(data, 1.0), data, np.ones(12, dtype=bool), 12)
    for i, customer in enumerate(data.customer_ids):
        bought = {data.product_ids[j] for j in np.flatnonzero(data.matrix[i])}
        assert recs[customer] and not bought & set(recs[customer])
        assert len(recs[customer]) == 12 - len(bought)


def test_ease_ties_go_to_the_lower_product_id():
    # p2 and p3 are interchangeable (same buyers), so a's scores for them are equal
    pairs = [("a", "p1"), ("b", "p1"), ("b", "p2"), ("b", "p3"), ("c", "p2"), ("c", "p3")]
    data = Interactions.from_pairs(pairs, ["p3", "p2", "p1"])
    scores = ease_scores(data, 1.0)
    assert scores[0, 1] == pytest.approx(scores[0, 2])
    recs = recommend_top_k(scores, data, np.ones(3, dtype=bool), 2)
    assert recs["a"] == ["p2", "p3"]


def test_the_most_bought_columns_keep_the_lower_index_on_ties():
    matrix = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [0, 0, 1, 0]], dtype=np.float32)
    # buyers per column: 1, 2, 2, 2
    assert most_bought_columns(matrix, 2).tolist() == [1, 2]
    assert most_bought_columns(matrix, 0).tolist() == [0, 1, 2, 3]
    assert most_bought_columns(matrix, 9).tolist() == [0, 1, 2, 3]


def reference_ease_scores(x: np.ndarray) -> np.ndarray:
    return x @ reference_ease(x, 250.0)


def reference_rp3beta_scores(x: np.ndarray) -> np.ndarray:
    return x @ reference_rp3beta(x, 1.0, 0.5)


@pytest.mark.parametrize(
    ("scorer", "reference"),
    [(ease_scores, reference_ease_scores), (rp3beta_scores, reference_rp3beta_scores)],
)
def test_item_models_only_see_and_recommend_the_most_bought_products(scorer, reference):
    data = random_interactions(5, n_products=10)
    kept = most_bought_columns(data.matrix, 4)
    scores = scorer(data, max_items=4)
    outside = np.setdiff1d(np.arange(10), kept)
    assert np.all(np.isneginf(scores[:, outside]))
    np.testing.assert_allclose(scores[:, kept], reference(data.matrix[:, kept]), atol=1e-5)
    recs = recommend_top_k(scores, data, np.ones(10, dtype=bool), 10)
    allowed = {data.product_ids[j] for j in kept}
    assert all(set(r) <= allowed for r in recs.values())


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.0), (0.7, 0.5), (1.3, 1.0)])
def test_rp3beta_weights_match_the_reference(seed, alpha, beta):
    x = random_interactions(seed).matrix
    w = rp3beta_weights(x, alpha, beta, topk=0)
    np.testing.assert_allclose(w, reference_rp3beta(x, alpha, beta), atol=1e-5)


def test_rp3beta_with_alpha_1_and_beta_0_is_the_two_step_random_walk():
    data = random_interactions(6)
    x = data.matrix.astype(np.float64)
    walk = np.zeros((12, 12))  # P(i -> customer -> j), customer and product picked uniformly
    for i in range(12):
        buyers = np.flatnonzero(x[:, i])
        for u in buyers:
            basket = np.flatnonzero(x[u])
            for j in basket:
                walk[i, j] += 1.0 / len(buyers) / len(basket)
    np.testing.assert_allclose(walk.sum(axis=1), 1.0)
    walk_scores = x @ walk
    w = rp3beta_weights(x, alpha=1.0, beta=0.0, topk=0)
    np.fill_diagonal(walk, 0.0)
    np.testing.assert_allclose(w, walk, atol=1e-6)
    # scores of products not bought yet do not depend on the zeroed diagonal
    scores = rp3beta_scores(data, alpha=1.0, beta=0.0, topk=0)
    fresh = data.matrix == 0
    np.testing.assert_allclose(scores[fresh], walk_scores[fresh], atol=1e-5)


def test_rp3beta_keeps_the_top_k_weights_per_row_with_ties_to_the_lower_index():
    x = random_interactions(7).matrix
    full = rp3beta_weights(x, 1.0, 0.5, topk=0)
    pruned = rp3beta_weights(x, 1.0, 0.5, topk=3)
    assert np.all((pruned > 0).sum(axis=1) <= 3)
    for i in range(full.shape[0]):
        expected = sorted(range(full.shape[1]), key=lambda j: (-full[i, j], j))[:3]
        assert sorted(np.flatnonzero(pruned[i]).tolist()) == sorted(
            j for j in expected if full[i, j] > 0
        )
    np.testing.assert_array_equal(pruned[pruned > 0], full[pruned > 0])


def test_rp3beta_ties_go_to_the_lower_product_id_and_bought_products_are_excluded():
    pairs = [("a", "p1"), ("b", "p1"), ("b", "p2"), ("b", "p3"), ("c", "p2"), ("c", "p3")]
    data = Interactions.from_pairs(pairs, ["p3", "p2", "p1"])
    recs = recommend_top_k(
        rp3beta_scores(data), data, np.ones(3, dtype=bool), 3, require_positive=True
    )
    assert recs["a"] == ["p2", "p3"]
    assert recs["b"] == []
