"""Steps: fit a segment model on a sample, then label every customer in batches.

Fit: PCA on the sample's taste vectors, rows scaled to unit length (the
direction of a customer's taste), HDBSCAN on that. Assign: the same reduction,
then the clusterer's approximate prediction, batch by batch, so labelling
millions of customers needs memory for one batch only. Segment ids: on a first
fit, the clusters ordered by size in the sample (0 = largest); on a refit, a
cluster that matches a segment of the previous model (Hungarian assignment on
the sample's members) keeps that segment's id, the others get ids never used
before. -1 is noise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from holdfast.application.parallel import map_in_order
from holdfast.application.ports import Clusterer, FittedClusterer
from holdfast.application.records import (
    RunContext,
    array_to_vectors,
    status_columns,
    status_fields,
)
from holdfast.application.resilience import RetryPolicy, numbered_batches, run_over_rows
from holdfast.domain.reduction import Projection, fit_pca, unit_rows
from holdfast.domain.segmentation import NOISE_SEGMENT_ID, match_segment_ids

UNSEGMENTED_MODEL_ID = "none"
ASSIGN_INPUT_COLUMNS = (
    "customer_id",
    "profile_fingerprint",
    "vector",
    "has_vector",
    "previous_failed_runs",
)


@dataclass
class SegmentModel:
    """Everything needed to label a customer: projection, clusterer, id order."""

    segment_model_id: str
    projection: Projection
    clusterer: FittedClusterer
    segment_of_label: dict[int, int]
    population_at_fit: int
    n_sample: int
    noise_share: float
    fit_reason: str
    params: dict[str, Any] = field(default_factory=dict)
    normalise_reduced: bool = False
    next_segment_id: int = 0  # ids below were given out by this model or its predecessors
    matched_from: str | None = None  # the previous model whose ids were reused

    @property
    def n_segments(self) -> int:
        return len(self.segment_of_label)

    def reduce(self, vectors: np.ndarray) -> np.ndarray:
        """The space the clusterer works in."""
        reduced = self.projection.transform(vectors)
        # getattr: models pickled before this field existed
        return unit_rows(reduced) if getattr(self, "normalise_reduced", False) else reduced

    def assign(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(segment ids, membership strengths in [0, 1]) for unit vectors."""
        if len(vectors) == 0:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
        labels, strengths = self.clusterer.predict(self.reduce(vectors))
        segments = np.array(
            [self.segment_of_label.get(int(label), NOISE_SEGMENT_ID) for label in labels],
            dtype=np.int32,
        )
        strengths = np.where(segments == NOISE_SEGMENT_ID, 0.0, np.clip(strengths, 0.0, 1.0))
        return segments, np.round(strengths.astype(np.float64), 6)


