"""Vector maths on embeddings: normalisation, weighted means, cosine similarity.

Pure numpy/scipy, float32 throughout, deterministic for the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale each row to unit L2 norm; all-zero rows stay zero (never NaN)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    safe = np.where(norms > 0, norms, 1.0).astype(np.float32)
    return matrix / safe


def weighted_mean_rows(
    vectors: np.ndarray,
    rows: Sequence[Sequence[int]],
    weights: Sequence[Sequence[float]],
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length weighted mean of `vectors[rows[i]]` for every i.

    Returns (means, counts): means is float32 (n, dim); counts[i] is how many of
    row i's indexes were used. Rows with no index (or zero total weight) get a
    zero vector, which callers treat as "no vector".
    """
    if len(rows) != len(weights):
        raise ValueError("rows and weights must have the same length")
    n, n_items = len(rows), vectors.shape[0]
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=n)
    if any(len(r) != len(w) for r, w in zip(rows, weights, strict=True)):
        raise ValueError("each row needs one weight per index")
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(indptr[-1]))
    data = np.fromiter((w for ws in weights for w in ws), dtype=np.float64, count=int(indptr[-1]))
    if data.size and (not np.all(np.isfinite(data)) or np.any(data < 0)):
        raise ValueError("weights must be finite and non-negative")
    if indices.size and (indices.min() < 0 or indices.max() >= n_items):
        raise IndexError("row index out of range of the vector matrix")
    weight_matrix = sparse.csr_matrix(
        (data.astype(np.float32), indices, indptr), shape=(n, n_items)
    )
    # float32 throughout: the product matrix is shared by every batch and
    # converting it per batch would cost more than the product itself
    sums = np.asarray(weight_matrix @ np.asarray(vectors, dtype=np.float32))
    return normalize_rows(sums), lengths


def weighted_mean_flat(
    vectors: np.ndarray,
    row_ids: np.ndarray,
    item_ids: np.ndarray,
    weights: np.ndarray,
    n_rows: int,
) -> tuple[np.ndarray, np.ndarray]:
    """weighted_mean_rows for flat (row, item, weight) triples: unit-length
    weighted mean of vectors[item] per row, and how many items each row used."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.size and (not np.all(np.isfinite(weights)) or np.any(weights < 0)):
        raise ValueError("weights must be finite and non-negative")
    if item_ids.size and (item_ids.min() < 0 or item_ids.max() >= vectors.shape[0]):
        raise IndexError("item index out of range of the vector matrix")
    weight_matrix = sparse.csr_matrix(
        (weights.astype(np.float32), (row_ids, item_ids)), shape=(n_rows, vectors.shape[0])
    )
    sums = np.asarray(weight_matrix @ np.asarray(vectors, dtype=np.float32))
    counts = np.bincount(row_ids, minlength=n_rows).astype(np.int64)
    return normalize_rows(sums), counts


def cosine_similarity(queries: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Cosine similarity of every query row with every item row, (q, i) float32."""
    return normalize_rows(queries) @ normalize_rows(items).T


def has_vector(matrix: np.ndarray) -> np.ndarray:
    """True for rows that are not all zero."""
    return np.any(matrix != 0, axis=1)
