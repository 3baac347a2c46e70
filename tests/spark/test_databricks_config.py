"""Every model incremental on DuckDB is incremental on Databricks, with the same key.

The project is parsed three times, each with the adapter that runs it: for
DuckDB (`ci`, dbt-duckdb), for open-source Spark (`spark_local`, dbt-spark)
and for Databricks (`databricks`, dbt-databricks from its own venv, as
`make test-spark` parses it; parsing connects to nothing). The DuckDB
manifest alone says what each model must be on Databricks:
- the incremental models (materialized incremental or batched_incremental)
  and their unique keys;
- whether a key identifies one row: a generic `unique` data test on that
  column of the model. Such a model must merge on Databricks; a model whose
  key groups several rows (a batch's lines, a customer's purchases) must
  replace the key's rows, dbt-databricks' delete+insert, as DuckDB does.
Then the Databricks manifest must agree (materialized incremental, that
strategy, the same unique key, file_format delta), and on spark_local, whose
Parquet tables cannot delete rows, the models incremental by key are tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.spark

DATABRICKS_DBT = PROJECT_ROOT / ".venv-databricks" / "bin" / "dbt"
# dbt-databricks' strategy when a model names none (its get_incremental_strategy)
DATABRICKS_DEFAULT_STRATEGY = "merge"
# dbt-duckdb's strategy when a model names none (duckdb__get_incremental_default_sql)
DUCKDB_DEFAULT_STRATEGY = "delete+insert"
INCREMENTAL = {"incremental", "batched_incremental"}


def _parse(dbt: Path, target: str, scratch: Path, **env: str) -> dict:
    result = subprocess.run(
        [
            str(dbt),
            "parse",
            "--target",
            target,
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(scratch / "target"),
            "--log-path",
            str(scratch / "logs"),
            "--quiet",
        ],
        cwd=scratch,
        env={
            **os.environ,
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PYTHONPATH": str(PROJECT_ROOT / "src"),
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"dbt parse --target {target} failed:\n{result.stdout[-4000:]}"
    return json.loads((scratch / "target" / "manifest.json").read_text(encoding="utf-8"))


def _models(manifest: dict) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "holdfast"
    }


def _unique_columns(manifest: dict) -> set[tuple[str, str]]:
    """(model name, column) of every generic `unique` test, read off the test nodes."""
    models_by_id = {
        unique_id: node["name"]
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }
    found = set()
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata") or {}
        if metadata.get("name") == "unique" and node.get("attached_node") in models_by_id:
            found.add((models_by_id[node["attached_node"]], metadata["kwargs"]["column_name"]))
    return found


@pytest.fixture(scope="module")
def manifests(tmp_path_factory) -> dict[str, dict]:
    assert DATABRICKS_DBT.exists(), "dbt-databricks venv missing: `make test-spark` creates it"
    dbt = Path(sys.executable).parent / "dbt"
    root = tmp_path_factory.mktemp("parse")
    out = {}
    for target, dbt_bin, env in (
        ("ci", dbt, {"HOLDFAST_DUCKDB_PATH": str(root / "ci.duckdb")}),
        ("spark_local", dbt, {"HOLDFAST_SPARK_DIR": str(root / "spark")}),
        (
            "databricks",
            DATABRICKS_DBT,
            {
                "DATABRICKS_TOKEN": "parse-only",
                "HOLDFAST_WHEEL_PATH": "/Volumes/main/holdfast/libs/holdfast.whl",
            },
        ),
    ):
        scratch = root / target
        scratch.mkdir()
        out[target] = _parse(dbt_bin, target, scratch, **env)
    return out


@pytest.fixture(scope="module")
def expected(manifests) -> dict[str, dict]:
    """From the DuckDB manifest: each incremental model's key, and the Delta strategy it needs."""
    duckdb = manifests["ci"]
    unique = _unique_columns(duckdb)
    out = {}
    for name, node in _models(duckdb).items():
        config = node["config"]
        if config["materialized"] not in INCREMENTAL:
            continue
        key = config["unique_key"]
        assert isinstance(key, str), f"{name}: one unique key column expected, got {key!r}"
        out[name] = {
            "unique_key": key,
            "language": node["language"],
            "duckdb_strategy": config.get("incremental_strategy") or DUCKDB_DEFAULT_STRATEGY,
            "strategy": "merge" if (name, key) in unique else "delete+insert",
        }
    return out


