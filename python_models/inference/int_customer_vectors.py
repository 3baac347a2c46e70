"""One row per customer with a purchase profile: their taste vector, or why not.

Incremental: only customers whose purchases (or the embeddings of what they
bought) changed are recomputed, plus earlier failures still within attempts.
"""

from holdfast.entrypoints.dbt_python_models import customer_vectors_model
from holdfast.entrypoints.spark_models import spark_customer_vectors_model
from holdfast.infrastructure.spark_io import is_spark_session


def model(dbt, session):
    dbt.config(
        materialized="incremental", unique_key="customer_id", incremental_strategy="delete+insert"
    )
    profiles = dbt.ref("int_customer_purchase_profiles")
    embeddings = dbt.ref("int_products_embedded")
    runs = dbt.ref("ops_runs")
    batch_size = dbt.config.get("inference_batch_size")
    max_retries = dbt.config.get("inference_max_retries")
    initial_backoff = dbt.config.get("inference_initial_backoff_seconds")
    max_failed_runs = dbt.config.get("dead_letter_max_attempts")
    # Spark (Databricks): the same step over partitions with mapInArrow
    step = spark_customer_vectors_model if is_spark_session(session) else customer_vectors_model
    return step(
        session,
        profiles=profiles,
        embeddings=embeddings,
        runs=runs,
        this=str(dbt.this) if dbt.is_incremental else None,
        batch_size=batch_size,
        max_retries=max_retries,
        initial_backoff=initial_backoff,
        max_failed_runs=max_failed_runs,
    )
