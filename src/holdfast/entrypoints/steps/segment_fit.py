"""int_segment_models: a new segment model (purchase factors + HDBSCAN on a
sample of the customers with purchases) when the refit policy says so, with
its segments' labels and profiles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from holdfast.application import segments
from holdfast.application.records import RunContext
from holdfast.domain.segmentation import (
    FittedModelInfo,
    auto_min_cluster_size,
    refit_decision,
)
from holdfast.entrypoints.observed import observed_step
from holdfast.entrypoints.steps._fit_queries import DuckDBFitQueries, FitQueries
from holdfast.infrastructure import warehouse
from holdfast.infrastructure.clustering import HdbscanClusterer
from holdfast.infrastructure.model_store import (
    SEGMENT_MODEL_ID,
    dump_model,
    load_model,
    newest_model_sql,
)
from holdfast.settings import PipelineSettings, SegmentSettings

SEGMENT_PROFILE_TYPE = pa.struct(
    [
        pa.field("segment_id", pa.int32()),
        pa.field("segment_label", pa.string()),
        pa.field("top_terms", pa.list_(pa.string())),
        pa.field("top_products", pa.list_(pa.string())),
        pa.field("sample_customers", pa.int64()),
    ]
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
        pa.field("segment_profiles", pa.list_(SEGMENT_PROFILE_TYPE), nullable=False),
        pa.field("params", pa.string(), nullable=False),
        pa.field("model_checksum", pa.string(), nullable=False),
        pa.field("model_blob", pa.binary(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("fitted_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

# fewer customers with purchases than this: no segment model yet
MINIMUM_POPULATION = 20


@dataclass(frozen=True)
class SegmentFitPlan:
    """Why a new model is fitted, on how many customers, and from what."""

    reason: str
    population: int
    # the model whose matching segments keep their ids, if any
    previous: segments.SegmentModel | None
    # without `previous`: the first segment id (after a retired model's)
    first_segment_id: int


def _previous_model(queries: FitQueries, this: str | None) -> tuple | None:
    """The newest fitted model's (id, population at fit, blob, checksum), if any."""
    if this is None:
        return None
    queries.view(this, "hf_previous_models")
    return queries.first_row(
        newest_model_sql(
            "hf_previous_models",
            [SEGMENT_MODEL_ID, "population_at_fit", "model_blob", "model_checksum"],
            SEGMENT_MODEL_ID,
        ),
    )


def plan_segment_fit(
    queries: FitQueries, profiles_view: str, this: str | None, config: SegmentSettings
) -> SegmentFitPlan | None:
    """The refit policy on the population now and the newest model (None: no fit)."""
    population = queries.first_row(f"select count(*) from {profiles_view} where n_products > 0")[0]
    previous_row = _previous_model(queries, this)
    previous = load_model(bytes(previous_row[2]), previous_row[3]) if previous_row else None
    if previous is not None and not hasattr(previous, "factors"):
        # a model of another feature set (taste-vector PCA): it cannot label
        # customers from their product lists, so it is replaced, its ids kept
        # out of reuse
        fit, reason = True, "the current model has no purchase factors"
        retired_ids = getattr(previous, "next_segment_id", 0)
        previous = None
    else:
        fit, reason = refit_decision(
            FittedModelInfo(previous_row[0], previous_row[1]) if previous_row else None,
            population,
            forced=config.refit,
            growth_threshold=config.refit_growth,
            minimum_population=MINIMUM_POPULATION,
        )
        retired_ids = 0
    if not fit or population < MINIMUM_POPULATION:
        return None
    return SegmentFitPlan(reason, population, previous, retired_ids)


