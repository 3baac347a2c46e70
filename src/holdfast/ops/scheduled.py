"""What `holdfast run` does after `dbt build`, still holding the run lock:
deliver new alerts to the sinks, publish the analysts' snapshot, write the report.

The snapshot is replaced only after a build that passed (dbt exited 0: every
model built and every error-severity test passed). After a failed build the
last good snapshot stays, and a critical `snapshot_not_published` alert
(ops.run_alerts, delivered with the others) says why: dbt's exit code and
the nodes that failed, from dbt's run_results.json.

Paths (relative ones are relative to the project):
- HOLDFAST_PUBLISHED_PATH: the snapshot (default data/warehouse/holdfast_published.duckdb)
- HOLDFAST_REPORT_PATH: the report (default data/warehouse/holdfast_report.html)
- HOLDFAST_ALERT_JSONL_PATH: the alert file (default data/warehouse/holdfast_alerts.jsonl;
  'off' disables it); HOLDFAST_ALERT_WEBHOOK_URL: the webhook (unset: no webhook);
  HOLDFAST_ALERT_WEBHOOK_BUDGET: the webhook's total time per run (default 30 s).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from holdfast import environment
from holdfast.application.alerting import Alert, deliver
from holdfast.infrastructure.alert_sinks import (
    DuckDBDeliveryLedger,
    read_alerts,
    sinks_from_environment,
)
from holdfast.infrastructure.run_alerts import read_run_alerts, record_run_alert
from holdfast.ops.publish import publish_snapshot
from holdfast.ops.report import write_report as render_report_file


@dataclass(frozen=True)
class Build:
    """How `dbt build` ended: its exit code, and where its run_results.json is."""

    returncode: int
    started_at: float  # time.time() just before dbt started
    run_results: Path | None = None

    @property
    def passed(self) -> bool:
        return self.returncode == 0


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
    """alert_ids in the warehouse now, dbt's and the runner's (read-only; empty when there is
    none yet)."""
    if not warehouse.exists():
        return set()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {a.alert_id for a in read_alerts(con) + read_run_alerts(con)}
    finally:
        con.close()


def deliver_alerts(project: Path, warehouse: Path) -> list[Alert]:
    """Send every alert not yet delivered to each sink; record outcomes in ops.alert_deliveries."""
    sinks = sinks_from_environment(environment.alert_jsonl_path(project))
    con = duckdb.connect(str(warehouse))
    try:
        alerts = read_alerts(con) + read_run_alerts(con)
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
    target = out if out is not None else environment.report_path(project)
    return render_report_file(warehouse, target)


def run_results_path(project: Path, dbt_args: Sequence[str]) -> Path:
    """dbt's run_results.json for `dbt_args` (--target-path, DBT_TARGET_PATH, else target/)."""
    target = environment.dbt_target_path()
    args = list(dbt_args)
    for i, arg in enumerate(args):
        if arg == "--target-path" and i + 1 < len(args):
            target = args[i + 1]
        elif arg.startswith("--target-path="):
            target = arg.split("=", 1)[1]
    path = Path(target)
    return (path if path.is_absolute() else project / path) / "run_results.json"


def failed_nodes(build: Build, limit: int = 5) -> tuple[list[str], str | None]:
    """Up to `limit` names of the nodes that errored or failed in this build, and dbt's
    invocation id; nothing when run_results.json is missing, unreadable or older than the build."""
    path = build.run_results
    try:
        if path is None or path.stat().st_mtime < build.started_at:
            return [], None
        document = json.loads(path.read_text(encoding="utf-8"))
        failed = [  # unique_id: <type>.<package>.<name>[.<hash of a test's arguments>]
            (str(result.get("unique_id", "?")).split(".")[2:3] or ["?"])[0]
            for result in document.get("results", [])
            if result.get("status") in ("error", "fail", "runtime error")
        ]
        if len(failed) > limit:
            failed = [*failed[:limit], f"{len(failed) - limit} more"]
        return failed, document.get("metadata", {}).get("invocation_id")
    except (OSError, ValueError, AttributeError):
        return [], None


def snapshot_not_published_alert(build: Build, snapshot: Path) -> Alert:
    """The alert that says the snapshot was left as it was, and why."""
    failed, invocation_id = failed_nodes(build)
    why = f"dbt build failed (exit {build.returncode})"
    if failed:
        why += f"; failed: {', '.join(failed)}"
    if snapshot.exists():
        published = datetime.fromtimestamp(snapshot.stat().st_mtime, UTC)
        kept = f"the snapshot keeps the build published {published:%Y-%m-%d %H:%M} UTC"
    else:
        kept = "no snapshot has been published yet"
    now = datetime.now(UTC)
    return Alert(
        alert_id=uuid.uuid4().hex,
        raised_at=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        severity="critical",
        check_name="snapshot_not_published",
        message=f"{why}: the analysts' snapshot was not replaced; {kept}",
        details=json.dumps({"dbt_exit_code": build.returncode, "failed_nodes": failed}),
        run_id=invocation_id,
    )


def record_snapshot_not_published(warehouse: Path, alert: Alert) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        record_run_alert(con, alert)
    finally:
        con.close()


def after_build(
    project: Path, warehouse: Path, known_alerts: set[str], build: Build | None = None
) -> AfterBuild:
    """Publish (only after a passed build; else raise snapshot_not_published), deliver,
    report. Failures are collected, never raised."""
    build = build if build is not None else Build(returncode=0, started_at=0.0)
    result = AfterBuild()
    if not warehouse.exists():  # dbt failed before creating it: nothing to deliver or show
        print(f"holdfast run: no warehouse at {warehouse}; nothing published", file=sys.stderr)
        return result
    target = environment.published_path(project)
    if not build.passed:
        alert = snapshot_not_published_alert(build, target)
        print(f"holdfast run: {alert.message}", file=sys.stderr)
        try:
            record_snapshot_not_published(warehouse, alert)
        except Exception as error:
            result.problems.append(f"snapshot alert: {type(error).__name__}: {error}")
    try:
        alerts = deliver_alerts(project, warehouse)
        result.new_alerts = [a for a in alerts if a.alert_id not in known_alerts]
    except Exception as error:  # the sinks never raise; this is the database
        result.problems.append(f"alert delivery: {type(error).__name__}: {error}")
    if build.passed:  # after delivery: the snapshot's ops.alert_deliveries include this run's
        try:
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
    if build.passed and result.new_critical:
        print(
            f"holdfast run: {len(result.new_critical)} new critical alert(s); exit code 5",
            file=sys.stderr,
        )
    return result
