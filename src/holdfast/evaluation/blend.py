"""A prototype blend, in numpy, to find what the production recommender should do.

Not shipped: it exists so the evaluation can say which signals and weights
win on the validation split. Every signal is in [0, 1]:
- item_knn: item-kNN on co-purchases (cosine of buyer sets, 100 neighbours),
  divided by the customer's best score;
- embedding_knn: the same with the cosine of the products' MiniLM text
  embeddings (50 neighbours, clipped at 0): semantic neighbours, and the only
  signal that reaches products nobody bought together yet;
- recent_popularity: log1p(distinct buyers in the 30 days before the cutoff),
  over its maximum (a gift shop's catalogue is seasonal);
- popularity: log1p(distinct buyers over the whole training period), over its
  maximum.
confidence = the weighted mean of the signals, so it is in [0, 1] as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from holdfast.evaluation.baselines import Interactions, item_similarity

EMBEDDING_NEIGHBOURS = 50


@dataclass(frozen=True)
class BlendWeights:
    """Weights of the prototype blend (chosen on the validation split)."""

    item_knn: float = 1.0
    embedding_knn: float = 0.5
    recent_popularity: float = 0.9
    popularity: float = 0.0

    def __post_init__(self) -> None:
        parts = self.as_tuple()
        if any(w < 0 for w in parts) or sum(parts) <= 0:
            raise ValueError(f"blend weights must be >= 0 and not all 0, got {parts}")

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.item_knn, self.embedding_knn, self.recent_popularity, self.popularity)

    def normalised(self) -> dict[str, float]:
        total = sum(self.as_tuple())
        names = ("item_knn", "embedding_knn", "recent_popularity", "popularity")
        return {n: round(w / total, 4) for n, w in zip(names, self.as_tuple(), strict=True)}


def _row_max_scaled(scores: np.ndarray) -> np.ndarray:
    top = scores.max(axis=1, keepdims=True)
    return scores / np.where(top > 0, top, 1.0)


def _log_scaled(counts: np.ndarray) -> np.ndarray:
    top = np.log1p(counts.max()) if counts.size else 0.0
    return np.log1p(counts) / top if top > 0 else np.zeros_like(counts, dtype=np.float64)


def embedding_similarity(embeddings: np.ndarray, neighbours: int) -> np.ndarray:
    """Clipped cosine of unit product embeddings, diagonal 0, `neighbours` per column.
    A product without an embedding (zero row) has no neighbours."""
    sim = np.clip(np.asarray(embeddings, dtype=np.float64) @ embeddings.T, 0.0, None)
    np.fill_diagonal(sim, 0.0)
    if 0 < neighbours < sim.shape[0]:
        kth = np.partition(sim, sim.shape[0] - neighbours, axis=0)[sim.shape[0] - neighbours]
        sim = np.where(sim >= kth[None, :], sim, 0.0)
    return sim


def blend_scores(
    interactions: Interactions,
    embeddings: np.ndarray,
    recent_buyers: np.ndarray,
    weights: BlendWeights,
    *,
    knn_neighbours: int = 100,
) -> np.ndarray:
    """Confidence in [0, 1] of every (customer, product) of `interactions`.
    `embeddings` is (n_products, dim), rows in the interactions' product order;
    `recent_buyers` the distinct buyers per product in the recent window."""
    m = interactions.matrix.astype(np.float64)
    signals = (
        _row_max_scaled(m @ item_similarity(m, knn_neighbours)),
        _row_max_scaled(m @ embedding_similarity(embeddings, EMBEDDING_NEIGHBOURS)),
        np.broadcast_to(_log_scaled(np.asarray(recent_buyers, dtype=np.float64)), m.shape),
        np.broadcast_to(_log_scaled(m.sum(axis=0)), m.shape),
    )
    parts = weights.as_tuple()
    blended = sum(w * s for w, s in zip(parts, signals, strict=True) if w > 0)
    return np.clip(blended / sum(parts), 0.0, 1.0)
