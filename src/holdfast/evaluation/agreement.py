"""How far two embeddings of the same texts agree. Pure functions, no I/O.

What recommendations see of an embedding is each product's nearest
neighbours, so a cheaper backend is judged by how many of those it keeps.
"""

from __future__ import annotations

import numpy as np


def nearest_neighbours(vectors: np.ndarray, k: int = 10) -> np.ndarray:
    """Row i: the indexes of the k rows most similar to row i (cosine of unit
    vectors), best first, itself excluded; ties go to the lower index."""
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def neighbour_overlap(reference: np.ndarray, vectors: np.ndarray, k: int = 10) -> float:
    """Mean share of each text's k nearest neighbours under `reference` that
    `vectors` also lists (overlap@k; 1.0 = the same neighbour sets)."""
    ours, theirs = nearest_neighbours(reference, k), nearest_neighbours(vectors, k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ours, theirs, strict=True)]))
