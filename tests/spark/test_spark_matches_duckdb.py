"""Spark and DuckDB give the same answers on the same landing files.

One landing folder (generated batches plus hostile files) is built twice:
`dbt run` on DuckDB (the whole pipeline), and `dbt build --target spark_local
--selector spark_portable` on local Spark (the portable SQL models and their
tests). Then:
- every portable SQL model has the same rows on both engines;
- each record-by-record Python model's Spark branch (mapInArrow) runs on local
  pyspark against the tables the Spark build produced (and, where a parent is
  a Python model, the Spark branch's own output, or the model the Spark
  branch of a fit wrote: test_spark_fits.py) and gives the rows the DuckDB
  model wrote, vectors equal within tolerance.

The fixtures (the two builds, the SparkSession, the Spark-fitted models) are
in conftest.py, the comparisons in harness.py.
"""

from __future__ import annotations

import json
import statistics

import pyarrow as pa
import pytest
from tests.spark.harness import (
    CALL_COLUMNS,
    HOSTILE_LINES,
    PROJECT_VARS,
    RUN_COLUMNS,
    SETTINGS,
    assert_same_rows,
    duckdb_table,
    rows_of,
    to_spark,
)

from holdfast.entrypoints import spark_models

pytestmark = pytest.mark.spark

PORTABLE_MODELS = {
    "staging.stg_landing__customer_lines": ("batch_id", "line_number"),
    "staging.stg_landing__product_lines": ("batch_id", "line_number"),
    "intermediate.int_customer_records_validated": ("batch_id", "line_number"),
    "intermediate.int_product_records_validated": ("batch_id", "line_number"),
    "intermediate.int_customers_current": ("customer_id",),
    "intermediate.int_purchases_deduplicated": ("purchase_id",),
    "intermediate.int_products_current": ("product_id",),
    "intermediate.int_product_statistics": ("product_id",),
    "intermediate.int_customer_purchase_profiles": ("customer_id",),
    "intermediate.int_customer_scoring_inputs": ("customer_id",),
    "intermediate.int_recommendation_candidates_checked": ("customer_id", "product_id"),
    "marts.dim_products": ("product_id",),
    "marts.fct_purchases": ("purchase_id",),
    "marts.fct_recommendations": ("customer_id", "product_id"),
    "marts.fct_rejected_recommendations": ("customer_id", "product_id"),
    "marts.fct_customer_segments": ("customer_id",),
    "marts.dim_segments": ("segment_id", "segment_model_id"),
    "marts.dim_customers": ("customer_id",),
    "ops.ops_inference_batches": ("inference_batch_id",),
    "ops.ops_dead_letter_queue": ("dead_letter_id",),
    "ops.mon_distribution_history": ("distribution", "bin"),
    "ops.mon_distribution_shift": ("distribution",),
    "ops.mon_model_performance": ("step", "metric"),
    "ops.ops_schema_errors": ("source", "batch_id", "line_number"),
    "ops.ops_batch_ledger": ("batch_key",),
    "ops.mon_input_quality": ("batch_key",),
}
# empty after one build of these landing files, on both engines: no Python
# step failed
EMPTY_AFTER_ONE_RUN = {"ops.ops_dead_letter_queue"}
# keys made from the invocation id (each engine's run has its own)
RUN_KEYS = {
    "ops.mon_distribution_history": {"distribution_bin_id"},
    "ops.mon_distribution_shift": {"distribution_shift_id", "previous_run_id"},
    "ops.mon_model_performance": {"performance_metric_id"},
}
# values that depend on when a model was built: load times, and ages against
# now()
BUILD_TIME_COLUMNS = {
    "ops.ops_batch_ledger": {"first_loaded_at", "last_loaded_at"},
    "ops.mon_input_quality": {
        "last_loaded_at",
        "batch_age_hours",
        "file_age_hours",
        "record_age_hours",
    },
}
# lists whose order is not part of the answer (DuckDB's list_distinct keeps
# none): compared sorted
UNORDERED_LISTS = {"ops.ops_schema_errors": ("failed_rules",)}
# the record count checks of mon_input_quality compare a batch with the
# previous batches of its source, and the empty file is one of them on DuckDB
# only: checked on each engine against its own ledger (a brute-force median)
COUNT_COLUMNS = ("expected_rows", "count_deviation", "is_count_anomaly")
# Spark's file sources skip zero-length files: an empty landing file has no
# marker row on Spark (docs/spark.md, "Known engine differences")
EMPTY_FILE = "empty_0001.jsonl"
EMPTY_BATCH = "empty_0001"


