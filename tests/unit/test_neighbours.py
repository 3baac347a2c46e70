"""domain.neighbours: sparse top-k, ranking within rows, item-item neighbour lists.

Every function is checked against a brute-force reference written from its definition
(sort each row by value at 6 decimals descending, then by the lower column).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse

from holdfast.domain.neighbours import (
    copurchase_neighbours,
    rank_within_rows,
    reverse_neighbours,
    row_max_normalize,
    semantic_neighbours,
    sorted_entries,
    top_k_per_row,
    top_k_within_rows,
)


def key(col: int, value: float) -> tuple[float, int]:
    """The documented order within a row: value at 6 decimals descending, then lower column."""
    return (-float(np.round(value, 6)), col)


def rows_of(matrix: sparse.csr_matrix) -> list[list[tuple[int, float]]]:
    """Each row's stored (column, value) pairs, in the documented best-first order."""
    matrix = sparse.csr_matrix(matrix)
    result = []
    for r in range(matrix.shape[0]):
        start, end = matrix.indptr[r], matrix.indptr[r + 1]
        cols, values = matrix.indices[start:end].tolist(), matrix.data[start:end].tolist()
        pairs = list(zip(cols, values, strict=True))
        result.append(sorted(pairs, key=lambda cv: key(*cv)))
    return result


