"""Item-item neighbour lists and sparse top-k: the candidate generators' maths.

Two item-item similarities, each kept as the `k` best neighbours per item in a
sparse (items x items) matrix, so scoring a customer costs their history
length x k, never the catalog size:

- co-purchase: cosine of the items' buyer sets, co(i, j) / sqrt(n_i * n_j),
  counted on a sample of customers (item-kNN);
- semantic: cosine of the items' text embeddings, clipped at 0 (reaches
  products nobody bought yet).

Scoring reads them reversed (`reverse_neighbours`): a candidate is scored by
the customer's products that are among *its* k nearest neighbours (classic
item-kNN), not by the candidates that are among each bought product's k
nearest. On the real data the reversed direction is what generalises (see
docs/quality.md); the reversed lists are capped, so a customer's cost stays
their history length x the cap.

Ties are broken by the lower item index everywhere, so results never depend on
sort stability or batch shape. Pure numpy/scipy.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

SCORE_SCALE = 1_000_000  # scores are compared at 6 decimals
_ROW_BITS = 40
_SCORE_BITS = 20


def top_k_per_row(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Keep the k largest stored values of each row (ties: lower column first).

    Values must lie in [0, 1] (they are compared at 6 decimals); explicit zeros
    are dropped.
    """
    matrix = sparse.csr_matrix(matrix)
    matrix.eliminate_zeros()
    n_rows, n_cols = matrix.shape
    if n_cols >= 1 << _SCORE_BITS or n_rows >= 1 << (63 - _ROW_BITS):
        raise ValueError("matrix too large for the packed sort key")
    order, rows, cols, rank = sorted_entries(matrix)
    keep = rank < k
    return sparse.csr_matrix(
        (matrix.data[order][keep], (rows[keep], cols[keep])),
        shape=matrix.shape,
        dtype=np.float32,
    )


def _packed_keys(rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    scores = np.rint(np.clip(values, 0.0, 1.0) * SCORE_SCALE).astype(np.int64)
    return (
        (rows.astype(np.int64) << _ROW_BITS)
        | ((SCORE_SCALE - scores) << _SCORE_BITS)
        | cols.astype(np.int64)
    )


def rank_within_rows(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(order, rank): `order` sorts the entries by row, then best first (value
    at 6 decimals descending, then lower column); rank[i] is the 0-based place
    of entry order[i] within its row."""
    # the packed keys are distinct for distinct (row, col), so any sort gives
    # the same order; quicksort is the fastest numpy has for int64
    order = np.argsort(_packed_keys(rows, cols, values))
    sorted_rows = rows[order]
    if sorted_rows.size == 0:
        return order, sorted_rows
    first = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    lengths = np.diff(np.r_[first, sorted_rows.size])
    rank = np.arange(sorted_rows.size) - np.repeat(first, lengths)
    return order, rank


# top_k_within_rows: scores are bucketed by their top bits to find, per row,
# the lowest bucket that still holds the row's k best entries
_BUCKET_SHIFT = 12


def top_k_within_rows(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, k: int, n_rows: int
) -> np.ndarray:
    """Indices of the `k` best entries of each row (rows 0..n_rows-1), sorted
    by row, then best first: the first `k` of rank_within_rows's order, in the
    same order. Without sorting every entry: a histogram of each row's scores
    (at 6 decimals, bucketed by their top bits) gives the lowest bucket that
    still holds k entries; only entries in that bucket or above are sorted."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    scores = np.rint(np.clip(values, 0.0, 1.0) * SCORE_SCALE).astype(np.int64)
    buckets = scores >> _BUCKET_SHIFT
    n_buckets = (SCORE_SCALE >> _BUCKET_SHIFT) + 1
    counts = np.bincount(rows * n_buckets + buckets, minlength=n_rows * n_buckets)
    # at_or_above[r, j]: entries of row r in bucket n_buckets - 1 - j or above
    at_or_above = np.cumsum(counts.reshape(n_rows, n_buckets)[:, ::-1], axis=1)
    enough = at_or_above >= k
    lowest = np.where(enough.any(axis=1), n_buckets - 1 - enough.argmax(axis=1), 0)
    candidates = np.flatnonzero(buckets >= lowest[rows])
    order, rank = rank_within_rows(rows[candidates], cols[candidates], values[candidates])
    return candidates[order[rank < k]]


def entry_rows(matrix: sparse.csr_matrix) -> np.ndarray:
    """The row of each stored entry of a CSR matrix, in storage order."""
    return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))


