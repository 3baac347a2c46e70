"""Composition root of the dbt Python models.

Each `*_model` function is what one thin file in python_models/ calls: it
checks the config values dbt passed (they arrive as strings), selects the
records that need work, builds the real adapters (encoder, HDBSCAN) and runs
one application step, returning an Arrow reader that dbt-duckdb streams into
the model's table.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from holdfast import __version__
from holdfast.application import customer_vectors, embedding, recommend, segments
from holdfast.application.faults import FaultPlan
from holdfast.application.records import array_to_vectors
from holdfast.application.resilience import RetryPolicy
from holdfast.domain.scoring import (
    RecommenderFitInfo,
    ScoringWeights,
    recommender_refit_decision,
)
from holdfast.domain.segmentation import (
    SAMPLE_RANK_SQL,
    FittedModelInfo,
    auto_min_cluster_size,
    refit_decision,
)
from holdfast.entrypoints.observed import observed_step
from holdfast.infrastructure import step_telemetry, warehouse
from holdfast.infrastructure.clustering import HdbscanClusterer
from holdfast.infrastructure.model_store import dump_model, load_model

VECTOR_DIMENSION = 384
STREAM_BATCH_ROWS = 8192
# env override of STREAM_BATCH_ROWS (rows per record batch a step reads); tests use it to
# run the worker processes on small data
STREAM_BATCH_ROWS_ENV = "HOLDFAST_STREAM_BATCH_ROWS"


def _stream_batch_rows() -> int:
    return _int(STREAM_BATCH_ROWS_ENV, os.environ.get(STREAM_BATCH_ROWS_ENV, STREAM_BATCH_ROWS), 1)


# worker processes start only for a step that reads at least this many
# record batches (49,152 customers): starting them (spawning, imports, the
# model) took about 5 s, in which one process scores or labels 20,000
# customers (the 1% run at 2 million customers)
POOL_MIN_RECORD_BATCHES = 6


def _announce_workers(step: str) -> Callable[[int], None]:
    log = step_telemetry.dbt_log()
    return lambda n: log(f"{step}: {n} worker processes")


# the language model is ~100x slower per row: smaller batches, so progress
# lines come every few seconds
EMBED_STREAM_ROWS = 1024


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


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    text = str(value).strip()
    if text not in allowed:
        raise ValueError(f"config {name} must be one of {', '.join(allowed)}, got {value!r}")
    return text


@dataclass(frozen=True)
class StepSettings:
    """The knobs every inference step shares, checked."""

    batch_size: int
    policy: RetryPolicy
    max_failed_runs: int

    @classmethod
    def parse(
        cls,
        batch_size: Any,
        max_retries: Any,
        initial_backoff: Any,
        max_failed_runs: Any,
        *,
        step: str | None = None,
    ) -> StepSettings:
        """Check the knobs; `step` picks up its injected faults (HOLDFAST_INJECT_FAULTS)."""
        plan = FaultPlan.from_env(os.environ) if step is not None else None
        return cls(
            batch_size=_int("inference_batch_size", batch_size, 1),
            policy=RetryPolicy(
                max_retries=_int("inference_max_retries", max_retries),
                initial_backoff_seconds=_float(
                    "inference_initial_backoff_seconds", initial_backoff
                ),
                faults=plan.for_step(step) if plan is not None and step is not None else None,
            ),
            max_failed_runs=_int("dead_letter_max_attempts", max_failed_runs, 1),
        )


@observed_step("embed_products")
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
    from holdfast.infrastructure.encoder import EncoderProcess, resolve_model_path

    settings = StepSettings.parse(
        batch_size, max_retries, initial_backoff, max_failed_runs, step="embed_products"
    )
    run = warehouse.run_context(con, runs)
    _, version = resolve_model_path(str(embedding_model))
    pending = warehouse.pending_records(
        con,
        products,
        this,
        key="product_id",
        columns=embedding.INPUT_COLUMNS[:-1],
        unchanged_when=["p.text_hash = s.text_hash", "p.embedding_model_version = ?"],
        unchanged_params=[version],
        max_failed_runs=settings.max_failed_runs,
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
        str(embedding_model),
        faults=settings.policy.faults,
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
                policy=settings.policy,
                batch_size=settings.batch_size,
            ),
            encoder.close,
        ),
    )


@observed_step("vectorize_customers")
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
    settings = StepSettings.parse(
        batch_size, max_retries, initial_backoff, max_failed_runs, step="vectorize_customers"
    )
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
        max_failed_runs=settings.max_failed_runs,
        recency_column="refreshed_at",
        previous_recency_column="processed_at",
    )
    return warehouse.as_reader(
        customer_vectors.output_schema(VECTOR_DIMENSION),
        customer_vectors.build_customer_vectors(
            warehouse.stream(con, pending, _stream_batch_rows()),
            {p: i for i, p in enumerate(product_ids)},
            matrix,
            embedding_model_version=version_row[0] if version_row else "none",
            run=run,
            policy=settings.policy,
            batch_size=settings.batch_size,
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


@observed_step("fit_segments")
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
    cluster_selection: Any,
    refit: Any,
    refit_growth: Any,
    seed: Any,
) -> pa.Table:
    """int_segment_models: a new fitted model when the refit policy says so."""
    run = warehouse.run_context(con, runs)
    n_sample_max = _int("segment_fit_sample_size", sample_size, 10)
    vectors_view = warehouse.view(con, vectors, "hf_vectors")
    population = warehouse.first_row(
        con, f"select count(*) from {vectors_view} where status = 'ok' and has_vector"
    )[0]
    current, previous_row = None, None
    if this is not None:
        warehouse.view(con, this, "hf_previous_models")
        previous_row = warehouse.first_row(
            con,
            "select segment_model_id, population_at_fit, model_blob, model_checksum "
            "from hf_previous_models order by fitted_at desc, segment_model_id desc limit 1",
        )
        current = FittedModelInfo(previous_row[0], previous_row[1]) if previous_row else None
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
        f"order by {SAMPLE_RANK_SQL}, customer_id limit ?",
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
        "cluster_selection": _choice(
            "segment_cluster_selection", cluster_selection, HdbscanClusterer.SELECTION_METHODS
        ),
        "unit_directions": True,
        "sample_size": len(ids),
        "seed": seed_value,
    }
    # a refit reuses the ids of the previous model's segments it matches
    previous = load_model(previous_row[2], previous_row[3]) if previous_row else None
    model = segments.fit_segment_model(
        ids,
        sample,
        HdbscanClusterer(
            min_cluster_size=size,
            min_samples=params["min_samples"],
            cluster_selection_method=params["cluster_selection"],
        ),
        n_components=params["pca_components"],
        population=population,
        params=params,
        fit_reason=reason,
        normalise=True,
        previous=previous,
    )
    recorded = {
        **params,
        "matched_from": model.matched_from,
        "segment_of_label": {str(k): v for k, v in sorted(model.segment_of_label.items())},
    }
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
                "params": json.dumps(recorded, sort_keys=True),
                "model_checksum": checksum,
                "model_blob": blob,
                "run_id": run.run_id,
                "fitted_at": run.run_started_at,
            }
        ],
        schema=SEGMENT_MODEL_SCHEMA,
    )


@observed_step("assign_segments")
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
    processes: Any = 1,
) -> pa.RecordBatchReader:
    """int_customers_segmented: label customers with the current segment model."""
    settings = StepSettings.parse(
        batch_size, max_retries, initial_backoff, max_failed_runs, step="assign_segments"
    )
    n_processes = _int("inference_processes", processes, 1)
    run = warehouse.run_context(con, runs)
    models_view = warehouse.view(con, models, "hf_models")
    row = warehouse.first_row(
        con,
        f"select model_blob, model_checksum from {models_view} "
        "order by fitted_at desc, segment_model_id desc limit 1",
    )
    model = load_model(row[0], row[1]) if row else None
    model_id = model.segment_model_id if model else segments.UNSEGMENTED_MODEL_ID
    pending = warehouse.pending_records(
        con,
        vectors,
        this,
        key="customer_id",
        columns=segments.ASSIGN_INPUT_COLUMNS[:-1],
        unchanged_when=["p.profile_fingerprint = s.profile_fingerprint"],
        settings_unchanged_when=["p.segment_model_id = ?"],
        settings_params=[model_id],
        max_failed_runs=settings.max_failed_runs,
        where="s.status = 'ok'",
        recency_column="processed_at",
        previous_recency_column="processed_at",
    )
    return warehouse.as_reader(
        segments.assignment_schema(),
        segments.assign_segments(
            warehouse.stream(con, pending, _stream_batch_rows()),
            model,
            dimension=VECTOR_DIMENSION,
            run=run,
            policy=settings.policy,
            batch_size=settings.batch_size,
            processes=n_processes,
            on_start=_announce_workers("assign_segments"),
            pool_min_batches=POOL_MIN_RECORD_BATCHES,
        ),
    )


RECOMMENDER_MODEL_SCHEMA = pa.schema(
    [
        pa.field("recommender_model_id", pa.string(), nullable=False),
        pa.field("fit_reason", pa.string(), nullable=False),
        pa.field("n_sample", pa.int64(), nullable=False),
        pa.field("population_at_fit", pa.int64(), nullable=False),
        pa.field("n_products", pa.int64(), nullable=False),
        pa.field("catalog_fingerprint", pa.string(), nullable=False),
        pa.field("segment_model_id", pa.string(), nullable=False),
        pa.field("params", pa.string(), nullable=False),
        pa.field("model_checksum", pa.string(), nullable=False),
        pa.field("model_blob", pa.binary(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("fitted_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


@observed_step("fit_recommender")
def recommender_models_model(
    con: duckdb.DuckDBPyConnection,
    *,
    embeddings: Any,
    statistics: Any,
    profiles: Any,
    segmented: Any,
    segment_models: Any,
    runs: Any,
    this: str | None,
    sample_size: Any,
    copurchase_neighbours: Any,
    semantic_neighbours: Any,
    reverse_cap: Any,
    pool_size: Any,
    refit: Any,
    refit_growth: Any,
    seed: Any,
) -> pa.Table:
    """int_recommender_models: a new fitted recommender when the policy says so."""
    run = warehouse.run_context(con, runs)
    n_sample_max = _int("recommender_fit_sample_size", sample_size, 1)
    settings = recommend.FitSettings(
        copurchase_neighbours=_int("recommender_copurchase_neighbours", copurchase_neighbours, 1),
        semantic_neighbours=_int("recommender_semantic_neighbours", semantic_neighbours, 0),
        pool_size=_int("recommender_pool_size", pool_size, 1),
        reverse_cap=_int("recommender_reverse_cap", reverse_cap, 1),
    )
    embeddings_view = warehouse.view(con, embeddings, "hf_embeddings")
    statistics_view = warehouse.view(con, statistics, "hf_statistics")
    profiles_view = warehouse.view(con, profiles, "hf_profiles")
    segmented_view = warehouse.view(con, segmented, "hf_segmented")
    models_view = warehouse.view(con, segment_models, "hf_segment_models")
    catalog_fingerprint = warehouse.first_row(
        con,
        f"""
        select md5(coalesce(string_agg(
            s.product_id || ':' || coalesce(e.text_hash || '@' || e.embedding_model_version, '-'),
            ',' order by s.product_id), ''))
        from {statistics_view} as s
        left join {embeddings_view} as e on e.product_id = s.product_id and e.status = 'ok'
        """,
    )[0]
    segment_row = warehouse.first_row(
        con,
        f"select segment_model_id from {models_view} "
        "order by fitted_at desc, segment_model_id desc limit 1",
    )
    segment_model_id = segment_row[0] if segment_row else segments.UNSEGMENTED_MODEL_ID
    population = warehouse.first_row(
        con, f"select count(*) from {profiles_view} where len(product_ids) > 0"
    )[0]
    current = None
    if this is not None:
        warehouse.view(con, this, "hf_previous_recommenders")
        row = warehouse.first_row(
            con,
            "select recommender_model_id, population_at_fit, catalog_fingerprint, "
            "segment_model_id from hf_previous_recommenders "
            "order by fitted_at desc, recommender_model_id desc limit 1",
        )
        current = RecommenderFitInfo(*row) if row else None
    fit, reason = recommender_refit_decision(
        current,
        population=population,
        catalog_fingerprint=catalog_fingerprint,
        segment_model_id=segment_model_id,
        forced=_bool("recommender_refit", refit),
        growth_threshold=_float("recommender_refit_growth", refit_growth),
    )
    if not fit:
        return RECOMMENDER_MODEL_SCHEMA.empty_table()
    seed_value = _int("random_seed", seed)
    catalog = con.sql(
        f"""
        select
            s.product_id,
            e.embedding,
            -- recent buyers, or all-time buyers when nothing sold recently
            case
                when sum(s.n_recent_customers) over () > 0 then s.n_recent_customers
                else s.n_customers
            end as popularity_count,
            s.typical_spend
        from {statistics_view} as s
        left join {embeddings_view} as e on e.product_id = s.product_id and e.status = 'ok'
        order by s.product_id
        """
    ).to_arrow_table()
    product_embeddings, has_embedding = array_to_vectors(
        catalog.column("embedding"), VECTOR_DIMENSION
    )
    sample = con.execute(
        f"""
        select sampled.product_ids, segmented.segment_id
        from (
            select customer_id, product_ids from {profiles_view}
            where len(product_ids) > 0
            order by {SAMPLE_RANK_SQL}, customer_id
            limit ?
        ) as sampled
        left join {segmented_view} as segmented
            on segmented.customer_id = sampled.customer_id and segmented.status = 'ok'
        order by sampled.customer_id
        """,
        [str(seed_value), n_sample_max],
    ).to_arrow_table()
    model = recommend.fit_recommender(
        catalog.column("product_id").to_pylist(),
        product_embeddings,
        has_embedding,
        catalog.column("popularity_count").to_pylist(),
        catalog.column("typical_spend").to_pylist(),
        sample.column("product_ids").to_pylist(),
        sample.column("segment_id").to_pylist(),
        settings,
    )
    blob, checksum = dump_model(model)
    params = {**settings.as_dict(), "sample_size": model.n_sample, "seed": seed_value}
    return pa.Table.from_pylist(
        [
            {
                "recommender_model_id": model.model_id,
                "fit_reason": reason,
                "n_sample": model.n_sample,
                "population_at_fit": population,
                "n_products": len(model.product_ids),
                "catalog_fingerprint": catalog_fingerprint,
                "segment_model_id": segment_model_id,
                "params": json.dumps(params, sort_keys=True),
                "model_checksum": checksum,
                "model_blob": blob,
                "run_id": run.run_id,
                "fitted_at": run.run_started_at,
            }
        ],
        schema=RECOMMENDER_MODEL_SCHEMA,
    )


RECOMMEND_UNCHANGED_WHEN = (
    "p.scoring_fingerprint = s.scoring_fingerprint",
    "p.recommender_version = ?",
)


def recommender_version(model_id: str, weights: ScoringWeights, k: int) -> str:
    """What a customer's scores depend on besides their inputs: code, fitted
    recommender, weights and k (a change rescores everyone)."""
    return f"holdfast-{__version__}:{model_id}:{weights.label()}:k={k}"


def scoring_weights(
    copurchase: Any, semantic: Any, segment: Any, popularity: Any
) -> ScoringWeights:
    """The blend weights from their vars (checked: >= 0, summing to 1)."""
    return ScoringWeights(
        copurchase=_float("recommendation_weight_copurchase", copurchase),
        semantic=_float("recommendation_weight_semantic", semantic),
        segment=_float("recommendation_weight_segment", segment),
        popularity=_float("recommendation_weight_popularity", popularity),
    )


@observed_step("recommend")
def recommendations_model(
    con: duckdb.DuckDBPyConnection,
    *,
    scoring_inputs: Any,
    recommender_models: Any,
    runs: Any,
    this: str | None,
    candidates_per_customer: Any,
    weight_copurchase: Any,
    weight_semantic: Any,
    weight_segment: Any,
    weight_popularity: Any,
    batch_size: Any,
    max_retries: Any,
    initial_backoff: Any,
    max_failed_runs: Any,
    processes: Any = 1,
) -> pa.RecordBatchReader:
    """int_recommendations_scored: candidates for customers whose inputs changed,
    or everyone after a refit of the recommender or a change of its settings."""
    settings = StepSettings.parse(
        batch_size, max_retries, initial_backoff, max_failed_runs, step="recommend"
    )
    n_processes = _int("inference_processes", processes, 1)
    k = _int("recommendation_candidates_per_customer", candidates_per_customer, 1)
    weights = scoring_weights(weight_copurchase, weight_semantic, weight_segment, weight_popularity)
    run = warehouse.run_context(con, runs)
    models_view = warehouse.view(con, recommender_models, "hf_recommenders")
    row = warehouse.first_row(
        con,
        f"select model_blob, model_checksum from {models_view} "
        "order by fitted_at desc, recommender_model_id desc limit 1",
    )
    schema = recommend.output_schema()
    if row is None:
        return warehouse.as_reader(schema, [])  # nobody has purchases yet
    model = load_model(row[0], row[1], recommend.RecommenderModel)
    version = recommender_version(model.model_id, weights, k)
    pending = warehouse.pending_records(
        con,
        scoring_inputs,
        this,
        key="customer_id",
        columns=recommend.INPUT_COLUMNS[:-1],
        unchanged_when=RECOMMEND_UNCHANGED_WHEN,
        unchanged_params=[version],
        max_failed_runs=settings.max_failed_runs,
    )
    return warehouse.as_reader(
        schema,
        recommend.score_customers(
            warehouse.stream(con, pending, _stream_batch_rows()),
            model,
            k=k,
            weights=weights,
            recommender_version=version,
            run=run,
            policy=settings.policy,
            batch_size=settings.batch_size,
            processes=n_processes,
            on_start=_announce_workers("recommend"),
            pool_min_batches=POOL_MIN_RECORD_BATCHES,
        ),
    )
