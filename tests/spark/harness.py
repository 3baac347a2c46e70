"""What the Spark harness's modules share: the settings of the Python models'
Spark branches, the hostile landing lines, and how rows are compared.

The fixtures (the landing folder, the DuckDB and Spark builds, the local
SparkSession, the Spark-fitted models) are in conftest.py.
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import yaml
from tests.conftest import PROJECT_ROOT, Warehouse

from holdfast.infrastructure import spark_io
from holdfast.settings import PipelineSettings

VALID_ID = "5b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a"
# columns that say when or in which invocation a row was written
RUN_COLUMNS = {
    "ingested_at",
    "ingest_run_id",
    "refreshed_at",
    "run_id",
    "processed_at",
    "computed_at",
    "checked_at",
    "measured_at",
}
# how a step cut its work into calls: engine-specific, not part of the answer
CALL_COLUMNS = {"inference_batch_number", "batch_latency_ms", "batch_attempts"}
PYTHON_MODELS = sorted(p.stem for p in (PROJECT_ROOT / "python_models").rglob("int_*.py"))
PROJECT_VARS = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
# the project's settings, with small batches and short retries
SETTINGS_VARS = {
    **PROJECT_VARS,
    "inference_batch_size": 64,
    "inference_max_retries": 1,
    "inference_initial_backoff_seconds": 0.01,
    "dead_letter_max_attempts": 5,
}
SETTINGS = PipelineSettings.from_mapping(SETTINGS_VARS)


def landing_record(
    customer_id: str, email: str, amount: object = 12.5, date: str = "2025-03-01T10:00:00Z"
):
    return {
        "id": customer_id,
        "email": email,
        "purchaseHistory": [{"productId": "P000001", "amount": amount, "date": date}],
        "createdAt": "2025-01-01T00:00:00Z",
    }


HOSTILE_LINES = [
    "\ufeff" + json.dumps(landing_record(VALID_ID, "first@example.com")) + "\r",
    "not json at all",
    "",
    "   \t ",
    '{"id": "x"}',
    "[1, 2]",
    "null",
    json.dumps(
        landing_record("6b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "a..b@example.com", amount=0)
    ),
    json.dumps(landing_record("7b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "ok@example.com", amount=-3)),
    json.dumps(
        landing_record("8b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "ok@example.com", amount="12")
    ),
    json.dumps(
        landing_record(
            "9b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "ok@example.com", date="2025-02-30T10:00:00Z"
        )
    ),
    json.dumps(
        landing_record(
            "ab0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "ok@example.com", date="2025-03-01T10:00:00"
        )
    ),
    json.dumps(
        {
            **landing_record("bb0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "ok@example.com"),
            "purchaseHistory": ["P1", {"productId": 5}],
        }
    ),
    json.dumps(
        {
            **landing_record("cb0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "ok@example.com"),
            "createdAt": 20250101,
        }
    ),
    json.dumps(
        landing_record(
            "db0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a",
            "ok@example.com",
            amount=0.5,
            date="2025-03-01T10:00:00.123+05:30",
        )
    ),
    '{"id": "truncated',
]


def duckdb_table(warehouse: Warehouse, table: str) -> pa.Table:
    con = duckdb.connect(str(warehouse.db_path), read_only=True)
    try:
        return con.sql(f"select * from {table}").to_arrow_table()
    finally:
        con.close()


def to_spark(spark, table: pa.Table):
    """A DuckDB table as a Spark DataFrame (fixed-size vectors become arrays)."""
    return spark.createDataFrame(table.cast(spark_io.spark_compatible(table.schema)))


def rows_of(table: pa.Table, key: tuple[str, ...], drop: set[str]) -> list[dict]:
    rows = [{k: v for k, v in row.items() if k not in drop} for row in table.to_pylist()]
    return sorted(rows, key=lambda row: tuple((row[k] is None, row[k]) for k in key))


def assert_same_rows(spark_rows: list[dict], duckdb_rows: list[dict], vector_columns=()):
    assert len(spark_rows) == len(duckdb_rows)
    assert spark_rows and set(spark_rows[0]) == set(duckdb_rows[0])
    for got, expected in zip(spark_rows, duckdb_rows, strict=True):
        for column in vector_columns:
            a, b = got.pop(column), expected.pop(column)
            assert (a is None) == (b is None), column
            if a is not None:
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5, rtol=0)
        assert got == expected


class FakeDbt:
    """What a thin model file in python_models/ reads from dbt: its refs, the
    `settings` of its config, and whether it runs incrementally (a first
    build: it does not)."""

    def __init__(self, refs: dict[str, Any], settings: dict[str, Any]) -> None:
        self.refs = refs
        self.config = _FakeConfig(settings)
        self.is_incremental = False
        self.this = None

    def ref(self, name: str) -> Any:
        return self.refs[name]


class _FakeConfig:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    def __call__(self, **config: Any) -> None:
        pass

    def get(self, key: str) -> Any:
        return self.settings if key == "settings" else None


def thin_model(name: str) -> ModuleType:
    """The dbt model file python_models/inference/<name>.py, imported as a module."""
    path = PROJECT_ROOT / "python_models" / "inference" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"thin_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