def sorted_entries(
    matrix: sparse.csr_matrix,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(order, rows, cols, rank within row) of the stored entries, each row
    best first; `order` indexes matrix.data."""
    all_rows = entry_rows(matrix)
    order, rank = rank_within_rows(all_rows, matrix.indices, matrix.data)
    return order, all_rows[order], matrix.indices[order], rank


def copurchase_neighbours(history: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Top-k co-purchase cosine neighbours per item from a (customers x items)
    history (any positive value counts as bought)."""
    bought = sparse.csr_matrix(history, dtype=np.float32, copy=True)
    bought.sum_duplicates()
    bought.data = (bought.data > 0).astype(np.float32)
    bought.eliminate_zeros()
    buyers = np.asarray(bought.sum(axis=0)).ravel()
    together = (bought.T @ bought).tocsr()
    together.setdiag(0)
    together.eliminate_zeros()
    coo = together.tocoo()
    norm = np.sqrt(buyers[coo.row] * buyers[coo.col])
    values = np.round(coo.data / np.where(norm > 0, norm, 1.0), 6).astype(np.float32)
    cosine = sparse.csr_matrix((values, (coo.row, coo.col)), shape=together.shape)
    return top_k_per_row(cosine, k)


def semantic_neighbours(
    embeddings: np.ndarray, present: np.ndarray, k: int, block_rows: int = 512
) -> sparse.csr_matrix:
    """Top-k cosine neighbours per item by text embedding (unit rows), in
    blocks so memory is block_rows x items; items without an embedding have
    none and are nobody's neighbour. Ties: lower item index first."""
    # float64 products: float32 ones differ in their last bits with the
    # block's shape (BLAS picks other kernels), which moved 6-decimal scores
    embeddings = np.asarray(embeddings, dtype=np.float64)
    n = embeddings.shape[0]
    usable = np.flatnonzero(present)
    k = min(k, max(usable.size - 1, 0))
    if k == 0:
        return sparse.csr_matrix((n, n), dtype=np.float32)
    pool = embeddings[usable]
    rows_out, cols_out, values_out = [], [], []
    for start in range(0, usable.size, block_rows):
        block = usable[start : start + block_rows]
        scores = np.round(np.clip(embeddings[block] @ pool.T, 0.0, 1.0), 6)
        scores[np.arange(block.size), np.arange(start, start + block.size)] = -1.0
        # every entry at least as good as the row's k-th best, then an exact
        # ordering (value desc, index asc) of those few
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
        rows, cols = np.nonzero((scores >= kth) & (scores > 0))
        values = scores[rows, cols]
        order = np.lexsort((cols, -values, rows))
        rows, cols, values = rows[order], cols[order], values[order]
        first = np.searchsorted(rows, np.arange(block.size))
        rank = np.arange(rows.size) - first[rows]
        keep = rank < k
        rows_out.append(block[rows[keep]])
        cols_out.append(usable[cols[keep]])
        values_out.append(values[keep])
    return sparse.csr_matrix(
        (
            np.concatenate(values_out).astype(np.float32),
            (np.concatenate(rows_out), np.concatenate(cols_out)),
        ),
        shape=(n, n),
    )


def reverse_neighbours(neighbours: sparse.csr_matrix, cap: int) -> sparse.csr_matrix:
    """Rows: for each item i, the items j whose own neighbour list (row j of
    `neighbours`) contains i, with that similarity, at most `cap` of them
    (the most similar first; ties: lower index). `history @ result` then sums,
    for every candidate j, the similarities of the customer's items among j's
    k nearest neighbours. Without the cap a popular item could be in nearly
    every list; the cap bounds each row, hence a customer's candidate count."""
    if cap < 1:
        raise ValueError("cap must be >= 1")
    return top_k_per_row(sparse.csr_matrix(neighbours).T.tocsr(), cap)


def row_max_normalize(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Divide each row by its largest value, so the row's best entry is 1."""
    matrix = sparse.csr_matrix(matrix, dtype=np.float64, copy=True)
    if matrix.nnz == 0:
        return matrix
    matrix.data = divide_by_row_max(matrix.data, matrix.indptr)
    return matrix


def divide_by_row_max(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """`values` (entries grouped by row, row r at starts[r]:starts[r + 1])
    divided by their row's largest value; a row whose largest value is not
    positive is left as it is."""
    lengths = np.diff(starts)
    maxima = np.zeros(lengths.size)
    nonempty = lengths > 0
    maxima[nonempty] = np.maximum.reduceat(values, starts[:-1][nonempty])
    return values / np.repeat(np.where(maxima > 0, maxima, 1.0), lengths)