@pytest.mark.parametrize("model", sorted(PORTABLE_MODELS))
def test_portable_sql_model_has_the_same_rows_on_spark(model, duckdb_build, spark):
    # duckdb_build first: the DuckDB build (with its language model) has exited
    # before Spark starts, which keeps the peak memory of the harness down
    key = PORTABLE_MODELS[model]
    spark_table = spark.table(model).toArrow()
    duck_table = duckdb_table(duckdb_build, model)
    assert spark_table.column_names == duck_table.column_names
    drop = RUN_COLUMNS | RUN_KEYS.get(model, set()) | BUILD_TIME_COLUMNS.get(model, set())
    if model == "ops.mon_input_quality":
        drop |= set(COUNT_COLUMNS)
    spark_rows = rows_of(spark_table, key, drop)
    duckdb_rows = rows_of(duck_table, key, drop)
    duckdb_rows = [
        r
        for r in duckdb_rows
        if r.get("file_name") != EMPTY_FILE and r.get("batch_id") != EMPTY_BATCH
    ]
    for row in spark_rows + duckdb_rows:
        for column in UNORDERED_LISTS.get(model, ()):
            row[column] = sorted(row[column])
    for row in spark_rows + duckdb_rows:  # DuckDB keeps whole seconds, Spark milliseconds
        if row.get("file_modified_at") is not None:
            row["file_modified_at"] = row["file_modified_at"].replace(microsecond=0).timestamp()
    if model in EMPTY_AFTER_ONE_RUN:
        assert spark_rows == duckdb_rows == []
        return
    assert_same_rows(spark_rows, duckdb_rows)


def _brute_force_counts(ledger: list[dict]) -> dict[str, tuple]:
    """expected_rows, count_deviation and is_count_anomaly per batch_key: the
    median rows_in of the previous (up to) 5 delivered batches of the source,
    in batch_id order, refused batches left out."""
    tolerance = PROJECT_VARS["record_count_tolerance"]
    out = {}
    for source in {row["source"] for row in ledger}:
        batches = sorted(
            (r for r in ledger if r["source"] == source and r["status"] != "refused"),
            key=lambda r: r["batch_id"],
        )
        for index, row in enumerate(batches):
            previous = [r["rows_in"] for r in batches[max(0, index - 5) : index]]
            expected = statistics.median(previous) if previous else None
            deviation = (row["rows_in"] - expected) / expected if expected else None
            out[row["batch_key"]] = (
                expected,
                deviation,
                deviation is not None and abs(deviation) > tolerance,
            )
    return out


def _assert_counts_match_brute_force(quality: pa.Table, ledger: pa.Table) -> None:
    expected = _brute_force_counts(ledger.to_pylist())
    rows = quality.select(["batch_key", *COUNT_COLUMNS]).to_pylist()
    assert sorted(r["batch_key"] for r in rows) == sorted(expected)
    assert any(r["expected_rows"] is not None for r in rows)
    for row in rows:
        median, deviation, anomaly = expected[row["batch_key"]]
        assert row["expected_rows"] == median, row["batch_key"]
        assert row["is_count_anomaly"] is anomaly, row["batch_key"]
        if deviation is None:
            assert row["count_deviation"] is None
        else:
            assert row["count_deviation"] == pytest.approx(deviation, abs=5e-7)


