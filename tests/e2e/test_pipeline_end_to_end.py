"""End to end: `dbt build` on fixture batches with the real model and HDBSCAN.

One warehouse is built once per module from generated batches plus hostile
files; the tests then check the promises of the pipeline on it. Later tests
copy it to check reruns, re-deliveries and a fresh rebuild.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.conftest import RUN_COLUMNS, Warehouse, make_warehouse, mart_rows

from holdfast.datagen.synthetic import generate_landing

pytestmark = pytest.mark.e2e

VALID_ID = "5b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a"


def _record(customer_id: str, email: str, product_id: str = "P000001") -> dict:
    return {
        "id": customer_id,
        "email": email,
        "purchaseHistory": [
            {"productId": product_id, "amount": 12.5, "date": "2025-03-01T10:00:00Z"}
        ],
        "createdAt": "2025-01-01T00:00:00Z",
    }


HOSTILE_LINES = [
    # a byte-order mark before a valid record, CRLF line ending
    "\ufeff" + json.dumps(_record(VALID_ID, "first@example.com")) + "\r",
    "not json at all",
    "",
    '{"id": "x"}',
    json.dumps(
        _record("6b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "robert'); drop table x;--@example.com")
    ),
    json.dumps(
        _record(
            "7b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a",
            "ok@example.com",
            "'; drop table marts.dim_customers; --",
        )
    ),
    # an escaped NUL inside the e-mail
    json.dumps(_record("8b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a", "a\u0000b@example.com")),
    '{"id": "truncated',
]
HOSTILE_VALID = 2  # line 1 (BOM, CRLF) and line 6 (SQL-looking product id is just a string)


def _count_lines(path: Path) -> int:
    data = path.read_bytes()
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Warehouse:
    warehouse = make_warehouse(tmp_path_factory.mktemp("e2e"))
    generate_landing(
        warehouse.landing_dir,
        customers=400,
        seed=7,
        products=200,
        batches=3,
        invalid_share=0.02,
        dirty_batch_share=0.10,
    )
    customers = warehouse.landing_dir / "customers"
    # the hostile batch: no newline after the last (truncated) line
    (customers / "hostile_0001.jsonl").write_text("\n".join(HOSTILE_LINES), encoding="utf-8")
    (customers / "empty_0001.jsonl").write_bytes(b"")
    (customers / "bad name!.jsonl").write_text(
        json.dumps(_record(VALID_ID, "x@example.com")) + "\n" + "{}\n", encoding="utf-8"
    )
    warehouse.dbt("build")
    return warehouse


def test_every_input_line_is_accounted_for(built: Warehouse):
    ledger = {
        (source, name): (rows_in, rows_valid, rows_invalid)
        for source, name, rows_in, rows_valid, rows_invalid in built.query(
            "select source, file_name, rows_in, rows_valid, rows_invalid from ops.ops_batch_ledger"
        )
    }
    files = sorted(built.landing_dir.glob("*/*"))
    assert len(ledger) == len(files)
    for path in files:
        rows_in, rows_valid, rows_invalid = ledger[(path.parent.name, path.name)]
        errors = built.scalar(
            "select count(*) from ops.ops_schema_errors s join ops.ops_batch_ledger l "
            "using (source, batch_id) where l.file_name = ?",
            [path.name],
        )
        assert rows_in == _count_lines(path), path.name
        assert rows_valid + rows_invalid == rows_in, path.name
        assert errors == rows_invalid, path.name


def test_hostile_lines_get_one_verdict_each_with_a_reason(built: Warehouse):
    rows = built.query(
        "select line_number, errors from ops.ops_schema_errors "
        "where batch_id = 'hostile_0001' order by line_number"
    )
    assert len(HOSTILE_LINES) - HOSTILE_VALID == len(rows)
    by_line = dict(rows)
    assert 1 not in by_line and 6 not in by_line
    assert by_line[2] == ["$: not valid JSON"]
    assert by_line[3] == ["$: empty line"]
    assert "email: Required" in by_line[4] and "id: Invalid uuid" in by_line[4]
    assert "email: Invalid email" in by_line[5]
    assert "email: Invalid email" in by_line[7]
    assert by_line[8] == ["$: not valid JSON"]
    # the SQL-looking product id is data, and the tables it names still exist
    assert built.scalar("select count(*) from marts.dim_customers") > 0
    assert (
        built.scalar(
            "select count(*) from marts.fct_purchases where product_id like '%drop table%'"
        )
        == 1
    )


def test_refused_and_empty_files_are_listed_not_skipped(built: Warehouse):
    refused = built.query(
        "select batch_id, rows_in, rows_invalid, refusal_reason from ops.ops_batch_ledger "
        "where status = 'refused'"
    )
    assert refused == [("bad name!.jsonl", 2, 2, refused[0][3])]
    assert "not a valid batch id" in refused[0][3]
    assert built.query(
        "select rows_in, status from ops.ops_batch_ledger where batch_id = 'empty_0001'"
    ) == [(0, "empty")]
    alert = built.query(
        "select severity, message from ops.ops_alerts where check_name = 'batch_refused'"
    )
    assert alert and alert[0][0] == "critical" and "bad name!.jsonl" in alert[0][1]


def test_error_rate_alert_names_the_batch_the_rate_and_the_top_rules(built: Warehouse):
    breaches = built.query(
        "select batch_id, error_rate from ops.ops_batch_ledger "
        "where source = 'customers' and status not in ('refused', 'empty') and error_rate > 0.05"
    )
    alerts = built.query(
        "select batch_id, severity, message, details from ops.ops_alerts "
        "where check_name = 'schema_error_rate' order by batch_id"
    )
    assert sorted(b for b, _ in breaches) == [a[0] for a in alerts]
    assert "customers_0003" in [a[0] for a in alerts]  # the deliberately dirty batch
    for batch_id, severity, message, details in alerts:
        rate = dict(breaches)[batch_id]
        assert severity in ("warning", "critical")
        assert batch_id in message and f"{100 * rate:.1f}%" in message
        parsed = json.loads(details)
        assert parsed["error_rate"] == pytest.approx(rate)
        assert parsed["top_failing_rules"][0]["rule"] in message


def test_business_rules_hold_on_every_recommendation(built: Warehouse):
    violations = built.query(
        """
        select r.customer_id, r.product_id, r.confidence, r.predicted_value
        from marts.fct_recommendations r
        left join marts.dim_products p using (product_id)
        left join marts.fct_purchases b using (customer_id, product_id)
        where p.product_id is null or p.stock_quantity <= 0
           or r.confidence < 0.4 or r.confidence > 1
           or b.purchase_id is not null
           or r.predicted_value < 0 or r.predicted_value > 10000
        """
    )
    assert violations == []
    ranks = built.query(
        "select customer_id, list(rank order by rank) from marts.fct_recommendations group by 1"
    )
    assert all(r == list(range(1, len(r) + 1)) and len(r) <= 10 for _, r in ranks)
    rejected = dict(
        built.query("select rule_id, count(*) from marts.fct_rejected_recommendations group by 1")
    )
    assert rejected.get("in_stock", 0) > 0  # the catalog has out-of-stock products


def test_every_valid_customer_is_segmented_and_scored_or_a_dead_letter(
    built: Warehouse,
):
    # scored: recommendations, or candidates the business rules all rejected
    # (a customer whose purchases are all unknown products only gets the
    # popular pool, which may stay under min_confidence)
    missing = built.query(
        """
        select c.customer_id,
               s.customer_id is not null as has_segment,
               r.customer_id is not null as is_scored
        from marts.dim_customers c
        left join marts.fct_customer_segments s using (customer_id)
        left join (
            select customer_id from marts.fct_recommendations
            union
            select customer_id from marts.fct_rejected_recommendations
        ) r using (customer_id)
        left join ops.ops_dead_letter_queue d
            on d.record_key = c.customer_id and d.status <> 'resolved'
        where (s.customer_id is null or r.customer_id is null) and d.record_key is null
        """
    )
    assert missing == []
    with_recommendations = built.scalar(
        "select count(distinct customer_id) from marts.fct_recommendations"
    )
    assert with_recommendations >= 0.9 * built.scalar("select count(*) from marts.dim_customers")
    assert built.scalar("select count(*) from marts.dim_customers") > 350
    labels = built.query("select segment_id, segment_label from marts.dim_segments")
    assert len([s for s, _ in labels if s >= 0]) >= 3  # the generator has distinct tastes
    assert all(label for _, label in labels)


def test_rerunning_the_same_batches_changes_nothing(built: Warehouse, tmp_path: Path):
    rerun = Warehouse(tmp_path / "rerun.duckdb", built.landing_dir, tmp_path / "target")
    shutil.copy(built.db_path, rerun.db_path)
    before = mart_rows(rerun)
    ledger_before = rerun.query("select * from ops.ops_batch_ledger order by all")
    alerts_before = rerun.scalar("select count(*) from ops.ops_alerts")
    rerun.dbt("build")
    assert mart_rows(rerun) == before
    assert rerun.query("select * from ops.ops_batch_ledger order by all") == ledger_before
    assert rerun.scalar("select count(*) from ops.ops_alerts") == alerts_before


def test_a_fresh_rebuild_reproduces_every_mart_row_for_row(built: Warehouse, tmp_path: Path):
    fresh = Warehouse(tmp_path / "fresh.duckdb", built.landing_dir, tmp_path / "target")
    fresh.dbt("build")
    assert mart_rows(fresh, RUN_COLUMNS) == mart_rows(built, RUN_COLUMNS)


def test_redelivered_batch_replaces_its_rows_and_new_batches_touch_only_their_customers(
    built: Warehouse, tmp_path: Path
):
    landing = tmp_path / "landing"
    shutil.copytree(built.landing_dir, landing)
    later = Warehouse(tmp_path / "later.duckdb", landing, tmp_path / "target")
    shutil.copy(built.db_path, later.db_path)
    old_checksum = later.scalar(
        "select file_checksum from ops.ops_batch_ledger where batch_id = 'hostile_0001'"
    )
    untouched_before = dict(
        later.query("select customer_id, run_id from marts.fct_customer_segments")
    )
    gone = "7b0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a"  # only the old content has them
    assert later.scalar("select count(*) from marts.fct_purchases where customer_id = ?", [gone])
    # re-delivery: the hostile batch comes back fixed (two valid lines)
    new_id = "9c0e8a52-7a53-4c6e-9a55-3f8e2d1c0b9a"
    (landing / "customers" / "hostile_0001.jsonl").write_text(
        json.dumps(_record(VALID_ID, "first@example.com"))
        + "\n"
        + json.dumps(_record(new_id, "new@example.com", "P000002"))
        + "\n",
        encoding="utf-8",
    )
    later.dbt("build")
    ledger = later.query(
        "select rows_in, rows_invalid, previous_checksum, file_checksum, n_deliveries "
        "from ops.ops_batch_ledger where batch_id = 'hostile_0001'"
    )
    assert ledger[0][:3] == (2, 0, old_checksum)
    assert ledger[0][3] != old_checksum and ledger[0][4] == 2
    assert (
        later.scalar("select count(*) from ops.ops_schema_errors where batch_id = 'hostile_0001'")
        == 0
    )
    assert (
        later.scalar(
            "select count(*) from marts.fct_recommendations where customer_id = ?", [new_id]
        )
        > 0
    )
    # a customer only the old content had is gone from every mart
    for table in (
        "dim_customers",
        "fct_customer_segments",
        "fct_recommendations",
        "fct_rejected_recommendations",
        "fct_purchases",
    ):
        assert (
            later.scalar(f"select count(*) from marts.{table} where customer_id = ?", [gone]) == 0
        ), table
    # customers the re-delivery did not touch keep the rows of the first run
    after = dict(later.query("select customer_id, run_id from marts.fct_customer_segments"))
    touched = {VALID_ID, new_id, gone}
    unchanged = [
        c for c in untouched_before if c not in touched and after[c] == untouched_before[c]
    ]
    assert len(unchanged) == len([c for c in untouched_before if c not in touched])
