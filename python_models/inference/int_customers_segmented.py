"""One row per current customer: the segment their purchases place them in, its
membership strength and whether HDBSCAN left them as noise (then the segment
is the nearest one); -1 when nothing places them (no purchases, no model).

Incremental: customers are (re)labelled when their purchases changed or a new
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
        profiles=dbt.ref("int_customer_purchase_profiles"),
        models=dbt.ref("int_segment_models"),
        runs=dbt.ref("ops_runs"),
        this=str(dbt.this) if dbt.is_incremental else None,
        settings=PipelineSettings.from_mapping(dbt.config.get("settings")),
    )