def test_input_quality_counts_match_a_brute_force_median(spark, duckdb_build):
    _assert_counts_match_brute_force(
        spark.table("ops.mon_input_quality").toArrow(),
        spark.table("ops.ops_batch_ledger").toArrow(),
    )
    _assert_counts_match_brute_force(
        duckdb_table(duckdb_build, "ops.mon_input_quality"),
        duckdb_table(duckdb_build, "ops.ops_batch_ledger"),
    )


def _alerts_by_check(table: pa.Table) -> dict[str, list[dict]]:
    """Alerts per check, the build's own stamps left out and the details
    parsed (a null figure as absent: Spark's to_json leaves it out)."""
    out: dict[str, list[dict]] = {}
    for row in table.to_pylist():
        row = {k: v for k, v in row.items() if k not in {"raised_at", "run_id"}}
        row["details"] = {k: v for k, v in json.loads(row["details"]).items() if v is not None}
        out.setdefault(row["check_name"], []).append(row)
    return {check: sorted(rows, key=lambda r: r["alert_id"]) for check, rows in out.items()}


def _assert_count_alerts_follow_input_quality(alerts: list[dict], quality: pa.Table) -> None:
    flagged = {r["batch_id"]: r for r in quality.to_pylist() if r["is_count_anomaly"]}
    assert sorted(a["batch_id"] for a in alerts) == sorted(flagged)
    for alert in alerts:
        row = flagged[alert["batch_id"]]
        assert alert["details"]["rows_in"] == row["rows_in"]
        assert alert["details"]["expected_rows"] == row["expected_rows"]


def test_alerts_match_duckdb(spark, duckdb_build):
    """Alerts on the same batches, the same checks and severities. The
    refused files, the error-rate breaches and the exhausted dead letters
    have the same ids, messages and details on both engines; the record
    count alerts follow each engine's own mon_input_quality (the empty file
    is a previous batch on DuckDB only); the staleness alerts' messages hold
    ages against now() and their ids a timestamp's text, so only which
    batches are stale is compared."""
    got = _alerts_by_check(spark.table("ops.ops_alerts").toArrow())
    expected = _alerts_by_check(duckdb_table(duckdb_build, "ops.ops_alerts"))
    assert {"batch_refused", "schema_error_rate"} <= set(got)
    for check in ("batch_refused", "schema_error_rate", "dead_letters_exhausted"):
        assert got.get(check, []) == expected.get(check, []), check
    _assert_count_alerts_follow_input_quality(
        got.get("record_count_anomaly", []), spark.table("ops.mon_input_quality").toArrow()
    )
    _assert_count_alerts_follow_input_quality(
        expected.get("record_count_anomaly", []),
        duckdb_table(duckdb_build, "ops.mon_input_quality"),
    )

    def seen(alerts, checks):
        return sorted(
            (r["check_name"], r["batch_id"], r["severity"])
            for check in checks
            for r in alerts.get(check, [])
        )

    others = set(got) | set(expected)
    others -= {"batch_refused", "schema_error_rate", "dead_letters_exhausted"}
    others -= {"record_count_anomaly"}
    assert seen(got, others) == seen(expected, others)


