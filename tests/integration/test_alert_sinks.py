"""Alert sinks against real things: an HTTP server on 127.0.0.1, a file, a DuckDB ledger."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from holdfast.application.alerting import Alert, SinkError, deliver
from holdfast.infrastructure.alert_sinks import (
    DuckDBDeliveryLedger,
    JsonLinesSink,
    LogSink,
    WebhookSink,
    sinks_from_environment,
)


class Receiver:
    """A webhook receiver: answers `statuses` in turn (then 200), records JSON bodies."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _alert(alert_id: str = "a1", severity: str = "critical") -> Alert:
    return Alert(alert_id, "2026-01-01T00:00:00Z", severity, "batch_refused", "File x refused")


def test_webhook_posts_slack_compatible_json():
    with Receiver() as receiver:
        attempts = WebhookSink(receiver.url, sleep=lambda s: None).send(_alert())
    assert attempts == 1
    (body,) = receiver.bodies
    assert body["text"] == ":rotating_light: holdfast [critical] batch_refused: File x refused"
    assert body["holdfast_alert"]["alert_id"] == "a1"


def test_webhook_retries_server_errors_with_exponential_backoff():
    waits: list[float] = []
    with Receiver(statuses=[503, 500]) as receiver:
        sink = WebhookSink(
            receiver.url, max_retries=3, initial_backoff_seconds=0.5, sleep=waits.append
        )
        assert sink.send(_alert()) == 3
    assert waits == [0.5, 1.0]
    assert len(receiver.bodies) == 1


def test_a_webhook_that_keeps_failing_raises_a_sink_error_without_the_url():
    with Receiver(statuses=[503] * 10) as receiver:
        sink = WebhookSink(receiver.url, max_retries=2, sleep=lambda s: None)
        with pytest.raises(SinkError) as failure:
            sink.send(_alert())
    assert failure.value.attempts == 3
    assert "HTTP 503" in str(failure.value)
    assert "secret-token" not in str(failure.value) and "secret-token" not in repr(sink)


def test_an_unreachable_webhook_times_out_and_is_recorded_as_failed(tmp_path):
    with Receiver() as receiver:
        url = receiver.url  # the server is closed after this block: connection refused
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ledger = DuckDBDeliveryLedger(con)
    log = io.StringIO()
    report = deliver(
        [_alert()],
        [LogSink(log), WebhookSink(url, timeout_seconds=1, max_retries=1, sleep=lambda s: None)],
        ledger,
    )
    rows = con.execute(
        "select sink, status, attempts, error from ops.alert_deliveries order by sink"
    ).fetchall()
    assert rows[0][:3] == ("log", "delivered", 1)
    assert rows[1][:3] == ("webhook", "failed", 2)
    assert "secret-token" not in rows[1][3] and "127.0.0.1" not in rows[1][3]
    assert "holdfast alert [critical] batch_refused" in log.getvalue()
    assert len(report.failed) == 1


def test_delivery_ledger_in_duckdb_delivers_once_across_connections(tmp_path):
    path = tmp_path / "w.duckdb"
    jsonl = tmp_path / "alerts" / "alerts.jsonl"
    with Receiver() as receiver:
        for _ in range(2):
            con = duckdb.connect(str(path))
            deliver(
                [_alert("a1"), _alert("a2", "warning")],
                [JsonLinesSink(jsonl), WebhookSink(receiver.url, sleep=lambda s: None)],
                DuckDBDeliveryLedger(con),
            )
            con.close()
    assert [b["holdfast_alert"]["alert_id"] for b in receiver.bodies] == ["a1", "a2"]
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [line["alert_id"] for line in lines] == ["a1", "a2"]


def test_sinks_from_environment(tmp_path):
    default = tmp_path / "alerts.jsonl"
    assert [s.name for s in sinks_from_environment(default, {})] == ["log", "jsonl"]
    assert [
        s.name for s in sinks_from_environment(default, {"HOLDFAST_ALERT_JSONL_PATH": "off"})
    ] == ["log"]
    sinks = sinks_from_environment(default, {"HOLDFAST_ALERT_WEBHOOK_URL": "https://h.example/x"})
    assert [s.name for s in sinks] == ["log", "jsonl", "webhook"]
    with pytest.raises(ValueError, match="http"):
        sinks_from_environment(default, {"HOLDFAST_ALERT_WEBHOOK_URL": "file:///etc/passwd"})
