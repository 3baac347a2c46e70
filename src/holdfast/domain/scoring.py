"""Recommendation scoring: blend signals into a confidence, pick the top k.

A candidate's confidence is a convex blend of three signals, each in [0, 1]:
- similarity: cosine between the customer's taste vector and the product's
  text embedding, clipped at 0 (what the customer's purchases are *about*);
- segment affinity: how much customers of the same segment buy the product,
  relative to the segment's best seller (what similar customers buy);
- popularity: log-scaled purchase count relative to the best seller (a prior
  that also serves customers with no history).
So confidence is in [0, 1] by construction. The predicted value is the
expected spend if the recommendation is taken: confidence x the product's
typical purchase amount (median line amount, or its price if never bought).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCORE_DECIMALS = 6


@dataclass(frozen=True)
class ScoringWeights:
    """Blend weights; they must be non-negative and sum to 1."""

    similarity: float = 0.55
    segment: float = 0.30
    popularity: float = 0.15

    def __post_init__(self) -> None:
        parts = (self.similarity, self.segment, self.popularity)
        if any(p < 0 for p in parts) or not np.isclose(sum(parts), 1.0):
            raise ValueError(f"scoring weights must be >= 0 and sum to 1, got {parts}")


def popularity_prior(purchase_counts: np.ndarray) -> np.ndarray:
    """log1p(count) / log1p(max count), in [0, 1]; all zeros when nothing sold."""
    counts = np.maximum(np.asarray(purchase_counts, dtype=np.float64), 0.0)
    top = np.log1p(counts.max()) if counts.size else 0.0
    if top <= 0:
        return np.zeros_like(counts, dtype=np.float32)
    return (np.log1p(counts) / top).astype(np.float32)


def blend_confidence(
    similarity: np.ndarray,
    segment_affinity: np.ndarray,
    popularity: np.ndarray,
    weights: ScoringWeights,
) -> np.ndarray:
    """Confidence in [0, 1] for every (customer, product), rounded to
    SCORE_DECIMALS so reruns in other batch shapes rank identically."""
    blended = (
        weights.similarity * np.clip(np.asarray(similarity, dtype=np.float64), 0.0, 1.0)
        + weights.segment * np.clip(np.asarray(segment_affinity, dtype=np.float64), 0.0, 1.0)
        + weights.popularity * np.clip(np.asarray(popularity, dtype=np.float64), 0.0, 1.0)[None, :]
    )
    return np.round(np.clip(blended, 0.0, 1.0), SCORE_DECIMALS)


def predicted_value(confidence: np.ndarray, typical_spend: np.ndarray) -> np.ndarray:
    """Expected spend of a recommendation: confidence x typical spend, 2 decimals."""
    return np.round(np.asarray(confidence, dtype=np.float64) * typical_spend, 2)


def top_k(scores: np.ndarray, k: int, excluded: np.ndarray | None = None) -> np.ndarray:
    """Indexes of the k best columns per row, best first.

    Ties are broken by the lower column index (callers order products by
    product_id), so the result never depends on sort stability or batch shape.
    Excluded cells are never returned; rows may get fewer than k.
    """
    if scores.ndim != 2:
        raise ValueError("scores must be 2-D")
    n_rows, n_cols = scores.shape
    k = min(k, n_cols)
    masked = scores.astype(np.float64, copy=True)
    if excluded is not None:
        masked[excluded] = -np.inf
    picked = np.full((n_rows, k), -1, dtype=np.int64)
    if k == 0:
        return picked
    for row in range(n_rows):
        values = masked[row]
        kth = np.partition(values, n_cols - k)[n_cols - k]
        if not np.isfinite(kth):
            candidates = np.flatnonzero(np.isfinite(values))
        else:
            candidates = np.flatnonzero(values >= kth)
        order = np.lexsort((candidates, -values[candidates]))[:k]
        chosen = candidates[order]
        picked[row, : chosen.size] = chosen
    return picked