def test_pipeline_health_counts_the_spark_run(spark, duckdb_build):
    # no Python step runs in the Spark build, so no step reports: the
    # telemetry is empty, with DuckDB's columns
    telemetry = spark.table("ops.ops_step_telemetry").toArrow()
    assert telemetry.num_rows == 0
    assert (
        telemetry.column_names == duckdb_table(duckdb_build, "ops.ops_step_telemetry").column_names
    )
    steps = spark.table("ops.ops_step_runs").toArrow().to_pylist()
    health = spark.table("ops.mon_pipeline_health").toArrow().to_pylist()
    assert steps and [r["run_id"] for r in health] == sorted({r["run_id"] for r in steps})
    (row,) = health
    assert row["n_nodes"] == len(steps) > 20
    assert row["n_succeeded"] == sum(r["status"] in ("success", "pass") for r in steps)
    assert row["n_failed"] == sum(r["status"] in ("error", "fail") for r in steps) == 0
    assert row["n_warned"] == sum(r["status"] == "warn" for r in steps)
    assert row["success_rate"] == pytest.approx(row["n_succeeded"] / len(steps), abs=1e-6)
    assert row["dead_letter_queue_size"] == 0 and row["dead_letter_queue_growth"] is None
    assert row["python_cpu_seconds"] is None and row["python_peak_rss_mb"] is None
    span = max(r["recorded_at"] for r in steps) - min(r["run_started_at"] for r in steps)
    assert float(row["runtime_seconds"]) == pytest.approx(span.total_seconds(), abs=2e-3)


def test_spark_reads_every_landing_file_and_line(spark, landing):
    files = sorted(p.name for p in landing.glob("*/*"))
    seen = sorted(
        r[0]
        for r in spark.sql(
            "select distinct file_name from staging.stg_landing__customer_lines "
            "union all select distinct file_name from staging.stg_landing__product_lines"
        ).collect()
    )
    assert seen == [f for f in files if f != EMPTY_FILE]
    runs = spark.table("ops.ops_runs").collect()
    assert len(runs) == 1 and runs[0]["target_name"] == "spark_local"
    verdicts = dict(
        spark.sql(
            "select line_number, errors from intermediate.int_customer_records_validated "
            "where batch_id = 'hostile_0001'"
        ).collect()
    )
    assert len(verdicts) == len(HOSTILE_LINES)
    assert verdicts[1] == [] and verdicts[15] == []
    assert verdicts[3] == ["$: empty line"] and verdicts[4] == ["$: empty line"]
    assert verdicts[7] == ["$: Expected object, received null"]
    assert "purchaseHistory.0.amount: Number must be greater than 0" in verdicts[8]
    assert "purchaseHistory.1.productId: Expected string, received number" in verdicts[13]
    undecodable = spark.sql(
        "select raw_line from intermediate.int_customer_records_validated "
        "where batch_id = 'latin1_0001' and array_contains(errors, '$: line is not valid UTF-8')"
    ).collect()
    assert [r[0] for r in undecodable] == ["{\\x22id\\x22: \\x22caf\\xE9\\x22}"]


@pytest.fixture(scope="module")
def spark_embeddings(spark, run_frame) -> pa.Table:
    frame = spark_models.spark_embed_products_model(
        spark,
        products=spark.table("intermediate.int_products_current"),
        runs=run_frame,
        this=None,
        settings=SETTINGS,  # the embedding model is the one the DuckDB build used
    )
    return frame.toArrow()


def test_embed_products_spark_branch_matches_duckdb(spark_embeddings, duckdb_build, run_frame):
    drop = RUN_COLUMNS | CALL_COLUMNS
    expected = duckdb_table(duckdb_build, "inference.int_products_embedded")
    assert spark_embeddings.num_rows == expected.num_rows > 0
    assert_same_rows(
        rows_of(spark_embeddings, ("product_id",), drop),
        rows_of(expected, ("product_id",), drop),
        vector_columns=("embedding",),
    )
    run_id = run_frame.collect()[0]["run_id"]
    assert set(spark_embeddings.column("run_id").to_pylist()) == {run_id}


@pytest.fixture(scope="module")
def spark_vectors(spark, spark_embeddings, duckdb_build, run_frame) -> pa.Table:
    frame = spark_models.spark_customer_vectors_model(
        spark,
        profiles=to_spark(
            spark, duckdb_table(duckdb_build, "intermediate.int_customer_purchase_profiles")
        ),
        embeddings=to_spark(spark, spark_embeddings),
        runs=run_frame,
        this=None,
        settings=SETTINGS,
    )
    return frame.toArrow()


