"""The Spark harness runs only where the [spark] extra is installed (`make test-spark`).

The default suite (`make test`, the lean .venv without pyspark) does not
collect these files at all; `make test-spark` runs them in .venv-spark.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from tests.conftest import PROJECT_ROOT, Warehouse, make_warehouse
from tests.spark.harness import (
    HOSTILE_LINES,
    PYTHON_MODELS,
    SETTINGS_VARS,
    FakeDbt,
    duckdb_table,
    landing_record,
    thin_model,
    to_spark,
)
from tests.spark.local_spark import local_session

from holdfast.datagen.synthetic import generate_landing

collect_ignore_glob = [] if importlib.util.find_spec("pyspark") else ["test_*.py"]


def _dbt(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    dbt_bin = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [
            str(dbt_bin),
            *args,
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args[:3])} failed:\n{result.stdout[-8000:]}")
    return result


@pytest.fixture(scope="session")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    generate_landing(root, customers=240, seed=11, products=160, batches=2, invalid_share=0.06)
    customers = root / "customers"
    (customers / "hostile_0001.jsonl").write_text("\n".join(HOSTILE_LINES), encoding="utf-8")
    (customers / "latin1_0001.jsonl").write_bytes(
        json.dumps(landing_record("eb0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "z@example.com")).encode()
        + b"\n"
        + '{"id": "caf\u00e9"}'.encode("latin-1")
        + b"\n"
    )
    (customers / "empty_0001.jsonl").write_bytes(b"")
    (customers / "bad_name!.jsonl").write_text("{}\n", encoding="utf-8")
    (customers / "notes_0001.txt").write_text("a note\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def duckdb_build(landing: Path, tmp_path_factory) -> Warehouse:
    warehouse = make_warehouse(tmp_path_factory.mktemp("duckdb"))
    shutil.rmtree(warehouse.landing_dir)
    shutil.copytree(landing, warehouse.landing_dir)
    warehouse.dbt("seed", "--target", "ci")
    warehouse.dbt("run", "--target", "ci")
    return warehouse


@pytest.fixture(scope="session")
def spark_dir(landing: Path, duckdb_build: Warehouse, tmp_path_factory) -> Path:
    """The Spark build of the portable models: warehouse and metastore live here.

    The Python models' tables come from the DuckDB build (dbt-spark cannot run
    Python models on open-source Spark; their Spark branches are compared on
    their own below), so every SQL model reads the same Python rows on both
    engines.
    """
    root = tmp_path_factory.mktemp("spark")
    parquet_dir = root / "python_models"
    parquet_dir.mkdir()
    con = duckdb.connect(str(duckdb_build.db_path), read_only=True)
    try:
        for model in PYTHON_MODELS:
            target = parquet_dir / f"inference.{model}.parquet"
            con.execute(f"copy inference.{model} to '{target}' (format parquet)").fetchall()
    finally:
        con.close()
    env = dict(os.environ, HOLDFAST_SPARK_DIR=str(root), DO_NOT_TRACK="1")
    seeded = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("local_spark.py")),
            str(root),
            str(parquet_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr[-4000:]
    assert seeded.stdout.split() == [f"inference.{m}" for m in sorted(PYTHON_MODELS)]
    _dbt(
        [
            "build",
            "--target",
            "spark_local",
            "--selector",
            "spark_portable",
            "--exclude-resource-type",
            "unit_test",
            "--vars",
            json.dumps({"landing_dir": str(landing)}),
            "--target-path",
            str(root / "target"),
            "--log-path",
            str(root / "logs"),
        ],
        env,
        cwd=root,
    )
    return root


@pytest.fixture(scope="session")
def spark(spark_dir: Path):
    """A local SparkSession on the metastore the dbt build wrote (dbt has exited)."""
    session = local_session(spark_dir)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def run_frame(spark):
    return spark.table("ops.ops_runs")


@pytest.fixture(scope="session")
def spark_segment_models(spark, run_frame) -> pa.Table:
    """int_segment_models on Spark, through its thin model file (a first build):
    sampled from the Spark-built purchase profiles, named from the Spark-built
    catalog, fitted on the driver."""
    dbt = FakeDbt(
        {
            "int_customer_purchase_profiles": spark.table(
                "intermediate.int_customer_purchase_profiles"
            ),
            "int_products_current": spark.table("intermediate.int_products_current"),
            "ops_runs": run_frame,
        },
        SETTINGS_VARS,
    )
    return thin_model("int_segment_models").model(dbt, spark).toArrow()


@pytest.fixture(scope="session")
def spark_recommender_models(
    spark, duckdb_build: Warehouse, run_frame, spark_segment_models: pa.Table
) -> pa.Table:
    """int_recommender_models on Spark, through its thin model file (a first
    build): the Spark-built statistics and profiles, the Spark-fitted segment
    model, and the DuckDB build's embeddings and segment assignments (the
    Spark branches of those agree within 1e-5 and for 95% of the customers
    only, and an exact artifact needs exactly the same inputs)."""
    dbt = FakeDbt(
        {
            "int_products_embedded": to_spark(
                spark, duckdb_table(duckdb_build, "inference.int_products_embedded")
            ),
            "int_product_statistics": spark.table("intermediate.int_product_statistics"),
            "int_customer_purchase_profiles": spark.table(
                "intermediate.int_customer_purchase_profiles"
            ),
            "int_customers_segmented": to_spark(
                spark, duckdb_table(duckdb_build, "inference.int_customers_segmented")
            ),
            "int_segment_models": to_spark(spark, spark_segment_models),
            "ops_runs": run_frame,
        },
        SETTINGS_VARS,
    )
    return thin_model("int_recommender_models").model(dbt, spark).toArrow()
