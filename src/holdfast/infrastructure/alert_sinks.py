"""Alert sinks (log, JSON-lines file, webhook) and the delivery ledger in DuckDB.

Secrets: the webhook URL comes from HOLDFAST_ALERT_WEBHOOK_URL only and never
appears in a message, a log line or the ledger (errors record the HTTP status
or the exception type, not the URL).

The webhook is honest and bounded: only a 2xx answer is a delivery; a redirect
(3xx) is a failed delivery and is never followed, so an alert cannot end up
at another host; every request has a wall-clock deadline on the whole
exchange (connect, send, status line, headers, body), so a receiver that
trickles its answer or never answers costs at most the attempt's timeout; and
the sink has a total budget per run (HOLDFAST_ALERT_WEBHOOK_BUDGET, 30 s)
that caps attempts and backoff together.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

import duckdb
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from holdfast import environment
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


class _Retryable(Exception):
    """A failure worth another attempt: no connection, a timeout, 5xx, 408, 429."""


class _Final(Exception):
    """A failure another attempt will not fix: a refusal (4xx), a redirect, no budget left."""


RESPONSE_BODY_LIMIT = 64 * 1024


class WebhookSink:
    """POSTs a Slack-compatible JSON body; retries (tenacity) with exponential backoff within
    a total time budget per run; only a 2xx is a delivery; redirects are not followed.

    One instance serves one run: the budget starts with its first request.
    """

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 5.0,
        max_retries: int = 3,
        initial_backoff_seconds: float = 0.5,
        budget_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the webhook URL must be an http(s) URL with a host")
        self._url = url
        self._parts = parts
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.initial_backoff_seconds = initial_backoff_seconds
        self.budget_seconds = budget_seconds
        self.sleep = sleep
        self.clock = clock
        self._budget_ends: float | None = None

    def __repr__(self) -> str:  # never show the URL
        return (
            f"WebhookSink(timeout={self.timeout_seconds}s, retries={self.max_retries}, "
            f"budget={self.budget_seconds}s)"
        )

    def remaining_budget(self) -> float:
        """Seconds of this run's budget left (the full budget before the first request)."""
        if self._budget_ends is None:
            return self.budget_seconds
        return max(0.0, self._budget_ends - self.clock())

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        host, port = self._parts.hostname or "", self._parts.port
        if self._parts.scheme == "https":
            return http.client.HTTPSConnection(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _exchange(self, connection: http.client.HTTPConnection, body: bytes) -> int:
        path = self._parts.path or "/"
        if self._parts.query:
            path = f"{path}?{self._parts.query}"
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": "holdfast-alerts"},
        )
        response = connection.getresponse()
        response.read(RESPONSE_BODY_LIMIT)
        return response.status

    def _post(self, body: bytes) -> None:
        """One attempt, bounded by a wall-clock deadline on the whole exchange: it runs in a
        worker thread, and when the deadline passes the socket is shut down under it (a
        per-read socket timeout alone does not bound a receiver that trickles bytes)."""
        limit = min(self.timeout_seconds, self.remaining_budget())
        if limit <= 0:
            raise _Final("the run's time budget for this sink is spent")
        connection = self._connection(limit)
        outcome: dict[str, object] = {}

        def attempt() -> None:
            try:
                outcome["status"] = self._exchange(connection, body)
            except BaseException as error:  # handed to the caller's thread
                outcome["error"] = error

        worker = threading.Thread(target=attempt, name="holdfast-webhook", daemon=True)
        worker.start()
        worker.join(limit)
        if worker.is_alive():
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            connection.close()
            worker.join(1.0)
            raise _Retryable(f"no complete answer within {limit:.1f} s")
        connection.close()
        if "error" in outcome:
            error = outcome["error"]
            if isinstance(error, (OSError, http.client.HTTPException)):
                raise _Retryable(type(error).__name__)
            raise _Final(type(error).__name__)
        status = int(outcome["status"])  # type: ignore[call-overload]
        if 200 <= status < 300:
            return
        if status >= 500 or status in (408, 429):
            raise _Retryable(f"HTTP {status}")
        if 300 <= status < 400:
            raise _Final(f"HTTP {status}; redirects are not followed")
        raise _Final(f"HTTP {status}")

    def _backoff(self, attempt_number: int) -> float:
        return self.initial_backoff_seconds * 2 ** (attempt_number - 1)

    def _stop(self, state: RetryCallState) -> bool:
        """Stop after max_retries + 1 attempts, or when the budget cannot pay for the
        backoff and another attempt."""
        if state.attempt_number >= self.max_retries + 1:
            return True
        return self.remaining_budget() <= self._backoff(state.attempt_number)

    def _wait(self, state: RetryCallState) -> float:
        return self._backoff(state.attempt_number)

    def send(self, alert: Alert) -> int:
        if self._budget_ends is None:
            self._budget_ends = self.clock() + self.budget_seconds
        body = json.dumps(slack_payload(alert)).encode("utf-8")
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            self._post(body)

        retrying = Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            retrying(attempt)
        except _Final as error:
            raise SinkError(
                f"webhook did not take the alert ({error}; {attempts} attempt(s))", attempts
            ) from None
        except _Retryable as error:
            raise SinkError(
                f"webhook failed after {attempts} attempt(s) ({error})", attempts
            ) from None
        return attempts


def sinks_from_environment(
    default_jsonl: Path, env: Mapping[str, str] | None = None
) -> list[AlertSink]:
    """The log always; the JSON-lines file (`default_jsonl` unless
    HOLDFAST_ALERT_JSONL_PATH names another or is 'off'); the webhook when
    HOLDFAST_ALERT_WEBHOOK_URL is set. The variables are the process's, or `env`'s;
    holdfast.environment.alert_sinks reads and checks them."""
    settings = environment.alert_sinks(env)
    sinks: list[AlertSink] = [LogSink()]
    if settings.jsonl_enabled:
        sinks.append(JsonLinesSink(settings.jsonl_path or default_jsonl))
    webhook = settings.webhook
    if webhook is not None:
        sinks.append(
            WebhookSink(
                webhook.url,
                timeout_seconds=webhook.timeout_seconds,
                max_retries=webhook.max_retries,
                initial_backoff_seconds=webhook.initial_backoff_seconds,
                budget_seconds=webhook.budget_seconds,
            )
        )
    return sinks


class DuckDBDeliveryLedger:
    """ops.alert_deliveries: one row per alert, sink and run that tried it: `delivered`,
    `failed` (attempts, the status or exception type) or `skipped` (the sink had already
    failed in that run; attempts 0)."""

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


def read_alerts(con: duckdb.DuckDBPyConnection, table: str = "ops_alerts") -> list[Alert]:
    """Every row of an alerts table of the ops schema (ops_alerts, dbt's; run_alerts, the
    runner's: same columns), oldest first; empty when the table does not exist yet."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = ?",
        [table],
    ).fetchall()[0][0]
    if not exists:
        return []
    rows = con.execute(
        "select alert_id, strftime(raised_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'), "
        "severity, check_name, message, details::varchar, batch_id, run_id "
        f'from ops."{table}" order by raised_at, alert_id'
    ).fetchall()
    return [Alert(*row) for row in rows]
