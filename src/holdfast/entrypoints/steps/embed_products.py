"""int_products_embedded: the text embedding of every new or changed product."""

from __future__ import annotations

import time
from typing import Any

import duckdb
import pyarrow as pa

from holdfast.application import embedding
from holdfast.entrypoints.observed import observed_step
from holdfast.entrypoints.steps._shared import EMBED_STREAM_ROWS, VECTOR_DIMENSION, retry_policy
from holdfast.infrastructure import step_telemetry, warehouse
from holdfast.settings import PipelineSettings


@observed_step("embed_products")
def embed_products_model(
    con: duckdb.DuckDBPyConnection,
    *,
    products: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> pa.RecordBatchReader:
    """Embed the products whose text or model version is new, and earlier
    failures that have attempts left."""
    from holdfast.infrastructure.encoder import EncoderProcess, resolve_model_path

    inference = settings.inference
    policy = retry_policy(inference, "embed_products")
    run = warehouse.run_context(con, runs)
    _, version = resolve_model_path(settings.embedding.model)
    pending = warehouse.pending_records(
        con,
        products,
        this,
        key="product_id",
        columns=embedding.INPUT_COLUMNS[:-1],
        unchanged_when=["p.text_hash = s.text_hash", "p.embedding_model_version = ?"],
        unchanged_params=[version],
        max_failed_runs=inference.max_failed_runs,
        # texts of similar length share a model call: less padding per batch
        order_by="length(s.product_text), s.product_id",
    )
    schema = embedding.output_schema(VECTOR_DIMENSION)
    if warehouse.count_pending(con, pending) == 0:
        return warehouse.as_reader(schema, [])  # nothing new: do not even load the model
    started = time.perf_counter()
    # the model runs in a child process that ends with the stream: torch and
    # all it holds (about 1 GB) do not stay in the dbt process under every
    # later step. A child that dies is started again once; a second death
    # stops the step with EncoderDied (see EncoderProcess)
    log = step_telemetry.dbt_log()
    encoder = EncoderProcess(
        settings.embedding.model,
        faults=policy.faults,
        on_restart=lambda why: log(f"embed_products: {why}"),
    )
    log(f"embed_products: model {encoder.version} loaded in {time.perf_counter() - started:.1f}s")
    return warehouse.as_reader(
        schema,
        warehouse.then(
            embedding.embed_products(
                warehouse.stream(con, pending, EMBED_STREAM_ROWS),
                encoder,
                run=run,
                policy=policy,
                batch_size=inference.batch_size,
            ),
            encoder.close,
        ),
    )
