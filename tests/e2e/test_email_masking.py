"""End to end: e-mail addresses in file names and in escaped, long or cut input lines never
leave the warehouse for people.

One `holdfast run` on a small synthetic landing zone plus: two refused files named after
addresses, and a batch of invalid lines holding addresses written with JSON escapes
(`\\u0040`, `\\u002e`), in a key, and placed so that the 1,000-character cut of
`raw_record` falls right after the at sign. Then every text that reaches people is
scanned, after decoding JSON escapes and HTML entities, for an address and for the planted
local parts: every ops table, the published snapshot (all but dim_customers, whose e-mail
column is the one place addresses live), the HTML report, the JSON-lines alert file, the
bodies a real webhook receiver got, the run's output (alert log lines included) and dbt's
own log (every statement it ran). Staging keeps raw lines (the raw layer, not published);
a file name that holds an address is known by its masked form from the listing on, so it
reaches no SQL text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from tests.conftest import PROJECT_ROOT, email_addresses_in, make_warehouse
from tests.integration.test_alert_sinks import Receiver

from holdfast import cli
from holdfast.datagen.synthetic import generate_landing
from holdfast.ops.exit_codes import ExitCode

pytestmark = pytest.mark.e2e

# unique local parts: none of them may appear anywhere people read
PLANTED = (
    "refusedfile.owner",
    "other.owner",
    "escaped.person",
    "dotted\\u002eperson",
    "dotted.person",
    "keyed.person",
    "dangling.person",
)
REFUSED_NAMES = ("refusedfile.owner@example.com.jsonl", "other.owner@example.org.jsonl")
BAD_ID = "not-a-uuid"


def _dangling_line() -> str:
    """An invalid line whose 1,000th character is the at sign of an address, and long enough
    that its masked form is cut as well."""
    head = '{"id": "' + BAD_ID + '", "note": "'
    tail = "dangling.person@example.net " + "y" * 100 + '"}'
    pad = 1000 - len(head) - len("dangling.person@")
    line = head + "x" * (pad - 1) + " " + tail
    assert line[999] == "@" and line[:1000].endswith("dangling.person@")
    return line


def _plant(landing: Path) -> dict[str, int]:
    customers = landing / "customers"
    refused_lines = [
        json.dumps({"id": BAD_ID, "email": "refusedfile.owner@example.com"}),
        "{not json",
    ]
    for name in REFUSED_NAMES:
        (customers / name).write_text("\n".join(refused_lines) + "\n")
    lines = [
        '{"id": "' + BAD_ID + '", "email": "escaped.person\\u0040example.com"}',
        '{"id": "' + BAD_ID + '", "email": "dotted\\u002eperson\\u0040example\\u002eorg"}',
        '{"keyed.person\\u0040example.com": 1}',
        _dangling_line(),
    ]
    (customers / "customers_9001.jsonl").write_text("\n".join(lines) + "\n")
    return {"refused_lines": len(refused_lines), "invalid_lines": len(lines)}


def _table_texts(con: duckdb.DuckDBPyConnection, skip: set[str]) -> dict[str, str]:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('ops', 'marts') order by all"
    ).fetchall()
    texts = {}
    for schema, table in tables:
        if f"{schema}.{table}" in skip:
            continue
        rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
        texts[f"{schema}.{table}"] = "\n".join(" | ".join(map(str, row)) for row in rows)
    return texts


def _fixture_addresses() -> set[str]:
    """The made-up addresses of the project's own dbt unit tests: dbt logs the
    fixtures' SQL when it runs them, and they are no one's data."""
    found: set[str] = set()
    for fixture in PROJECT_ROOT.glob("models/**/*unit_tests.yml"):
        found.update(email_addresses_in(fixture.read_text()))
    return found


def _leaks(name: str, text: str) -> list[str]:
    fixtures = _fixture_addresses()
    found = [
        f"{name}: {address}" for address in email_addresses_in(text) if address not in fixtures
    ]
    decoded_once = text.replace("\\\\", "\\")
    found += [f"{name}: {local}" for local in PLANTED if local in decoded_once]
    found += [f"{name}: {local}" for local in PLANTED if local in text]
    return found


def test_no_email_address_leaves_the_warehouse_for_people(tmp_path, monkeypatch, capfd):
    warehouse = make_warehouse(tmp_path / "w", name="holdfast")
    generate_landing(warehouse.landing_dir, customers=60, seed=5, products=40, batches=1)
    planted = _plant(warehouse.landing_dir)
    report = tmp_path / "report.html"
    published = tmp_path / "published" / "holdfast_published.duckdb"
    alerts_file = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(warehouse.db_path))
    monkeypatch.setenv("HOLDFAST_PUBLISHED_PATH", str(published))
    monkeypatch.setenv("HOLDFAST_REPORT_PATH", str(report))
    monkeypatch.setenv("HOLDFAST_ALERT_JSONL_PATH", str(alerts_file))
    dbt_args = [
        "--target-path",
        str(warehouse.target_dir),
        "--log-path",
        str(tmp_path / "logs"),
        "--vars",
        json.dumps({"landing_dir": str(warehouse.landing_dir)}),
    ]
    with Receiver() as receiver:
        monkeypatch.setenv("HOLDFAST_ALERT_WEBHOOK_URL", receiver.url)
        code = cli.run_pipeline(dbt_args, project=PROJECT_ROOT)
    output = capfd.readouterr()
    assert code == ExitCode.CRITICAL_ALERTS, output.out[-3000:]

    # the planted input arrived: staging holds the lines as given, the address-named
    # files under masked, distinct names
    staged = warehouse.query(
        "select file_name, count(line_number) from staging.stg_landing__customer_lines "
        "where file_name like '<email>#%' or batch_id = 'customers_9001' group by 1 order by 1"
    )
    assert len(staged) == 3, staged
    assert sorted(n for _, n in staged) == sorted(
        [planted["refused_lines"], planted["refused_lines"], planted["invalid_lines"]]
    )
    # ... and is accounted for in the ops tables, under masked, still distinct names
    checksums = {
        hashlib.sha256((warehouse.landing_dir / "customers" / n).read_bytes()).hexdigest()
        for n in REFUSED_NAMES
    }
    refused = warehouse.query(
        "select batch_id, file_name, rows_in, file_checksum from ops.ops_batch_ledger "
        "where status = 'refused'"
    )
    assert len(refused) == 2 and len({r[0] for r in refused}) == 2
    assert all(r[0] == r[1] and r[0].startswith("<email>#") for r in refused), refused
    assert [r[2] for r in refused] == [planted["refused_lines"]] * 2
    assert len(checksums) == 1  # the two files have the same bytes: only the names differ
    assert {r[3] for r in refused} == checksums
    errors = warehouse.query(
        "select line_number, raw_record, is_raw_record_truncated from ops.ops_schema_errors "
        "where batch_id = 'customers_9001' order by line_number"
    )
    assert [e[0] for e in errors] == [1, 2, 3, 4]
    dangling = errors[3]
    assert dangling[2] and len(dangling[1]) == 1000  # masked, then cut
    assert "<email>" in dangling[1] and dangling[1].endswith("y")
    assert (
        sum(1 for (m,) in warehouse.query("select message from ops.ops_alerts") if "<email>" in m)
        == 2
    )

    texts: dict[str, str] = {}
    con = duckdb.connect(str(warehouse.db_path), read_only=True)
    try:
        ops_texts = _table_texts(con, skip=set())
        texts.update({k: v for k, v in ops_texts.items() if k.startswith("ops.")})
    finally:
        con.close()
    assert {"ops.ops_batch_ledger", "ops.ops_schema_errors", "ops.ops_alerts"} <= texts.keys()
    assert "ops.alert_deliveries" in texts
    snapshot = duckdb.connect(str(published), read_only=True)
    try:
        snapshot_texts = _table_texts(snapshot, skip={"marts.dim_customers"})
    finally:
        snapshot.close()
    assert "marts.fct_recommendations" in snapshot_texts
    texts.update({f"snapshot {k}": v for k, v in snapshot_texts.items()})
    texts["report"] = report.read_text()
    texts["alerts.jsonl"] = alerts_file.read_text()
    assert receiver.raw_bodies
    texts["webhook"] = "\n".join(body.decode() for body in receiver.raw_bodies)
    texts["run output"] = output.out + output.err
    texts["dbt.log"] = (tmp_path / "logs" / "dbt.log").read_text()
    assert "holdfast alert [critical] batch_refused" in output.err

    leaks = [leak for name, text in texts.items() for leak in _leaks(name, text)]
    assert leaks == []
