"""One row per catalog product: its text embedding (all-MiniLM-L6-v2), or why not.

Incremental: only products whose text (hash) or model version is new, plus
earlier failures that have not used up their attempts, are sent to the model.
"""

from holdfast.entrypoints.spark_models import spark_embed_products_model
from holdfast.entrypoints.steps.embed_products import embed_products_model
from holdfast.infrastructure.spark_io import is_spark_session
from holdfast.settings import PipelineSettings


def model(dbt, session):
    dbt.config(
        materialized="incremental", unique_key="product_id", incremental_strategy="delete+insert"
    )
    # Spark (Databricks): the same step over partitions with mapInArrow
    step = spark_embed_products_model if is_spark_session(session) else embed_products_model
    return step(
        session,
        products=dbt.ref("int_products_current"),
        runs=dbt.ref("ops_runs"),
        this=str(dbt.this) if dbt.is_incremental else None,
        settings=PipelineSettings.from_mapping(dbt.config.get("settings")),
    )
