"""End to end: CSV product snapshots, written by Python's csv module.

A CSV snapshot (`products/<snapshot_id>.csv`) is read with its header: each
record is one line of the ledger (the header is not), quoted commas, quotes
and newlines stay inside their field, a byte-order mark and CRLF endings are
stripped, and each record is validated as the JSON object it maps to, so the
catalog holds exactly the valid records and the errors read as they do for
the same products in JSON lines.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from tests.conftest import Warehouse, make_warehouse

pytestmark = pytest.mark.e2e

HEADER = ["productId", "name", "description", "category", "price", "stockQuantity"]
# productId -> (CSV cells, the same product as a JSON object, expected errors)
PRODUCTS = {
    "P1": (
        ["P1", "Lamp, desk", 'A "bright" lamp', "Home", "20.5", "3"],
        {
            "productId": "P1",
            "name": "Lamp, desk",
            "description": 'A "bright" lamp',
            "category": "Home",
            "price": 20.5,
            "stockQuantity": 3,
        },
        [],
    ),
    "P2": (
        ["P2", "Green tea", "Loose leaf,\nfirst flush", "Coffee & Tea", "8", "0"],
        {
            "productId": "P2",
            "name": "Green tea",
            "description": "Loose leaf,\nfirst flush",
            "category": "Coffee & Tea",
            "price": 8,
            "stockQuantity": 0,
        },
        [],
    ),
    "P3": (
        ["P3", "Mug", "", "Kitchen", "abc", "1"],
        {
            "productId": "P3",
            "name": "Mug",
            "category": "Kitchen",
            "price": "abc",
            "stockQuantity": 1,
        },
        ["price: Expected number, received string"],
    ),
    "P4": (
        ["P4", "Jug", "d", "Kitchen", "1", "1.5"],
        {
            "productId": "P4",
            "name": "Jug",
            "description": "d",
            "category": "Kitchen",
            "price": 1,
            "stockQuantity": 1.5,
        },
        ["stockQuantity: Expected integer, received float"],
    ),
    "P5": (
        ["P5", "Pan", "d", "Kitchen", "-1", "2"],
        {
            "productId": "P5",
            "name": "Pan",
            "description": "d",
            "category": "Kitchen",
            "price": -1,
            "stockQuantity": 2,
        },
        ["price: Number must be greater than or equal to 0"],
    ),
    "P6": (
        ["P6", "", "d", "Kitchen", "", "2"],
        {"productId": "P6", "description": "d", "category": "Kitchen", "stockQuantity": 2},
        ["name: Required", "price: Required"],
    ),
}
CUSTOMER = {
    "id": "6b2f0c3e-1b2c-4d5e-8f90-123456789001",
    "email": "someone@example.com",
    "purchaseHistory": [{"productId": "P1", "amount": 20.5, "date": "2025-03-01T10:00:00Z"}],
    "createdAt": "2025-01-01T00:00:00Z",
}


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)  # excel dialect: CRLF, quotes as needed
    return buffer.getvalue().encode("utf-8-sig")  # with a byte-order mark


def csv_records(data: bytes) -> list[list[str]]:
    """The records after the header, as Python's csv module reads them."""
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


SNAPSHOT = csv_bytes([HEADER] + [cells for cells, _, _ in PRODUCTS.values()])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Warehouse:
    warehouse = make_warehouse(tmp_path_factory.mktemp("csv"))
    products = warehouse.landing_dir / "products"
    # the same products as JSON lines, in an older snapshot
    (products / "catalog_0001.jsonl").write_text(
        "".join(json.dumps(record) + "\n" for _, record, _ in PRODUCTS.values())
    )
    (products / "catalog_0002.csv").write_bytes(SNAPSHOT)
    (products / "catalog_0000.csv").write_bytes(csv_bytes([HEADER]))  # a header, no record
    (warehouse.landing_dir / "customers" / "c_0001.jsonl").write_text(json.dumps(CUSTOMER) + "\n")
    warehouse.dbt("build", "--select", "+ops_batch_ledger", "+int_products_current")
    return warehouse


def test_the_file_is_what_the_csv_module_wrote():
    assert SNAPSHOT.startswith(b"\xef\xbb\xbf") and b"\r\n" in SNAPSHOT
    assert b'"Lamp, desk"' in SNAPSHOT and b'"Loose leaf,\nfirst flush"' in SNAPSHOT
    assert len(csv_records(SNAPSHOT)) == len(PRODUCTS)


def test_the_ledger_counts_records_not_the_header(built: Warehouse):
    rows = dict(
        built.query(
            "select file_name, (rows_in, rows_valid, rows_invalid, status) "
            "from ops.ops_batch_ledger where source = 'products'"
        )
    )
    n_invalid = sum(1 for _, _, errors in PRODUCTS.values() if errors)
    records = len(csv_records(SNAPSHOT))
    assert rows["catalog_0002.csv"] == (
        records,
        records - n_invalid,
        n_invalid,
        "error_rate_exceeded",
    )
    assert rows["catalog_0000.csv"] == (0, 0, 0, "empty")


def test_the_catalog_holds_exactly_the_valid_records(built: Warehouse):
    catalog = built.query(
        "select product_id, snapshot_id, product_name, product_description, category, price, "
        "stock_quantity from intermediate.int_products_current order by product_id"
    )
    expected = [
        (
            pid,
            "catalog_0002",
            record["name"],
            record["description"],
            record["category"],
            float(record["price"]),
            record["stockQuantity"],
        )
        for pid, (_, record, errors) in PRODUCTS.items()
        if not errors
    ]
    assert catalog == expected


def test_csv_errors_carry_the_json_messages_and_record_numbers(built: Warehouse):
    def errors_of(batch_id: str) -> dict[int, list[str]]:
        return dict(
            built.query(
                "select line_number, errors from ops.ops_schema_errors "
                "where source = 'products' and batch_id = ?",
                [batch_id],
            )
        )

    from_csv = errors_of("catalog_0002")
    from_json = errors_of("catalog_0001")
    expected = {
        number: errors for number, (_, _, errors) in enumerate(PRODUCTS.values(), start=1) if errors
    }
    assert from_csv == expected
    assert from_json == expected
    # the raw record is the CSV record as written
    raw = built.scalar(
        "select raw_record from ops.ops_schema_errors where batch_id = 'catalog_0002' "
        "and line_number = 3"
    )
    assert raw == "P3,Mug,,Kitchen,abc,1"
