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


def most_bought_columns(matrix: np.ndarray, max_items: int) -> np.ndarray:
    """Column indexes (ascending) of the `max_items` products with the most distinct
    buyers; ties go to the lower index; 0 keeps every column."""
    n = matrix.shape[1]
    if max_items <= 0 or max_items >= n:
        return np.arange(n)
    buyers = (np.asarray(matrix) > 0).sum(axis=0)
    return np.sort(np.argsort(-buyers, kind="stable")[:max_items])


def _on_columns(partial: np.ndarray, columns: np.ndarray, n_products: int) -> np.ndarray:
    """Scores of the kept columns placed in a full matrix; every other product gets
    -inf, so `recommend_top_k` never recommends it."""
    full = np.full((partial.shape[0], n_products), -np.inf, dtype=partial.dtype)
    full[:, columns] = partial
    return full


def ease_weights(matrix: np.ndarray, l2: float, dtype: type = np.float32) -> np.ndarray:
    """EASE^R item-item weights (Steck, "Embarrassingly Shallow Autoencoders for
    Sparse Data", WWW 2019), in closed form:

        G = XᵀX + λI,  P = G⁻¹,  B = I − P·diag(1/diag(P))   (so diag(B) = 0)

    X is the binary (customers x products) matrix, λ = `l2` > 0. The Gram matrix
    holds co-purchase counts, exact in float32 below 2^24 buyers; λI keeps its
    condition number under (largest eigenvalue + λ) / λ, which makes the float32
    inverse safe for the λ a practitioner uses (50 and up). Memory: two
    (products x products) matrices of `dtype`."""
    if l2 <= 0:
        raise ValueError("EASE needs l2 > 0")
    x = (np.asarray(matrix) > 0).astype(dtype)
    gram = x.T @ x
    gram[np.diag_indices_from(gram)] += dtype(l2)
    p = np.linalg.inv(gram)
    del gram
    b = p / (-np.diag(p))[None, :]
    np.fill_diagonal(b, 0.0)
    return b


def ease_scores(
    interactions: Interactions, l2: float = 250.0, max_items: int = 20_000
) -> np.ndarray:
    """EASE^R on the `max_items` most-bought products: scores = X·B. Products outside
    them score -inf (never recommended); memory stays bounded by `max_items`."""
    columns = most_bought_columns(interactions.matrix, max_items)
    x = (interactions.matrix[:, columns] > 0).astype(np.float32)
    return _on_columns(x @ ease_weights(x, l2), columns, interactions.matrix.shape[1])


def rp3beta_weights(
    matrix: np.ndarray, alpha: float = 1.0, beta: float = 0.5, topk: int = 100
) -> np.ndarray:
    """RP3beta item-item weights (Paudel et al. 2017; Christoffel et al. 2015; as
    implemented by Dacrema et al. 2019):

        Pui[u, i] = x_ui / deg_u     (customers to products, rows sum to 1)
        Piu[i, u] = x_ui / deg_i     (products to customers, rows sum to 1)
        W[i, j]   = (Σ_u Piu[i, u]^α · Pui[u, j]^α) / deg_j^β

    deg_u = products the customer bought, deg_i = distinct buyers of product i. With
    α = 1 and β = 0, W is the two-step random walk product -> customer -> product.
    The diagonal is set to 0 (a product never recommends itself) and each row keeps
    its `topk` largest weights (ties: lower index; 0 keeps all). Products nobody
    bought have all-zero rows and columns."""
    x = (np.asarray(matrix) > 0).astype(np.float64)
    deg_u = x.sum(axis=1)
    deg_i = x.sum(axis=0)
    pui = x / np.where(deg_u > 0, deg_u, 1.0)[:, None]
    piu = x.T / np.where(deg_i > 0, deg_i, 1.0)[:, None]
    if alpha != 1.0:
        pui = np.power(pui, alpha)
        piu = np.power(piu, alpha)
    penalty = np.zeros_like(deg_i)
    bought = deg_i > 0
    penalty[bought] = np.power(deg_i[bought], -beta)
    w = (piu @ pui) * penalty[None, :]
    np.fill_diagonal(w, 0.0)
    n = w.shape[1]
    if 0 < topk < n:
        dropped = np.argsort(-w, axis=1, kind="stable")[:, topk:]
        np.put_along_axis(w, dropped, 0.0, axis=1)
    return w.astype(np.float32)


def rp3beta_scores(
    interactions: Interactions,
    alpha: float = 1.0,
    beta: float = 0.5,
    topk: int = 100,
    max_items: int = 20_000,
) -> np.ndarray:
    """RP3beta on the `max_items` most-bought products: scores = X·W, products outside
    them score -inf. The walk runs over the kept products only."""
    columns = most_bought_columns(interactions.matrix, max_items)
    x = (interactions.matrix[:, columns] > 0).astype(np.float32)
    w = rp3beta_weights(x, alpha, beta, topk)
    return _on_columns(x @ w, columns, interactions.matrix.shape[1])
