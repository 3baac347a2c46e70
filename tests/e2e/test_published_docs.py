"""End to end: the marts' descriptions reach the analysts' snapshot as comments,
and their tables refuse the nulls their contracts rule out.

persist_docs makes dbt write each mart's description and its columns'
descriptions as DuckDB comments; publish_snapshot copies them with the rows.
The expected text is read here from `models/marts/_marts__models.yml` and
`_marts__docs.md` directly (doc blocks resolved by hand), not from dbt's
manifest, so a description that dbt renders differently, or a comment lost on
the way to the snapshot, fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import yaml
from tests.conftest import MART_TABLES, PROJECT_ROOT, Warehouse, make_warehouse

from holdfast.datagen.synthetic import generate_landing
from holdfast.ops.publish import publish_snapshot

pytestmark = pytest.mark.e2e

MARTS = PROJECT_ROOT / "models" / "marts"
DOC_BLOCK = re.compile(r"{%\s*docs\s+(\w+)\s*%}(.*?){%\s*enddocs\s*%}", re.DOTALL)
DOC_CALL = re.compile(r"""{{\s*doc\(\s*['"](\w+)['"]\s*\)\s*}}""")


def marts_spec() -> list[dict]:
    """The models of `_marts__models.yml`, as written."""
    return yaml.safe_load((MARTS / "_marts__models.yml").read_text())["models"]


def documented_marts() -> dict[str, tuple[str, dict[str, str]]]:
    """Each mart's description and column descriptions, doc blocks resolved."""
    blocks = {
        name: text.strip()
        for name, text in DOC_BLOCK.findall((MARTS / "_marts__docs.md").read_text())
    }

    def resolve(text: str) -> str:
        return DOC_CALL.sub(lambda m: blocks[m.group(1)], text)

    return {
        model["name"]: (
            resolve(model["description"]),
            {c["name"]: resolve(c["description"]) for c in model["columns"]},
        )
        for model in marts_spec()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Warehouse, Path]:
    """A warehouse built on a small landing zone, and its published snapshot."""
    root = tmp_path_factory.mktemp("marts")
    warehouse = make_warehouse(root)
    generate_landing(
        warehouse.landing_dir, customers=60, seed=5, products=40, batches=1, invalid_share=0.0
    )
    warehouse.dbt("seed")
    warehouse.dbt("run")
    published = root / "published.duckdb"
    publish_snapshot(warehouse.db_path, published)
    return warehouse, published


def test_every_mart_column_of_the_snapshot_carries_its_description(built):
    _, published = built
    con = duckdb.connect(str(published), read_only=True)
    try:
        relations = dict(
            con.execute(
                "select table_name, comment from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        )
        columns: dict[str, dict[str, str | None]] = {}
        for table, column, comment in con.execute(
            "select table_name, column_name, comment from duckdb_columns() "
            "where schema_name = 'marts' order by table_name, column_index"
        ).fetchall():
            columns.setdefault(table, {})[column] = comment
    finally:
        con.close()

    documented = documented_marts()
    assert set(documented) == set(MART_TABLES)
    for mart, (description, column_descriptions) in documented.items():
        assert relations[mart] == description, mart
        # every column of the snapshot documented, in the model's order
        assert columns[mart] == column_descriptions, mart
        assert list(columns[mart]) == list(column_descriptions), mart


def not_null_constraints() -> dict[str, set[str]]:
    """Each mart's columns with a not_null constraint, read from the YAML."""
    return {
        model["name"]: {
            column["name"]
            for column in model["columns"]
            if {"type": "not_null"} in column.get("constraints", [])
        }
        for model in marts_spec()
    }


def not_null_tests_switched() -> list[tuple[str, str, object]]:
    """(mart, column, `enabled`) of every not_null test whose config sets `enabled`."""
    switched = []
    for model in marts_spec():
        for column in model["columns"]:
            for test in column.get("data_tests", []):
                if isinstance(test, dict) and "not_null" in test:
                    config = (test["not_null"] or {}).get("config") or {}
                    if "enabled" in config:
                        switched.append((model["name"], column["name"], config["enabled"]))
    return switched


def test_a_not_null_test_is_left_out_on_duckdb_only_where_a_table_constraint_holds():
    constrained = not_null_constraints()
    switched = not_null_tests_switched()
    assert switched, "no not_null test is left to the constraints"
    for mart, column, enabled in switched:
        assert enabled == "{{ target.type != 'duckdb' }}", (mart, enabled)
        assert column in constrained[mart], (mart, column)
        assert "materialized='view'" not in (MARTS / f"{mart}.sql").read_text(), mart


def test_the_mart_tables_refuse_a_null_where_the_contract_says_not_null(built):
    warehouse, _ = built
    con = duckdb.connect(str(warehouse.db_path))
    try:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        }
        nullable = {
            (table, column): is_nullable
            for table, column, is_nullable in con.execute(
                "select table_name, column_name, is_nullable from duckdb_columns() "
                "where schema_name = 'marts'"
            ).fetchall()
        }
        constrained = not_null_constraints()
        # the marts that are tables (the schema also holds the rules seed)
        assert {mart for mart, columns in constrained.items() if columns} == tables & set(
            MART_TABLES
        )
        for mart, columns in constrained.items():
            for column in columns:
                assert nullable[(mart, column)] is False, (mart, column)
        # a write that breaks the promise is refused, and changes nothing
        statuses = con.execute("select count(recommendation_status) from marts.dim_customers")
        before = statuses.fetchall()
        with pytest.raises(duckdb.ConstraintException):
            con.execute("update marts.dim_customers set recommendation_status = null")
        after = con.execute("select count(recommendation_status) from marts.dim_customers")
        assert after.fetchall() == before != [(0,)]
    finally:
        con.close()
