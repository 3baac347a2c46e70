"""End to end: the marts' descriptions reach the analysts' snapshot as comments.

persist_docs makes dbt write each mart's description and its columns'
descriptions as DuckDB comments; publish_snapshot copies them with the rows.
The expected text is read here from `models/marts/_marts__models.yml` and
`_marts__docs.md` directly (doc blocks resolved by hand), not from dbt's
manifest, so a description that dbt renders differently, or a comment lost on
the way to the snapshot, fails the test.
"""

from __future__ import annotations

import re

import duckdb
import pytest
import yaml
from tests.conftest import MART_TABLES, PROJECT_ROOT, make_warehouse

from holdfast.datagen.synthetic import generate_landing
from holdfast.ops.publish import publish_snapshot

pytestmark = pytest.mark.e2e

MARTS = PROJECT_ROOT / "models" / "marts"
DOC_BLOCK = re.compile(r"{%\s*docs\s+(\w+)\s*%}(.*?){%\s*enddocs\s*%}", re.DOTALL)
DOC_CALL = re.compile(r"""{{\s*doc\(\s*['"](\w+)['"]\s*\)\s*}}""")


def documented_marts() -> dict[str, tuple[str, dict[str, str]]]:
    """Each mart's description and column descriptions, doc blocks resolved."""
    blocks = {
        name: text.strip()
        for name, text in DOC_BLOCK.findall((MARTS / "_marts__docs.md").read_text())
    }

    def resolve(text: str) -> str:
        return DOC_CALL.sub(lambda m: blocks[m.group(1)], text)

    spec = yaml.safe_load((MARTS / "_marts__models.yml").read_text())
    return {
        model["name"]: (
            resolve(model["description"]),
            {c["name"]: resolve(c["description"]) for c in model["columns"]},
        )
        for model in spec["models"]
    }


def test_every_mart_column_of_the_snapshot_carries_its_description(tmp_path):
    warehouse = make_warehouse(tmp_path)
    generate_landing(
        warehouse.landing_dir, customers=60, seed=5, products=40, batches=1, invalid_share=0.0
    )
    warehouse.dbt("seed")
    warehouse.dbt("run")
    published = tmp_path / "published.duckdb"
    publish_snapshot(warehouse.db_path, published)

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
