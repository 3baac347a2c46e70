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
    weight_matrix = sparse.csr_matrix((data, indices, indptr), shape=(n, n_items))
    sums = np.asarray(weight_matrix @ vectors.astype(np.float64))
    return normalize_rows(sums.astype(np.float32)), lengths


def cosine_similarity(queries: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Cosine similarity of every query row with every item row, (q, i) float32."""
    return normalize_rows(queries) @ normalize_rows(items).T


def has_vector(matrix: np.ndarray) -> np.ndarray:
    """True for rows that are not all zero."""
    return np.any(matrix != 0, axis=1)
