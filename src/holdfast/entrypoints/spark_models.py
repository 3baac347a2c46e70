"""Composition root of the dbt Python models on Spark (Databricks).

Each `spark_*_model` function takes the same arguments as its DuckDB twin in
`entrypoints.steps` (the thin files in python_models/ pick one by the session
dbt hands them) and returns a Spark DataFrame. The record-by-record steps
(embed products, customer vectors, segment assignment, recommendation
scoring) run the very same application functions on every partition through
`mapInArrow`: Arrow record batches in, Arrow record batches out. What a
partition needs beyond its rows (the embedding model, the product vectors, a
fitted model's bytes) is loaded once per partition, the language model from
a path on the workers (`embedding_model: path:/Volumes/...`), never a hub.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from holdfast.application import customer_vectors, embedding, recommend, segments
from holdfast.application.records import array_to_vectors
from holdfast.entrypoints.steps._shared import EMBED_STREAM_ROWS, VECTOR_DIMENSION, retry_policy
from holdfast.entrypoints.steps.recommendations import (
    RECOMMEND_UNCHANGED_WHEN,
    recommender_version,
)
from holdfast.infrastructure import spark_io
from holdfast.infrastructure.model_store import (
    RECOMMENDER_MODEL_ID,
    SEGMENT_MODEL_ID,
    load_model,
    newest_model_sql,
)
from holdfast.settings import PipelineSettings


def _batches_of(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Re-slice a partition's batches to at most `rows` rows (Spark sends up to 10,000)."""
    for batch in batches:
        for offset in range(0, batch.num_rows, rows):
            yield batch.slice(offset, rows)


