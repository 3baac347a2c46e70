"""One row per customer with a purchase profile: their taste vector, or why not.

Incremental: only customers whose purchases (or the embeddings of what they
bought) changed are recomputed, plus earlier failures still within attempts.
"""

from holdfast.entrypoints.spark_models import spark_customer_vectors_model
from holdfast.entrypoints.steps.customer_vectors import customer_vectors_model
from holdfast.infrastructure.spark_io import is_spark_session
from holdfast.settings import PipelineSettings


def model(dbt, session):
    dbt.config(
        materialized="incremental", unique_key="customer_id", incremental_strategy="delete+insert"
    )
    # Spark (Databricks): the same step over partitions with mapInArrow
    step = spark_customer_vectors_model if is_spark_session(session) else customer_vectors_model
    return step(
        session,
        profiles=dbt.ref("int_customer_purchase_profiles"),
        embeddings=dbt.ref("int_products_embedded"),
        runs=dbt.ref("ops_runs"),
        this=str(dbt.this) if dbt.is_incremental else None,
        settings=PipelineSettings.from_mapping(dbt.config.get("settings")),
    )
