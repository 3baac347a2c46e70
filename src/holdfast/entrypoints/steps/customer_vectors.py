"""int_customer_vectors: the taste vector of every customer whose purchases changed."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from holdfast.application import customer_vectors
from holdfast.entrypoints.observed import observed_step
from holdfast.entrypoints.steps._shared import VECTOR_DIMENSION, retry_policy, stream_batch_rows
from holdfast.infrastructure import warehouse
from holdfast.settings import PipelineSettings


@observed_step("vectorize_customers")
def customer_vectors_model(
    con: duckdb.DuckDBPyConnection,
    *,
    profiles: Any,
    embeddings: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> pa.RecordBatchReader:
    """Taste vectors for the customers whose purchase profile changed, and
    earlier failures that have attempts left."""
    inference = settings.inference
    policy = retry_policy(inference, "vectorize_customers")
    run = warehouse.run_context(con, runs)
    embeddings_view = warehouse.view(con, embeddings, "hf_embeddings")
    product_ids, matrix = warehouse.vectors_by_key(
        con,
        f"select product_id, embedding from {embeddings_view} "
        "where status = 'ok' order by product_id",
        None,
        VECTOR_DIMENSION,
    )
    version_row = warehouse.first_row(
        con,
        f"select embedding_model_version from {embeddings_view} where status = 'ok' "
        "group by 1 order by count(*) desc, 1 limit 1",
    )
    pending = warehouse.pending_records(
        con,
        profiles,
        this,
        key="customer_id",
        columns=customer_vectors.INPUT_COLUMNS[:-1],
        unchanged_when=["p.profile_fingerprint = s.profile_fingerprint"],
        max_failed_runs=inference.max_failed_runs,
        recency_column="refreshed_at",
        previous_recency_column="processed_at",
    )
    return warehouse.as_reader(
        customer_vectors.output_schema(VECTOR_DIMENSION),
        customer_vectors.build_customer_vectors(
            warehouse.stream(con, pending, stream_batch_rows()),
            {p: i for i, p in enumerate(product_ids)},
            matrix,
            embedding_model_version=version_row[0] if version_row else "none",
            run=run,
            policy=policy,
            batch_size=inference.batch_size,
        ),
    )
