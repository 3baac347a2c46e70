"""int_recommender_models: a new recommender (neighbour lists, affinities,
pools) when the refit policy says so."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow as pa

from holdfast.application import recommend, segments
from holdfast.application.records import RunContext, array_to_vectors
from holdfast.domain.scoring import RecommenderFitInfo, recommender_refit_decision
from holdfast.entrypoints.observed import observed_step
from holdfast.entrypoints.steps._fit_queries import DuckDBFitQueries, FitQueries
from holdfast.entrypoints.steps._shared import VECTOR_DIMENSION
from holdfast.infrastructure import warehouse
from holdfast.infrastructure.model_store import (
    RECOMMENDER_MODEL_ID,
    SEGMENT_MODEL_ID,
    dump_model,
    newest_model_sql,
)
from holdfast.settings import PipelineSettings, RecommenderSettings

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


def fit_settings(config: RecommenderSettings) -> recommend.FitSettings:
    """How the recommender is fitted, from its settings."""
    return recommend.FitSettings(
        copurchase_neighbours=config.copurchase_neighbours,
        semantic_neighbours=config.semantic_neighbours,
        pool_size=config.pool_size,
        reverse_cap=config.reverse_cap,
        ease_max_items=config.ease_max_items,
        ease_l2=config.ease_l2,
        ease_neighbours=config.ease_neighbours,
    )


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """The fit settings as canonical JSON: what the refit policy compares."""
    return json.dumps(settings, sort_keys=True)


def _catalog_fingerprint(queries: FitQueries) -> str:
    """A digest of the products and their embedded texts (a change refits)."""
    joined = queries.dialect.string_agg(
        "s.product_id || ':' || coalesce(e.text_hash || '@' || e.embedding_model_version, '-')",
        "','",
        "s.product_id",
    )
    return queries.first_row(
        f"""
        select md5(coalesce({joined}, ''))
        from hf_statistics as s
        left join hf_embeddings as e on e.product_id = s.product_id and e.status = 'ok'
        """,
    )[0]


def _current_recommender(
    queries: FitQueries, this: str | None, setting_names: list[str]
) -> RecommenderFitInfo | None:
    """The newest recommender, with its fit settings (`setting_names` of its params;
    one missing reads null, so a recommender fitted without a setting differs)."""
    if this is None:
        return None
    queries.view(this, "hf_previous_recommenders")
    row = queries.first_row(
        newest_model_sql(
            "hf_previous_recommenders",
            [
                RECOMMENDER_MODEL_ID,
                "population_at_fit",
                "catalog_fingerprint",
                SEGMENT_MODEL_ID,
                "params",
            ],
            RECOMMENDER_MODEL_ID,
        ),
    )
    if not row:
        return None
    params = json.loads(row[4])
    fitted_with = settings_fingerprint({name: params.get(name) for name in setting_names})
    return RecommenderFitInfo(*row[:4], fit_settings=fitted_with)


def _fit(queries: FitQueries, config: RecommenderSettings, seed: int) -> recommend.RecommenderModel:
    """Fit on the catalog and a deterministic sample of customers with purchases."""
    catalog = queries.arrow(
        """
        select
            s.product_id,
            e.embedding,
            -- recent buyers, or all-time buyers when nothing sold recently
            case
                when sum(s.n_recent_customers) over () > 0 then s.n_recent_customers
                else s.n_customers
            end as popularity_count,
            s.typical_spend
        from hf_statistics as s
        left join hf_embeddings as e on e.product_id = s.product_id and e.status = 'ok'
        order by s.product_id
        """
    )
    product_embeddings, has_embedding = array_to_vectors(
        catalog.column("embedding"), VECTOR_DIMENSION
    )
    dialect = queries.dialect
    sample = queries.arrow(
        f"""
        select sampled.product_ids, segmented.segment_id
        from (
            select customer_id, product_ids from hf_profiles
            where {dialect.list_length}(product_ids) > 0
            order by {dialect.sample_rank}, customer_id
            limit {int(config.fit_sample_size)}
        ) as sampled
        left join hf_segmented as segmented
            on segmented.customer_id = sampled.customer_id and segmented.status = 'ok'
        order by sampled.customer_id
        """,
        [str(seed)],
    )
    return recommend.fit_recommender(
        catalog.column("product_id").to_pylist(),
        product_embeddings,
        has_embedding,
        catalog.column("popularity_count").to_pylist(),
        catalog.column("typical_spend").to_pylist(),
        sample.column("product_ids").to_pylist(),
        sample.column("segment_id").to_pylist(),
        fit_settings(config),
    )


def _model_row(
    model: recommend.RecommenderModel, facts: dict[str, Any], seed: int, run: RunContext
) -> pa.Table:
    blob, checksum = dump_model(model)
    params = {**model.settings, "sample_size": model.n_sample, "seed": seed}
    row = {
        "recommender_model_id": model.model_id,
        "n_sample": model.n_sample,
        "n_products": len(model.product_ids),
        "params": json.dumps(params, sort_keys=True),
        "model_checksum": checksum,
        "model_blob": blob,
        "run_id": run.run_id,
        "fitted_at": run.run_started_at,
        **facts,
    }
    return pa.Table.from_pylist([row], schema=RECOMMENDER_MODEL_SCHEMA)


def fit_recommenders(
    queries: FitQueries,
    *,
    inputs: dict[str, Any],
    this: str | None,
    settings: PipelineSettings,
    run: RunContext,
) -> pa.Table:
    """The model row of a new recommender when the refit policy says so (else
    no row), its inputs (`embeddings`, `statistics`, `profiles`, `segmented`,
    `segment_models`) read through `queries` (either engine), the fit on this
    machine."""
    config = settings.recommender
    for name in ("embeddings", "statistics", "profiles", "segmented"):
        queries.view(inputs[name], f"hf_{name}")
    models_view = queries.view(inputs["segment_models"], "hf_segment_models")
    catalog_fingerprint = _catalog_fingerprint(queries)
    segment_row = queries.first_row(
        newest_model_sql(models_view, [SEGMENT_MODEL_ID], SEGMENT_MODEL_ID),
    )
    segment_model_id = segment_row[0] if segment_row else segments.UNSEGMENTED_MODEL_ID
    population = queries.first_row(
        f"select count(*) from hf_profiles where {queries.dialect.list_length}(product_ids) > 0"
    )[0]
    wanted = fit_settings(config).as_dict()
    fit, reason = recommender_refit_decision(
        _current_recommender(queries, this, list(wanted)),
        population=population,
        catalog_fingerprint=catalog_fingerprint,
        segment_model_id=segment_model_id,
        forced=config.refit,
        growth_threshold=config.refit_growth,
        fit_settings=settings_fingerprint(wanted),
    )
    if not fit:
        return RECOMMENDER_MODEL_SCHEMA.empty_table()
    model = _fit(queries, config, settings.random_seed)
    facts = {
        "fit_reason": reason,
        "population_at_fit": population,
        "catalog_fingerprint": catalog_fingerprint,
        "segment_model_id": segment_model_id,
    }
    return _model_row(model, facts, settings.random_seed, run)


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
    settings: PipelineSettings,
) -> pa.Table:
    """int_recommender_models on DuckDB: a new fitted recommender when the
    refit policy says so (else no row)."""
    return fit_recommenders(
        DuckDBFitQueries(con),
        inputs={
            "embeddings": embeddings,
            "statistics": statistics,
            "profiles": profiles,
            "segmented": segmented,
            "segment_models": segment_models,
        },
        this=this,
        settings=settings,
        run=warehouse.run_context(con, runs),
    )
