"""One row per scored customer: up to k recommendation candidates, best first.

Incremental: customers are rescored when their purchases or segment changed,
or when the recommender was refitted or its settings changed.
"""

from holdfast.entrypoints.spark_models import spark_recommendations_model
from holdfast.entrypoints.steps.recommendations import recommendations_model
from holdfast.infrastructure.spark_io import is_spark_session
from holdfast.settings import PipelineSettings


def model(dbt, session):
    dbt.config(
        materialized="incremental", unique_key="customer_id", incremental_strategy="delete+insert"
    )
    # Spark (Databricks): the same step over partitions with mapInArrow
    step = spark_recommendations_model if is_spark_session(session) else recommendations_model
    return step(
        session,
        scoring_inputs=dbt.ref("int_customer_scoring_inputs"),
        recommender_models=dbt.ref("int_recommender_models"),
        runs=dbt.ref("ops_runs"),
        this=str(dbt.this) if dbt.is_incremental else None,
        settings=PipelineSettings.from_mapping(dbt.config.get("settings")),
    )
