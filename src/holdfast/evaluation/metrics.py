"""Ranking metrics and confidence calibration. Pure functions, no I/O.

Conventions (the same for every method):
- `recommended[c]` is customer c's list, best first; only the first k count.
- `truth[c]` is the set of products c bought in the test window that they had
  not bought before the cutoff; only customers with a non-empty truth are
  evaluated, and an evaluated customer without recommendations scores 0.
- hit rate@k: share of evaluated customers with at least one bought product
  in their top k; precision@k: hits / k; recall@k: hits / |truth|, averaged; NDCG@k: binary gains,
  log2 discount, ideal = min(|truth|, k) hits at the top; catalog coverage:
  distinct products recommended to evaluated customers / recommendable
  products; customers with recommendations: share of evaluated customers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RankingMetrics:
    """Figures of one method on one split."""

    hit_rate: float
    precision: float
    recall: float
    ndcg: float
    catalog_coverage: float
    customers_with_recommendations: float
    n_customers: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "hit_rate_at_k": round(self.hit_rate, 4),
            "precision_at_k": round(self.precision, 4),
            "recall_at_k": round(self.recall, 4),
            "ndcg_at_k": round(self.ndcg, 4),
            "catalog_coverage": round(self.catalog_coverage, 4),
            "customers_with_recommendations": round(self.customers_with_recommendations, 4),
            "n_customers": self.n_customers,
        }


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Binary-relevance NDCG of one ranked list."""
    if not relevant:
        raise ValueError("NDCG needs at least one relevant item")
    gains = sum(1.0 / math.log2(rank + 2) for rank, p in enumerate(ranked[:k]) if p in relevant)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return gains / ideal


def ranking_metrics(
    recommended: Mapping[str, Sequence[str]],
    truth: Mapping[str, set[str]],
    *,
    k: int,
    n_recommendable: int,
) -> RankingMetrics:
    """Metrics of `recommended` against `truth` (see the module docstring)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    evaluated = sorted(c for c, items in truth.items() if items)
    if not evaluated:
        raise ValueError("no customer has a test purchase: nothing to evaluate")
    hits = precision = recall = ndcg = 0.0
    served = 0
    shown: set[str] = set()
    for customer in evaluated:
        ranked = list(recommended.get(customer, ()))[:k]
        relevant = truth[customer]
        if ranked:
            served += 1
            shown.update(ranked)
        found = sum(1 for p in ranked if p in relevant)
        hits += found > 0
        precision += found / k
        recall += found / len(relevant)
        ndcg += ndcg_at_k(ranked, relevant, k)
    n = len(evaluated)
    return RankingMetrics(
        hit_rate=hits / n,
        precision=precision / n,
        recall=recall / n,
        ndcg=ndcg / n,
        catalog_coverage=len(shown) / n_recommendable if n_recommendable else 0.0,
        customers_with_recommendations=served / n,
        n_customers=n,
    )


@dataclass(frozen=True)
class CalibrationBucket:
    """Observed hit rate of the candidates whose confidence is in [lower, upper)."""

    lower: float
    upper: float
    n_candidates: int
    n_hits: int

    @property
    def hit_rate(self) -> float | None:
        return self.n_hits / self.n_candidates if self.n_candidates else None


def calibration_table(
    candidates: Iterable[tuple[str, str, float]],
    truth: Mapping[str, set[str]],
    edges: Sequence[float],
) -> list[CalibrationBucket]:
    """Bucket (customer, product, confidence) candidates by confidence; a hit is a
    product the customer bought in the test window. The last bucket includes its
    upper edge. Only customers in `truth` (evaluated customers) count."""
    edges = list(edges)
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError("edges must be at least two increasing numbers")
    counts = [[0, 0] for _ in edges[:-1]]
    for customer, product, confidence in candidates:
        if customer not in truth:
            continue
        bucket = _bucket_of(confidence, edges)
        if bucket is None:
            continue
        counts[bucket][0] += 1
        counts[bucket][1] += product in truth[customer]
    return [CalibrationBucket(edges[i], edges[i + 1], n, h) for i, (n, h) in enumerate(counts)]


def _bucket_of(value: float, edges: Sequence[float]) -> int | None:
    if value < edges[0] or value > edges[-1]:
        return None
    for i in range(len(edges) - 1):
        if value < edges[i + 1]:
            return i
    return len(edges) - 2


def threshold_from_calibration(
    buckets: Sequence[CalibrationBucket], *, min_hit_rate: float, min_candidates: int = 50
) -> float:
    """The default `min_confidence`: walking down from the most confident bucket, the
    lower edge of the last bucket before the first one whose observed hit rate is
    below `min_hit_rate`. Buckets with fewer than `min_candidates` candidates are too
    small to judge and are passed over. When even the top judged bucket falls short,
    the top edge (recommend nothing that confident scoring cannot back)."""
    if not buckets:
        raise ValueError("no calibration buckets")
    threshold = buckets[-1].upper
    for bucket in reversed(buckets):
        if bucket.n_candidates < min_candidates:
            continue
        if bucket.n_hits / bucket.n_candidates < min_hit_rate:
            break
        threshold = bucket.lower
    return threshold
