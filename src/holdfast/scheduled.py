"""What `holdfast run` does after `dbt build`, still holding the run lock:
deliver new alerts to the sinks, publish the analysts' snapshot, write the report.

Paths (relative ones are relative to the project):
- HOLDFAST_PUBLISHED_PATH: the snapshot (default data/warehouse/holdfast_published.duckdb)
- HOLDFAST_REPORT_PATH: the report (default data/warehouse/holdfast_report.html)
- HOLDFAST_ALERT_JSONL_PATH: the alert file (default data/warehouse/holdfast_alerts.jsonl;
  'off' disables it); HOLDFAST_ALERT_WEBHOOK_URL: the webhook (unset: no webhook);
  HOLDFAST_ALERT_WEBHOOK_BUDGET: the webhook's total time per run (default 30 s).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from holdfast.application.alerting import Alert, deliver
from holdfast.infrastructure.alert_sinks import (
    DuckDBDeliveryLedger,
    read_alerts,
    sinks_from_environment,
)
from holdfast.publish import DEFAULT_PUBLISHED_PATH, publish_snapshot
from holdfast.report import write_report as render_report_file

DEFAULT_REPORT_PATH = "data/warehouse/holdfast_report.html"
DEFAULT_ALERTS_PATH = "data/warehouse/holdfast_alerts.jsonl"


def _path(project: Path, env_name: str, default: str) -> Path:
    path = Path(os.environ.get(env_name, "").strip() or default)
    return path if path.is_absolute() else project / path


@dataclass
class AfterBuild:
    new_alerts: list[Alert] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def new_critical(self) -> list[Alert]:
        return [a for a in self.new_alerts if a.severity == "critical"]

    @property
    def ok(self) -> bool:
        return not self.problems


def alert_ids(warehouse: Path) -> set[str]:
    """alert_ids in the warehouse now (read-only; empty when there is none yet)."""
    if not warehouse.exists():
        return set()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {a.alert_id for a in read_alerts(con)}
    finally:
        con.close()


def deliver_alerts(project: Path, warehouse: Path) -> list[Alert]:
    """Send every alert not yet delivered to each sink; record outcomes in ops.alert_deliveries."""
    sinks = sinks_from_environment(_path(project, "HOLDFAST_ALERT_JSONL_PATH", DEFAULT_ALERTS_PATH))
    con = duckdb.connect(str(warehouse))
    try:
        alerts = read_alerts(con)
        report = deliver(alerts, sinks, DuckDBDeliveryLedger(con))
    finally:
        con.close()
    for outcome in report.failed:
        print(
            f"holdfast run: alert {outcome.alert_id[:12]} not delivered to {outcome.sink}: "
            f"{outcome.error} (retried next run)",
            file=sys.stderr,
        )
    skipped: dict[str, int] = {}
    for outcome in report.skipped:
        skipped[outcome.sink] = skipped.get(outcome.sink, 0) + 1
    for sink, count in sorted(skipped.items()):
        print(
            f"holdfast run: {count} more alert(s) not sent to {sink}, which failed in this run "
            "(tried next run)",
            file=sys.stderr,
        )
    return alerts


def write_report(project: Path, warehouse: Path, out: Path | None = None) -> Path:
    """Write the HTML report of `warehouse` (default HOLDFAST_REPORT_PATH)."""
    target = out if out is not None else _path(project, "HOLDFAST_REPORT_PATH", DEFAULT_REPORT_PATH)
    return render_report_file(warehouse, target)


def after_build(project: Path, warehouse: Path, known_alerts: set[str]) -> AfterBuild:
    """Deliver, publish, report. Failures are collected, never raised."""
    result = AfterBuild()
    if not warehouse.exists():  # dbt failed before creating it: nothing to deliver or show
        print(f"holdfast run: no warehouse at {warehouse}; nothing published", file=sys.stderr)
        return result
    try:
        alerts = deliver_alerts(project, warehouse)
        result.new_alerts = [a for a in alerts if a.alert_id not in known_alerts]
    except Exception as error:  # the sinks never raise; this is the database
        result.problems.append(f"alert delivery: {type(error).__name__}: {error}")
    try:
        target = _path(project, "HOLDFAST_PUBLISHED_PATH", DEFAULT_PUBLISHED_PATH)
        counts = publish_snapshot(warehouse, target)
        print(f"holdfast run: published {len(counts)} tables to {target}")
    except Exception as error:
        result.problems.append(f"publish: {type(error).__name__}: {error}")
    try:
        print(f"holdfast run: report written to {write_report(project, warehouse)}")
    except Exception as error:
        result.problems.append(f"report: {type(error).__name__}: {error}")
    for problem in result.problems:
        print(f"holdfast run: {problem}", file=sys.stderr)
    if result.new_critical:
        print(
            f"holdfast run: {len(result.new_critical)} new critical alert(s); exit code 5",
            file=sys.stderr,
        )
    return result
