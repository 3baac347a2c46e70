"""int_recommendations_scored: the best candidates of every customer whose inputs changed."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from holdfast import __version__
from holdfast.application import recommend
from holdfast.domain.scoring import ScoringWeights
from holdfast.entrypoints.observed import observed_step
from holdfast.entrypoints.steps._shared import (
    POOL_MIN_RECORD_BATCHES,
    announce_workers,
    retry_policy,
    stream_batch_rows,
)
from holdfast.infrastructure import warehouse
from holdfast.infrastructure.model_store import RECOMMENDER_MODEL_ID, load_model, newest_model_sql
from holdfast.settings import PipelineSettings

RECOMMEND_UNCHANGED_WHEN = (
    "p.scoring_fingerprint = s.scoring_fingerprint",
    "p.recommender_version = ?",
)


def recommender_version(model_id: str, weights: ScoringWeights, k: int) -> str:
    """What a customer's scores depend on besides their inputs: code, fitted
    recommender, weights and k (a change rescores everyone)."""
    return f"holdfast-{__version__}:{model_id}:{weights.label()}:k={k}"


@observed_step("recommend")
def recommendations_model(
    con: duckdb.DuckDBPyConnection,
    *,
    scoring_inputs: Any,
    recommender_models: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> pa.RecordBatchReader:
    """Candidates for customers whose inputs changed, or everyone after a
    refit of the recommender or a change of its settings."""
    inference, scoring = settings.inference, settings.scoring
    policy = retry_policy(inference, "recommend")
    k, weights = scoring.candidates_per_customer, scoring.weights
    run = warehouse.run_context(con, runs)
    models_view = warehouse.view(con, recommender_models, "hf_recommenders")
    row = warehouse.first_row(
        con,
        newest_model_sql(models_view, ["model_blob", "model_checksum"], RECOMMENDER_MODEL_ID),
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
        max_failed_runs=inference.max_failed_runs,
    )
    return warehouse.as_reader(
        schema,
        recommend.score_customers(
            warehouse.stream(con, pending, stream_batch_rows()),
            model,
            k=k,
            weights=weights,
            recommender_version=version,
            run=run,
            policy=policy,
            batch_size=inference.batch_size,
            processes=inference.processes,
            on_start=announce_workers("recommend"),
            pool_min_batches=POOL_MIN_RECORD_BATCHES,
        ),
    )
