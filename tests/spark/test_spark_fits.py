"""The two fits on Spark give DuckDB's model: the same row, the same artifact.

`int_segment_models` and `int_recommender_models` run through their thin
model files on local pyspark (fixtures `spark_segment_models` and
`spark_recommender_models` in conftest.py): the population, the refit
decision, the catalog fingerprint and the sample are Spark SQL, the fit runs
on the driver. Each row equals the DuckDB build's but for the run stamps
(`run_id`, `fitted_at`: each engine's run is its own invocation, checked
against the Spark run's `ops_runs`); the model bytes and their checksum are
equal too, and the decoded models are compared on their own (segment
assignments of every customer; neighbour lists, affinities and pools).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from tests.spark.harness import SETTINGS_VARS, duckdb_table, to_spark

from holdfast.application import recommend, segments
from holdfast.entrypoints import spark_fits
from holdfast.entrypoints.steps._fit_queries import SPARK_DIALECT
from holdfast.infrastructure.model_store import load_model
from holdfast.settings import PipelineSettings

pytestmark = pytest.mark.spark

# when and in which run a model was fitted: each engine's own invocation
RUN_STAMPS = {"run_id", "fitted_at"}
PROFILES = "intermediate.int_customer_purchase_profiles"


def _only_row(table) -> dict:
    (row,) = table.to_pylist()
    return row


def _assert_same_model_row(got, expected, run_frame) -> None:
    assert got.column_names == expected.column_names
    got_row, expected_row = _only_row(got), _only_row(expected)
    run = run_frame.collect()[0]
    assert got_row["run_id"] == run["run_id"]
    assert got_row["fitted_at"].timestamp() == run["run_started_at"].timestamp()
    for column in RUN_STAMPS:
        del got_row[column], expected_row[column]
    assert got_row == expected_row


def _baskets(duckdb_build) -> list[list[str]]:
    return duckdb_table(duckdb_build, PROFILES).column("product_ids").to_pylist()


def test_segment_fit_spark_branch_matches_duckdb(spark_segment_models, duckdb_build, run_frame):
    expected = duckdb_table(duckdb_build, "inference.int_segment_models")
    _assert_same_model_row(spark_segment_models, expected, run_frame)
    assert _only_row(expected)["n_segments"] > 1


def test_the_spark_fitted_segment_model_assigns_every_customer_alike(
    spark_segment_models, duckdb_build
):
    got_row = _only_row(spark_segment_models)
    expected_row = _only_row(duckdb_table(duckdb_build, "inference.int_segment_models"))
    got = load_model(got_row["model_blob"], got_row["model_checksum"])
    expected = load_model(expected_row["model_blob"], expected_row["model_checksum"])
    baskets = _baskets(duckdb_build)
    got_segments, got_strengths, got_noise = got.assign(baskets)
    expected_segments, expected_strengths, expected_noise = expected.assign(baskets)
    np.testing.assert_array_equal(got_segments, expected_segments)
    np.testing.assert_array_equal(got_noise, expected_noise)
    np.testing.assert_allclose(got_strengths, expected_strengths, atol=1e-12, rtol=0)
    assert len(set(got_segments.tolist())) > 1


def test_spark_ranks_customers_by_the_sha256_of_seed_and_id(spark):
    ranked = spark.sql(
        f"select customer_id, {SPARK_DIALECT.sample_rank} as rank from {PROFILES}",
        args=["42"],
    ).collect()
    assert len(ranked) > 100
    for customer_id, rank in ranked:
        assert rank == hashlib.sha256(f"42:{customer_id}".encode()).hexdigest()


def test_a_smaller_spark_sample_is_the_first_customers_by_sample_rank(spark, run_frame):
    settings = PipelineSettings.from_mapping(
        {**SETTINGS_VARS, "segment_fit_sample_size": 60, "segment_factor_sample_size": 70}
    )
    got = spark_fits.spark_segment_models_model(
        spark,
        profiles=spark.table(PROFILES),
        products=spark.table("intermediate.int_products_current"),
        runs=run_frame,
        this=None,
        settings=settings,
    ).toArrow()
    row = _only_row(got)
    # brute force: the customers with purchases, by sha256("42:" + id), the
    # first 70 for the factors (the model id covers them), of them 60 clustered
    profiles = spark.table(PROFILES).toArrow().to_pylist()
    baskets = {r["customer_id"]: r["product_ids"] for r in profiles if r["n_products"] > 0}
    sample = sorted(baskets, key=lambda c: (hashlib.sha256(f"42:{c}".encode()).hexdigest(), c))[:70]
    params = json.loads(row["params"])
    del params["matched_from"], params["segment_of_label"]
    assert (row["n_sample"], row["population_at_fit"]) == (60, len(baskets))
    assert row["segment_model_id"] == segments.model_id_for(
        sample, [baskets[c] for c in sample], params
    )


def test_spark_decides_not_to_refit_over_the_duckdb_models(spark, duckdb_build, run_frame):
    """With DuckDB's fitted models as the current ones (dbt's `this`), the
    Spark branches see the same population, catalog and segment model, so the
    refit policy fits nothing, as DuckDB's next run does."""
    for model in ("int_segment_models", "int_recommender_models"):
        to_spark(spark, duckdb_table(duckdb_build, f"inference.{model}")).createOrReplaceTempView(
            f"duckdb_{model}"
        )
    settings = PipelineSettings.from_mapping(SETTINGS_VARS)
    segment_models = spark_fits.spark_segment_models_model(
        spark,
        profiles=spark.table(PROFILES),
        products=spark.table("intermediate.int_products_current"),
        runs=run_frame,
        this="duckdb_int_segment_models",
        settings=settings,
    )
    recommenders = spark_fits.spark_recommender_models_model(
        spark,
        embeddings=to_spark(spark, duckdb_table(duckdb_build, "inference.int_products_embedded")),
        statistics=spark.table("intermediate.int_product_statistics"),
        profiles=spark.table(PROFILES),
        segmented=to_spark(spark, duckdb_table(duckdb_build, "inference.int_customers_segmented")),
        segment_models=spark.table("duckdb_int_segment_models"),
        runs=run_frame,
        this="duckdb_int_recommender_models",
        settings=settings,
    )
    assert segment_models.count() == 0 and recommenders.count() == 0
    assert (
        segment_models.columns
        == duckdb_table(duckdb_build, "inference.int_segment_models").column_names
    )


