"""End to end: the analysts' snapshot is replaced only after a build that passed.

Three `holdfast run`s on one warehouse. The first passes and publishes. Then
the warehouse is damaged the way a test exists to catch (a customer twice in
dim_customers) and the second run's error-severity unique test fails: the
snapshot must still hold the first build's customers, counted independently
from the landing files, and a critical `snapshot_not_published` alert must
reach the sinks (the JSON-lines file and a real webhook receiver). Once the
damage is repaired, the third run publishes again and, the alert being old
news, exits 0. `holdfast summary` and `holdfast report` read the real snapshot.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from tests.conftest import PROJECT_ROOT, make_warehouse
from tests.integration.test_alert_sinks import Receiver

from holdfast import cli
from holdfast.datagen.synthetic import generate_landing
from holdfast.ops.exit_codes import ExitCode

pytestmark = pytest.mark.e2e


def landing_customer_ids(landing: Path) -> set[str]:
    """Customer ids in the landing files, read with json (every line is valid here)."""
    ids = set()
    for path in sorted((landing / "customers").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            ids.add(json.loads(line)["id"])
    return ids


def snapshot_customer_ids(published: Path) -> list[str]:
    con = duckdb.connect(str(published), read_only=True)
    try:
        return [r[0] for r in con.execute("select customer_id from marts.dim_customers").fetchall()]
    finally:
        con.close()


def test_a_failed_build_keeps_the_last_good_snapshot_and_says_why(tmp_path, monkeypatch, capsys):
    warehouse = make_warehouse(tmp_path / "w", name="holdfast")
    generate_landing(
        warehouse.landing_dir, customers=150, seed=23, products=80, batches=2, invalid_share=0.0
    )
    expected_ids = landing_customer_ids(warehouse.landing_dir)
    published = tmp_path / "published" / "holdfast_published.duckdb"
    alerts_file = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(warehouse.db_path))
    monkeypatch.setenv("HOLDFAST_PUBLISHED_PATH", str(published))
    monkeypatch.setenv("HOLDFAST_REPORT_PATH", str(tmp_path / "report.html"))
    monkeypatch.setenv("HOLDFAST_ALERT_JSONL_PATH", str(alerts_file))
    monkeypatch.setenv("HOLDFAST_PROJECT_DIR", str(PROJECT_ROOT))

    def dbt_args(run: str) -> list[str]:
        return [
            "--target-path",
            str(tmp_path / f"target-{run}"),
            "--log-path",
            str(tmp_path / "logs"),
            "--vars",
            json.dumps({"landing_dir": str(warehouse.landing_dir), "test_scope": "all"}),
        ]

    with Receiver() as receiver:
        monkeypatch.setenv("HOLDFAST_ALERT_WEBHOOK_URL", receiver.url)
        first = cli.run_pipeline(dbt_args("first"), project=PROJECT_ROOT)
        assert first == ExitCode.OK
        assert sorted(snapshot_customer_ids(published)) == sorted(expected_ids)
        # the job's build runs the data tests and leaves out the project's unit tests
        manifest = json.loads((tmp_path / "target-first" / "manifest.json").read_text())
        results = json.loads((tmp_path / "target-first" / "run_results.json").read_text())
        ran = {result["unique_id"].split(".")[0] for result in results["results"]}
        assert manifest["unit_tests"] and "test" in ran and "unit_test" not in ran
        first_snapshot = published.read_bytes()

        # the analysts' commands on the real snapshot
        capsys.readouterr()
        assert cli.main(["summary"]) == ExitCode.OK
        summary = capsys.readouterr().out
        assert f"holdfast published snapshot: {published}" in summary
        rows = [line.split() for line in summary.splitlines()]
        assert ["marts.dim_customers", str(len(expected_ids))] in rows
        assert cli.main(["report", "--out", str(tmp_path / "analyst.html")]) == ExitCode.OK

        con = duckdb.connect(str(warehouse.db_path))
        con.execute(
            "insert into marts.dim_customers select * from marts.dim_customers "
            "order by customer_id limit 1"
        )
        con.close()
        second = cli.run_pipeline(dbt_args("second"), project=PROJECT_ROOT)
        second_err = capsys.readouterr().err

        assert second == ExitCode.DBT_FAILED
        # the snapshot is the first build's: same bytes, same customers
        assert published.read_bytes() == first_snapshot
        assert sorted(snapshot_customer_ids(published)) == sorted(expected_ids)
        live_customers = warehouse.scalar("select count(*) from marts.dim_customers")
        assert live_customers == len(expected_ids) + 1
        (alert,) = warehouse.query(
            "select alert_id, severity, check_name, message, details from ops.run_alerts"
        )
        alert_id, severity, check_name, message, details = alert
        assert (severity, check_name) == ("critical", "snapshot_not_published")
        assert "dbt build failed (exit 1)" in message
        assert "unique_dim_customers_customer_id" in message
        assert "the snapshot keeps the build published" in message
        assert "unique_dim_customers_customer_id" in json.loads(details)["failed_nodes"]
        assert message in second_err
        # delivered through every sink
        in_file = [json.loads(line) for line in alerts_file.read_text().splitlines()]
        assert [a["alert_id"] for a in in_file if a["check_name"] == "snapshot_not_published"] == [
            alert_id
        ]
        assert [b["holdfast_alert"]["alert_id"] for b in receiver.bodies].count(alert_id) == 1
        delivered = warehouse.query(
            "select sink from ops.alert_deliveries where alert_id = ? and status = 'delivered' "
            "order by sink",
            [alert_id],
        )
        assert delivered == [("jsonl",), ("log",), ("webhook",)]

        con = duckdb.connect(str(warehouse.db_path))
        con.execute(
            "delete from marts.dim_customers where rowid = (select max(rowid) from "
            "marts.dim_customers where customer_id = (select min(customer_id) "
            "from marts.dim_customers))"
        )
        con.close()
        third = cli.run_pipeline(dbt_args("third"), project=PROJECT_ROOT)

    # repaired: published again; the old alert is not new, so no exit 5
    assert third == ExitCode.OK
    assert sorted(snapshot_customer_ids(published)) == sorted(expected_ids)
    assert published.read_bytes() != first_snapshot
    assert [b["holdfast_alert"]["alert_id"] for b in receiver.bodies].count(alert_id) == 1
