"""End to end on the real UCI Online Retail data: import, then `dbt build`.

Skipped with a message when the parquet is absent (it is never copied into
the project). Checks that real, dirty data goes through every layer with
every line accounted for and the business rules holding.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tests.conftest import ONLINE_RETAIL_PARQUET, Warehouse, make_warehouse

from holdfast.datagen.online_retail import ImportSummary, import_online_retail

pytestmark = [pytest.mark.e2e, pytest.mark.real_data]


@pytest.fixture(scope="module")
def retail(tmp_path_factory) -> tuple[Warehouse, ImportSummary]:
    if not ONLINE_RETAIL_PARQUET.exists():
        pytest.skip(f"UCI Online Retail parquet not found at {ONLINE_RETAIL_PARQUET}")
    warehouse = make_warehouse(tmp_path_factory.mktemp("retail"))
    summary = import_online_retail(ONLINE_RETAIL_PARQUET, warehouse.landing_dir)
    warehouse.dbt("build")
    return warehouse, summary


def test_real_data_lines_all_land_as_valid_rows(retail):
    warehouse, summary = retail
    ledger = warehouse.query(
        "select source, sum(rows_in), sum(rows_invalid) from ops.ops_batch_ledger group by 1"
    )
    totals = {source: (rows_in, invalid) for source, rows_in, invalid in ledger}
    assert totals["products"] == (summary.products, 0)
    assert totals["customers"][1] == 0
    assert warehouse.scalar("select count(*) from marts.dim_customers") == summary.customers
    assert warehouse.scalar("select count(*) from marts.dim_products") == summary.products
    # every used invoice line is a purchase, minus exact duplicates the contract removes
    purchases = warehouse.scalar("select count(*) from marts.fct_purchases")
    assert 0.95 * summary.lines_used <= purchases <= summary.lines_used


def test_real_data_recommendations_obey_the_rules(retail):
    warehouse, summary = retail
    # every customer is recommended, or every candidate of theirs is rejected
    # by a rule (a few can be: docs/quality.md)
    recommended = warehouse.scalar(
        "select count(distinct customer_id) from marts.fct_recommendations"
    )
    only_rejected = warehouse.scalar(
        "select count(distinct customer_id) from marts.fct_rejected_recommendations "
        "where customer_id not in (select customer_id from marts.fct_recommendations)"
    )
    assert recommended + only_rejected == summary.customers
    assert recommended >= 0.99 * summary.customers
    assert (
        warehouse.query(
            """
        select r.customer_id, r.product_id
        from marts.fct_recommendations r
        join marts.dim_products p using (product_id)
        left join marts.fct_purchases b using (customer_id, product_id)
        where not p.is_in_stock or b.purchase_id is not null
           or r.predicted_value not between 0 and 10000 or r.confidence < 0.4
        """
        )
        == []
    )
    embedded = warehouse.scalar("select count(*) from marts.dim_products where has_embedding")
    assert embedded == summary.products


def test_real_data_import_is_deterministic_by_content(retail, tmp_path: Path):
    warehouse, _ = retail
    again = tmp_path / "landing"
    import_online_retail(ONLINE_RETAIL_PARQUET, again)
    checksums = dict(warehouse.query("select file_name, file_checksum from ops.ops_batch_ledger"))
    for path in sorted(again.glob("*/*.jsonl")):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == checksums[path.name]
