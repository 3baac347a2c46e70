"""One row per fitted segment model (PCA + HDBSCAN on a sample), newest last.

A new row appears only when the refit policy says so (no model yet, var
segment_refit, or the population grew past segment_refit_growth).
"""

from holdfast.entrypoints.dbt_python_models import segment_models_model


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key="segment_model_id",
        incremental_strategy="delete+insert",
    )
    vectors = dbt.ref("int_customer_vectors")
    runs = dbt.ref("ops_runs")
    sample_size = dbt.config.get("segment_fit_sample_size")
    min_cluster_size = dbt.config.get("segment_min_cluster_size")
    min_samples = dbt.config.get("segment_min_samples")
    pca_components = dbt.config.get("segment_pca_components")
    cluster_selection = dbt.config.get("segment_cluster_selection")
    refit = dbt.config.get("segment_refit")
    refit_growth = dbt.config.get("segment_refit_growth")
    seed = dbt.config.get("random_seed")
    return segment_models_model(
        session,
        vectors=vectors,
        runs=runs,
        this=str(dbt.this) if dbt.is_incremental else None,
        sample_size=sample_size,
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        pca_components=pca_components,
        cluster_selection=cluster_selection,
        refit=refit,
        refit_growth=refit_growth,
        seed=seed,
    )
