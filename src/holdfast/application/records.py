"""Arrow record plumbing shared by the inference steps.

Every step writes one row per record it processed, with the same status and
telemetry columns, so failures are rows (the dead-letter queue is built from
them) and per-call timings can be aggregated into ops_inference_batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa

from holdfast.application.resilience import Outcome

STATUS_OK = "ok"
STATUS_FAILED = "failed"
TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class RunContext:
    """The dbt invocation a step runs in."""

    run_id: str
    run_started_at: datetime


def vector_type(dimension: int) -> pa.DataType:
    """Arrow type of an embedding column (DuckDB FLOAT[dimension])."""
    return pa.list_(pa.float32(), dimension)


def status_fields() -> list[pa.Field]:
    """Columns every step output ends with."""
    return [
        pa.field("status", pa.string(), nullable=False),
        pa.field("failure_reason", pa.string()),
        pa.field("error_message", pa.string()),
        pa.field("failed_runs", pa.int32(), nullable=False),
        pa.field("attempts", pa.int32(), nullable=False),
        pa.field("inference_batch_number", pa.int32(), nullable=False),
        pa.field("batch_latency_ms", pa.float64(), nullable=False),
        pa.field("batch_attempts", pa.int32(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("processed_at", TIMESTAMP, nullable=False),
    ]


def status_columns(
    outcomes: Sequence[Outcome], previous_failed_runs: Sequence[int], run: RunContext
) -> list[pa.Array]:
    """Arrays for status_fields(), one entry per outcome.

    failed_runs counts the runs in a row in which the record failed (the
    dead-letter attempt counter); a success resets it to 0.
    """
    n = len(outcomes)
    return [
        pa.array([STATUS_OK if o.ok else STATUS_FAILED for o in outcomes], pa.string()),
        pa.array([o.reason for o in outcomes], pa.string()),
        pa.array([o.error for o in outcomes], pa.string()),
        pa.array(
            [
                0 if o.ok else int(p) + 1
                for o, p in zip(outcomes, previous_failed_runs, strict=True)
            ],
            pa.int32(),
        ),
        pa.array([o.attempts for o in outcomes], pa.int32()),
        pa.array([o.batch_number for o in outcomes], pa.int32()),
        pa.array([round(o.batch_latency_ms, 3) for o in outcomes], pa.float64()),
        pa.array([o.batch_attempts for o in outcomes], pa.int32()),
        pa.array([run.run_id] * n, pa.string()),
        pa.array([run.run_started_at] * n, TIMESTAMP),
    ]


def vectors_to_array(vectors: Sequence[np.ndarray | None], dimension: int) -> pa.Array:
    """A FLOAT[dimension] column from rows that may be None (null vector)."""
    n = len(vectors)
    flat = np.zeros((n, dimension), dtype=np.float32)
    valid = np.zeros(n, dtype=bool)
    for i, vector in enumerate(vectors):
        if vector is not None:
            flat[i] = vector
            valid[i] = True
    values = pa.array(flat.reshape(-1), pa.float32())
    return pa.FixedSizeListArray.from_arrays(values, dimension, mask=pa.array(~valid))


def array_to_vectors(
    column: pa.Array | pa.ChunkedArray, dimension: int
) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, present) from a FLOAT[dimension] column; null rows are zeros."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    if n == 0:
        return np.zeros((0, dimension), dtype=np.float32), np.zeros(0, dtype=bool)
    if isinstance(column.type, pa.ListType | pa.LargeListType):
        column = column.cast(vector_type(dimension))
    values = column.values.slice(column.offset * dimension, n * dimension)
    matrix = values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(n, dimension)
    present = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    matrix[~present] = 0.0
    return np.nan_to_num(matrix, copy=False), present
