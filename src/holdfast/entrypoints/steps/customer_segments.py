"""int_customers_segmented: every changed customer labelled by the current segment
model, from their product list."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from holdfast.application import segments
from holdfast.entrypoints.observed import observed_step
from holdfast.entrypoints.steps._shared import (
    POOL_MIN_RECORD_BATCHES,
    announce_workers,
    retry_policy,
    stream_batch_rows,
)
from holdfast.infrastructure import warehouse
from holdfast.infrastructure.model_store import SEGMENT_MODEL_ID, load_model, newest_model_sql
from holdfast.settings import PipelineSettings


@observed_step("assign_segments")
def customer_segments_model(
    con: duckdb.DuckDBPyConnection,
    *,
    profiles: Any,
    models: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> pa.RecordBatchReader:
    """Label the customers whose purchases changed, or everyone after a new
    segment model, with the newest segment model."""
    inference = settings.inference
    policy = retry_policy(inference, "assign_segments")
    run = warehouse.run_context(con, runs)
    models_view = warehouse.view(con, models, "hf_models")
    row = warehouse.first_row(
        con,
        newest_model_sql(models_view, ["model_blob", "model_checksum"], SEGMENT_MODEL_ID),
    )
    model = segments.usable_model(load_model(row[0], row[1]) if row else None)
    model_id = model.segment_model_id if model else segments.UNSEGMENTED_MODEL_ID
    pending = warehouse.pending_records(
        con,
        profiles,
        this,
        key="customer_id",
        columns=segments.ASSIGN_INPUT_COLUMNS[:-1],
        unchanged_when=["p.profile_fingerprint = s.profile_fingerprint"],
        settings_unchanged_when=["p.segment_model_id = ?"],
        settings_params=[model_id],
        max_failed_runs=inference.max_failed_runs,
        recency_column="refreshed_at",
        previous_recency_column="processed_at",
    )
    return warehouse.as_reader(
        segments.assignment_schema(),
        segments.assign_segments(
            warehouse.stream(con, pending, stream_batch_rows()),
            model,
            run=run,
            policy=policy,
            batch_size=inference.batch_size,
            processes=inference.processes,
            on_start=announce_workers("assign_segments"),
            pool_min_batches=POOL_MIN_RECORD_BATCHES,
        ),
    )
