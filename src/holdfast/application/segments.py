"""Steps: fit a segment model on a sample, then label every customer in batches.

Fit: purchase factors on the sample's baskets (domain.segment_features: tf-idf
of the most-bought products, truncated SVD, each customer folded onto the
factors and scaled to unit length), HDBSCAN on the features of the sample's
first customers (the factors may see more customers than the clusterer: on
Online Retail, factors fitted on every customer made two refits on different
samples agree far more, docs/quality.md), and labels and profiles of the
segments from what their customers buy (domain.labels).
Assign: the same features from a customer's product list, then the
clusterer's approximate prediction, batch by batch, so labelling millions of
customers needs memory for one batch only.

Noise stays visible (`is_noise`, membership strength 0) but a customer HDBSCAN
leaves as noise still gets the segment they are nearest to: the segment whose
centroid direction (the unit mean of its clustered sample points) has the
largest cosine with the customer's unit feature vector. -1 ("Unsegmented") is
left for customers with nothing to place them by: no purchase of a product of
the model's vocabulary, or no model yet.

Segment ids: on a first fit, the segments ordered by size in the sample (0 =
largest); on a refit, a segment that matches one of the previous model
(Hungarian assignment on the sample's members) keeps its id, the others get
ids never used before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from holdfast.application.parallel import map_in_order
from holdfast.application.ports import Clusterer, FittedClusterer
from holdfast.application.records import RunContext, status_columns, status_fields
from holdfast.application.resilience import RetryPolicy, numbered_batches, run_over_rows
from holdfast.domain import labels as segment_labels
from holdfast.domain.segment_features import PurchaseFactors, fit_purchase_factors
from holdfast.domain.segmentation import NOISE_SEGMENT_ID, match_segment_ids
from holdfast.infrastructure.clustering import NearestCentroid

UNSEGMENTED_MODEL_ID = "none"
ASSIGN_INPUT_COLUMNS = (
    "customer_id",
    "profile_fingerprint",
    "product_ids",
    "previous_failed_runs",
)


@dataclass(frozen=True)
class SegmentProfile:
    """What a segment is called and what sets it apart, from the fit sample."""

    segment_id: int
    label: str
    top_terms: tuple[str, ...]
    top_products: tuple[str, ...]  # names of its most distinctive products
    sample_customers: int


@dataclass
class SegmentModel:
    """Everything needed to label a customer from their product list."""

    segment_model_id: str
    factors: PurchaseFactors
    clusterer: FittedClusterer
    nearest: NearestCentroid  # the clusters' centroid directions
    segment_of_label: dict[int, int]
    profiles: list[SegmentProfile]
    population_at_fit: int
    n_sample: int
    noise_share: float  # of the sample, as HDBSCAN leaves it
    fit_reason: str
    params: dict[str, Any] = field(default_factory=dict)
    next_segment_id: int = 0  # ids below were given out by this model or its predecessors
    matched_from: str | None = None  # the previous model whose ids were reused

    @property
    def n_segments(self) -> int:
        return len(self.segment_of_label)

    def features(self, baskets: Sequence[Sequence[str]] | pa.Array) -> np.ndarray:
        """The space the clusterer works in (zero rows: nothing to place by)."""
        return self.factors.transform(baskets)

    def assign(
        self, baskets: Sequence[Sequence[str]] | pa.Array
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(segment ids, membership strengths in [0, 1], is noise) per basket.

        A basket HDBSCAN places in a cluster gets that segment and its
        membership strength; one it leaves as noise gets the segment of the
        nearest centroid, strength 0, is_noise true; one with no
        product of the vocabulary is unsegmented (-1), is_noise true."""
        features = self.features(baskets)
        n = len(features)
        segments = np.full(n, NOISE_SEGMENT_ID, dtype=np.int32)
        strengths = np.zeros(n, dtype=np.float64)
        noise = np.ones(n, dtype=bool)
        placed = np.flatnonzero(np.any(features != 0.0, axis=1))
        if placed.size == 0 or not self.segment_of_label:
            return segments, strengths, noise
        points = features[placed]
        labels, member = self.clusterer.predict(points)
        hard = self._segments_of(labels)
        nearest = self._segments_of(self.nearest.label_of(points))
        clustered = hard != NOISE_SEGMENT_ID
        segments[placed] = np.where(clustered, hard, nearest)
        strengths[placed] = np.where(clustered, np.round(np.clip(member, 0.0, 1.0), 6), 0.0)
        noise[placed] = ~clustered
        return segments, strengths, noise

    def _segments_of(self, labels: np.ndarray) -> np.ndarray:
        return np.array(
            [self.segment_of_label.get(int(label), NOISE_SEGMENT_ID) for label in labels],
            dtype=np.int32,
        )


