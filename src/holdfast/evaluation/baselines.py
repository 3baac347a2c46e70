"""Baseline recommenders a practitioner would try first. Pure numpy.

Every method scores a (customers x products) matrix from the same inputs: the
binary purchase matrix of the training period, and gets the same business
rules applied by `recommend_top_k` (in stock, not already purchased). Products
are ordered by product id, so ties go to the lower product id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interactions:
    """Training purchases as a dense binary matrix, rows and columns sorted by id."""

    customer_ids: list[str]
    product_ids: list[str]
    matrix: np.ndarray  # (n_customers, n_products) float32, 1.0 = bought before the cutoff

    @classmethod
    def from_pairs(
        cls, pairs: Sequence[tuple[str, str]], product_ids: Sequence[str]
    ) -> Interactions:
        """From (customer_id, product_id) pairs; products outside `product_ids` are dropped."""
        products = sorted(set(product_ids))
        column = {p: j for j, p in enumerate(products)}
        customers = sorted({c for c, p in pairs if p in column})
        row = {c: i for i, c in enumerate(customers)}
        matrix = np.zeros((len(customers), len(products)), dtype=np.float32)
        for customer, product in pairs:
            j = column.get(product)
            if j is not None:
                matrix[row[customer], j] = 1.0
        return cls(customers, products, matrix)


def top_k(scores: np.ndarray, k: int, excluded: np.ndarray) -> np.ndarray:
    """Column indexes of the k best scores per row, best first; ties go to the lower
    index (a stable sort of the negated scores); excluded cells never appear (-1 pads)."""
    masked = np.where(excluded, -np.inf, np.asarray(scores, dtype=np.float64))
    k = min(k, masked.shape[1])
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    allowed = np.isfinite(np.take_along_axis(masked, order, axis=1))
    return np.where(allowed, order, -1)


def popularity_scores(interactions: Interactions) -> np.ndarray:
    """Global popularity: distinct buyers per product, the same row for everyone."""
    counts = interactions.matrix.sum(axis=0, dtype=np.float64)
    return np.broadcast_to(counts, interactions.matrix.shape)


def segment_popularity_scores(
    interactions: Interactions, segment_of_customer: Sequence[int]
) -> np.ndarray:
    """Distinct buyers per product within the customer's segment; noise (-1) and
    segments too small to say anything fall back to global popularity. A tiny
    global term breaks ties within a segment by overall popularity."""
    segments = np.asarray(segment_of_customer, dtype=np.int64)
    if segments.shape[0] != interactions.matrix.shape[0]:
        raise ValueError("one segment per customer is needed")
    glob = interactions.matrix.sum(axis=0, dtype=np.float64)
    scores = np.empty(interactions.matrix.shape, dtype=np.float64)
    scores[:] = glob
    for segment in np.unique(segments[segments >= 0]):
        members = segments == segment
        counts = interactions.matrix[members].sum(axis=0, dtype=np.float64)
        scores[members] = counts + glob / (glob.max() + 1.0)
    return scores


def item_similarity(matrix: np.ndarray, neighbours: int) -> np.ndarray:
    """Cosine similarity of products' buyer sets, diagonal 0, each column keeping
    only its `neighbours` most similar products (0 = keep all)."""
    m = np.asarray(matrix, dtype=np.float64)
    co = m.T @ m
    norms = np.sqrt(np.diag(co))
    norms[norms == 0] = 1.0
    sim = co / norms[:, None] / norms[None, :]
    np.fill_diagonal(sim, 0.0)
    if 0 < neighbours < sim.shape[0]:
        kth = np.partition(sim, sim.shape[0] - neighbours, axis=0)[sim.shape[0] - neighbours]
        sim = np.where(sim >= kth[None, :], sim, 0.0)
    return sim


def item_knn_scores(interactions: Interactions, neighbours: int = 100) -> np.ndarray:
    """Item-kNN on co-purchases: sum of similarities to the customer's products."""
    sim = item_similarity(interactions.matrix, neighbours)
    return interactions.matrix.astype(np.float64) @ sim


def recommend_top_k(
    scores: np.ndarray,
    interactions: Interactions,
    in_stock: np.ndarray,
    k: int,
    *,
    require_positive: bool = False,
) -> dict[str, list[str]]:
    """The business rules, then the k best per customer (ties: lower product id).
    `require_positive` drops zero scores (a kNN with no neighbour says nothing)."""
    excluded = (interactions.matrix > 0) | ~np.asarray(in_stock, dtype=bool)[None, :]
    if require_positive:
        excluded = excluded | (scores <= 0)
    picked = top_k(np.asarray(scores, dtype=np.float64), k, excluded)
    result: dict[str, list[str]] = {}
    for i, customer in enumerate(interactions.customer_ids):
        result[customer] = [interactions.product_ids[j] for j in picked[i] if j >= 0]
    return result


def top_candidates(
    scores: np.ndarray, interactions: Interactions, in_stock: np.ndarray, n: int
) -> list[tuple[str, str, float]]:
    """(customer, product, score) of each customer's n best products under the rules:
    the candidate list a calibration table is made of."""
    excluded = (interactions.matrix > 0) | ~np.asarray(in_stock, dtype=bool)[None, :]
    picked = top_k(np.asarray(scores, dtype=np.float64), n, excluded)
    return [
        (customer, interactions.product_ids[j], float(scores[i, j]))
        for i, customer in enumerate(interactions.customer_ids)
        for j in picked[i]
        if j >= 0
    ]