def spark_embed_products_model(
    session: Any,
    *,
    products: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> Any:
    """int_products_embedded on Spark: embed new or changed product texts."""
    from holdfast.infrastructure.encoder import resolve_model_path, resolve_spec

    inference = settings.inference
    policy = retry_policy(inference, "embed_products")
    run = spark_io.run_context(session, runs)
    # `auto:` is decided here, on the driver: executors use the driver's choice
    model_spec = resolve_spec(settings.embedding.model)
    _, version = resolve_model_path(model_spec)
    pending = spark_io.pending_records(
        session,
        products,
        this,
        key="product_id",
        columns=embedding.INPUT_COLUMNS[:-1],
        unchanged_when=["p.text_hash = s.text_hash", "p.embedding_model_version = ?"],
        unchanged_params=[version],
        max_failed_runs=inference.max_failed_runs,
    )

    def step(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from holdfast.infrastructure.encoder import load_encoder

        rows = (b for b in _batches_of(batches, EMBED_STREAM_ROWS) if b.num_rows > 0)
        first = next(rows, None)
        if first is None:  # an empty partition does not even load the model
            return
        encoder = load_encoder(model_spec)  # once per partition
        yield from embedding.embed_products(
            itertools.chain([first], rows),
            encoder,
            run=run,
            policy=policy,
            batch_size=inference.batch_size,
        )

    return spark_io.map_partitions(pending, step, embedding.output_schema(VECTOR_DIMENSION))


def spark_customer_vectors_model(
    session: Any,
    *,
    profiles: Any,
    embeddings: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> Any:
    """int_customer_vectors on Spark: taste vectors for customers whose purchases changed."""
    inference = settings.inference
    policy = retry_policy(inference, "vectorize_customers")
    run = spark_io.run_context(session, runs)
    embeddings_view = spark_io.view(session, embeddings, "hf_embeddings")
    # the product vectors travel to every partition with the step (catalog-sized)
    catalog = spark_io.collect_arrow(
        session.sql(
            f"select product_id, embedding from {embeddings_view} "
            "where status = 'ok' order by product_id"
        )
    )
    product_ids = catalog.column("product_id").to_pylist()
    matrix, _ = array_to_vectors(catalog.column("embedding"), VECTOR_DIMENSION)
    version_row = spark_io.first_row(
        session,
        f"select embedding_model_version from {embeddings_view} where status = 'ok' "
        "group by 1 order by count(*) desc, 1 limit 1",
    )
    version = version_row[0] if version_row else "none"
    pending = spark_io.pending_records(
        session,
        profiles,
        this,
        key="customer_id",
        columns=customer_vectors.INPUT_COLUMNS[:-1],
        unchanged_when=["p.profile_fingerprint = s.profile_fingerprint"],
        max_failed_runs=inference.max_failed_runs,
    )
    product_index = {p: i for i, p in enumerate(product_ids)}

    def step(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return customer_vectors.build_customer_vectors(
            batches,
            product_index,
            matrix,
            embedding_model_version=version,
            run=run,
            policy=policy,
            batch_size=inference.batch_size,
        )

    return spark_io.map_partitions(pending, step, customer_vectors.output_schema(VECTOR_DIMENSION))


def spark_customer_segments_model(
    session: Any,
    *,
    profiles: Any,
    models: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> Any:
    """int_customers_segmented on Spark: label customers with the current segment model."""
    inference = settings.inference
    policy = retry_policy(inference, "assign_segments")
    # inference_processes is not read: Spark parallelises by partition
    run = spark_io.run_context(session, runs)
    models_view = spark_io.view(session, models, "hf_models")
    row = spark_io.first_row(
        session,
        newest_model_sql(
            models_view, ["model_blob", "model_checksum", SEGMENT_MODEL_ID], SEGMENT_MODEL_ID
        ),
    )
    blob, checksum = (bytes(row[0]), row[1]) if row else (None, None)
    model_id = row[2] if row else segments.UNSEGMENTED_MODEL_ID
    pending = spark_io.pending_records(
        session,
        profiles,
        this,
        key="customer_id",
        columns=segments.ASSIGN_INPUT_COLUMNS[:-1],
        unchanged_when=["p.profile_fingerprint = s.profile_fingerprint", "p.segment_model_id = ?"],
        unchanged_params=[model_id],
        max_failed_runs=inference.max_failed_runs,
    )

    def step(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # once per partition
        model = segments.usable_model(load_model(blob, checksum) if blob is not None else None)
        return segments.assign_segments(
            batches,
            model,
            run=run,
            policy=policy,
            batch_size=inference.batch_size,
        )

    return spark_io.map_partitions(pending, step, segments.assignment_schema())


def spark_recommendations_model(
    session: Any,
    *,
    scoring_inputs: Any,
    recommender_models: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> Any:
    """int_recommendations_scored on Spark: candidates for customers whose inputs
    changed, or everyone after a refit of the recommender or a change of its settings."""
    inference = settings.inference
    policy = retry_policy(inference, "recommend")
    # inference_processes is not read: Spark parallelises by partition
    k, weights = settings.scoring.candidates_per_customer, settings.scoring.weights
    run = spark_io.run_context(session, runs)
    models_view = spark_io.view(session, recommender_models, "hf_recommenders")
    row = spark_io.first_row(
        session,
        newest_model_sql(models_view, ["model_blob", "model_checksum"], RECOMMENDER_MODEL_ID),
    )
    schema = recommend.output_schema()
    if row is None:  # nobody has purchases yet
        return session.createDataFrame([], spark_io.spark_ddl(schema))
    blob, checksum = bytes(row[0]), row[1]
    model_id = load_model(blob, checksum, recommend.RecommenderModel).model_id
    version = recommender_version(model_id, weights, k)
    pending = spark_io.pending_records(
        session,
        scoring_inputs,
        this,
        key="customer_id",
        columns=recommend.INPUT_COLUMNS[:-1],
        unchanged_when=RECOMMEND_UNCHANGED_WHEN,
        unchanged_params=[version],
        max_failed_runs=inference.max_failed_runs,
    )

    def step(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        model = load_model(blob, checksum, recommend.RecommenderModel)  # once per partition
        return recommend.score_customers(
            batches,
            model,
            k=k,
            weights=weights,
            recommender_version=version,
            run=run,
            policy=policy,
            batch_size=inference.batch_size,
        )

    return spark_io.map_partitions(pending, step, schema)
