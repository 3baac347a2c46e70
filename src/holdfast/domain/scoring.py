"""Recommendation scoring: blend signals into a confidence.

A candidate's confidence is a convex blend of five signals, each in [0, 1]:
- co-purchase: sum of the co-purchase cosine between the candidate and each
  product the customer bought (item-kNN), divided by the customer's best
  candidate's sum (what people who bought the same things also bought);
- EASE: the same with EASE^R's item-item regression weights (how much the
  customer's purchases, together, predict the candidate; the most-bought
  products only);
- semantic: the same with text-embedding neighbours (what the customer's
  purchases are *about*; reaches products nobody has bought yet);
- segment affinity: share of the segment's customers who bought it, relative
  to the segment's best seller (what similar customers buy);
- popularity: log-scaled purchase count relative to the best seller (a prior
  that also serves customers with no history).
So confidence is in [0, 1] by construction. The two co-purchase signals are
reported as one, their weighted mean (`copurchase_evidence`), so the confidence
stays the blend of the four reported signals. The predicted value is the
expected spend if the recommendation is taken: confidence x the product's
typical purchase amount (median line amount, or its price if never bought).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

SCORE_DECIMALS = 6


@dataclass(frozen=True)
class ScoringWeights:
    """Blend weights; they must be non-negative and sum to 1 (the project's
    weights are settings: holdfast.settings.ScoringSettings)."""

    copurchase: float
    semantic: float
    segment: float
    popularity: float
    ease: float = 0.0

    def __post_init__(self) -> None:
        parts = tuple(asdict(self).values())
        if any(not np.isfinite(p) or p < 0 for p in parts) or not np.isclose(sum(parts), 1.0):
            raise ValueError(f"scoring weights must be >= 0 and sum to 1, got {parts}")

    def label(self) -> str:
        """A stable text form, part of the recommender version."""
        return ",".join(f"{name}={value:g}" for name, value in asdict(self).items())


def popularity_prior(purchase_counts: np.ndarray) -> np.ndarray:
    """log1p(count) / log1p(max count), in [0, 1]; all zeros when nothing sold."""
    counts = np.maximum(np.asarray(purchase_counts, dtype=np.float64), 0.0)
    top = np.log1p(counts.max()) if counts.size else 0.0
    if top <= 0:
        return np.zeros_like(counts, dtype=np.float32)
    return (np.log1p(counts) / top).astype(np.float32)


def _unit(values: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)


def blend_confidence(
    copurchase: np.ndarray,
    semantic: np.ndarray,
    segment_affinity: np.ndarray,
    popularity: np.ndarray,
    weights: ScoringWeights,
    ease: np.ndarray | None = None,
) -> np.ndarray:
    """Confidence in [0, 1] for aligned arrays of signals, rounded to
    SCORE_DECIMALS so reruns in other batch shapes rank identically (no `ease`
    array: that signal is 0)."""
    blended = (
        weights.copurchase * _unit(copurchase)
        + weights.semantic * _unit(semantic)
        + weights.segment * _unit(segment_affinity)
        + weights.popularity * _unit(popularity)
    )
    if ease is not None:
        blended = blended + weights.ease * _unit(ease)
    return np.round(np.clip(blended, 0.0, 1.0), SCORE_DECIMALS)


def copurchase_evidence(
    copurchase: np.ndarray, ease: np.ndarray, weights: ScoringWeights
) -> np.ndarray:
    """The two co-purchase signals as one, in [0, 1]: their mean weighted by
    their blend weights (item-kNN alone when both weights are 0). With it the
    confidence is the blend of four reported signals, co-purchase weighing
    weights.copurchase + weights.ease."""
    total = weights.copurchase + weights.ease
    if total <= 0:
        return _unit(copurchase)
    return (weights.copurchase * _unit(copurchase) + weights.ease * _unit(ease)) / total


def predicted_value(confidence: np.ndarray, typical_spend: np.ndarray) -> np.ndarray:
    """Expected spend of a recommendation: confidence x typical spend, 2 decimals."""
    return np.round(np.asarray(confidence, dtype=np.float64) * typical_spend, 2)


def affinity_rows(bought: np.ndarray) -> np.ndarray:
    """Per-group product affinity from (groups x items) buyer counts: each row
    divided by its maximum, in [0, 1]; all-zero rows stay zero."""
    counts = np.asarray(bought, dtype=np.float64)
    top = counts.max(axis=1, keepdims=True) if counts.size else np.zeros((counts.shape[0], 1))
    return np.round(counts / np.where(top > 0, top, 1.0), SCORE_DECIMALS).astype(np.float32)


@dataclass(frozen=True)
class RecommenderFitInfo:
    """What the refit policy needs to know about the current recommender."""

    recommender_model_id: str
    population_at_fit: int
    catalog_fingerprint: str
    segment_model_id: str
    # the fit settings it was fitted with, as canonical JSON (None: not known)
    fit_settings: str | None = None


def recommender_refit_decision(
    current: RecommenderFitInfo | None,
    *,
    population: int,
    catalog_fingerprint: str,
    segment_model_id: str,
    forced: bool,
    growth_threshold: float,
    fit_settings: str | None = None,
) -> tuple[bool, str]:
    """Whether to fit a new recommender (neighbour lists, affinities, pools),
    and why (the reason is stored).

    Policy: fit when there is none; when the operator asks (var
    `recommender_refit`); when the embedded catalog changed (products, their
    texts or the embedding model); when the segment model changed (affinities
    are per segment); when the fit settings (`fit_settings`, canonical JSON)
    differ from the current recommender's (say, EASE turned on); or when the
    customers with purchases grew by more than `growth_threshold` since the
    fit. A refit rescores every customer, so it
    never happens silently on every run.
    """
    if population == 0:
        return False, "no customer with purchases yet"
    if current is None:
        return True, "no recommender yet"
    if forced:
        return True, "refit requested (var recommender_refit)"
    if current.catalog_fingerprint != catalog_fingerprint:
        return True, "the embedded catalog changed"
    if current.segment_model_id != segment_model_id:
        return True, "the segment model changed"
    if fit_settings is not None and current.fit_settings != fit_settings:
        return True, "the fit settings changed"
    base = max(current.population_at_fit, 1)
    growth = (population - base) / base
    if growth > growth_threshold:
        return (
            True,
            f"customers grew {growth:.0%} since the last fit (threshold {growth_threshold:.0%})",
        )
    return False, "current recommender kept"
