"""Composition root of the dbt Python models.

Each `*_model` function is what one thin file in python_models/ calls: it
checks the config values dbt passed (they arrive as strings), selects the
records that need work, builds the real adapters (encoder, HDBSCAN) and runs
one application step, returning an Arrow reader that dbt-duckdb streams into
the model's table.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from holdfast import __version__
from holdfast.application import customer_vectors, embedding, recommend, segments
from holdfast.application.records import array_to_vectors
from holdfast.application.resilience import RetryPolicy
from holdfast.domain.scoring import ScoringWeights
from holdfast.domain.segmentation import FittedModelInfo, auto_min_cluster_size, refit_decision
from holdfast.infrastructure import warehouse
from holdfast.infrastructure.clustering import HdbscanClusterer
from holdfast.infrastructure.model_store import dump_model, load_model

VECTOR_DIMENSION = 384
STREAM_BATCH_ROWS = 8192


def _int(name: str, value: Any, minimum: int = 0) -> int:
    try:
        number = int(float(str(value)))
    except (TypeError, ValueError):
        raise ValueError(f"config {name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"config {name} must be >= {minimum}, got {number}")
    return number


def _float(name: str, value: Any, minimum: float = 0.0) -> float:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        raise ValueError(f"config {name} must be a number, got {value!r}") from None
    if not np.isfinite(number) or number < minimum:
        raise ValueError(f"config {name} must be a finite number >= {minimum}, got {number}")
    return number


def _bool(name: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no", "none", ""}:
        return False
    raise ValueError(f"config {name} must be true or false, got {value!r}")


def _policy(max_retries: Any, initial_backoff: Any) -> RetryPolicy:
    return RetryPolicy(
        max_retries=_int("inference_max_retries", max_retries),
        initial_backoff_seconds=_float("inference_initial_backoff_seconds", initial_backoff),
    )


def embed_products_model(
    con: duckdb.DuckDBPyConnection,
    *,
    products: Any,
    runs: Any,
    this: str | None,
    embedding_model: str,
    batch_size: Any,
    max_retries: Any,
    initial_backoff: Any,
    max_failed_runs: Any,
) -> pa.RecordBatchReader:
    """int_products_embedded: embed new or changed product texts."""
    from holdfast.infrastructure.encoder import load_encoder, resolve_model_path

    size = _int("inference_batch_size", batch_size, 1)
    policy = _policy(max_retries, initial_backoff)
    max_runs = _int("dead_letter_max_attempts", max_failed_runs, 1)
    run = warehouse.run_context(con, runs)
    _, version = resolve_model_path(str(embedding_model))
    warehouse.view(con, products, "hf_products")
    if this is not None:
        warehouse.view(con, this, "hf_previous_embeddings")
        sql = """
            select p.product_id, p.product_text, p.text_hash,
                   coalesce(e.failed_runs, 0) as previous_failed_runs
            from hf_products as p
            left join hf_previous_embeddings as e
                on e.product_id = p.product_id
                and e.text_hash = p.text_hash
                and e.embedding_model_version = ?
            where e.product_id is null
               or (e.status = 'failed' and e.failed_runs < ?)
            order by p.product_id
        """
        params = [version, max_runs]
    else:
        sql = """
            select product_id, product_text, text_hash, 0 as previous_failed_runs
            from hf_products order by product_id
        """
        params = None
    pending = con.sql(sql, params=params) if params else con.sql(sql)
    count = pending.aggregate("count(*)").fetchall()[0][0]
    schema = embedding.output_schema(VECTOR_DIMENSION)
    if count == 0:
        return warehouse.as_reader(schema, [])
    encoder = load_encoder(str(embedding_model))
    batches = warehouse.stream(con, sql, params, STREAM_BATCH_ROWS)
    return warehouse.as_reader(
        schema, embedding.embed_products(batches, encoder, run=run, policy=policy, batch_size=size)
    )


def customer_vectors_model(
    con: duckdb.DuckDBPyConnection,
    *,
    profiles: Any,
    embeddings: Any,
    runs: Any,
    this: str | None,
    batch_size: Any,
    max_retries: Any,
    initial_backoff: Any,
    max_failed_runs: Any,
) -> pa.RecordBatchReader:
    """int_customer_vectors: taste vectors for customers whose purchases changed."""
    size = _int("inference_batch_size", batch_size, 1)
    policy = _policy(max_retries, initial_backoff)
    max_runs = _int("dead_letter_max_attempts", max_failed_runs, 1)
    run = warehouse.run_context(con, runs)
    warehouse.view(con, profiles, "hf_profiles")
    warehouse.view(con, embeddings, "hf_embeddings")
    product_ids, matrix = warehouse.vectors_by_key(
        con,
        "select product_id, embedding from hf_embeddings where status = 'ok' order by product_id",
        None,
        VECTOR_DIMENSION,
    )
    version_row = warehouse.first_row(
        con,
        "select embedding_model_version from hf_embeddings where status = 'ok' "
        "group by 1 order by count(*) desc, 1 limit 1",
    )
    version = version_row[0] if version_row else "none"
    if this is not None:
        warehouse.view(con, this, "hf_previous_vectors")
        sql = """
            select p.customer_id, p.product_ids, p.weights, p.profile_fingerprint,
                   coalesce(v.failed_runs, 0) as previous_failed_runs
            from hf_profiles as p
            left join hf_previous_vectors as v
                on v.customer_id = p.customer_id
                and v.profile_fingerprint = p.profile_fingerprint
            where v.customer_id is null
               or (v.status = 'failed' and v.failed_runs < ?)
            order by p.customer_id
        """
        params = [max_runs]
    else:
        sql = """
            select customer_id, product_ids, weights, profile_fingerprint,
                   0 as previous_failed_runs
            from hf_profiles order by customer_id
        """
        params = None
    batches = warehouse.stream(con, sql, params, STREAM_BATCH_ROWS)
    index = {p: i for i, p in enumerate(product_ids)}
    return warehouse.as_reader(
        customer_vectors.output_schema(VECTOR_DIMENSION),
        customer_vectors.build_customer_vectors(
            batches,
            index,
            matrix,
            embedding_model_version=version,
            run=run,
            policy=policy,
            batch_size=size,
        ),
    )


SEGMENT_MODEL_SCHEMA = pa.schema(
    [
        pa.field("segment_model_id", pa.string(), nullable=False),
        pa.field("fit_reason", pa.string(), nullable=False),
        pa.field("n_sample", pa.int64(), nullable=False),
        pa.field("population_at_fit", pa.int64(), nullable=False),
        pa.field("n_segments", pa.int32(), nullable=False),
        pa.field("sample_noise_share", pa.float64(), nullable=False),
        pa.field("explained_variance", pa.float64(), nullable=False),
        pa.field("params", pa.string(), nullable=False),
        pa.field("model_checksum", pa.string(), nullable=False),
        pa.field("model_blob", pa.binary(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("fitted_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def segment_models_model(
    con: duckdb.DuckDBPyConnection,
    *,
    vectors: Any,
    runs: Any,
    this: str | None,
    sample_size: Any,
    min_cluster_size: Any,
    min_samples: Any,
    pca_components: Any,
    refit: Any,
    refit_growth: Any,
    seed: Any,
) -> pa.Table:
    """int_segment_models: a new fitted model when the refit policy says so."""
    run = warehouse.run_context(con, runs)
    n_sample_max = _int("segment_fit_sample_size", sample_size, 10)
    warehouse.view(con, vectors, "hf_vectors")
    population = warehouse.first_row(
        con, "select count(*) from hf_vectors where status = 'ok' and has_vector"
    )[0]
    current = None
    if this is not None:
        warehouse.view(con, this, "hf_previous_models")
        row = warehouse.first_row(
            con,
            "select segment_model_id, population_at_fit from hf_previous_models "
            "order by fitted_at desc, segment_model_id desc limit 1",
        )
        current = FittedModelInfo(row[0], row[1]) if row else None
    fit, reason = refit_decision(
        current,
        population,
        forced=_bool("segment_refit", refit),
        growth_threshold=_float("segment_refit_growth", refit_growth),
        minimum_population=20,
    )
    if not fit:
        return SEGMENT_MODEL_SCHEMA.empty_table()
    seed_value = _int("random_seed", seed)
    ids, sample = warehouse.vectors_by_key(
        con,
        "select customer_id, vector from hf_vectors where status = 'ok' and has_vector "
        "order by sha256(? || ':' || customer_id), customer_id limit ?",
        [str(seed_value), n_sample_max],
        VECTOR_DIMENSION,
    )
    size = _int("segment_min_cluster_size", min_cluster_size)
    size = size if size > 0 else auto_min_cluster_size(len(ids))
    params = {
        "algorithm": "hdbscan",
        "min_cluster_size": size,
        "min_samples": _int("segment_min_samples", min_samples, 1),
        "pca_components": _int("segment_pca_components", pca_components, 1),
        "sample_size": len(ids),
        "seed": seed_value,
    }
    model = segments.fit_segment_model(
        ids,
        sample,
        HdbscanClusterer(min_cluster_size=size, min_samples=params["min_samples"]),
        n_components=params["pca_components"],
        population=population,
        params=params,
        fit_reason=reason,
    )
    blob, checksum = dump_model(model)
    return pa.Table.from_pylist(
        [
            {
                "segment_model_id": model.segment_model_id,
                "fit_reason": reason,
                "n_sample": model.n_sample,
                "population_at_fit": population,
                "n_segments": model.n_segments,
                "sample_noise_share": round(model.noise_share, 6),
                "explained_variance": round(
                    float(model.projection.explained_variance_ratio.sum()), 6
                ),
                "params": json.dumps(params, sort_keys=True),
                "model_checksum": checksum,
                "model_blob": blob,
                "run_id": run.run_id,
                "fitted_at": run.run_started_at,
            }
        ],
        schema=SEGMENT_MODEL_SCHEMA,
    )


def customer_segments_model(
    con: duckdb.DuckDBPyConnection,
    *,
    vectors: Any,
    models: Any,
    runs: Any,
    this: str | None,
    batch_size: Any,
    max_retries: Any,
    initial_backoff: Any,
    max_failed_runs: Any,
) -> pa.RecordBatchReader:
    """int_customers_segmented: label customers with the current segment model."""
    size = _int("inference_batch_size", batch_size, 1)
    policy = _policy(max_retries, initial_backoff)
    max_runs = _int("dead_letter_max_attempts", max_failed_runs, 1)
    run = warehouse.run_context(con, runs)
    warehouse.view(con, vectors, "hf_vectors")
    warehouse.view(con, models, "hf_models")
    row = warehouse.first_row(
        con,
        "select model_blob, model_checksum from hf_models "
        "order by fitted_at desc, segment_model_id desc limit 1",
    )
    model = load_model(row[0], row[1]) if row else None
    model_id = model.segment_model_id if model else segments.UNSEGMENTED_MODEL_ID
    if this is not None:
        warehouse.view(con, this, "hf_previous_segments")
        sql = """
            select v.customer_id, v.profile_fingerprint, v.vector, v.has_vector,
                   coalesce(s.failed_runs, 0) as previous_failed_runs
            from hf_vectors as v
            left join hf_previous_segments as s
                on s.customer_id = v.customer_id
                and s.profile_fingerprint = v.profile_fingerprint
                and s.segment_model_id = ?
            where v.status = 'ok'
              and (s.customer_id is null or (s.status = 'failed' and s.failed_runs < ?))
            order by v.customer_id
        """
        params = [model_id, max_runs]
    else:
        sql = """
            select customer_id, profile_fingerprint, vector, has_vector,
                   0 as previous_failed_runs
            from hf_vectors where status = 'ok' order by customer_id
        """
        params = None
    batches = warehouse.stream(con, sql, params, STREAM_BATCH_ROWS)
    return warehouse.as_reader(
        segments.assignment_schema(),
        segments.assign_segments(
            batches, model, dimension=VECTOR_DIMENSION, run=run, policy=policy, batch_size=size
        ),
    )


def recommendations_model(
    con: duckdb.DuckDBPyConnection,
    *,
    scoring_inputs: Any,
    embeddings: Any,
    statistics: Any,
    affinity: Any,
    runs: Any,
    this: str | None,
    candidates_per_customer: Any,
    batch_size: Any,
    max_retries: Any,
    initial_backoff: Any,
    max_failed_runs: Any,
) -> pa.RecordBatchReader:
    """int_recommendations_scored: candidates for customers whose inputs changed."""
    size = _int("inference_batch_size", batch_size, 1)
    policy = _policy(max_retries, initial_backoff)
    max_runs = _int("dead_letter_max_attempts", max_failed_runs, 1)
    k = _int("recommendation_candidates_per_customer", candidates_per_customer, 1)
    weights = ScoringWeights()
    version = (
        f"holdfast-{__version__}:blend(sim={weights.similarity},seg={weights.segment},"
        f"pop={weights.popularity}):k={k}"
    )
    run = warehouse.run_context(con, runs)
    warehouse.view(con, scoring_inputs, "hf_scoring_inputs")
    warehouse.view(con, embeddings, "hf_embeddings")
    warehouse.view(con, statistics, "hf_statistics")
    warehouse.view(con, affinity, "hf_affinity")
    catalog_table = con.sql(
        """
        select s.product_id, e.embedding, s.n_purchases, s.typical_spend
        from hf_statistics as s
        left join hf_embeddings as e
            on e.product_id = s.product_id and e.status = 'ok'
        order by s.product_id
        """
    ).to_arrow_table()
    product_embeddings, _ = array_to_vectors(catalog_table.column("embedding"), VECTOR_DIMENSION)
    affinity_rows = con.execute(
        "select segment_id, product_id, affinity from hf_affinity order by segment_id, product_id"
    ).fetchall()
    catalog = recommend.build_catalog(
        catalog_table.column("product_id").to_pylist(),
        product_embeddings,
        catalog_table.column("n_purchases").to_pylist(),
        catalog_table.column("typical_spend").to_pylist(),
        affinity_rows,
    )
    if this is not None:
        warehouse.view(con, this, "hf_previous_scores")
        sql = """
            select i.customer_id, i.scoring_fingerprint, i.vector, i.segment_id,
                   i.segment_model_id, i.purchased_product_ids,
                   coalesce(r.failed_runs, 0) as previous_failed_runs
            from hf_scoring_inputs as i
            left join hf_previous_scores as r
                on r.customer_id = i.customer_id
                and r.scoring_fingerprint = i.scoring_fingerprint
                and r.recommender_version = ?
            where r.customer_id is null
               or (r.status = 'failed' and r.failed_runs < ?)
            order by i.customer_id
        """
        params = [version, max_runs]
    else:
        sql = """
            select customer_id, scoring_fingerprint, vector, segment_id, segment_model_id,
                   purchased_product_ids, 0 as previous_failed_runs
            from hf_scoring_inputs order by customer_id
        """
        params = None
    batches = warehouse.stream(con, sql, params, STREAM_BATCH_ROWS)
    return warehouse.as_reader(
        recommend.output_schema(),
        recommend.score_customers(
            batches,
            catalog,
            k=k,
            weights=weights,
            recommender_version=version,
            run=run,
            policy=policy,
            batch_size=size,
        ),
    )