def model_id_for(
    sample_ids: Sequence[str], sample_vectors: np.ndarray, params: dict[str, Any]
) -> str:
    """Content-derived id: the same sample (customers and their vectors) and
    parameters give the same id. The vectors count: a refit on the same
    customers whose purchases changed is another model, and the segment labels
    kept per model id (dim_segments) must not outlive it. They are hashed
    rounded to 6 decimals, so float noise far below any distance the
    clusterer sees does not make a new id."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for customer_id in sample_ids:
        digest.update(customer_id.encode())
        digest.update(b"\n")
    vectors = np.asarray(sample_vectors)
    for start in range(0, len(vectors), 4096):  # a few MB at a time, whatever the sample
        rounded = np.round(vectors[start : start + 4096].astype(np.float64), 6) + 0.0  # -0.0 is 0.0
        digest.update(np.ascontiguousarray(rounded).tobytes())
    return "seg-" + digest.hexdigest()[:16]


def fit_segment_model(
    sample_ids: Sequence[str],
    sample_vectors: np.ndarray,
    clusterer: Clusterer,
    *,
    n_components: int,
    population: int,
    params: dict[str, Any],
    fit_reason: str,
    normalise: bool = False,
    previous: SegmentModel | None = None,
) -> SegmentModel:
    """Fit PCA + clusterer on the sample; segment ids by size, or reused from
    `previous` where a new cluster matches one of its segments."""
    projection = fit_pca(sample_vectors, n_components)
    reduced = projection.transform(sample_vectors)
    if normalise:
        reduced = unit_rows(reduced)
    fitted = clusterer.fit(reduced)
    labels, _ = fitted.predict(reduced)
    if previous is not None:
        previous_segments, _ = previous.assign(np.asarray(sample_vectors))
        segment_of_label, next_id = match_segment_ids(
            labels,
            previous_segments,
            next_segment_id=getattr(previous, "next_segment_id", 0),
        )
    else:
        found = sorted({int(x) for x in labels if x >= 0})
        sizes = {label: int(np.sum(labels == label)) for label in found}
        by_size = sorted(found, key=lambda label: (-sizes[label], label))
        segment_of_label = {label: rank for rank, label in enumerate(by_size)}
        next_id = len(by_size)
    return SegmentModel(
        segment_model_id=model_id_for(sample_ids, sample_vectors, params),
        projection=projection,
        clusterer=fitted,
        segment_of_label=segment_of_label,
        population_at_fit=population,
        n_sample=len(sample_ids),
        noise_share=float(np.mean(labels < 0)) if len(labels) else 1.0,
        fit_reason=fit_reason,
        params=dict(params),
        normalise_reduced=normalise,
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
    dimension: int
    run: RunContext
    policy: RetryPolicy
    batch_size: int


def _assign_record_batch(job: _AssignJob, item: tuple[int, pa.RecordBatch]) -> pa.RecordBatch:
    """Labels for one input batch whose first inference batch is numbered
    `item[0]` (module level: it runs in worker processes)."""
    first_batch_number, batch = item
    model = job.model
    model_id = model.segment_model_id if model is not None else UNSEGMENTED_MODEL_ID
    vectors, present = array_to_vectors(batch.column("vector"), job.dimension)
    present &= np.asarray(batch.column("has_vector").to_pylist(), dtype=bool)

    def label(rows: list[int]) -> list[tuple[int, float]]:
        rows_arr = np.asarray(rows, dtype=np.int64)
        segments = np.full(len(rows), NOISE_SEGMENT_ID, dtype=np.int32)
        strengths = np.zeros(len(rows), dtype=np.float64)
        with_vector = present[rows_arr]
        if model is not None and with_vector.any():
            s, m = model.assign(vectors[rows_arr[with_vector]])
            segments[with_vector], strengths[with_vector] = s, m
        return list(zip(segments.tolist(), strengths.tolist(), strict=True))

    outcomes = run_over_rows(
        batch,
        label,
        batch_size=job.batch_size,
        policy=job.policy,
        first_batch_number=first_batch_number,
    )
    n = len(outcomes)
    segment_ids = [o.value[0] if o.ok else None for o in outcomes]
    return pa.RecordBatch.from_arrays(
        [
            batch.column("customer_id").cast(pa.string()),
            batch.column("profile_fingerprint").cast(pa.string()),
            pa.array([model_id] * n, pa.string()),
            pa.array(segment_ids, pa.int32()),
            pa.array([o.value[1] if o.ok else None for o in outcomes], pa.float64()),
            pa.array([None if s is None else s == NOISE_SEGMENT_ID for s in segment_ids]),
            *status_columns(outcomes, batch.column("previous_failed_runs").to_pylist(), job.run),
        ],
        schema=assignment_schema(),
    )


def assign_segments(
    batches: Iterable[pa.RecordBatch],
    model: SegmentModel | None,
    *,
    dimension: int,
    run: RunContext,
    policy: RetryPolicy,
    batch_size: int,
    processes: int = 1,
    on_start: Callable[[int], None] | None = None,
    pool_min_batches: int = 2,
) -> Iterator[pa.RecordBatch]:
    """Label every input customer (columns ASSIGN_INPUT_COLUMNS), in input
    order. A customer without a vector is noise with strength 0: nothing to
    place them by; with no segment model yet (too few customers to fit),
    everyone is noise. With `processes` > 1 and at least `pool_min_batches`
    input batches, they are labelled in that many worker processes
    (application.parallel); the rows are the same."""
    job = _AssignJob(model, dimension, run, policy, batch_size)
    yield from map_in_order(
        _assign_record_batch,
        job,
        numbered_batches(batches, batch_size),
        processes=processes,
        on_start=on_start,
        min_items=pool_min_batches,
    )
