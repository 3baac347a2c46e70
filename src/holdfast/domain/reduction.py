"""Principal component analysis in plain numpy, deterministic.

Segments are found in a reduced space: HDBSCAN degrades badly in 384
dimensions (distances concentrate, fitting cost explodes), so vectors are
projected on the top principal components of a fit sample first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Projection:
    """A fitted linear projection: x -> (x - mean) @ components.T."""

    mean: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        """Project rows of `matrix` (n, dim) to (n, n_components) float64."""
        return (np.asarray(matrix, dtype=np.float64) - self.mean) @ self.components.T


def fit_pca(matrix: np.ndarray, n_components: int) -> Projection:
    """Fit PCA by SVD. Component signs are fixed (largest loading positive),
    so the same data always gives the same projection."""
    data = np.asarray(matrix, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        raise ValueError("PCA needs a 2-D matrix with at least two rows")
    k = max(1, min(n_components, data.shape[0] - 1, data.shape[1]))
    mean = data.mean(axis=0)
    _, singular, vt = np.linalg.svd(data - mean, full_matrices=False)
    components = vt[:k]
    signs = np.sign(components[np.arange(k), np.argmax(np.abs(components), axis=1)])
    components = components * np.where(signs == 0, 1.0, signs)[:, None]
    variance = singular**2
    total = variance.sum()
    ratio = variance[:k] / total if total > 0 else np.zeros(k)
    return Projection(mean=mean, components=components, explained_variance_ratio=ratio)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero): on customer taste vectors,
    the direction of a customer's taste in the reduced space, not how far from the
    average it lies. On the real Online Retail data, HDBSCAN finds no segment in
    the raw reduced space (one dense blob) but does on these directions."""
    data = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    return data / np.where(norms > 0, norms, 1.0)