def usable_model(model: SegmentModel | None) -> SegmentModel | None:
    """`model`, or None when it cannot label customers from their product lists
    (a model pickled with another feature set, before the refit replaces it)."""
    return model if model is not None and hasattr(model, "factors") else None


def model_id_for(
    sample_ids: Sequence[str], sample_baskets: Sequence[Sequence[str]], params: dict[str, Any]
) -> str:
    """Content-derived id: the same sample (customers and what they bought) and
    parameters give the same id. The baskets count: a refit on the same
    customers whose purchases changed is another model, and the segment labels
    kept per model id must not outlive it."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for customer_id, basket in zip(sample_ids, sample_baskets, strict=True):
        digest.update(customer_id.encode())
        digest.update(b"\t")
        digest.update(",".join(sorted(set(basket))).encode())
        digest.update(b"\n")
    return "seg-" + digest.hexdigest()[:16]


def segment_profiles(
    baskets: Sequence[Sequence[str]],
    segments: np.ndarray,
    names: Mapping[str, str],
    categories: Mapping[str, str] | None = None,
) -> list[SegmentProfile]:
    """Labels and most distinctive products of the segments (ids >= 0) the
    sample's customers were given, by c-TF-IDF (domain.labels)."""
    segment_ids = sorted({int(s) for s in np.asarray(segments).tolist() if s >= 0})
    if not segment_ids:
        return []

    def ranked(terms_of: Mapping[str, Sequence[str]]) -> list[list[str]]:
        counts, vocabulary = segment_labels.segment_term_counts(
            baskets, segments, segment_ids, terms_of
        )
        weights = segment_labels.class_tfidf(counts) * segment_labels.over_represented(counts)
        return segment_labels.ranked_terms(weights, vocabulary)

    words = [
        segment_labels.without_plural_repeats(r)
        for r in ranked(segment_labels.product_terms(names))
    ]
    by_category = ranked(segment_labels.category_terms(categories or {}))
    top_products = ranked({p: [p] for p in names})
    label_of = segment_labels.distinct_labels(
        words, segment_ids, prefixes=[r[0] if r else None for r in by_category]
    )
    sizes = np.asarray(segments)
    return [
        SegmentProfile(
            segment_id=s,
            label=label_of[i],
            top_terms=tuple(words[i][: segment_labels.LABEL_TERMS + 2]),
            top_products=tuple(names[p] for p in top_products[i][: segment_labels.TOP_PRODUCTS]),
            sample_customers=int(np.count_nonzero(sizes == s)),
        )
        for i, s in enumerate(segment_ids)
    ]


def fit_segment_model(
    sample_ids: Sequence[str],
    sample_baskets: Sequence[Sequence[str]],
    clusterer: Clusterer,
    *,
    n_products: int,
    n_components: int,
    population: int,
    params: dict[str, Any],
    fit_reason: str,
    names: Mapping[str, str] | None = None,
    categories: Mapping[str, str] | None = None,
    previous: SegmentModel | None = None,
    first_segment_id: int = 0,
    cluster_sample_size: int | None = None,
) -> SegmentModel:
    """Fit the purchase factors on the sample and the clusterer on its first
    `cluster_sample_size` customers (None: all of them); segment ids by
    size, or reused from `previous` where a new segment matches one of its
    segments; labels from the clustered customers' purchases (`names`: product
    id -> name). Without `previous`, ids start at `first_segment_id`."""
    every = [list(b) for b in sample_baskets]
    factors = fit_purchase_factors(every, n_products=n_products, n_components=n_components)
    model_id = model_id_for(sample_ids, every, params)
    if cluster_sample_size is not None:
        sample_ids = sample_ids[:cluster_sample_size]
    baskets = every[: len(sample_ids)]
    features = factors.transform(baskets)
    placed = np.flatnonzero(np.any(features != 0.0, axis=1))
    fitted = clusterer.fit(features[placed])
    labels = np.full(len(baskets), -1, dtype=np.int64)
    labels[placed], _ = fitted.predict(features[placed])
    in_cluster = labels >= 0
    nearest = NearestCentroid(features[in_cluster], labels[in_cluster])
    # every placed sample customer's cluster: their own, or the nearest centroid's
    full = np.full(len(baskets), -1, dtype=np.int64)
    if in_cluster.any():
        full[placed] = np.where(
            labels[placed] >= 0, labels[placed], nearest.label_of(features[placed])
        )
    if previous is not None:
        previous_segments, _, _ = previous.assign(baskets)
        segment_of_label, next_id = match_segment_ids(
            full, previous_segments, next_segment_id=previous.next_segment_id
        )
    else:
        found = sorted({int(x) for x in full if x >= 0})
        sizes = {label: int(np.sum(full == label)) for label in found}
        by_size = sorted(found, key=lambda label: (-sizes[label], label))
        segment_of_label = {label: first_segment_id + rank for rank, label in enumerate(by_size)}
        next_id = first_segment_id + len(by_size)
    segments = np.array([segment_of_label.get(int(x), NOISE_SEGMENT_ID) for x in full])
    return SegmentModel(
        segment_model_id=model_id,
        factors=factors,
        clusterer=fitted,
        nearest=nearest,
        segment_of_label=segment_of_label,
        profiles=segment_profiles(baskets, segments, names or {}, categories),
        population_at_fit=population,
        n_sample=len(sample_ids),
        noise_share=float(np.mean(labels < 0)) if len(labels) else 1.0,
        fit_reason=fit_reason,
        params=dict(params),
        next_segment_id=next_id,
        matched_from=previous.segment_model_id if previous is not None else None,
    )


