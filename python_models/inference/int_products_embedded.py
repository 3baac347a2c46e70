"""One row per catalog product: its text embedding (all-MiniLM-L6-v2), or why not.

Incremental: only products whose text (hash) or model version is new, plus
earlier failures that have not used up their attempts, are sent to the model.
"""

from holdfast.entrypoints.dbt_python_models import embed_products_model
from holdfast.entrypoints.spark_models import spark_embed_products_model
from holdfast.infrastructure.spark_io import is_spark_session


def model(dbt, session):
    dbt.config(
        materialized="incremental", unique_key="product_id", incremental_strategy="delete+insert"
    )
    products = dbt.ref("int_products_current")
    runs = dbt.ref("ops_runs")
    embedding_model = dbt.config.get("embedding_model")
    batch_size = dbt.config.get("inference_batch_size")
    max_retries = dbt.config.get("inference_max_retries")
    initial_backoff = dbt.config.get("inference_initial_backoff_seconds")
    max_failed_runs = dbt.config.get("dead_letter_max_attempts")
    # Spark (Databricks): the same step over partitions with mapInArrow
    step = spark_embed_products_model if is_spark_session(session) else embed_products_model
    return step(
        session,
        products=products,
        runs=runs,
        this=str(dbt.this) if dbt.is_incremental else None,
        embedding_model=embedding_model,
        batch_size=batch_size,
        max_retries=max_retries,
        initial_backoff=initial_backoff,
        max_failed_runs=max_failed_runs,
    )
