"""Segment policy: sample choice, cluster size, refit decision. Pure functions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

NOISE_SEGMENT_ID = -1


def auto_min_cluster_size(n_sample: int) -> int:
    """Smallest segment worth naming: 1% of the fit sample, at least 10. (At 0.5%,
    HDBSCAN splits off small clusters that do not survive a refit on another
    sample: measured on Online Retail, ARI between two refits fell from 0.6 to 0.)"""
    return max(10, round(0.01 * n_sample))


# The same order as an SQL expression (parameter: the seed as text), so the
# warehouse can sample millions of customers without Python touching them.
SAMPLE_RANK_SQL = "sha256(? || ':' || customer_id)"


def sample_rank_key(customer_id: str, seed: int) -> str:
    """Deterministic pseudo-random order for sampling: sha256(seed:customer_id).
    SAMPLE_RANK_SQL computes the same key in SQL."""
    return hashlib.sha256(f"{seed}:{customer_id}".encode()).hexdigest()


@dataclass(frozen=True)
class FittedModelInfo:
    """What the refit policy needs to know about the current segment model."""

    segment_model_id: str
    population_at_fit: int


def refit_decision(
    current: FittedModelInfo | None,
    population_now: int,
    *,
    forced: bool,
    growth_threshold: float,
    minimum_population: int,
) -> tuple[bool, str]:
    """Whether to fit a new segment model, and why (the reason is stored).

    Policy: fit when there is no model; when the operator asks (var
    `segment_refit`); or when the population with vectors has grown by more than
    `growth_threshold` (1.0 = doubled) since the last fit. Never silently on
    every run: segment ids would churn and every customer would be rescored.
    """
    if population_now < minimum_population:
        return (
            False,
            f"too few customers with vectors to fit ({population_now} < {minimum_population})",
        )
    if current is None:
        return True, "no segment model yet"
    if forced:
        return True, "refit requested (var segment_refit)"
    base = max(current.population_at_fit, 1)
    growth = (population_now - base) / base
    if growth > growth_threshold:
        return (
            True,
            f"population grew {growth:.0%} since the last fit (threshold {growth_threshold:.0%})",
        )
    return False, "current model kept"


MIN_MATCH_JACCARD = 0.2


def match_segment_ids(
    new_labels: np.ndarray,
    previous_segments: np.ndarray,
    *,
    next_segment_id: int,
    min_jaccard: float = MIN_MATCH_JACCARD,
) -> tuple[dict[int, int], int]:
    """Segment ids for a refit's clusters, reusing the previous model's ids.

    `new_labels` are the new clusters of the fit sample (-1 noise) and
    `previous_segments` the segment ids the previous model gives the same
    customers. New clusters and old segments are paired by the Hungarian
    assignment maximising their overlap (Jaccard of their member sets); a pair
    with Jaccard below `min_jaccard` is not a match. A matched cluster keeps the
    old id; the others get fresh ids from `next_segment_id` up (largest cluster
    first, ties by lower label), so a retired id is never given to a different
    group of customers. Returns (label -> segment id, the next free id)."""
    new = np.asarray(new_labels, dtype=np.int64)
    old = np.asarray(previous_segments, dtype=np.int64)
    if new.shape != old.shape:
        raise ValueError("new labels and previous segments must describe the same customers")
    labels = sorted({int(x) for x in new if x >= 0})
    olds = sorted({int(x) for x in old if x >= 0})
    mapping: dict[int, int] = {}
    if labels and olds:
        jaccard = np.zeros((len(labels), len(olds)))
        for i, label in enumerate(labels):
            in_new = new == label
            for j, segment in enumerate(olds):
                in_old = old == segment
                union = np.count_nonzero(in_new | in_old)
                jaccard[i, j] = np.count_nonzero(in_new & in_old) / union if union else 0.0
        # imported here: scipy.optimize takes 0.7 s to import, and only a
        # refit matches clusters (labelling customers does not)
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(-jaccard)
        for i, j in zip(rows, cols, strict=True):
            if jaccard[i, j] >= min_jaccard:
                mapping[labels[i]] = olds[j]
    free = max(next_segment_id, max(olds, default=-1) + 1)
    sizes = {label: int(np.count_nonzero(new == label)) for label in labels}
    for label in sorted(labels, key=lambda x: (-sizes[x], x)):
        if label not in mapping:
            mapping[label] = free
            free += 1
    return mapping, free