def reference_top_k(dense: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """Brute force: each row's non-zero entries sorted by (-value at 6 decimals, column)."""
    result = []
    for row in dense:
        pairs = [(c, float(v)) for c, v in enumerate(row) if v != 0]
        result.append(sorted(pairs, key=lambda cv: key(*cv))[:k])
    return result


def assert_same_rows(got, expected, atol=1e-6):
    assert len(got) == len(expected)
    for r, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert [c for c, _ in g] == [c for c, _ in e], f"row {r}"
        np.testing.assert_allclose([v for _, v in g], [v for _, v in e], atol=atol)


def random_scores(rng: np.random.Generator, shape: tuple[int, int], density: float) -> np.ndarray:
    """Values in (0, 1]: a mix of coarse values (exact ties), continuous values and values
    within 1e-8 of a coarse one (ties at 6 decimals only); zeros where nothing is stored."""
    coarse = rng.integers(1, 5, size=shape) / 4.0
    continuous = rng.uniform(1e-3, 1.0, size=shape)
    near = np.clip(coarse - rng.uniform(0, 1e-8, size=shape), 0.0, 1.0)
    kind = rng.integers(0, 3, size=shape)
    values = np.choose(kind, [coarse, continuous, near])
    return np.where(rng.random(shape) < density, values, 0.0)


def shuffled_csr(dense: np.ndarray, rng: np.random.Generator) -> sparse.csr_matrix:
    """A CSR matrix of `dense` whose column indices are not sorted within rows."""
    indptr, indices, data = [0], [], []
    for row in dense:
        cols = np.flatnonzero(row)
        rng.shuffle(cols)
        indices.extend(cols.tolist())
        data.extend(row[cols].tolist())
        indptr.append(len(indices))
    return sparse.csr_matrix(
        (np.asarray(data, dtype=np.float64), np.asarray(indices), np.asarray(indptr)),
        shape=dense.shape,
    )


# top_k_per_row -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [0, 1, 3, 7, 50])
def test_top_k_per_row_matches_a_brute_force_sort_of_each_row(seed, k):
    rng = np.random.default_rng(seed)
    dense = random_scores(rng, (12, 15), density=0.6)
    dense[0] = 0.0  # an empty row
    dense[1] = 0.0
    dense[1, 7] = 0.3  # a row with one entry
    got = top_k_per_row(shuffled_csr(dense, rng), k)
    assert got.shape == dense.shape
    assert got.dtype == np.float32
    assert_same_rows(rows_of(got), reference_top_k(dense, k))
    kept = got.toarray()
    stored = kept != 0
    np.testing.assert_array_equal(kept[stored], dense[stored].astype(np.float32))
    assert np.all(np.diff(got.indptr) <= k)


def test_top_k_per_row_breaks_ties_by_the_lower_column():
    dense = np.array(
        [
            [0.5, 0.8, 0.5, 0.8, 0.5],
            [0.3, 0.3, 0.3, 0.3, 0.3],
            [0.7, 0.7000000001, 0.7 + 4e-7, 0.7 - 4e-7, 0.2],  # all 0.700000 at 6 decimals
        ]
    )
    got = rows_of(top_k_per_row(sparse.csr_matrix(dense), 4))
    assert [c for c, _ in got[0]] == [1, 3, 0, 2]
    assert [c for c, _ in got[1]] == [0, 1, 2, 3]
    assert [c for c, _ in got[2]] == [0, 1, 2, 3]


def test_top_k_per_row_drops_explicit_zeros():
    matrix = sparse.csr_matrix(
        (np.array([0.0, 0.4, 0.0, 0.9]), (np.array([0, 0, 1, 1]), np.array([0, 1, 2, 3]))),
        shape=(2, 4),
    )
    got = top_k_per_row(matrix, 5)
    assert got.nnz == 2
    assert rows_of(got) == [[(1, pytest.approx(0.4))], [(3, pytest.approx(0.9))]]


def test_top_k_per_row_does_not_modify_its_input():
    rng = np.random.default_rng(7)
    matrix = shuffled_csr(random_scores(rng, (6, 9), density=0.7), rng)
    before = (matrix.data.copy(), matrix.indices.copy(), matrix.indptr.copy())
    top_k_per_row(matrix, 2)
    for part, kept in zip((matrix.data, matrix.indices, matrix.indptr), before, strict=True):
        np.testing.assert_array_equal(part, kept)


# rank_within_rows / sorted_entries -----------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_rank_within_rows_sorts_by_row_then_best_first_and_ranks_from_zero(seed):
    rng = np.random.default_rng(100 + seed)
    dense = random_scores(rng, (9, 11), density=0.5)
    rows, cols = np.nonzero(dense)
    permutation = rng.permutation(rows.size)  # entries in no particular order
    rows, cols = rows[permutation], cols[permutation]
    values = dense[rows, cols]
    order, rank = rank_within_rows(rows, cols, values)
    assert sorted(order.tolist()) == list(range(rows.size))
    sorted_rows = rows[order]
    assert np.all(np.diff(sorted_rows) >= 0)
    for i, entry in enumerate(order):
        r = rows[entry]
        mine = key(cols[entry], values[entry])
        better = sum(1 for e in range(rows.size) if rows[e] == r and key(cols[e], values[e]) < mine)
        assert rank[i] == better
    # within a row the keys strictly increase
    for i in range(1, order.size):
        if sorted_rows[i] == sorted_rows[i - 1]:
            assert key(cols[order[i - 1]], values[order[i - 1]]) < key(
                cols[order[i]], values[order[i]]
            )


def test_rank_within_rows_of_no_entries_is_empty():
    empty = np.zeros(0, dtype=np.int64)
    order, rank = rank_within_rows(empty, empty, np.zeros(0))
    assert order.size == 0 and rank.size == 0


def test_rank_within_rows_ranks_ties_at_six_decimals_by_the_lower_column():
    rows = np.array([4, 4, 4, 4, 2])
    cols = np.array([9, 3, 5, 1, 0])
    values = np.array([0.25, 0.25 + 3e-7, 0.9, 0.25 - 2e-7, 0.1])
    order, rank = rank_within_rows(rows, cols, values)
    assert rows[order].tolist() == [2, 4, 4, 4, 4]
    assert cols[order].tolist() == [0, 5, 1, 3, 9]
    assert rank.tolist() == [0, 0, 1, 2, 3]


# top_k_within_rows: the first k of rank_within_rows's order, without sorting everything


def brute_top_k(rows, cols, values, k):
    """Entry indices of each row's k best (documented order), rows ascending."""
    chosen = []
    for r in sorted(set(rows.tolist())):
        entries = [e for e in range(rows.size) if rows[e] == r]
        chosen.extend(sorted(entries, key=lambda e: key(cols[e], values[e]))[:k])
    return chosen


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [1, 3, 30])
def test_top_k_within_rows_keeps_each_rows_k_best_in_order(seed, k):
    rng = np.random.default_rng(700 + seed)
    n_rows, n_cols = 12, 60
    dense = random_scores(rng, (n_rows, n_cols), density=rng.uniform(0.05, 0.9))
    # scores crowded into a few buckets, ties at six decimals, values outside [0, 1]
    dense[dense > 0] = np.round(dense[dense > 0] * 0.01 + 0.5, rng.integers(3, 8))
    dense[0, :5] = 1.5
    dense[1] = 0.0  # an empty row
    rows, cols = np.nonzero(dense)
    permutation = rng.permutation(rows.size)
    rows, cols = rows[permutation], cols[permutation]
    values = dense[rows, cols]
    got = top_k_within_rows(rows, cols, values, k, n_rows)
    assert got.tolist() == brute_top_k(rows, cols, values, k)
    order, rank = rank_within_rows(rows, cols, values)
    assert got.tolist() == order[rank < k].tolist()