def test_a_forced_spark_refit_keeps_the_duckdb_models_segment_ids(spark, duckdb_build, run_frame):
    expected_row = _only_row(duckdb_table(duckdb_build, "inference.int_segment_models"))
    to_spark(
        spark, duckdb_table(duckdb_build, "inference.int_segment_models")
    ).createOrReplaceTempView("duckdb_segment_models")
    refit = spark_fits.spark_segment_models_model(
        spark,
        profiles=spark.table(PROFILES),
        products=spark.table("intermediate.int_products_current"),
        runs=run_frame,
        this="duckdb_segment_models",
        settings=PipelineSettings.from_mapping({**SETTINGS_VARS, "segment_refit": True}),
    ).toArrow()
    row = _only_row(refit)
    model = load_model(row["model_blob"], row["model_checksum"])
    previous = load_model(expected_row["model_blob"], expected_row["model_checksum"])
    assert model.matched_from == previous.segment_model_id
    # the same sample clustered again: every segment matches its own id
    assert model.segment_of_label == previous.segment_of_label
    baskets = _baskets(duckdb_build)
    np.testing.assert_array_equal(model.assign(baskets)[0], previous.assign(baskets)[0])


def test_recommender_fit_spark_branch_matches_duckdb(
    spark_recommender_models, spark_segment_models, duckdb_build, run_frame
):
    expected = duckdb_table(duckdb_build, "inference.int_recommender_models")
    _assert_same_model_row(spark_recommender_models, expected, run_frame)
    row = _only_row(spark_recommender_models)
    assert row["segment_model_id"] == _only_row(spark_segment_models)["segment_model_id"]
    # the catalog fingerprint, brute force: md5 of `id:text_hash@version` (or `id:-`)
    embedded = {
        r["product_id"]: f"{r['text_hash']}@{r['embedding_model_version']}"
        for r in duckdb_table(duckdb_build, "inference.int_products_embedded").to_pylist()
        if r["status"] == "ok"
    }
    products = sorted(
        duckdb_table(duckdb_build, "intermediate.int_product_statistics")
        .column("product_id")
        .to_pylist()
    )
    listed = ",".join(f"{p}:{embedded.get(p, '-')}" for p in products)
    assert row["catalog_fingerprint"] == hashlib.md5(listed.encode()).hexdigest()


def _assert_same_sparse(got, expected) -> None:
    assert got.shape == expected.shape
    got, expected = got.tocsr(), expected.tocsr()
    got.sort_indices()
    expected.sort_indices()
    np.testing.assert_array_equal(got.indptr, expected.indptr)
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_allclose(got.data, expected.data, atol=1e-5, rtol=0)


def test_the_spark_fitted_recommender_has_the_same_neighbours(
    spark_recommender_models, duckdb_build
):
    got_row = _only_row(spark_recommender_models)
    expected_row = _only_row(duckdb_table(duckdb_build, "inference.int_recommender_models"))
    got = load_model(got_row["model_blob"], got_row["model_checksum"], recommend.RecommenderModel)
    expected = load_model(
        expected_row["model_blob"], expected_row["model_checksum"], recommend.RecommenderModel
    )
    assert got.product_ids == expected.product_ids and len(got.product_ids) > 100
    assert got.segment_row == expected.segment_row and got.n_sample == expected.n_sample
    for name in ("copurchase", "semantic", "pools"):
        assert getattr(expected, name).nnz > 0, name
        _assert_same_sparse(getattr(got, name), getattr(expected, name))
    assert (got.ease is None) == (expected.ease is None)
    if expected.ease is not None:
        _assert_same_sparse(got.ease, expected.ease)
    for name in ("affinity", "popularity", "typical_spend"):
        np.testing.assert_allclose(
            getattr(got, name), getattr(expected, name), atol=1e-5, rtol=0, err_msg=name
        )
