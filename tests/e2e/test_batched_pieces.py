"""End to end: models that run in pieces (materialization batched_incremental).

With bounds small enough to cut every run into several pieces (a landing file
per read, a batch per validation group, a few customers per profile bucket),
the models hold the rows of a build in one piece, on a first build and on an
incremental run; target/run/ shows one statement per piece, each with its own
piece text where the model's SQL has batch_piece.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from tests.conftest import RUN_COLUMNS, Warehouse, make_warehouse

from holdfast.datagen.synthetic import generate_landing

pytestmark = pytest.mark.e2e

TINY_BOUNDS = {
    "landing_read_group_bytes": 1,
    "validation_group_bytes": 1,
    "profile_bucket_customers": 40,
}
BATCHED = {
    "staging.stg_landing__customer_lines": "staging/stg_landing__customer_lines.sql",
    "staging.stg_landing__product_lines": "staging/stg_landing__product_lines.sql",
    "intermediate.int_customer_records_validated": (
        "intermediate/int_customer_records_validated.sql"
    ),
    "intermediate.int_customer_purchase_profiles": (
        "intermediate/int_customer_purchase_profiles.sql"
    ),
}
SELECT = ("--select", "+int_customer_purchase_profiles")


def _rows(warehouse: Warehouse, table: str) -> list[tuple]:
    schema, name = table.split(".")
    columns = [
        c
        for (c,) in warehouse.query(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        )
        if c not in RUN_COLUMNS | {"ingest_run_id", "file_modified_at"}
    ]
    return warehouse.query(f"select {', '.join(columns)} from {table} order by all")


def _pieces(warehouse: Warehouse, table: str) -> list[str]:
    """The statements of the pieces the last run of a model made, from target/run/."""
    written = (warehouse.target_dir / "run" / "holdfast" / "models" / BATCHED[table]).read_text()
    headers = re.findall(r"^-- piece (\d+) of (\d+)$", written, flags=re.MULTILINE)
    n = len(headers)
    assert headers == [(str(i), str(n)) for i in range(1, n + 1)], headers
    return re.split(r"^-- piece \d+ of \d+$", written, flags=re.MULTILINE)[1:]


def _deliver(source: Path, warehouse: Warehouse, batches: list[str]) -> None:
    for batch in batches:
        shutil.copy(source / "customers" / f"{batch}.jsonl", warehouse.landing_dir / "customers")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("pieces_source")
    summary = generate_landing(root, customers=300, products=60, batches=5, seed=5)
    # two product files, so the product lines are read in two pieces too
    shutil.copy(
        root / "products" / f"{summary.product_snapshot}.jsonl",
        root / "products" / "catalog_0002.jsonl",
    )
    return root, summary.customer_batches


def _warehouse(root: Path, source: Path, batches: list[str]) -> Warehouse:
    warehouse = make_warehouse(root)
    shutil.copytree(source / "products", warehouse.landing_dir / "products", dirs_exist_ok=True)
    _deliver(source, warehouse, batches)
    return warehouse


def test_pieces_hold_the_rows_of_one_piece_and_each_ran_its_own_statement(source, tmp_path):
    landing, batches = source
    whole = _warehouse(tmp_path / "whole", landing, batches[:3])
    pieces = _warehouse(tmp_path / "pieces", landing, batches[:3])

    whole.dbt("run", *SELECT)
    for table in BATCHED:
        assert len(_pieces(whole, table)) <= 1, table
    out = pieces.dbt("run", *SELECT, vars=TINY_BOUNDS)
    n_buckets = int(
        re.search(r"int_customer_purchase_profiles: (\d+) buckets for \d+ customers", out.stdout)[1]
    )
    assert n_buckets > 1
    expected_pieces = {
        "staging.stg_landing__customer_lines": 3,  # one per file
        "staging.stg_landing__product_lines": 2,
        "intermediate.int_customer_records_validated": 3,  # one per batch
        "intermediate.int_customer_purchase_profiles": n_buckets,
    }
    for table, n in expected_pieces.items():
        assert len(_pieces(pieces, table)) == n, table
        assert _rows(pieces, table) == _rows(whole, table), table

    # each piece read its own part
    validated = _pieces(pieces, "intermediate.int_customer_records_validated")
    for batch, statement in zip(batches[:3], validated, strict=True):
        assert f"batch_id in ('{batch}')" in statement
        assert "batch piece" not in statement
    profiles = _pieces(pieces, "intermediate.int_customer_purchase_profiles")
    for bucket, statement in enumerate(profiles):
        assert f"hash(customer_id) % {n_buckets} = {bucket}" in statement
    assert "__dbt_pieces" in profiles[0]  # several buckets: gathered in the model's schema
    lines = _pieces(pieces, "staging.stg_landing__customer_lines")
    for batch, statement in zip(batches[:3], lines, strict=True):
        assert f"{batch}.jsonl" in statement
        assert not any(f"{other}.jsonl" in statement for other in batches if other != batch)
    assert not pieces.query(
        "select table_name from information_schema.tables where table_name like '%__dbt_pieces'"
    )

    # an incremental run: two new batches, each read and validated in its own piece
    _deliver(landing, whole, batches[3:])
    _deliver(landing, pieces, batches[3:])
    whole.dbt("run", *SELECT)
    pieces.dbt("run", *SELECT, vars=TINY_BOUNDS)
    assert len(_pieces(pieces, "staging.stg_landing__customer_lines")) == 2
    assert len(_pieces(pieces, "intermediate.int_customer_records_validated")) == 2
    for table in BATCHED:
        assert _rows(pieces, table) == _rows(whole, table), table
