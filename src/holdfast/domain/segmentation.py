"""Segment policy: sample choice, cluster size, refit decision. Pure functions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

NOISE_SEGMENT_ID = -1


def auto_min_cluster_size(n_sample: int) -> int:
    """Smallest segment worth naming: 0.5% of the fit sample, at least 10."""
    return max(10, round(0.005 * n_sample))


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