def assignment_schema() -> pa.Schema:
    """Schema of the segment-assignment step's rows."""
    return pa.schema(
        [
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("profile_fingerprint", pa.string(), nullable=False),
            pa.field("segment_model_id", pa.string(), nullable=False),
            pa.field("segment_id", pa.int32()),
            pa.field("membership_strength", pa.float64()),
            pa.field("is_noise", pa.bool_()),
            *status_fields(),
        ]
    )


@dataclass(frozen=True)
class _AssignJob:
    """What every batch of one labelling run shares (sent once to each worker)."""

    model: SegmentModel | None
    run: RunContext
    policy: RetryPolicy
    batch_size: int


def _assign_record_batch(job: _AssignJob, item: tuple[int, pa.RecordBatch]) -> pa.RecordBatch:
    """Segments for one input batch whose first inference batch is numbered
    `item[0]` (module level: it runs in worker processes)."""
    first_batch_number, batch = item
    model = job.model
    model_id = model.segment_model_id if model is not None else UNSEGMENTED_MODEL_ID
    baskets = batch.column("product_ids")

    def label(rows: list[int]) -> list[tuple[int, float, bool]]:
        if model is None:
            return [(NOISE_SEGMENT_ID, 0.0, True)] * len(rows)
        segments, strengths, noise = model.assign(baskets.take(pa.array(rows, pa.int64())))
        return list(zip(segments.tolist(), strengths.tolist(), noise.tolist(), strict=True))

    outcomes = run_over_rows(
        batch,
        label,
        batch_size=job.batch_size,
        policy=job.policy,
        first_batch_number=first_batch_number,
    )
    n = len(outcomes)
    return pa.RecordBatch.from_arrays(
        [
            batch.column("customer_id").cast(pa.string()),
            batch.column("profile_fingerprint").cast(pa.string()),
            pa.array([model_id] * n, pa.string()),
            pa.array([o.value[0] if o.ok else None for o in outcomes], pa.int32()),
            pa.array([o.value[1] if o.ok else None for o in outcomes], pa.float64()),
            pa.array([o.value[2] if o.ok else None for o in outcomes], pa.bool_()),
            *status_columns(outcomes, batch.column("previous_failed_runs").to_pylist(), job.run),
        ],
        schema=assignment_schema(),
    )


def assign_segments(
    batches: Iterable[pa.RecordBatch],
    model: SegmentModel | None,
    *,
    run: RunContext,
    policy: RetryPolicy,
    batch_size: int,
    processes: int = 1,
    on_start: Callable[[int], None] | None = None,
    pool_min_batches: int = 2,
) -> Iterator[pa.RecordBatch]:
    """Label every input customer (columns ASSIGN_INPUT_COLUMNS), in input
    order, from their product list (SegmentModel.assign). With no segment
    model yet (too few customers to fit), everyone is unsegmented. With
    `processes` > 1 and at least `pool_min_batches` input batches, they are
    labelled in that many worker processes
    (application.parallel); the rows are the same."""
    job = _AssignJob(model, run, policy, batch_size)
    yield from map_in_order(
        _assign_record_batch,
        job,
        numbered_batches(batches, batch_size),
        processes=processes,
        on_start=on_start,
        min_items=pool_min_batches,
    )