def test_duckdb_side_is_delete_insert_by_key(expected):
    # the reference: DuckDB's incremental models, all delete+insert on a key
    assert len(expected) >= 20, sorted(expected)
    for name, model in expected.items():
        assert model["duckdb_strategy"] == "delete+insert", name
    # both kinds of key are present, so both strategies are checked below
    assert {model["strategy"] for model in expected.values()} == {"merge", "delete+insert"}
    # keys that group rows: a batch's lines, a customer's purchases and candidates
    grouping = {name for name, model in expected.items() if model["strategy"] == "delete+insert"}
    assert {"stg_landing__customer_lines", "int_customer_records_validated"} <= grouping
    assert {"int_purchases_deduplicated", "int_recommendation_candidates_checked"} <= grouping


def test_databricks_incremental_with_same_key_and_strategy(manifests, expected):
    databricks = _models(manifests["databricks"])
    assert set(databricks) == set(_models(manifests["ci"])), "the same models on both targets"
    wrong = {}
    for name, model in expected.items():
        config = databricks[name]["config"]
        got = (
            config["materialized"],
            config["unique_key"],
            config.get("file_format"),
            config.get("incremental_strategy") or DATABRICKS_DEFAULT_STRATEGY,
        )
        strategies = {model["strategy"]}
        if model["language"] == "python" and model["strategy"] == "merge":
            # the Python models name delete+insert on every target (their
            # config is theirs); on a key of one row it writes merge's rows
            strategies.add("delete+insert")
        if got[:3] != ("incremental", model["unique_key"], "delta") or got[3] not in strategies:
            wrong[name] = (got, ("incremental", model["unique_key"], "delta", sorted(strategies)))
    lines = [f"  {name}: {pair}" for name, pair in sorted(wrong.items())]
    header = "databricks (materialized, unique_key, file_format, strategy): got, want"
    assert not wrong, "\n".join([header, *lines])


def test_databricks_strategies_are_valid_for_delta(manifests, expected):
    # what dbt-databricks' dbt_databricks_validate_get_incremental_strategy
    # accepts on Delta: delete+insert needs a unique_key, merge needs Delta
    databricks = _models(manifests["databricks"])
    for name in expected:
        config = databricks[name]["config"]
        strategy = config.get("incremental_strategy") or DATABRICKS_DEFAULT_STRATEGY
        assert strategy in {"merge", "delete+insert"}, (name, strategy)
        assert config["unique_key"], name


def test_spark_local_rebuilds_what_needs_deletes(manifests, expected):
    spark = _models(manifests["spark_local"])
    for name, model in expected.items():
        config = spark[name]["config"]
        assert config.get("file_format") == "parquet", (name, config.get("file_format"))
        if model["language"] == "python":
            # not run by dbt-spark (the harness runs their Spark branch)
            continue
        if config["materialized"] == "incremental":
            # incremental on Parquet only by appending (dbt-spark's default),
            # right for a model whose every run writes a new key (ops_runs)
            assert config.get("incremental_strategy") is None, name
            assert model["strategy"] == "merge", name
        else:
            assert config["materialized"] == "table", (name, config["materialized"])
    # the models incremental by key on DuckDB are tables here
    tables = {name for name in expected if spark[name]["config"]["materialized"] == "table"}
    assert {"stg_landing__customer_lines", "int_customers_current", "ops_batch_ledger"} <= tables