def test_top_k_within_rows_of_no_entries_is_empty():
    empty = np.zeros(0, dtype=np.int64)
    assert top_k_within_rows(empty, empty, np.zeros(0), 5, 3).size == 0


@pytest.mark.parametrize("seed", range(4))
def test_sorted_entries_lists_every_stored_entry_of_each_row_best_first(seed):
    rng = np.random.default_rng(200 + seed)
    dense = random_scores(rng, (10, 8), density=0.55)
    dense[3] = 0.0
    matrix = shuffled_csr(dense, rng)
    order, rows, cols, rank = sorted_entries(matrix)
    assert order.size == rows.size == cols.size == rank.size == matrix.nnz
    np.testing.assert_array_equal(matrix.data[order], dense[rows, cols])
    listed = [[] for _ in range(dense.shape[0])]
    for r, c, v, place in zip(rows, cols, matrix.data[order], rank, strict=True):
        assert place == len(listed[r])
        listed[r].append((int(c), float(v)))
    assert_same_rows(listed, reference_top_k(dense, dense.shape[1]), atol=0)


# copurchase_neighbours -----------------------------------------------------------------------


def reference_copurchase(bought: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """co(i, j) / sqrt(n_i n_j) over distinct buyers, i != j, top k per item."""
    n_items = bought.shape[1]
    buyers = [set(np.flatnonzero(bought[:, i])) for i in range(n_items)]
    dense = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            together = len(buyers[i] & buyers[j])
            if i != j and together:
                dense[i, j] = round(together / math.sqrt(len(buyers[i]) * len(buyers[j])), 6)
    return reference_top_k(dense, k)


def random_history(rng: np.random.Generator, n_customers: int, n_items: int) -> np.ndarray:
    """Purchase amounts (customers x items): 0 = not bought, any positive value = bought."""
    popularity = rng.uniform(0.02, 0.5, size=n_items)
    bought = rng.random((n_customers, n_items)) < popularity
    bought[:, -1] = False  # an item nobody bought
    amounts = rng.integers(1, 4, size=bought.shape).astype(np.float64)
    return np.where(bought, amounts, 0.0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 5, 30])
def test_copurchase_neighbours_are_the_top_k_buyer_set_cosines(seed, k):
    rng = np.random.default_rng(300 + seed)
    amounts = random_history(rng, 40, 14)
    got = copurchase_neighbours(sparse.csr_matrix(amounts), k)
    assert got.shape == (14, 14)
    assert_same_rows(rows_of(got), reference_copurchase(amounts > 0, k))
    assert got.diagonal().tolist() == [0.0] * 14
    assert np.all(np.diff(got.indptr) <= k)
    assert got[-1].nnz == 0 and got[:, -1].nnz == 0  # nobody bought the last item


def test_copurchase_neighbours_count_repeated_lines_of_a_customer_once():
    # customer 0 bought item 0 three times (duplicate CSR entries, amounts 2) and item 1 once
    history = sparse.csr_matrix(
        (np.array([2.0, 2.0, 2.0, 1.0, 1.0, 5.0]), np.array([0, 0, 0, 1, 1, 0]), [0, 4, 5, 6]),
        shape=(3, 3),
    )
    got = copurchase_neighbours(history, 5).toarray()
    # item 0: buyers {0, 2}; item 1: buyers {0, 1}; together {0}
    assert got[0, 1] == pytest.approx(1 / math.sqrt(2 * 2), abs=1e-6)
    assert got[1, 0] == pytest.approx(got[0, 1])
    assert np.count_nonzero(got) == 2


