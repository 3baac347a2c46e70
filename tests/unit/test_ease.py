"""domain.neighbours' EASE^R: the most-bought items, the blocked Gram matrix, the weights
and the restricted, top-k sparsified lists, each against a brute-force reference (Python
loops for counts, a float64 numpy dense inverse for the weights)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from holdfast.domain.neighbours import (
    ease_neighbours,
    ease_weights,
    gram_matrix,
    most_bought_items,
)


def random_history(seed: int, n_customers: int = 80, n_items: int = 15) -> sparse.csr_matrix:
    """A 0/1 history with repeated lines (value 2) and items nobody bought."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_customers, n_items)) < 0.25).astype(np.float32)
    dense[:, -2:] = 0.0  # the last two items: no buyers
    dense[rng.random((n_customers, n_items)) < 0.05] *= 2.0  # a repeated line counts once
    dense[0, : n_items - 2] = 1.0  # one customer who bought every item that sells
    return sparse.csr_matrix(dense)


def buyers_of(history: sparse.csr_matrix) -> list[int]:
    dense = history.toarray()
    return [sum(1 for u in range(dense.shape[0]) if dense[u, i] > 0) for i in range(dense.shape[1])]


def reference_most_bought(history: sparse.csr_matrix, max_items: int) -> list[int]:
    buyers = buyers_of(history)
    ranked = sorted((i for i in range(len(buyers)) if buyers[i] > 0), key=lambda i: (-buyers[i], i))
    return sorted(ranked[:max_items])


def reference_gram(history: sparse.csr_matrix, items: list[int]) -> np.ndarray:
    dense = history.toarray() > 0
    return np.array(
        [
            [sum(int(dense[u, i] and dense[u, j]) for u in range(dense.shape[0])) for j in items]
            for i in items
        ],
        dtype=np.float64,
    )


def reference_b(gram: np.ndarray, l2: float) -> np.ndarray:
    """B[i, j] = -P[i, j] / P[j, j] off the diagonal, 0 on it, P = (G + λI)⁻¹ in float64."""
    p = np.linalg.inv(gram + l2 * np.eye(gram.shape[0]))
    n = gram.shape[0]
    return np.array([[0.0 if i == j else -p[i, j] / p[j, j] for j in range(n)] for i in range(n)])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("max_items", [0, 1, 5, 13, 100])
def test_most_bought_items_are_the_most_distinct_buyers_then_the_lower_index(seed, max_items):
    history = random_history(seed)
    got = most_bought_items(history, max_items).tolist()
    assert got == reference_most_bought(history, max_items)
    assert len(got) == min(max_items, 13)  # items nobody bought are never among them


def test_most_bought_items_break_ties_by_the_lower_index():
    history = sparse.csr_matrix(np.array([[1, 0, 1, 1], [0, 1, 1, 1], [1, 1, 0, 0]]))
    # buyers: 2, 2, 2, 2: the two lowest indexes win
    assert most_bought_items(history, 2).tolist() == [0, 1]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("max_pairs", [1, 30, 10_000_000])
def test_gram_matrix_counts_co_buyers_in_any_block_size(seed, max_pairs):
    history = random_history(seed)
    items = [11, 3, 0, 7, 12, 5]  # a subset, in the caller's order
    got = gram_matrix(history, np.array(items), max_pairs=max_pairs)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, reference_gram(history, items))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("l2", [1.0, 25.0])
def test_ease_weights_match_a_dense_float64_inverse(seed, l2):
    history = random_history(seed)
    items = list(range(13))
    gram = reference_gram(history, items)
    got = ease_weights(gram.astype(np.float32), l2)
    assert np.all(np.diag(got) == 0)
    np.testing.assert_allclose(got, reference_b(gram, l2), atol=2e-5)


def test_ease_weights_solve_the_constrained_regression():
    # B minimises ||X - XB||² + λ||B||² with diag(B) = 0: for each column j, the
    # off-diagonal part solves (G + λI) restricted to the other items = G[:, j] there
    history = random_history(7)
    gram = reference_gram(history, list(range(13)))
    l2 = 10.0
    b = ease_weights(gram.astype(np.float32), l2)
    for j in range(13):
        others = [i for i in range(13) if i != j]
        system = gram[np.ix_(others, others)] + l2 * np.eye(12)
        expected = np.linalg.solve(system, gram[others, j])
        np.testing.assert_allclose(b[others, j], expected, atol=2e-5)


def test_ease_weights_refuse_a_non_positive_l2():
    with pytest.raises(ValueError, match="l2 > 0"):
        ease_weights(np.eye(3, dtype=np.float32), 0.0)


def reference_lists(
    history: sparse.csr_matrix, max_items: int, l2: float, k: int
) -> dict[tuple[int, int], float]:
    """(j, i) -> weight: for each modelled item j, the k items i with the largest positive
    B[i, j] (ties: lower index), all divided by the largest weight of B."""
    items = reference_most_bought(history, max_items)
    b = reference_b(reference_gram(history, items), l2)
    scale = b.max()
    kept = {}
    for c, j in enumerate(items):
        column = [(r, b[r, c]) for r in range(len(items)) if b[r, c] > 0]
        column.sort(key=lambda rv: (-round(rv[1] / scale, 6), rv[0]))
        for r, value in column[:k]:
            kept[(j, items[r])] = value / scale
    return kept


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("max_items", "k"), [(13, 100), (13, 3), (6, 2), (9, 1)])
def test_ease_neighbours_keep_each_items_k_best_predictors_among_the_most_bought(
    seed, max_items, k
):
    history = random_history(seed)
    got = ease_neighbours(history, max_items, 5.0, k, block_rows=4)
    assert got.shape == (15, 15)
    coo = got.tocoo()
    pairs = {(int(r), int(c)): float(v) for r, c, v in zip(coo.row, coo.col, coo.data, strict=True)}
    expected = reference_lists(history, max_items, 5.0, k)
    assert set(pairs) == set(expected)
    for pair, value in expected.items():
        assert pairs[pair] == pytest.approx(value, abs=1e-4)
    assert max(pairs.values()) == pytest.approx(1.0)
    modelled = set(reference_most_bought(history, max_items))
    assert {r for r, _ in pairs} <= modelled and {c for _, c in pairs} <= modelled


def test_ease_neighbours_do_not_depend_on_the_block_size():
    history = random_history(4)
    one = ease_neighbours(history, 13, 5.0, 4, block_rows=1)
    many = ease_neighbours(history, 13, 5.0, 4, block_rows=512)
    assert (one != many).nnz == 0


def test_ease_neighbours_of_fewer_than_two_bought_items_are_empty():
    history = sparse.csr_matrix(np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    assert ease_neighbours(history, 10, 5.0, 3).nnz == 0
    assert ease_neighbours(random_history(1), 0, 5.0, 3).nnz == 0
