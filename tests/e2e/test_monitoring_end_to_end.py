"""End to end: a demo-like run, then a run with a bad batch, through `holdfast run`.

The bad batch's alerts must show in ops_alerts, reach a real webhook receiver
on 127.0.0.1, and appear in the HTML report, which headless Chromium renders
(screenshot saved; the DOM is checked for the charts and key numbers).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.conftest import PROJECT_ROOT, make_warehouse
from tests.integration.test_alert_sinks import Receiver

from holdfast import cli
from holdfast.datagen.synthetic import generate_landing
from holdfast.ops.exit_codes import ExitCode

pytestmark = pytest.mark.e2e

SCREENSHOT = Path(os.environ.get("HOLDFAST_SCREENSHOT", "/tmp/holdfast-report-screenshot.png"))


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("headless Chromium is required for the report test (.ci/run installs it)")


def _bad_batch(landing: Path) -> None:
    first = (landing / "customers" / "customers_0001.jsonl").read_text().splitlines()
    lines = first[:15] + ["{not json"] * 25  # 62.5% invalid, and far fewer lines than usual
    (landing / "customers" / "customers_0004.jsonl").write_text("\n".join(lines) + "\n")


def test_a_bad_batch_alerts_in_the_table_the_webhook_and_the_report(tmp_path, monkeypatch):
    warehouse = make_warehouse(tmp_path / "w", name="holdfast")
    generate_landing(
        warehouse.landing_dir,
        customers=400,
        seed=11,
        products=200,
        batches=3,
        invalid_share=0.01,
        dirty_batch_share=0.08,
    )
    report = tmp_path / "report.html"
    published = tmp_path / "published" / "holdfast_published.duckdb"
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(warehouse.db_path))
    monkeypatch.setenv("HOLDFAST_PUBLISHED_PATH", str(published))
    monkeypatch.setenv("HOLDFAST_REPORT_PATH", str(report))
    monkeypatch.setenv("HOLDFAST_ALERT_JSONL_PATH", str(tmp_path / "alerts.jsonl"))
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
        first = cli.run_pipeline(dbt_args, project=PROJECT_ROOT)
        first_alerts = {b["holdfast_alert"]["alert_id"] for b in receiver.bodies}
        _bad_batch(warehouse.landing_dir)
        second = cli.run_pipeline(dbt_args, project=PROJECT_ROOT)
        third = cli.run_pipeline(dbt_args, project=PROJECT_ROOT)  # nothing new

    assert first == ExitCode.OK  # the demo's dirty batch is a warning
    assert second == ExitCode.CRITICAL_ALERTS
    assert third == ExitCode.OK

    alerts = warehouse.query(
        "select alert_id, check_name, severity, message from ops.ops_alerts "
        "where batch_id = 'customers_0004' order by check_name"
    )
    checks = {(c, s) for _, c, s, _ in alerts}
    assert ("schema_error_rate", "critical") in checks
    assert ("record_count_anomaly", "warning") in checks
    delivered = [b["holdfast_alert"]["alert_id"] for b in receiver.bodies]
    assert len(delivered) == len(set(delivered))  # each alert sent once over three runs
    assert {a for a, *_ in alerts} <= set(delivered) - first_alerts
    assert all("secret-token" not in line for line in (tmp_path / "alerts.jsonl").open())

    # telemetry and metrics of the runs
    assert (
        warehouse.scalar(
            "select count(distinct run_id) from ops.ops_step_telemetry "
            "where step = 'embed_products'"
        )
        == 3
    )
    assert warehouse.scalar("select count(*) from ops.mon_distribution_shift where psi >= 0") > 0
    log_text = (tmp_path / "logs" / "dbt.log").read_text()
    assert "embed_products: batch 1 of ~1, 200 of 200 rows (100%)" in log_text

    # the published snapshot opens read-only and has the alerts
    import duckdb

    snapshot = duckdb.connect(str(published), read_only=True)
    try:
        assert snapshot.execute(
            "select count(*) from ops.ops_alerts where batch_id = 'customers_0004'"
        ).fetchall()[0][0] == len(alerts)
    finally:
        snapshot.close()

    # the report, rendered by headless Chromium
    browser = _chromium()
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [*common, "--window-size=1400,2600", f"--screenshot={SCREENSHOT}", report.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"report screenshot: {SCREENSHOT}")
    assert SCREENSHOT.stat().st_size > 20_000
    dom = subprocess.run(
        [*common, "--dump-dom", report.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    for chart in (
        "batch-volumes",
        "error-rate",
        "latency-recommend",
        "confidence-histogram",
        "psi",
        "segment-sizes",
        "dead-letter-queue",
        "step-runtimes",
        "step-memory",
    ):
        assert f'data-chart="{chart}"' in dom, chart
    assert dom.count('class="bar"') >= 10 and 'class="threshold"' in dom
    assert "customers_0004" in dom and "62.5% of 40 lines failed validation" in dom
    n_critical = warehouse.scalar("select count(*) from ops.ops_alerts where severity = 'critical'")
    assert f'id="kn-alerts-critical"><div class="value">{n_critical}</div>' in dom