def _fit_params(config: SegmentSettings, sample_size: int, seed: int) -> dict[str, Any]:
    """The clusterer's parameters for a sample of `sample_size` (recorded with the model)."""
    size = config.min_cluster_size
    return {
        "algorithm": "hdbscan",
        "min_cluster_size": size if size > 0 else auto_min_cluster_size(sample_size),
        "min_samples": config.min_samples,
        "features": "purchase_factors",
        "feature_products": config.feature_products,
        "feature_components": config.feature_components,
        "cluster_selection": config.cluster_selection,
        "factor_sample_size": config.factor_sample_size,
        "noise_to": "nearest_centroid",
        "sample_size": sample_size,
        "seed": seed,
    }


def _model_row(
    model: segments.SegmentModel, params: dict, reason: str, population: int, run: RunContext
) -> pa.Table:
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
                "explained_variance": round(model.factors.explained_variance_ratio, 6),
                "segment_profiles": [
                    {
                        "segment_id": p.segment_id,
                        "segment_label": p.label,
                        "top_terms": list(p.top_terms),
                        "top_products": list(p.top_products),
                        "sample_customers": p.sample_customers,
                    }
                    for p in model.profiles
                ],
                "params": json.dumps(recorded, sort_keys=True),
                "model_checksum": checksum,
                "model_blob": blob,
                "run_id": run.run_id,
                "fitted_at": run.run_started_at,
            }
        ],
        schema=SEGMENT_MODEL_SCHEMA,
    )


def _catalog_names(queries: FitQueries, products: Any) -> tuple[dict, dict]:
    """(product id -> name, product id -> category) of the current catalog."""
    view = queries.view(products, "hf_products")
    catalog = queries.arrow(
        f"select product_id, product_name, category from {view} order by product_id"
    ).to_pylist()
    return (
        {row["product_id"]: row["product_name"] or "" for row in catalog},
        {row["product_id"]: row["category"] or "" for row in catalog},
    )


def fit_segments(
    queries: FitQueries,
    *,
    profiles: Any,
    products: Any,
    this: str | None,
    settings: PipelineSettings,
    run: RunContext,
) -> pa.Table:
    """The model row of a new fit when the refit policy says so (else no row),
    its inputs read through `queries` (either engine), the fit on this machine."""
    config = settings.segments
    profiles_view = queries.view(profiles, "hf_profiles")
    plan = plan_segment_fit(queries, profiles_view, this, config)
    if plan is None:
        return SEGMENT_MODEL_SCHEMA.empty_table()
    sample = queries.arrow(
        f"select customer_id, product_ids from {profiles_view} where n_products > 0 "
        f"order by {queries.dialect.sample_rank}, customer_id "
        f"limit {int(max(config.fit_sample_size, config.factor_sample_size))}",
        [str(settings.random_seed)],
    )
    ids = sample.column("customer_id").to_pylist()
    baskets = sample.column("product_ids").to_pylist()
    names, categories = _catalog_names(queries, products)
    params = _fit_params(config, min(len(ids), config.fit_sample_size), settings.random_seed)
    # a refit reuses the ids of the previous model's segments it matches
    model = segments.fit_segment_model(
        ids,
        baskets,
        HdbscanClusterer(
            min_cluster_size=params["min_cluster_size"],
            min_samples=params["min_samples"],
            cluster_selection_method=params["cluster_selection"],
        ),
        n_products=params["feature_products"],
        n_components=params["feature_components"],
        population=plan.population,
        params=params,
        fit_reason=plan.reason,
        names=names,
        categories=categories,
        previous=plan.previous,
        first_segment_id=plan.first_segment_id,
        cluster_sample_size=config.fit_sample_size,
    )
    return _model_row(model, params, plan.reason, plan.population, run)


@observed_step("fit_segments")
def segment_models_model(
    con: duckdb.DuckDBPyConnection,
    *,
    profiles: Any,
    products: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> pa.Table:
    """int_segment_models on DuckDB: a new fitted model when the refit policy
    says so (else no row)."""
    return fit_segments(
        DuckDBFitQueries(con),
        profiles=profiles,
        products=products,
        this=this,
        settings=settings,
        run=warehouse.run_context(con, runs),
    )
