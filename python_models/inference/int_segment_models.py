"""One row per fitted segment model (purchase factors + HDBSCAN on a sample of
the customers with purchases), newest last, with its segments' labels and
profiles.

A new row appears only when the refit policy says so (no model yet, var
segment_refit, or the population grew past segment_refit_growth).
"""

from holdfast.entrypoints.spark_fits import spark_segment_models_model
from holdfast.entrypoints.steps.segment_fit import segment_models_model
from holdfast.infrastructure.spark_io import is_spark_session
from holdfast.settings import PipelineSettings


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key="segment_model_id",
        incremental_strategy="delete+insert",
        # a warehouse built before a column was added gains it (older rows null)
        on_schema_change="append_new_columns",
    )
    # Spark (Databricks): the sample selected on Spark, the fit on the driver
    step = spark_segment_models_model if is_spark_session(session) else segment_models_model
    return step(
        session,
        profiles=dbt.ref("int_customer_purchase_profiles"),
        products=dbt.ref("int_products_current"),
        runs=dbt.ref("ops_runs"),
        this=str(dbt.this) if dbt.is_incremental else None,
        settings=PipelineSettings.from_mapping(dbt.config.get("settings")),
    )
