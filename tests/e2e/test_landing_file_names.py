"""End to end: odd file names beside valid batches, one `dbt build`.

Every file of the landing folder is accounted for exactly once whatever its
name: glob characters, backslashes, quotes, spaces, non-ASCII and non-UTF-8
bytes, names that collide after case folding or with a refused name. Hidden
files and partial uploads are ignored (listed, never read, never alerted on)
until renamed. The line counts are taken from the files' bytes here, not from
anything the build wrote. And the ledger's counts are checked to be
independent: tampering with one layer shows up in the accounting test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from tests.conftest import Warehouse, make_warehouse

from holdfast.infrastructure.landing_folder import display_name

pytestmark = pytest.mark.e2e

UUID = "5a1d0c3e-1b2c-4d5e-8f90-1234567890{:02x}"


def customer_line(n: int) -> str:
    return json.dumps(
        {
            "id": UUID.format(n),
            "email": f"name{n}@example.com",
            "purchaseHistory": [
                {"productId": "P1", "amount": 2.5 + n, "date": "2025-03-01T10:00:00Z"}
            ],
            "createdAt": "2025-01-01T00:00:00Z",
        }
    )


def lines_of(first: int, count: int, extra: str = "") -> bytes:
    body = "".join(customer_line(first + k) + "\n" for k in range(count)) + extra
    return body.encode()


VALID = {
    b"b_0001.jsonl": lines_of(0, 4),
    b"b_0002.jsonl": lines_of(10, 3, "not json\n"),
    b"c1.jsonl": lines_of(20, 2),
    b"B_0009.jsonl": lines_of(70, 2),
}
# name -> (content, expected status, a piece of the refusal reason)
ODD = {
    b"[b]_0001.jsonl": (lines_of(0, 4), "refused", "not a valid batch id"),
    b"c*.jsonl": (lines_of(30, 1), "refused", "not a valid batch id"),
    b"?.jsonl": (lines_of(31, 2), "refused", "not a valid batch id"),
    b"[!a]_[a-z]*.jsonl": (lines_of(32, 1), "refused", "not a valid batch id"),
    b"a\\b.jsonl": (lines_of(33, 3), "refused", "not a valid batch id"),
    b"a\\[x]*.jsonl": (lines_of(36, 1), "refused", "not a valid batch id"),
    b"\\": (lines_of(37, 1), "refused", "the extension must be"),
    b"{b,c}_0001.jsonl": (lines_of(38, 2), "refused", "not a valid batch id"),
    b"it's here.jsonl": (lines_of(40, 1), "refused", "not a valid batch id"),
    b'say "hi".jsonl': (lines_of(41, 1), "refused", "not a valid batch id"),
    b"two  spaces .jsonl": (lines_of(42, 1), "refused", "not a valid batch id"),
    "kunde_ünï_日本.jsonl".encode(): (lines_of(43, 2), "refused", "not a valid batch id"),
    b"line\nbreak.jsonl": (lines_of(45, 1), "refused", "not a valid batch id"),
    # collisions: case folding of the extension, and a refused name
    b"b_0001.JSONL": (lines_of(50, 2), "refused", "b_0001.jsonl has the same batch id (b_0001)"),
    b"b_0002.Jsonl": (lines_of(52, 1), "refused", "b_0002.jsonl has the same batch id (b_0002)"),
    # the lowercase extension wins even where the rest of the name is upper case
    b"B_0009.JSONL": (lines_of(72, 1), "refused", "B_0009.jsonl has the same batch id (B_0009)"),
    b"a.json": (lines_of(53, 1), "refused", "the extension must be"),
    b"a.json.jsonl": (lines_of(54, 2), "refused", "is the name of another file"),
    # not UTF-8 (one of them looks like the escaped form of another)
    b"bad\xff.jsonl": (lines_of(56, 2), "refused", "not valid UTF-8"),
    b"bad\xfe\xfd.jsonl": (lines_of(58, 1), "refused", "not valid UTF-8"),
    b"bad\\xFF.jsonl": (lines_of(59, 1), "refused", "not a valid batch id"),
}
IGNORED = {
    b".b_0003.jsonl.part": lines_of(60, 2)[:-30],  # being written
    b".hidden.jsonl": lines_of(62, 1),
    b"_staging_copy.jsonl": lines_of(63, 1),
    b"b_0004.jsonl.tmp": lines_of(64, 1),
    b"b_0005.jsonl.PART": lines_of(65, 1),
}
PRODUCT = json.dumps(
    {"productId": "P1", "name": "Lamp", "category": "Home", "price": 5.0, "stockQuantity": 3}
)


def contract_line_count(data: bytes) -> int:
    """Lines as the input contract splits them: LF, a leading BOM and the
    final newline aside; an empty file has none."""
    if not data:
        return 0
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.endswith(b"\n"):
        data = data[:-1]
    return data.count(b"\n") + 1


def is_ignored(name: bytes) -> bool:
    lowered = name.lower()
    return name[:1] in (b".", b"_") or lowered.endswith((b".part", b".tmp"))


def write_files(folder: Path, files: dict[bytes, bytes]) -> None:
    for name, content in files.items():
        with open(os.path.join(os.fsencode(folder), name), "wb") as handle:
            handle.write(content)


def folder_counts(folder: Path) -> dict[str, int]:
    """display name -> line count, for every visible file, from the bytes."""
    counts = {}
    for name in os.listdir(os.fsencode(folder)):
        if is_ignored(name):
            continue
        with open(os.path.join(os.fsencode(folder), name), "rb") as handle:
            counts[display_name(name)] = contract_line_count(handle.read())
    return counts


def ledger(warehouse: Warehouse) -> list[tuple]:
    return warehouse.query(
        "select file_name, batch_id, status, refusal_reason, rows_in, rows_valid, rows_invalid, "
        "n_deliveries from ops.ops_batch_ledger where source = 'customers' order by file_name"
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Warehouse:
    warehouse = make_warehouse(tmp_path_factory.mktemp("names"))
    customers = warehouse.landing_dir / "customers"
    write_files(customers, VALID)
    write_files(customers, {name: content for name, (content, _, _) in ODD.items()})
    write_files(customers, IGNORED)
    (warehouse.landing_dir / "products" / "catalog_0001.jsonl").write_text(PRODUCT + "\n")
    result = warehouse.dbt("build", check=False)
    assert result.returncode == 0, result.stdout[-6000:]
    return warehouse


def test_the_names_are_on_disk_as_written(built: Warehouse):
    on_disk = set(os.listdir(os.fsencode(built.landing_dir / "customers")))
    assert on_disk == set(VALID) | set(ODD) | set(IGNORED)


def test_every_visible_file_is_in_the_ledger_once_with_its_line_count(built: Warehouse):
    expected = folder_counts(built.landing_dir / "customers")
    assert len(expected) == len(VALID) + len(ODD)
    rows = ledger(built)
    names = [row[0] for row in rows]
    assert sorted(names) == sorted(expected)  # each file once, no other
    for file_name, _, _, _, rows_in, rows_valid, rows_invalid, _ in rows:
        assert rows_in == expected[file_name], file_name
        assert rows_valid + rows_invalid == rows_in, file_name
    # and the staged lines, file by file
    staged = dict(
        built.query(
            "select file_name, count(line_number) from staging.stg_landing__customer_lines "
            "group by file_name"
        )
    )
    assert staged == expected


def test_valid_batches_are_read_once_and_loaded(built: Warehouse):
    by_name = {row[0]: row for row in ledger(built)}
    for name, content in VALID.items():
        _, batch_id, status, reason, rows_in, rows_valid, rows_invalid, _ = by_name[name.decode()]
        assert rows_valid + rows_invalid == rows_in
        assert batch_id == name.decode().removesuffix(".jsonl")
        assert reason is None
        assert rows_in == contract_line_count(content)
        assert rows_invalid == content.count(b"not json")
        assert status == ("loaded" if rows_invalid == 0 else "error_rate_exceeded")
    # b_0001's customers once each, with b_0001's amounts (not its look-alikes')
    amounts = built.query(
        "select customer_id, count(*), min(amount) from marts.fct_purchases "
        "where customer_id in (?, ?, ?, ?) group by customer_id order by customer_id",
        [UUID.format(n) for n in range(4)],
    )
    assert amounts == [(UUID.format(n), 1, 2.5 + n) for n in range(4)]
    lines = built.scalar(
        "select count(*) from staging.stg_landing__customer_lines where batch_id = 'b_0001'"
    )
    assert lines == 4


def test_odd_names_are_refused_with_their_reason(built: Warehouse):
    by_name = {row[0]: row for row in ledger(built)}
    for name, (content, status, reason_part) in ODD.items():
        file_name, batch_id, got_status, reason, rows_in, rows_valid, _, _ = by_name[
            display_name(name)
        ]
        assert got_status == status, file_name
        assert reason_part in reason, (file_name, reason)
        assert batch_id == file_name  # a refused file is its own batch
        assert rows_valid == 0
        errors = built.query(
            "select errors from ops.ops_schema_errors where source = 'customers' and batch_id = ?",
            [batch_id],
        )
        assert len(errors) == rows_in == contract_line_count(content)
        assert all(reason in e for (e,) in errors)
    # the non-UTF-8 name and the UTF-8 name that reads like its escaped form stay apart
    assert {"bad\\xFF.jsonl", "bad\\x5CxFF.jsonl"} <= set(by_name)
    # a refused file raises a critical alert naming it
    alerts = built.query("select message from ops.ops_alerts where check_name = 'batch_refused'")
    assert len(alerts) == len(ODD)


def test_hidden_and_partial_files_are_ignored_listed_and_never_alerted(built: Warehouse):
    listing = dict(
        built.query("select file_name, status from ops.landing_listing where source = 'customers'")
    )
    for name in IGNORED:
        assert listing[name.decode()] == "ignored"
    ignored_names = [name.decode() for name in IGNORED]
    assert not set(ignored_names) & {row[0] for row in ledger(built)}
    messages = " ".join(m for (m,) in built.query("select message from ops.ops_alerts"))
    assert not any(name in messages for name in ignored_names)
    staged = built.scalar(
        "select count(*) from staging.stg_landing__customer_lines where file_name in "
        "(select unnest(?))",
        [ignored_names],
    )
    assert staged == 0


def test_a_rerun_reads_nothing_and_a_renamed_partial_upload_is_then_read(
    built: Warehouse, tmp_path: Path
):
    copy = Warehouse(tmp_path / "copy.duckdb", tmp_path / "landing", tmp_path / "target")
    shutil.copy(built.db_path, copy.db_path)
    shutil.copytree(built.landing_dir, copy.landing_dir)
    before = ledger(copy)
    copy.dbt("build")
    assert ledger(copy) == before  # nothing re-delivered

    customers = os.fsencode(copy.landing_dir / "customers")
    complete = lines_of(60, 2)
    with open(os.path.join(customers, b".b_0003.jsonl.part"), "wb") as handle:
        handle.write(complete)
    partial = os.path.join(customers, b".b_0003.jsonl.part")
    os.rename(partial, os.path.join(customers, b"b_0003.jsonl"))
    copy.dbt("build")
    rows = {row[0]: row for row in ledger(copy)}
    assert rows["b_0003.jsonl"][1:3] == ("b_0003", "loaded")
    assert rows["b_0003.jsonl"][4] == 2
    assert sorted(rows) == sorted(folder_counts(copy.landing_dir / "customers"))
    assert all(row[7] == 1 for row in rows.values())  # no file delivered twice
    listing = copy.query("select file_name from ops.landing_listing where source = 'customers'")
    assert (".b_0003.jsonl.part",) not in listing


def _accounting(warehouse: Warehouse):
    return warehouse.dbt("test", "--select", "assert_every_input_line_accounted_for", check=False)


def test_the_accounting_test_passes_on_the_build(built: Warehouse):
    result = _accounting(built)
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"PASS assert_every_input_line_accounted_for", result.stdout)


def test_the_ledger_counts_valid_lines_on_its_own(built: Warehouse, tmp_path: Path):
    """A valid verdict lost between validation and the ledger shows in
    rows_valid (it is not rows_in - rows_invalid) and fails the accounting."""
    copy = Warehouse(tmp_path / "copy.duckdb", built.landing_dir, tmp_path / "target")
    shutil.copy(built.db_path, copy.db_path)
    con = duckdb.connect(str(copy.db_path))
    try:
        con.execute(
            "delete from intermediate.int_customer_records_validated "
            "where batch_id = 'b_0001' and line_number = 2"
        ).fetchall()
    finally:
        con.close()
    copy.dbt("run", "--select", "ops_batch_ledger", "--full-refresh")
    rows_in, rows_valid, rows_invalid = copy.query(
        "select rows_in, rows_valid, rows_invalid from ops.ops_batch_ledger "
        "where source = 'customers' and batch_id = 'b_0001'"
    )[0]
    assert rows_in == contract_line_count(VALID[b"b_0001.jsonl"]) == 4
    assert (rows_valid, rows_invalid) == (3, 0)
    result = _accounting(copy)
    assert result.returncode != 0, result.stdout[-3000:]
    assert re.search(r"FAIL 1 assert_every_input_line_accounted_for", result.stdout)


def test_a_listed_file_that_never_reached_staging_fails_the_accounting(
    built: Warehouse, tmp_path: Path
):
    """A reader that skipped a file leaves no trace downstream; the listing
    of the folder still names it."""
    copy = Warehouse(tmp_path / "copy.duckdb", built.landing_dir, tmp_path / "target")
    shutil.copy(built.db_path, copy.db_path)
    con = duckdb.connect(str(copy.db_path))
    try:
        for table in (
            "staging.stg_landing__customer_lines",
            "intermediate.int_customer_records_validated",
            "ops.ops_schema_errors",
            "ops.ops_batch_ledger",
        ):
            con.execute(f"delete from {table} where batch_id = 'b_0002'").fetchall()
    finally:
        con.close()
    result = _accounting(copy)
    assert result.returncode != 0, result.stdout[-3000:]
    assert re.search(r"FAIL 1 assert_every_input_line_accounted_for", result.stdout)
