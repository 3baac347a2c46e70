"""One row per fitted recommender (neighbour lists, affinities, pools), newest last.

A new row appears only when the refit policy says so (no recommender yet, var
recommender_refit, the embedded catalog or the segment model changed, or the
customers with purchases grew past recommender_refit_growth).
"""

from holdfast.entrypoints.spark_fits import spark_recommender_models_model
from holdfast.entrypoints.steps.recommender_fit import recommender_models_model
from holdfast.infrastructure.spark_io import is_spark_session
from holdfast.settings import PipelineSettings


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key="recommender_model_id",
        incremental_strategy="delete+insert",
    )
    # Spark (Databricks): the sample selected on Spark, the fit on the driver
    step = spark_recommender_models_model if is_spark_session(session) else recommender_models_model
    return step(
        session,
        embeddings=dbt.ref("int_products_embedded"),
        statistics=dbt.ref("int_product_statistics"),
        profiles=dbt.ref("int_customer_purchase_profiles"),
        segmented=dbt.ref("int_customers_segmented"),
        segment_models=dbt.ref("int_segment_models"),
        runs=dbt.ref("ops_runs"),
        this=str(dbt.this) if dbt.is_incremental else None,
        settings=PipelineSettings.from_mapping(dbt.config.get("settings")),
    )
