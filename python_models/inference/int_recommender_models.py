"""One row per fitted recommender (neighbour lists, affinities, pools), newest last.

A new row appears only when the refit policy says so (no recommender yet, var
recommender_refit, the embedded catalog or the segment model changed, or the
customers with purchases grew past recommender_refit_growth).
"""

from holdfast.entrypoints.dbt_python_models import recommender_models_model


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key="recommender_model_id",
        incremental_strategy="delete+insert",
    )
    embeddings = dbt.ref("int_products_embedded")
    statistics = dbt.ref("int_product_statistics")
    profiles = dbt.ref("int_customer_purchase_profiles")
    segmented = dbt.ref("int_customers_segmented")
    segment_models = dbt.ref("int_segment_models")
    runs = dbt.ref("ops_runs")
    sample_size = dbt.config.get("recommender_fit_sample_size")
    copurchase_neighbours = dbt.config.get("recommender_copurchase_neighbours")
    semantic_neighbours = dbt.config.get("recommender_semantic_neighbours")
    reverse_cap = dbt.config.get("recommender_reverse_cap")
    pool_size = dbt.config.get("recommender_pool_size")
    refit = dbt.config.get("recommender_refit")
    refit_growth = dbt.config.get("recommender_refit_growth")
    seed = dbt.config.get("random_seed")
    return recommender_models_model(
        session,
        embeddings=embeddings,
        statistics=statistics,
        profiles=profiles,
        segmented=segmented,
        segment_models=segment_models,
        runs=runs,
        this=str(dbt.this) if dbt.is_incremental else None,
        sample_size=sample_size,
        copurchase_neighbours=copurchase_neighbours,
        semantic_neighbours=semantic_neighbours,
        reverse_cap=reverse_cap,
        pool_size=pool_size,
        refit=refit,
        refit_growth=refit_growth,
        seed=seed,
    )
