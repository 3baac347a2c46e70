"""Alerts the runner raises itself, beside the ones dbt's ops_alerts holds.

`holdfast run` raises one when a build failed and the analysts' snapshot was
therefore left as it was (`snapshot_not_published`). Such an alert is not a
row dbt can compute, so it is kept in `ops.run_alerts` (same columns as
ops_alerts) and delivered to the sinks with the others: recorded first, then
delivered, so a sink that fails gets it again on the next run.
"""

from __future__ import annotations

import duckdb

from holdfast.application.alerting import Alert
from holdfast.infrastructure.alert_sinks import read_alerts

RUN_ALERTS_TABLE = "ops.run_alerts"


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(
        f"""
        create table if not exists {RUN_ALERTS_TABLE} (
            alert_id varchar primary key,
            raised_at timestamptz not null,
            severity varchar not null,
            check_name varchar not null,
            message varchar not null,
            details varchar,
            batch_id varchar,
            run_id varchar
        )
        """
    )


def record_run_alert(con: duckdb.DuckDBPyConnection, alert: Alert) -> None:
    """Keep `alert` in ops.run_alerts (once per alert_id)."""
    _ensure_table(con)
    con.execute(
        f"insert into {RUN_ALERTS_TABLE} values (?, ?::timestamptz, ?, ?, ?, ?, ?, ?) "
        "on conflict do nothing",
        [
            alert.alert_id,
            alert.raised_at,
            alert.severity,
            alert.check_name,
            alert.message,
            alert.details,
            alert.batch_id,
            alert.run_id,
        ],
    )


def read_run_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Every row of ops.run_alerts (empty when none was ever raised)."""
    return read_alerts(con, "run_alerts")
