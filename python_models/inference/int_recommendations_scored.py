"""One row per scored customer: up to k recommendation candidates, best first.

Incremental: customers are rescored when their purchases or segment changed,
or when the recommender was refitted or its settings changed.
"""

from holdfast.entrypoints.dbt_python_models import recommendations_model
from holdfast.entrypoints.spark_models import spark_recommendations_model
from holdfast.infrastructure.spark_io import is_spark_session


def model(dbt, session):
    dbt.config(
        materialized="incremental", unique_key="customer_id", incremental_strategy="delete+insert"
    )
    scoring_inputs = dbt.ref("int_customer_scoring_inputs")
    recommender_models = dbt.ref("int_recommender_models")
    runs = dbt.ref("ops_runs")
    candidates_per_customer = dbt.config.get("recommendation_candidates_per_customer")
    weight_copurchase = dbt.config.get("recommendation_weight_copurchase")
    weight_semantic = dbt.config.get("recommendation_weight_semantic")
    weight_segment = dbt.config.get("recommendation_weight_segment")
    weight_popularity = dbt.config.get("recommendation_weight_popularity")
    batch_size = dbt.config.get("inference_batch_size")
    max_retries = dbt.config.get("inference_max_retries")
    initial_backoff = dbt.config.get("inference_initial_backoff_seconds")
    max_failed_runs = dbt.config.get("dead_letter_max_attempts")
    processes = dbt.config.get("inference_processes")
    # Spark (Databricks): the same step over partitions with mapInArrow
    step = spark_recommendations_model if is_spark_session(session) else recommendations_model
    return step(
        session,
        scoring_inputs=scoring_inputs,
        recommender_models=recommender_models,
        runs=runs,
        this=str(dbt.this) if dbt.is_incremental else None,
        candidates_per_customer=candidates_per_customer,
        weight_copurchase=weight_copurchase,
        weight_semantic=weight_semantic,
        weight_segment=weight_segment,
        weight_popularity=weight_popularity,
        batch_size=batch_size,
        max_retries=max_retries,
        initial_backoff=initial_backoff,
        max_failed_runs=max_failed_runs,
        processes=processes,
    )