def test_copurchase_cosine_is_one_for_items_always_bought_together():
    bought = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.float64)
    got = copurchase_neighbours(sparse.csr_matrix(bought), 2).toarray()
    assert got[0, 1] == pytest.approx(1.0) and got[1, 0] == pytest.approx(1.0)
    assert got[0, 2] == pytest.approx(1 / math.sqrt(3 * 2), abs=1e-6)


def test_copurchase_neighbours_of_an_empty_history_are_empty():
    got = copurchase_neighbours(sparse.csr_matrix((5, 4)), 3)
    assert got.shape == (4, 4) and got.nnz == 0


# semantic_neighbours -------------------------------------------------------------------------


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    raw = rng.normal(size=(n, dim))
    return (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)


def reference_semantic(embeddings, present, k) -> list[list[tuple[int, float]]]:
    """Clipped cosine between items that both have an embedding, never an item with itself."""
    e = np.asarray(embeddings, dtype=np.float64)
    n = e.shape[0]
    usable = np.flatnonzero(present)
    k = min(k, max(usable.size - 1, 0))
    dense = np.zeros((n, n))
    for i in usable:
        for j in usable:
            if i != j:
                dense[i, j] = np.round(min(1.0, max(0.0, float(e[i] @ e[j]))), 6)
    return reference_top_k(dense, k)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 8, 100])
@pytest.mark.parametrize("block_rows", [1, 4, 2048])
def test_semantic_neighbours_match_a_brute_force_top_k_of_the_clipped_cosine(seed, k, block_rows):
    rng = np.random.default_rng(400 + seed)
    n = 25
    embeddings = unit_rows(rng, n, 4)
    present = rng.random(n) > 0.25
    present[0] = False
    embeddings[~present] = rng.normal(scale=5.0, size=(int((~present).sum()), 4))  # garbage
    got = semantic_neighbours(embeddings, present, k, block_rows=block_rows)
    assert got.shape == (n, n)
    assert got.dtype == np.float32
    assert_same_rows(rows_of(got), reference_semantic(embeddings, present, k))
    assert got.diagonal().tolist() == [0.0] * n
    absent = np.flatnonzero(~present)
    assert got[absent].nnz == 0 and got[:, absent].nnz == 0
    assert got.data.min() > 0 and got.data.max() <= 1.0


@pytest.mark.parametrize("seed", range(3))
def test_semantic_neighbours_do_not_depend_on_the_block_size(seed):
    rng = np.random.default_rng(500 + seed)
    embeddings = unit_rows(rng, 40, 6)
    present = rng.random(40) > 0.1
    whole = semantic_neighbours(embeddings, present, 5)
    for block_rows in (1, 3, 7, 39):
        part = semantic_neighbours(embeddings, present, 5, block_rows=block_rows)
        assert rows_of(part) == rows_of(whole)


def test_semantic_neighbours_break_ties_by_the_lower_item_index():
    rng = np.random.default_rng(6)
    base = unit_rows(rng, 3, 5)
    # five identical copies of each of three texts, interleaved
    embeddings = np.stack([base[i % 3] for i in range(15)])
    got = rows_of(semantic_neighbours(embeddings, np.ones(15, dtype=bool), 2))
    for i in range(15):
        twins = [j for j in range(15) if j % 3 == i % 3 and j != i]
        assert [c for c, _ in got[i]] == twins[:2]
        assert [v for _, v in got[i]] == pytest.approx([1.0, 1.0], abs=1e-6)


