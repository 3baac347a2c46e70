"""End to end: a corpus of hostile batches, one `dbt build`, nothing lost.

The corpus is generated here (a multi-megabyte line is not something to
commit). For every batch: no crash, every line accounted for from
ops_batch_ledger and ops_schema_errors (valid + error rows = lines), and for
every bad line a reason a person understands. No e-mail address reaches an
operator table.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.conftest import Warehouse, make_warehouse

pytestmark = pytest.mark.e2e

UUID = "1e0e8a52-7a53-4c6e-9a55-3f8e2d1c0b{:02x}"
SQL = "'; drop table marts.dim_customers; --"
# bounded, so a multi-megabyte run of letters cannot make the search quadratic
EMAIL_PATTERN = re.compile(r"[^\s\"@,;:<>()\[\]]{1,64}@[^\s\"@,;:<>()\[\]]{1,253}\.[A-Za-z]{2,}")


def customer(n: int, **overrides) -> dict:
    record = {
        "id": UUID.format(n),
        "email": f"person{n}@example.com",
        "purchaseHistory": [
            {"productId": "P1", "amount": 10.0 + n, "date": "2025-03-01T10:00:00Z"},
            {"productId": "P2", "amount": 5.5, "date": "2025-04-01T10:00:00+02:00"},
        ],
        "createdAt": "2025-01-01T00:00:00Z",
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not ...}


def purchase(**overrides) -> dict:
    item = {"productId": "P1", "amount": 3.0, "date": "2025-03-01T10:00:00Z"}
    item.update(overrides)
    return {k: v for k, v in item.items() if v is not ...}


def line(record: dict) -> str:
    return json.dumps(record)


@dataclass
class Batch:
    """A landing file and what each of its lines must become (None = valid)."""

    path: str
    lines: list[str | bytes]
    expected: list[str | None] = field(default_factory=list)
    trailing_newline: bool = True
    raw: bytes | None = None  # exact bytes, when the lines cannot say it

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        encoded = [x if isinstance(x, bytes) else x.encode() for x in self.lines]
        data = b"\n".join(encoded)
        return data + (b"\n" if self.trailing_newline and encoded else b"")

    @property
    def source(self) -> str:
        return self.path.split("/")[0]


HUGE = 3 * 1024 * 1024

CORPUS = [
    Batch(
        "customers/not_json.jsonl",
        ["hello", "{", "[1, 2", "null", "42", '"text"', "[]", "{'id': 1}"],
        [
            "$: not valid JSON",
            "$: not valid JSON",
            "$: not valid JSON",
            "$: Expected object, received null",
            "$: Expected object, received number",
            "$: Expected object, received string",
            "$: Expected object, received array",
            "$: not valid JSON",
        ],
    ),
    Batch(
        "customers/truncated_last_line.jsonl",
        [line(customer(1)), '{"id": "' + UUID.format(2) + '", "email": "trunc'],
        [None, "$: not valid JSON"],
        trailing_newline=False,
    ),
    Batch(
        "customers/empty_lines.jsonl",
        [line(customer(3)), "", "   ", "\t", line(customer(4))],
        [None, "$: empty line", "$: empty line", "$: empty line", None],
    ),
    Batch(
        "customers/bom_crlf.jsonl",
        [],
        [None, None, "$: not valid JSON"],
        raw=(
            "\ufeff" + line(customer(5)) + "\r\n" + line(customer(6)) + "\r\n" + "garbage\r\n"
        ).encode(),
    ),
    Batch(
        "customers/wrong_types.jsonl",
        [
            line(customer(7, id=7)),
            line(customer(8, email=["a@example.com"])),
            line(customer(9, purchaseHistory={"productId": "P1"})),
            line(customer(10, createdAt=20250101)),
            line(customer(11, purchaseHistory=[purchase(amount="12.5")])),
            line(customer(12, purchaseHistory=[purchase(date=1735689600)])),
            line(customer(13, purchaseHistory=[purchase(productId=42)])),
            line(customer(14, purchaseHistory=["P1"])),
            line(customer(15, purchaseHistory=[purchase(amount=True)])),
        ],
        [
            "id: Expected string, received number",
            "email: Expected string, received array",
            "purchaseHistory: Expected array, received object",
            "createdAt: Expected string, received number",
            "purchaseHistory.0.amount: Expected number, received string",
            "purchaseHistory.0.date: Expected string, received number",
            "purchaseHistory.0.productId: Expected string, received number",
            "purchaseHistory.0: Expected object, received string",
            "purchaseHistory.0.amount: Expected number, received boolean",
        ],
    ),
    Batch(
        "customers/missing_and_extra_fields.jsonl",
        [
            line(customer(16, id=...)),
            line(customer(17, email=...)),
            line(customer(18, purchaseHistory=...)),
            line(customer(19, createdAt=...)),
            line(customer(20, purchaseHistory=[purchase(amount=...)])),
            line({**customer(21), "unexpected": {"nested": [1, 2]}, "role": "admin"}),
            line({}),
        ],
        [
            "id: Required",
            "email: Required",
            "purchaseHistory: Required",
            "createdAt: Required",
            "purchaseHistory.0.amount: Required",
            None,
            "id: Required",
        ],
    ),
    Batch(
        "customers/invalid_uuids.jsonl",
        [
            line(customer(22, id="not-a-uuid")),
            line(customer(23, id="{" + UUID.format(23) + "}")),
            line(customer(24, id=UUID.format(24)[:-1])),
            line(customer(25, id="")),
            line(customer(26, id=UUID.format(26).upper())),
        ],
        ["id: Invalid uuid"] * 4 + [None],
    ),
    Batch(
        "customers/invalid_emails.jsonl",
        [
            line(customer(27, email="no-at-sign")),
            line(customer(28, email="a@b")),
            line(customer(29, email="a..b@example.com")),
            line(customer(30, email="two words@example.com")),
            line(customer(31, email="")),
            line(customer(32, email="x" * 250 + "@example.com")),
        ],
        ["email: Invalid email"] * 6,
    ),
    Batch(
        "customers/bad_dates.jsonl",
        [
            line(customer(33, createdAt="2025-13-01T00:00:00Z")),
            line(customer(34, createdAt="2025-01-01T00:00:00")),
            line(customer(35, createdAt="yesterday")),
            line(customer(36, createdAt="2025-02-30T00:00:00Z")),
            line(customer(37, purchaseHistory=[purchase(date="2025-03-01")])),
            line(customer(38, purchaseHistory=[purchase(), purchase(date="2025-03-01 25:00Z")])),
        ],
        [
            "createdAt: Invalid datetime",
            "createdAt: Invalid datetime",
            "createdAt: Invalid datetime",
            "createdAt: Invalid datetime",
            "purchaseHistory.0.date: Invalid datetime",
            "purchaseHistory.1.date: Invalid datetime",
        ],
    ),
    Batch(
        "customers/bad_amounts.jsonl",
        [
            line(customer(39, purchaseHistory=[purchase(amount=0)])),
            line(customer(40, purchaseHistory=[purchase(amount=-5)])),
            line(customer(41, purchaseHistory=[purchase(amount="NaN")])),
            # not strict JSON, but DuckDB's reader takes NaN / Infinity literals
            line(customer(42)).replace("52.0", "NaN"),
            line(customer(43)).replace("5.5", "1e400"),  # overflows to infinity
            line(customer(44)).replace("5.5", "-Infinity"),
        ],
        [
            "purchaseHistory.0.amount: Number must be greater than 0",
            "purchaseHistory.0.amount: Number must be greater than 0",
            "purchaseHistory.0.amount: Expected number, received string",
            "purchaseHistory.0.amount: Number must be finite",
            "purchaseHistory.1.amount: Number must be finite",
            "purchaseHistory.1.amount: Number must be",
        ],
    ),
    Batch(
        "customers/nul_and_control_chars.jsonl",
        [
            line(customer(45, email="a\u0000b@example.com")),
            line(customer(46, purchaseHistory=[purchase(productId="P\u0001\u0007\u001b[31m")])),
            b'{"id": "' + UUID.format(47).encode() + b'", "email": "raw\x00nul@example.com"}',
            b"\x01\x02\x03\x7f",
            b"\xff\xfe not utf-8 \xc3\x28",
        ],
        [
            "email: Invalid email",
            None,
            "$: not valid JSON",
            "$: not valid JSON",
            "$: line is not valid UTF-8",
        ],
    ),
    Batch(
        "customers/huge_line.jsonl",
        [
            line({**customer(48), "padding": "x" * HUGE}),
            '{"id": "' + "y" * HUGE,
            line(customer(49)),
        ],
        [None, "$: not valid JSON", None],
    ),
    Batch(
        "customers/sql_in_every_field.jsonl",
        [
            line(
                {
                    "id": SQL,
                    "email": SQL,
                    "purchaseHistory": [{"productId": SQL, "amount": SQL, "date": SQL}],
                    "createdAt": SQL,
                    SQL: SQL,
                }
            ),
            line(customer(50, purchaseHistory=[purchase(productId=SQL)])),
            line(customer(51, email="robert'); drop table students;--@example.com")),
        ],
        ["id: Invalid uuid", None, "email: Invalid email"],
    ),
    Batch(
        "customers/duplicates_a.jsonl",
        [
            line(customer(52, email="old@example.com")),
            line(customer(52, email="newer@example.com")),
        ],
        [None, None],
    ),
    Batch(
        "customers/duplicates_b.jsonl",
        [line(customer(52, email="latest@example.com", purchaseHistory=[purchase(amount=7.0)]))],
        [None],
    ),
    Batch("customers/empty_file.jsonl", [], []),
    Batch(
        "customers/bad;name.jsonl",
        [line(customer(53)), "{}"],
        ["not a valid batch id"] * 2,
    ),
    Batch(
        "customers/-starts-with-dash.jsonl",
        [line(customer(54))],
        ["not a valid batch id"],
    ),
    Batch(
        "customers/x' or '1'='1.jsonl",
        [line(customer(55))],
        ["not a valid batch id"],
    ),
    Batch(
        "customers/wrong_extension.json",
        [line(customer(56))],
        ["the extension must be"],
    ),
    Batch(
        "products/catalog_0001.jsonl",
        [
            line(
                {
                    "productId": "P1",
                    "name": "Desk lamp",
                    "description": "A lamp.",
                    "category": "Home Office",
                    "price": 20.0,
                    "stockQuantity": 5,
                }
            ),
            line(
                {
                    "productId": "P2",
                    "name": "Green tea",
                    "description": "Loose leaf.",
                    "category": "Coffee & Tea",
                    "price": 8.5,
                    "stockQuantity": 0,
                }
            ),
            line(
                {"productId": "P3", "name": "x", "category": "c", "price": -1, "stockQuantity": 1}
            ),
            line(
                {"productId": "P4", "name": "x", "category": "c", "price": 1, "stockQuantity": 1.5}
            ),
            line({"productId": "P5", "category": "c", "price": 1, "stockQuantity": 1}),
            line(
                {"productId": "P6", "name": "x", "category": "c", "price": "1", "stockQuantity": 1}
            ),
            line({"productId": "", "name": "x", "category": "c", "price": 1, "stockQuantity": 1}),
            line({"productId": SQL, "name": SQL, "category": SQL, "price": 1, "stockQuantity": -2}),
            "not json",
        ],
        [
            None,
            None,
            "price: Number must be greater than or equal to 0",
            "stockQuantity: Expected integer, received float",
            "name: Required",
            "price: Expected number, received string",
            "productId: String must contain at least 1 character(s)",
            "stockQuantity: Number must be greater than or equal to 0",
            "$: not valid JSON",
        ],
    ),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Warehouse:
    root = tmp_path_factory.mktemp("hostile")
    warehouse = make_warehouse(root)
    for batch in CORPUS:
        path = warehouse.landing_dir / batch.path
        path.write_bytes(batch.content())
    result = warehouse.dbt("build", "--log-path", str(root / "logs"))
    (root / "build_output.txt").write_text(result.stdout + result.stderr)
    return warehouse


def corpus_emails() -> set[str]:
    """Every e-mail-like string in the corpus (with the bytes of the lines)."""
    found = set()
    for batch in CORPUS:
        for text in batch.content().decode("utf-8", errors="replace").splitlines():
            found |= {m.group() for m in EMAIL_PATTERN.finditer(text[:4000])}
    return found


def test_the_corpus_means_what_it_says():
    for batch in CORPUS:
        if batch.raw is None:
            assert len(batch.lines) == len(batch.expected), batch.path
    assert "NaN" in CORPUS[9].lines[3] and "1e400" in CORPUS[9].lines[4]


@pytest.mark.parametrize("batch", CORPUS, ids=[b.path for b in CORPUS])
def test_every_line_of_every_hostile_batch_is_accounted_for_with_a_reason(
    built: Warehouse, batch: Batch
):
    file_name = batch.path.split("/")[1]
    ledger = built.query(
        "select batch_id, rows_in, rows_valid, rows_invalid, status from ops.ops_batch_ledger "
        "where source = ? and file_name = ?",
        [batch.source, file_name],
    )
    assert len(ledger) == 1, f"{batch.path} has no ledger row"
    batch_id, rows_in, rows_valid, rows_invalid, status = ledger[0]
    assert rows_in == len(batch.expected)
    assert rows_valid + rows_invalid == rows_in
    assert rows_valid == sum(1 for e in batch.expected if e is None)
    errors = dict(
        built.query(
            "select line_number, errors from ops.ops_schema_errors "
            "where source = ? and batch_id = ? order by line_number",
            [batch.source, batch_id],
        )
    )
    assert len(errors) == rows_invalid
    for number, expected in enumerate(batch.expected, start=1):
        if expected is None:
            assert number not in errors, (batch.path, number, errors.get(number))
        else:
            assert number in errors, (batch.path, number)
            assert errors[number], (batch.path, number)
            assert any(expected in e for e in errors[number]), (batch.path, number, errors[number])
    if not batch.expected:
        assert status == "empty"
    elif any(
        e and ("not a valid batch id" in e or "extension must be" in e) for e in batch.expected
    ):
        assert status == "refused"


def test_the_dbt_accounting_test_agrees(built: Warehouse):
    result = built.dbt("test", "--select", "assert_every_input_line_accounted_for")
    assert re.search(r"PASS=[1-9]", result.stdout) and "ERROR=0" in result.stdout


def test_huge_lines_are_kept_whole_in_staging_and_truncated_in_the_error_log(built: Warehouse):
    raw_length, truncated = built.query(
        "select length(raw_record), is_raw_record_truncated from ops.ops_schema_errors "
        "where batch_id = 'huge_line' and line_number = 2"
    )[0]
    assert raw_length == 1000 and truncated
    # the valid 3 MB line loaded as a customer (the padding field is ignored)
    assert built.scalar(
        "select count(*) from marts.dim_customers where customer_id = ?", [UUID.format(48)]
    )


def test_duplicates_within_and_across_batches_become_one_customer_latest_wins(
    built: Warehouse,
):
    rows = built.query(
        "select email from marts.dim_customers where customer_id = ?", [UUID.format(52)]
    )
    assert rows == [("latest@example.com",)]
    amounts = sorted(
        a
        for (a,) in built.query(
            "select amount from marts.fct_purchases where customer_id = ?", [UUID.format(52)]
        )
    )
    assert amounts == [5.5, 7.0, 62.0]  # the union, de-duplicated


def test_sql_looking_input_is_data_and_every_table_still_exists(built: Warehouse):
    assert built.scalar("select count(*) from marts.dim_customers") > 5
    assert built.scalar("select count(*) from marts.fct_purchases where product_id = ?", [SQL]) == 1
    assert built.scalar("select count(*) from ops.ops_schema_errors where record_id = ?", [SQL])


def test_no_email_address_reaches_an_operator_table_a_model_output_or_another_mart(
    built: Warehouse,
):
    tables = built.query(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('ops', 'inference', 'marts')"
    )
    assert ("ops", "ops_schema_errors") in tables and ("ops", "ops_alerts") in tables
    leaks = []
    for schema, table in tables:
        if (schema, table) == ("marts", "dim_customers"):
            continue  # the one place e-mails live
        columns = built.query(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ? and data_type in ('VARCHAR', 'JSON')",
            [schema, table],
        )
        for (column,) in columns:
            for (value,) in built.query(f'select "{column}" from {schema}.{table}'):
                if value and EMAIL_PATTERN.search(value):
                    leaks.append((schema, table, column, EMAIL_PATTERN.search(value).group()))
    assert leaks == []


def test_no_email_address_reaches_the_logs(built: Warehouse):
    root = built.db_path.parent
    logs = (root / "logs" / "dbt.log").read_text(errors="replace")
    logs += (root / "build_output.txt").read_text(errors="replace")
    emails = corpus_emails()
    assert len(emails) > 20
    assert [e for e in emails if e in logs] == []


def test_only_product_texts_reach_the_embedding_model(
    built: Warehouse, monkeypatch, tmp_path: Path
):
    """Run the real embedding step on the built warehouse with a recording
    encoder: what the model sees is the catalog's texts, and no e-mail."""
    import duckdb
    import numpy as np

    from holdfast.entrypoints.steps.embed_products import embed_products_model
    from holdfast.infrastructure import encoder as encoder_module
    from holdfast.settings import PipelineSettings

    seen: list[str] = []

    class RecordingEncoder:
        version = "recording"
        dimension = 384

        closed = False

        def encode(self, texts):
            seen.extend(texts)
            return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)

        def close(self):
            RecordingEncoder.closed = True

    monkeypatch.setattr(
        encoder_module, "EncoderProcess", lambda _name, **_options: RecordingEncoder()
    )
    copy = tmp_path / "copy.duckdb"
    shutil.copy(built.db_path, copy)
    con = duckdb.connect(str(copy))
    try:
        settings = PipelineSettings.from_mapping(
            {
                "embedding_model": "packaged:all-MiniLM-L6-v2",
                "inference_batch_size": 4,
                "inference_max_retries": 0,
                "inference_initial_backoff_seconds": 0,
                "dead_letter_max_attempts": 5,
            }
        )
        reader = embed_products_model(
            con,
            products=con.table("intermediate.int_products_current"),
            runs=con.table("ops.ops_runs"),
            this=None,
            settings=settings,
        )
        rows = reader.read_all()
        texts = [
            t
            for (t,) in con.execute(
                "select product_text from intermediate.int_products_current order by product_id"
            ).fetchall()
        ]
    finally:
        con.close()
    assert rows.num_rows == len(texts) == 2
    assert seen == texts
    assert RecordingEncoder.closed  # the step closes its encoder when its stream ends
    assert not any(EMAIL_PATTERN.search(t) for t in seen)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("schema_error_rate_alert", "0.05; drop table ops.ops_batch_ledger; --"),
        ("record_count_tolerance", "1 or 1=1"),
        ("dead_letter_max_attempts", "5) or (true"),
        ("min_confidence", "0 or confidence is not null"),
        ("predicted_value_min", "0'; --"),
        ("predicted_value_max", "1e4 union select 1"),
        ("recommendations_per_customer", "10; select 1"),
        ("landing_dir", "x'); drop table ops.ops_batch_ledger; --"),
        ("landing_dir", "data/landing' || getenv('HOME') || '"),
    ],
)
def test_sql_through_a_var_is_refused_before_it_reaches_sql(
    built: Warehouse, tmp_path: Path, var: str, value: str
):
    copy = Warehouse(tmp_path / "copy.duckdb", built.landing_dir, tmp_path / "target")
    shutil.copy(built.db_path, copy.db_path)
    counts_before = copy.query(
        "select schema_name, table_name, estimated_size from duckdb_tables() order by all"
    )
    result = copy.dbt("compile", vars={var: value}, check=False)
    assert result.returncode != 0
    assert f"var '{var}' must be" in result.stdout, result.stdout[-2000:]
    assert (
        copy.query(
            "select schema_name, table_name, estimated_size from duckdb_tables() order by all"
        )
        == counts_before
    )
