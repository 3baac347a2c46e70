"""One row per customer with a vector row: segment id (-1 = noise) and strength.

Incremental: customers are (re)labelled when their vector changed or a new
segment model was fitted.
"""

from holdfast.entrypoints.spark_models import spark_customer_segments_model
from holdfast.entrypoints.steps.customer_segments import customer_segments_model
from holdfast.infrastructure.spark_io import is_spark_session
from holdfast.settings import PipelineSettings


def model(dbt, session):
    dbt.config(
        materialized="incremental", unique_key="customer_id", incremental_strategy="delete+insert"
    )
    # Spark (Databricks): the same step over partitions with mapInArrow
    step = spark_customer_segments_model if is_spark_session(session) else customer_segments_model
    return step(
        session,
        vectors=dbt.ref("int_customer_vectors"),
        models=dbt.ref("int_segment_models"),
        runs=dbt.ref("ops_runs"),
        this=str(dbt.this) if dbt.is_incremental else None,
        settings=PipelineSettings.from_mapping(dbt.config.get("settings")),
    )
