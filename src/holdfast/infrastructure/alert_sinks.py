"""Alert sinks (log, JSON-lines file, webhook) and the delivery ledger in DuckDB.

Secrets: the webhook URL comes from HOLDFAST_ALERT_WEBHOOK_URL only and never
appears in a message, a log line or the ledger (errors record the HTTP status
or the exception type, not the URL).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import duckdb

from holdfast.application.alerting import (
    Alert,
    AlertSink,
    DeliveryOutcome,
    SinkError,
    slack_payload,
)

LEDGER_TABLE = "ops.alert_deliveries"


class LogSink:
    """Writes each alert as one line to a stream (stderr by default)."""

    name = "log"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, alert: Alert) -> int:
        stream = self.stream or sys.stderr
        print(f"holdfast alert [{alert.severity}] {alert.check_name}: {alert.message}", file=stream)
        return 1


class JsonLinesSink:
    """Appends each alert as one JSON object per line to a file."""

    name = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, alert: Alert) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(json.dumps(alert.as_dict(), sort_keys=True) + "\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            raise SinkError(f"cannot append to the alert file: {error.strerror}") from None
        return 1


class WebhookSink:
    """POSTs a Slack-compatible JSON body; retries with exponential backoff."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 5.0,
        max_retries: int = 3,
        initial_backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.initial_backoff_seconds = initial_backoff_seconds
        self.sleep = sleep

    def __repr__(self) -> str:  # never show the URL
        return f"WebhookSink(timeout={self.timeout_seconds}s, retries={self.max_retries})"

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(
            self._url,
            data=body,
            headers={"Content-Type": "application/json", "User-Agent": "holdfast-alerts"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            response.read()

    def send(self, alert: Alert) -> int:
        body = json.dumps(slack_payload(alert)).encode("utf-8")
        last = "unknown error"
        for attempt in range(1, self.max_retries + 2):
            try:
                self._post(body)
                return attempt
            except urllib.error.HTTPError as error:
                last = f"HTTP {error.code}"
                if 400 <= error.code < 500 and error.code not in (408, 429):
                    raise SinkError(f"webhook refused the alert ({last})", attempt) from None
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                reason = getattr(error, "reason", error)
                last = f"{type(reason).__name__}"
            if attempt <= self.max_retries:
                self.sleep(self.initial_backoff_seconds * 2 ** (attempt - 1))
        raise SinkError(
            f"webhook failed after {self.max_retries + 1} attempts ({last})", self.max_retries + 1
        )


def sinks_from_environment(
    default_jsonl: Path, env: dict[str, str] | None = None
) -> list[AlertSink]:
    """The log always; the JSON-lines file (HOLDFAST_ALERT_JSONL_PATH, else `default_jsonl`;
    'off' disables it); the webhook when HOLDFAST_ALERT_WEBHOOK_URL is set."""
    env = dict(os.environ) if env is None else env
    sinks: list[AlertSink] = [LogSink()]
    jsonl = env.get("HOLDFAST_ALERT_JSONL_PATH", "").strip()
    if jsonl.lower() != "off":
        sinks.append(JsonLinesSink(Path(jsonl) if jsonl else default_jsonl))
    url = env.get("HOLDFAST_ALERT_WEBHOOK_URL", "").strip()
    if url:
        if not url.startswith(("http://", "https://")):
            raise ValueError("HOLDFAST_ALERT_WEBHOOK_URL must be an http(s) URL")
        sinks.append(
            WebhookSink(
                url,
                timeout_seconds=float(env.get("HOLDFAST_ALERT_WEBHOOK_TIMEOUT", "5")),
                max_retries=int(env.get("HOLDFAST_ALERT_WEBHOOK_RETRIES", "3")),
                initial_backoff_seconds=float(env.get("HOLDFAST_ALERT_WEBHOOK_BACKOFF", "0.5")),
            )
        )
    return sinks


class DuckDBDeliveryLedger:
    """ops.alert_deliveries: one row per delivery attempt of an alert to a sink."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        con.execute("create schema if not exists ops")
        con.execute(
            f"""
            create table if not exists {LEDGER_TABLE} (
                alert_id varchar not null,
                sink varchar not null,
                status varchar not null,
                attempts integer not null,
                error varchar,
                attempted_at timestamptz not null default now()
            )
            """
        )

    def delivered(self, sink: str) -> set[str]:
        rows = self.con.execute(
            f"select distinct alert_id from {LEDGER_TABLE} where sink = ? and status = 'delivered'",
            [sink],
        ).fetchall()
        return {r[0] for r in rows}

    def record(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        if not outcomes:
            return
        self.con.executemany(
            f"insert into {LEDGER_TABLE} (alert_id, sink, status, attempts, error) "
            "values (?, ?, ?, ?, ?)",
            [(o.alert_id, o.sink, o.status, o.attempts, o.error) for o in outcomes],
        )


def read_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Every row of ops.ops_alerts (empty when the table does not exist yet)."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'ops_alerts'"
    ).fetchall()[0][0]
    if not exists:
        return []
    rows = con.execute(
        "select alert_id, strftime(raised_at, '%Y-%m-%dT%H:%M:%S.%fZ'), severity, check_name, "
        "message, details::varchar, batch_id, run_id from ops.ops_alerts "
        "order by raised_at, alert_id"
    ).fetchall()
    return [Alert(*row) for row in rows]
