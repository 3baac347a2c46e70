"""Shared helpers: run dbt against a throwaway DuckDB file and landing folder."""

from __future__ import annotations

import html
import json
import math
import os
import re
import subprocess
import sys
import textwrap
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


# an e-mail address as a reader would take it, written independently of the masking rule
EMAIL_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_JSON_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[\\/\"bfnrt])")
_SIMPLE_ESCAPES = {
    "\\": "\\",
    "/": "/",
    '"': '"',
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


def decode_escapes(text: str) -> str:
    """`text` with JSON string escapes (and HTML entities) decoded, repeatedly, so an address
    escaped once or twice (JSON inside JSON) reads as an address."""
    for _ in range(4):
        decoded = html.unescape(
            _JSON_ESCAPE.sub(
                lambda m: (
                    chr(int(m.group(1)[1:], 16))
                    if m.group(1)[0] == "u"
                    else _SIMPLE_ESCAPES[m.group(1)]
                ),
                text,
            )
        )
        if decoded == text:
            break
        text = decoded
    return text


def email_addresses_in(text: str) -> list[str]:
    """Every e-mail address in `text` after decoding escapes."""
    return EMAIL_ADDRESS.findall(decode_escapes(text))


def run_as_main_module(tmp_path: Path, body: str) -> tuple[str, list[str]]:
    """Run `body` as a program's main module, the way dbt's console script is the
    main module of a step. The program adds its `__name__` to a file each time
    the file runs (in the program, and in any child that runs it again);
    returns what the program printed and those names."""
    script, marker = tmp_path / "host.py", tmp_path / "runs.txt"
    script.write_text(
        "import sys\n"
        "with open(sys.argv[1], 'a') as marker:\n"
        "    marker.write(__name__ + '\\n')\n"
        "if __name__ == '__main__':\n" + textwrap.indent(textwrap.dedent(body), "    ")
    )
    done = subprocess.run(
        [sys.executable, str(script), str(marker)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip(), marker.read_text().splitlines()


@dataclass
class Warehouse:
    """A DuckDB file plus the landing folder and dbt target dir that build it."""

    db_path: Path
    landing_dir: Path
    target_dir: Path

    def dbt(
        self, *args: str, vars: dict | None = None, check: bool = True, env: dict | None = None
    ):
        """Run dbt from the project root against this warehouse (`env`: extra variables)."""
        env = {**os.environ, **(env or {})}
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


# columns that carry the run's time or id: they differ between two builds of the same data
RUN_COLUMNS = frozenset(
    {"run_id", "generated_at", "assigned_at", "model_fitted_at", "ingested_at", "refreshed_at"}
)


def assert_same_rows(actual: dict[str, list], expected: dict[str, list]) -> None:
    """Tables equal row for row; floats to 1e-5 (money, rounded to cents, to a
    cent). A record scored alone (after its batch failed) goes through a
    smaller matrix product than in a full batch, so its scores can differ in
    the last float bits: the scorer is not batch-invariant."""
    assert actual.keys() == expected.keys()
    for table in expected:
        assert len(actual[table]) == len(expected[table]), table
        for got, want in zip(actual[table], expected[table], strict=True):
            for a, b in zip(got, want, strict=True):
                if isinstance(b, float) and isinstance(a, float):
                    cents = round(a, 2) == a and round(b, 2) == b
                    tolerance = 0.0100001 if cents else 1e-5
                    assert math.isclose(a, b, rel_tol=0, abs_tol=tolerance), (table, got, want)
                else:
                    assert a == b, (table, got, want)


def assert_same_marts(actual: Warehouse, expected: Warehouse) -> None:
    """Every mart equal to the other warehouse's, run-specific columns aside."""
    assert_same_rows(mart_rows(actual, RUN_COLUMNS), mart_rows(expected, RUN_COLUMNS))


@pytest.fixture
def online_retail_parquet() -> Path:
    if not ONLINE_RETAIL_PARQUET.exists():
        pytest.skip(f"UCI Online Retail parquet not found at {ONLINE_RETAIL_PARQUET}")
    return ONLINE_RETAIL_PARQUET
