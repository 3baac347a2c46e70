"""Shared helpers: run dbt against a throwaway DuckDB file and landing folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ONLINE_RETAIL_PARQUET = Path(
    os.environ.get(
        "HOLDFAST_ONLINE_RETAIL_PARQUET",
        PROJECT_ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.parquet",
    )
)


@dataclass
class Warehouse:
    """A DuckDB file plus the landing folder and dbt target dir that build it."""

    db_path: Path
    landing_dir: Path
    target_dir: Path

    def dbt(self, *args: str, vars: dict | None = None, check: bool = True):
        """Run dbt from the project root against this warehouse."""
        env = dict(os.environ)
        env.update(
            HOLDFAST_DUCKDB_PATH=str(self.db_path),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            DO_NOT_TRACK="1",
        )
        all_vars = {"landing_dir": str(self.landing_dir), **(vars or {})}
        dbt_bin = Path(sys.executable).parent / "dbt"
        command = [
            str(dbt_bin if dbt_bin.exists() else "dbt"),
            *args,
            "--target-path",
            str(self.target_dir),
            "--vars",
            json.dumps(all_vars),
        ]
        result = subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"dbt {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-6000:]}"
            )
        return result

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        """Rows of a query on the warehouse, opened read-only."""
        con = duckdb.connect(str(self.db_path), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]


def make_warehouse(root: Path, name: str = "warehouse") -> Warehouse:
    """A fresh warehouse under `root` (nothing built yet)."""
    root.mkdir(parents=True, exist_ok=True)
    landing = root / "landing"
    (landing / "customers").mkdir(parents=True, exist_ok=True)
    (landing / "products").mkdir(parents=True, exist_ok=True)
    return Warehouse(
        db_path=root / f"{name}.duckdb", landing_dir=landing, target_dir=root / "target"
    )


MART_TABLES = (
    "dim_customers",
    "dim_products",
    "fct_purchases",
    "dim_segments",
    "fct_customer_segments",
    "fct_recommendations",
    "fct_rejected_recommendations",
)


def mart_rows(warehouse: Warehouse, exclude: frozenset[str] = frozenset()) -> dict[str, list]:
    """Every mart's rows (all columns but `exclude`), sorted, for exact comparison."""
    snapshot = {}
    for table in MART_TABLES:
        columns = [
            c
            for (c,) in warehouse.query(
                "select column_name from information_schema.columns "
                "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [table],
            )
            if c not in exclude
        ]
        listed = ", ".join(columns)
        snapshot[table] = warehouse.query(f"select {listed} from marts.{table} order by all")
    return snapshot


@pytest.fixture
def online_retail_parquet() -> Path:
    if not ONLINE_RETAIL_PARQUET.exists():
        pytest.skip(f"UCI Online Retail parquet not found at {ONLINE_RETAIL_PARQUET}")
    return ONLINE_RETAIL_PARQUET