def test_semantic_neighbours_skip_negative_and_zero_similarities():
    embeddings = np.array([[1, 0], [-1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32)
    got = semantic_neighbours(embeddings, np.ones(4, dtype=bool), 3).toarray()
    assert got[0, 1] == 0 and got[1, 0] == 0  # opposite: cosine -1
    assert got[0, 2] == 0  # orthogonal
    assert got[0, 3] == pytest.approx(0.6) and got[2, 3] == pytest.approx(0.8)
    assert not got[1].any()  # everything else is at 90 degrees or more


@pytest.mark.parametrize("n_present", [0, 1])
def test_semantic_neighbours_are_empty_with_fewer_than_two_embedded_items(n_present):
    rng = np.random.default_rng(8)
    present = np.zeros(5, dtype=bool)
    present[:n_present] = True
    got = semantic_neighbours(unit_rows(rng, 5, 3), present, 4)
    assert got.shape == (5, 5) and got.nnz == 0


def test_semantic_neighbours_with_k_zero_are_empty():
    rng = np.random.default_rng(9)
    got = semantic_neighbours(unit_rows(rng, 6, 3), np.ones(6, dtype=bool), 0)
    assert got.shape == (6, 6) and got.nnz == 0


# reverse_neighbours --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k, cap", [(2, 100), (4, 3), (4, 1), (30, 5)])
def test_reverse_neighbours_list_who_counts_each_item_among_its_k_nearest(seed, k, cap):
    rng = np.random.default_rng(700 + seed)
    amounts = random_history(rng, 40, 14)
    lists = copurchase_neighbours(sparse.csr_matrix(amounts), k)
    got = reverse_neighbours(lists, cap)
    assert got.shape == (14, 14)
    forward = rows_of(lists)
    # brute force: row i = every j with i in j's list, value sim(j, i), best cap first
    dense = np.zeros((14, 14))
    for j, row in enumerate(forward):
        for i, value in row:
            dense[i, j] = value
    assert_same_rows(rows_of(got), reference_top_k(dense, cap))
    assert np.all(np.diff(got.indptr) <= cap)


def test_reverse_neighbours_differ_from_the_lists_when_similarity_is_one_sided_in_rank():
    # item 0 is item 1's only neighbour (k=1), but item 0's best neighbour is item 2
    similarity = np.array([[0, 0.5, 0.9], [0.5, 0, 0.1], [0.9, 0.1, 0]])
    lists = top_k_per_row(sparse.csr_matrix(similarity), 1)
    assert rows_of(lists) == [[(2, pytest.approx(0.9))], [(0, 0.5)], [(0, pytest.approx(0.9))]]
    got = reverse_neighbours(lists, 5)
    # a customer who bought item 0 gets item 1 (0 is among 1's nearest) and item 2
    assert rows_of(got)[0] == [(2, pytest.approx(0.9)), (1, 0.5)]
    assert rows_of(got)[1] == [] and rows_of(got)[2] == [(0, pytest.approx(0.9))]


def test_reverse_neighbours_cap_keeps_the_most_similar_then_the_lower_index():
    # every item lists item 0 (a hub); item 0's reversed row keeps the cap best
    values = np.array([0.0, 0.3, 0.7, 0.3, 0.9])
    lists = sparse.csr_matrix((values[1:], ([1, 2, 3, 4], [0, 0, 0, 0])), shape=(5, 5))
    got = reverse_neighbours(lists, 3)
    assert [c for c, _ in rows_of(got)[0]] == [4, 2, 1]


def test_reverse_neighbours_need_a_positive_cap():
    with pytest.raises(ValueError, match="cap"):
        reverse_neighbours(sparse.csr_matrix((3, 3)), 0)


# row_max_normalize ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_row_max_normalize_divides_each_row_by_its_maximum(seed):
    rng = np.random.default_rng(600 + seed)
    dense = rng.uniform(0.01, 7.0, size=(12, 9)) * (rng.random((12, 9)) < 0.4)
    dense[[0, 5, 11]] = 0.0  # empty rows, including the first and the last
    matrix = shuffled_csr(dense, rng)
    before = matrix.data.copy()
    got = row_max_normalize(matrix)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(matrix.data, before)  # the input is untouched
    result = got.toarray()
    np.testing.assert_array_equal(result != 0, dense != 0)
    for r, row in enumerate(dense):
        if row.any():
            np.testing.assert_allclose(result[r], row / row.max(), rtol=1e-12)
            assert result[r].max() == pytest.approx(1.0)
        else:
            assert not result[r].any()


def test_row_max_normalize_of_an_empty_matrix_is_empty():
    got = row_max_normalize(sparse.csr_matrix((3, 4)))
    assert got.shape == (3, 4) and got.nnz == 0


def test_semantic_neighbour_ties_beyond_the_partition_width_go_to_the_lower_index():
    embeddings = np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (1000, 1))
    neighbours = semantic_neighbours(embeddings, np.ones(1000, dtype=bool), 3)
    assert neighbours[0].indices.tolist() == [1, 2, 3]
    assert neighbours[999].indices.tolist() == [0, 1, 2]