def test_customer_vectors_spark_branch_matches_duckdb(spark_vectors, duckdb_build):
    drop = RUN_COLUMNS | CALL_COLUMNS
    expected = duckdb_table(duckdb_build, "inference.int_customer_vectors")
    assert spark_vectors.num_rows == expected.num_rows > 0
    assert_same_rows(
        rows_of(spark_vectors, ("customer_id",), drop),
        rows_of(expected, ("customer_id",), drop),
        vector_columns=("vector",),
    )


def _spark_segments(spark, profiles: pa.Table, models: pa.Table, run_frame) -> pa.Table:
    return spark_models.spark_customer_segments_model(
        spark,
        profiles=to_spark(spark, profiles),
        models=to_spark(spark, models),
        runs=run_frame,
        this=None,
        settings=SETTINGS,
    ).toArrow()


def _assert_segments_agree(got: pa.Table, expected: pa.Table) -> None:
    """Same customers, same model, same status; the same segment for at least
    95% of them, and where the segment is the same, the same strength (1e-4).

    Not every label can be equal: the projection is a matrix product whose last
    bits depend on how many rows go into one call (a Spark partition's batches
    are not DuckDB's), and customers with identical vectors tie in HDBSCAN's
    nearest-neighbour lookup, so a borderline customer can change segment.
    """
    drop = RUN_COLUMNS | CALL_COLUMNS | {"segment_id", "membership_strength", "is_noise"}
    assert_same_rows(
        rows_of(got, ("customer_id",), drop), rows_of(expected, ("customer_id",), drop)
    )
    keep = ["customer_id", "segment_id", "membership_strength"]
    got_rows = {r["customer_id"]: r for r in got.select(keep).to_pylist()}
    expected_rows = {r["customer_id"]: r for r in expected.select(keep).to_pylist()}
    same = [c for c in expected_rows if got_rows[c]["segment_id"] == expected_rows[c]["segment_id"]]
    assert len(same) >= 0.95 * len(expected_rows), f"{len(same)} of {len(expected_rows)}"
    for customer in same:
        assert got_rows[customer]["membership_strength"] == pytest.approx(
            expected_rows[customer]["membership_strength"], abs=1e-4
        )


def test_segment_assignment_spark_branch_matches_duckdb(
    spark, duckdb_build, run_frame, spark_segment_models
):
    # with the segment model fitted on Spark (test_spark_fits.py: DuckDB's artifact)
    profiles = duckdb_table(duckdb_build, "intermediate.int_customer_purchase_profiles")
    got = _spark_segments(spark, profiles, spark_segment_models, run_frame)
    expected = duckdb_table(duckdb_build, "inference.int_customers_segmented")
    assert got.num_rows == expected.num_rows > 0
    assert len(set(expected.column("segment_id").to_pylist())) > 1
    _assert_segments_agree(got, expected)


def test_recommendation_scoring_spark_branch_matches_duckdb(
    spark, duckdb_build, run_frame, spark_recommender_models
):
    # with the recommender fitted on Spark (test_spark_fits.py: DuckDB's artifact)
    frame = spark_models.spark_recommendations_model(
        spark,
        scoring_inputs=to_spark(
            spark, duckdb_table(duckdb_build, "intermediate.int_customer_scoring_inputs")
        ),
        recommender_models=to_spark(spark, spark_recommender_models),
        runs=run_frame,
        this=None,
        # the project's candidates and weights, as the DuckDB build used them
        settings=SETTINGS,
    )
    drop = RUN_COLUMNS | CALL_COLUMNS
    expected = duckdb_table(duckdb_build, "inference.int_recommendations_scored")
    got = frame.toArrow()
    assert got.num_rows == expected.num_rows > 0
    assert_same_rows(
        rows_of(got, ("customer_id",), drop), rows_of(expected, ("customer_id",), drop)
    )
