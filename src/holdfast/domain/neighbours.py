"""Item-item neighbour lists and sparse top-k: the candidate generators' maths.

Two item-item similarities, each kept as the `k` best neighbours per item in a
sparse (items x items) matrix, so scoring a customer costs their history
length x k, never the catalog size:

- co-purchase: cosine of the items' buyer sets, co(i, j) / sqrt(n_i * n_j),
  counted on a sample of customers (item-kNN);
- semantic: cosine of the items' text embeddings, clipped at 0 (reaches
  products nobody bought yet);
- EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW
  2019): the closed-form item-item regression B = I - P diag(1/diag(P)),
  P = (XᵀX + λI)⁻¹, on the most-bought items only (its Gram matrix and inverse
  are dense: items² each), each item's k largest positive weights kept.

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
from scipy import linalg, sparse

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


def most_bought_items(history: sparse.csr_matrix, max_items: int) -> np.ndarray:
    """Indexes (ascending) of the `max_items` items with the most distinct buyers
    in a (customers x items) history; ties go to the lower index; items nobody
    bought are left out."""
    bought = sparse.csr_matrix(history, copy=True)
    bought.sum_duplicates()
    bought.data = (bought.data > 0).astype(np.float32)
    buyers = np.bincount(bought.indices[bought.data > 0], minlength=bought.shape[1])
    ranked = np.lexsort((np.arange(buyers.size), -buyers))
    ranked = ranked[buyers[ranked] > 0][: max(max_items, 0)]
    return np.sort(ranked)


def gram_matrix(
    history: sparse.csr_matrix, items: np.ndarray, max_pairs: int = 4_000_000
) -> np.ndarray:
    """XᵀX of the binary history restricted to `items` (columns in that order), dense
    float32: co-purchase counts, exact below 2^24 customers. Customers are taken in
    blocks of at most `max_pairs` (item, item) pairs (a customer with n of the items
    adds n² of them; one larger than that is a block alone), so the sparse product of
    a block stays bounded whatever the sample size."""
    columns = np.asarray(items, dtype=np.int64)
    x = sparse.csr_matrix(history)[:, columns].tocsr()
    x.sum_duplicates()
    x.data = (x.data > 0).astype(np.float32)
    x.eliminate_zeros()
    n = columns.size
    gram = np.zeros((n, n), dtype=np.float32)
    flat = gram.reshape(-1)
    pairs = np.cumsum(np.diff(x.indptr).astype(np.int64) ** 2)
    start = 0
    while start < x.shape[0]:
        done = pairs[start - 1] if start else 0
        stop = max(int(np.searchsorted(pairs, done + max_pairs, side="right")), start + 1)
        block = x[start:stop]
        together = (block.T @ block).tocoo()
        # a canonical sparse product holds each (row, col) once: += is exact
        flat[together.row.astype(np.int64) * n + together.col] += together.data
        start = stop
    return gram


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """EASE^R weights from a Gram matrix XᵀX (float32, overwritten):

        P = (XᵀX + λI)⁻¹,  B = I − P·diag(1/diag(P))   (so diag(B) = 0)

    B[i, j] is how much having bought i predicts j. λ = `l2` > 0 is in co-purchase
    counts; it bounds the condition number by (largest eigenvalue + λ) / λ, which
    makes the float32 inverse safe for the λ one uses (tens and up). Memory: the
    Gram matrix, inverted in place, and B."""
    if not l2 > 0:
        raise ValueError("EASE needs l2 > 0")
    gram = np.asarray(gram, dtype=np.float32)
    gram[np.diag_indices_from(gram)] += np.float32(l2)
    # the matrix is symmetric: its transpose is the Fortran-ordered array LAPACK
    # inverts in place, and the inverse is the same
    p = linalg.inv(gram.T, overwrite_a=True, check_finite=False)
    p /= -np.diag(p)[None, :].copy()
    np.fill_diagonal(p, 0.0)
    return p


def ease_neighbours(
    history: sparse.csr_matrix,
    max_items: int,
    l2: float,
    k: int,
    block_rows: int = 512,
) -> sparse.csr_matrix:
    """EASE^R on the `max_items` most-bought items of a (customers x items) history,
    as neighbour lists: row j holds the k items i with the largest positive B[i, j]
    (ties: lower index, at 6 decimals), the items whose purchase best predicts j.
    Weights are divided by the largest weight of B, so they lie in (0, 1] (one
    scale for all: the ranking within a row, and between rows, is unchanged).
    Items outside the most-bought have empty rows and are nobody's neighbour.
    Memory: two max_items² float32 matrices at most (the Gram matrix, inverted
    in place, and B)."""
    n_items = history.shape[1]
    items = most_bought_items(history, max_items)
    if items.size < 2 or k < 1:
        return sparse.csr_matrix((n_items, n_items), dtype=np.float32)
    b = ease_weights(gram_matrix(history, items), l2)
    # one scale for every row (the largest weight is kept: it is its row's best)
    scale = float(b.max())
    if not scale > 0:
        return sparse.csr_matrix((n_items, n_items), dtype=np.float32)
    rows_out, cols_out, values_out = [], [], []
    for start in range(0, items.size, block_rows):
        # rows: candidates j of this block; columns: the items i predicting them
        block = np.clip(b[:, start : start + block_rows].T / scale, 0.0, 1.0)
        coo = top_k_per_row(sparse.csr_matrix(block), k).tocoo()
        rows_out.append(items[coo.row + start])
        cols_out.append(items[coo.col])
        values_out.append(coo.data)
    return sparse.csr_matrix(
        (
            np.concatenate(values_out).astype(np.float32),
            (np.concatenate(rows_out), np.concatenate(cols_out)),
        ),
        shape=(n_items, n_items),
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
