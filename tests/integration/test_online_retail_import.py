"""Importing the real UCI Online Retail data set into the landing contract."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from tests.conftest import ONLINE_RETAIL_PARQUET

from holdfast.datagen.online_retail import (
    EXCLUSION_REASONS,
    NAMESPACE,
    ImportSummary,
    category_for,
    customer_email,
    customer_uuid,
    import_online_retail,
)

PARQUET = ONLINE_RETAIL_PARQUET

pytestmark = pytest.mark.real_data

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EMAIL = re.compile(r"customer-\d+@online-retail\.example")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
BATCH = re.compile(r"online_retail_\d{4}-\d{2}")

# Used lines, written here independently of the importer's SQL.
USED_LINES = """
    SELECT * FROM read_parquet(?)
    WHERE invoice_no NOT LIKE 'C%'
      AND customer_id IS NOT NULL
      AND upper(trim(stock_code)) NOT IN
          ('POST', 'DOT', 'M', 'BANK CHARGES', 'C2', 'CRUK', 'D', 'PADS', 'AMAZONFEE', 'S', 'B')
      AND NOT starts_with(upper(trim(stock_code)), 'GIFT_')
      AND NOT starts_with(upper(trim(stock_code)), 'DCGS')
      AND quantity > 0 AND unit_price > 0 AND round(quantity * unit_price, 2) > 0
      AND trim(coalesce(description, '')) <> ''
"""


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportSummary]:
    if not PARQUET.is_file():
        pytest.skip(f"UCI Online Retail parquet not found at {PARQUET}")
    out = tmp_path_factory.mktemp("online_retail")
    return out, import_online_retail(PARQUET, out)


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.endswith(b"\n") and b"\r" not in data
    return data.decode("utf-8").split("\n")[:-1]


def customer_records(out: Path) -> list[tuple[str, dict]]:
    return [
        (path.stem, json.loads(line))
        for path in sorted((out / "customers").glob("*.jsonl"))
        for line in read_lines(path)
    ]


def product_records(out: Path) -> list[dict]:
    return [
        json.loads(line) for line in read_lines(out / "products" / "online_retail_catalog.jsonl")
    ]


def all_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_every_line_is_used_or_excluded_once(imported) -> None:
    _, summary = imported
    assert summary.lines_read == 541_909
    assert list(summary.excluded) == list(EXCLUSION_REASONS)
    assert summary.lines_read == summary.lines_used + sum(summary.excluded.values())
    assert summary.excluded["cancellation"] == 9_288
    assert summary.excluded["missing_customer_id"] > 130_000
    assert summary.excluded["non_product_stock_code"] > 0


def test_used_lines_and_customers_match_an_independent_count(imported) -> None:
    out, summary = imported
    with duckdb.connect() as con:
        query = f"SELECT count(*), count(DISTINCT customer_id) FROM ({USED_LINES})"
        lines, customers = con.execute(query, [str(PARQUET)]).fetchone()
    assert summary.lines_used == lines
    assert summary.customers == customers
    assert 4_300 <= customers <= 4_372
    records = customer_records(out)
    assert len({record["id"] for _, record in records}) == customers
    assert sum(len(record["purchaseHistory"]) for _, record in records) == lines


def test_monthly_batches(imported) -> None:
    out, summary = imported
    assert summary.customer_batches == sorted(summary.customer_batches)
    assert len(summary.customer_batches) == 13  # 2010-12 .. 2011-12
    assert all(BATCH.fullmatch(batch) for batch in summary.customer_batches)
    for batch, record in customer_records(out):
        assert {p["date"][:7] for p in record["purchaseHistory"]} == {batch[-7:]}
    report = json.loads((out / "import_report.json").read_text(encoding="utf-8"))
    assert report["lines_read"] == summary.lines_read
    assert report["excluded"] == summary.excluded


def test_every_line_follows_the_contract(imported) -> None:
    out, _ = imported
    for _, record in customer_records(out):
        assert list(record) == ["id", "email", "purchaseHistory", "createdAt"]
        assert UUID.fullmatch(record["id"]) and EMAIL.fullmatch(record["email"])
        assert DATE.fullmatch(record["createdAt"])
        history = record["purchaseHistory"]
        assert history
        for purchase in history:
            assert isinstance(purchase["productId"], str) and purchase["productId"].strip()
            amount = purchase["amount"]
            assert isinstance(amount, float) and math.isfinite(amount) and amount > 0
            assert DATE.fullmatch(purchase["date"])
            datetime.fromisoformat(purchase["date"])
        keys = [(p["date"], p["productId"], p["amount"]) for p in history]
        assert keys == sorted(keys)
        assert record["createdAt"] <= history[0]["date"]
    for product in product_records(out):
        assert set(product) == {
            "productId", "name", "description", "category", "price", "stockQuantity"
        }  # fmt: skip
        assert all(isinstance(product[k], str) and product[k].strip() for k in ("name", "category"))
        assert product["description"].startswith(product["name"].rstrip(". "))
        assert isinstance(product["price"], float) and product["price"] >= 0
        assert isinstance(product["stockQuantity"], int) and product["stockQuantity"] >= 0


def test_products_cover_used_stock_codes(imported) -> None:
    out, summary = imported
    catalog = product_records(out)
    ids = [product["productId"] for product in catalog]
    assert ids == sorted(set(ids)) and len(ids) == summary.products
    bought = {
        p["productId"] for _, record in customer_records(out) for p in record["purchaseHistory"]
    }
    assert bought == set(ids)
    stock = Counter(product["stockQuantity"] > 0 for product in catalog)
    assert stock[True] > 0 and stock[False] > 0
    categories = Counter(product["category"] for product in catalog)
    assert len(categories) > 8 and categories["Other"] < 0.3 * len(catalog)


def test_known_customer_is_deterministic(imported) -> None:
    out, _ = imported
    expected = str(uuid.uuid5(NAMESPACE, "online-retail:17850"))
    assert customer_uuid(17850) == expected == "91baa684-a26d-5703-833e-89b2561f3de2"
    assert customer_email(17850) == "customer-17850@online-retail.example"
    found = [record for _, record in customer_records(out) if record["id"] == expected]
    assert found and all(r["email"] == "customer-17850@online-retail.example" for r in found)
    assert {record["createdAt"] for record in found} == {"2010-12-01T08:26:00Z"}


def test_category_rule() -> None:
    assert category_for("WHITE HANGING HEART T-LIGHT HOLDER") == "Candles & lights"
    assert category_for("PAPER CHAIN KIT 50'S CHRISTMAS ") == "Christmas"
    assert category_for("JUMBO BAG RED RETROSPOT") == "Bags"
    assert category_for("INFLATABLE POLITICAL GLOBE") == "Other"


def test_second_import_is_byte_identical(imported, tmp_path: Path) -> None:
    out, summary = imported
    again = import_online_retail(PARQUET, tmp_path)
    assert all_bytes(tmp_path) == all_bytes(out)
    assert again.excluded == summary.excluded
