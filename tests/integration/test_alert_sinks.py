"""Alert sinks against real things: HTTP servers on 127.0.0.1 (http.server, and raw
sockets for receivers that trickle or never answer), a file, a DuckDB ledger."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest
from tests.conftest import email_addresses_in

from holdfast.application.alerting import Alert, SinkError, deliver
from holdfast.infrastructure.alert_sinks import (
    DuckDBDeliveryLedger,
    JsonLinesSink,
    LogSink,
    WebhookSink,
    sinks_from_environment,
)


class Receiver:
    """A webhook receiver: answers `statuses` in turn (then 200), counts every request,
    records the JSON bodies it answered 2xx to; a 3xx answer sends `Location: location`."""

    def __init__(self, statuses: list[int] | None = None, location: str | None = None) -> None:
        self.statuses = list(statuses or [])
        self.location = location
        self.bodies: list[dict] = []
        self.raw_bodies: list[bytes] = []
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                receiver.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if 200 <= status < 300:
                    receiver.raw_bodies.append(body)
                    receiver.bodies.append(json.loads(body))
                self.send_response(status)
                if 300 <= status < 400 and receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = _answer
            do_GET = _answer

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


class StallingReceiver:
    """A raw-socket receiver that reads the request, then either trickles an answer that
    never ends (a status line, then one header line every `interval` seconds) or, with
    `trickle=False`, never answers at all. Counts connections."""

    def __init__(self, *, trickle: bool, interval: float = 0.5) -> None:
        self.trickle = trickle
        self.interval = interval
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/hooks/secret-token"
        self._threads: list[threading.Thread] = []

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.2)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            if self.trickle:
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                except OSError:
                    return
            n = 0
            while not self._stop.wait(self.interval):
                if self.trickle:
                    n += 1
                    try:
                        conn.sendall(f"X-Slow-{n}: still coming\r\n".encode())
                    except OSError:
                        return

    def __enter__(self) -> StallingReceiver:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(2)


def _alert(
    alert_id: str = "a1", severity: str = "critical", message: str = "File x refused"
) -> Alert:
    return Alert(alert_id, "2026-01-01T00:00:00Z", severity, "batch_refused", message)


def _ledger_rows(con: duckdb.DuckDBPyConnection, sink: str = "webhook") -> list[tuple]:
    return con.execute(
        "select alert_id, status, attempts, error from ops.alert_deliveries where sink = ? "
        "order by attempted_at, alert_id",
        [sink],
    ).fetchall()


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


def test_a_redirect_is_a_failed_delivery_and_is_never_followed(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with Receiver() as elsewhere:
        other_host = elsewhere.url.replace("127.0.0.1", "localhost")
        with Receiver(statuses=[302], location=other_host) as receiver:
            report = deliver(
                [_alert()],
                [WebhookSink(receiver.url, sleep=lambda s: None)],
                DuckDBDeliveryLedger(con),
            )
    assert elsewhere.requests == 0  # the redirect target never hears of the alert
    assert receiver.requests == 1  # a redirect is not retried either
    ((alert_id, status, attempts, error),) = _ledger_rows(con)
    assert (alert_id, status, attempts) == ("a1", "failed", 1)
    assert "HTTP 302" in error and "not followed" in error
    assert "secret-token" not in error and "localhost" not in error
    assert [o.status for o in report.outcomes] == ["failed"]


def test_a_server_error_then_success_is_delivered_after_a_retry(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with Receiver(statuses=[500]) as receiver:
        deliver(
            [_alert()], [WebhookSink(receiver.url, sleep=lambda s: None)], DuckDBDeliveryLedger(con)
        )
    assert receiver.requests == 2
    assert [b["holdfast_alert"]["alert_id"] for b in receiver.bodies] == ["a1"]
    assert _ledger_rows(con) == [("a1", "delivered", 2, None)]


def test_a_failed_sink_is_not_tried_again_in_the_same_run(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    alerts = [_alert("a1"), _alert("a2", "warning"), _alert("a3")]
    with Receiver(statuses=[503] * 4) as receiver:
        sink = WebhookSink(receiver.url, max_retries=3, sleep=lambda s: None)
        report = deliver(alerts, [sink], DuckDBDeliveryLedger(con))
        assert receiver.requests == 4  # the first alert's four attempts, nothing for the others
        assert [(o.alert_id, o.status) for o in report.outcomes] == [
            ("a1", "failed"),
            ("a2", "skipped"),
            ("a3", "skipped"),
        ]
        rows = _ledger_rows(con)
        assert [r[1:3] for r in rows] == [("failed", 4), ("skipped", 0), ("skipped", 0)]
        assert all("failed earlier in this run" in r[3] and "HTTP 503" in r[3] for r in rows[1:])
        # the next run (a new sink) tries again, and the receiver now answers 200
        deliver(
            alerts, [WebhookSink(receiver.url, sleep=lambda s: None)], DuckDBDeliveryLedger(con)
        )
    assert receiver.requests == 7
    assert sorted(b["holdfast_alert"]["alert_id"] for b in receiver.bodies) == ["a1", "a2", "a3"]


@pytest.mark.parametrize("trickle", [True, False], ids=["trickles-headers", "never-answers"])
def test_a_stalling_receiver_costs_at_most_the_budget_then_a_good_one_gets_the_alerts(
    tmp_path, trickle
):
    budget = 3.0
    env = {
        "HOLDFAST_ALERT_JSONL_PATH": "off",
        "HOLDFAST_ALERT_WEBHOOK_TIMEOUT": "2",
        "HOLDFAST_ALERT_WEBHOOK_BUDGET": str(budget),
    }
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    alerts = [_alert("a1"), _alert("a2", "warning")]
    with StallingReceiver(trickle=trickle) as stalling:
        sinks = sinks_from_environment(
            tmp_path / "alerts.jsonl", {**env, "HOLDFAST_ALERT_WEBHOOK_URL": stalling.url}
        )
        sinks[0] = LogSink(io.StringIO())
        started = time.monotonic()
        report = deliver(alerts, sinks, DuckDBDeliveryLedger(con))
        elapsed = time.monotonic() - started
        assert stalling.connections >= 1
    assert elapsed <= budget + 5.0, elapsed  # the receiver would stall for ever
    assert [(o.alert_id, o.status) for o in report.outcomes if o.sink == "webhook"] == [
        ("a1", "failed"),
        ("a2", "skipped"),
    ]
    assert _ledger_rows(con)[0][3].startswith("webhook failed after")
    with Receiver() as good:
        sinks = sinks_from_environment(
            tmp_path / "alerts.jsonl", {**env, "HOLDFAST_ALERT_WEBHOOK_URL": good.url}
        )
        sinks[0] = LogSink(io.StringIO())
        deliver(alerts, sinks, DuckDBDeliveryLedger(con))
    assert [b["holdfast_alert"]["alert_id"] for b in good.bodies] == ["a1", "a2"]
    assert [r[1] for r in _ledger_rows(con)] == ["failed", "skipped", "delivered", "delivered"]


def test_the_budget_caps_retries_and_backoff_together():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with Receiver(statuses=[503] * 20) as receiver:
        sink = WebhookSink(
            receiver.url,
            max_retries=10,
            initial_backoff_seconds=1.0,
            budget_seconds=5.0,
            sleep=sleep,
            clock=lambda: now[0],
        )
        with pytest.raises(SinkError) as failure:
            sink.send(_alert())
    # backoff 1 + 2 = 3 s; the next (4 s) would not fit in the 2 s left
    assert receiver.requests == 3 == failure.value.attempts
    assert now[0] == 3.0
    assert sink.remaining_budget() == 2.0


def test_slack_control_syntax_in_data_arrives_escaped():
    message = "File <!channel> <!here> <@U123> <http://evil.example|click> & co refused"
    with Receiver() as receiver:
        WebhookSink(receiver.url, sleep=lambda s: None).send(_alert(message=message))
    (body,) = receiver.bodies
    text = body["text"]
    assert text.endswith(
        "File &lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; "
        "&lt;http://evil.example|click&gt; &amp; co refused"
    )
    assert "<" not in text and ">" not in text
    assert body["holdfast_alert"]["message"] == message  # the stored alert, for machines


def test_every_sink_gets_alerts_with_email_addresses_masked(tmp_path):
    message = 'File jane@example.com.jsonl refused; line "x\\u0040example.org"'
    log = io.StringIO()
    jsonl = tmp_path / "alerts.jsonl"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with Receiver() as receiver:
        deliver(
            [_alert(message=message)],
            [LogSink(log), JsonLinesSink(jsonl), WebhookSink(receiver.url, sleep=lambda s: None)],
            DuckDBDeliveryLedger(con),
        )
    assert email_addresses_in(message) == ["jane@example.com.jsonl", "x@example.org"]
    for text in (log.getvalue(), jsonl.read_text(), receiver.raw_bodies[0].decode()):
        assert email_addresses_in(text) == [], text
        assert "email&gt;" in text or "<email>" in text, text


def test_sinks_from_environment_reads_the_budget_and_refuses_nonsense(tmp_path):
    default = tmp_path / "alerts.jsonl"
    url = {"HOLDFAST_ALERT_WEBHOOK_URL": "https://h.example/x"}
    assert sinks_from_environment(default, url)[-1].budget_seconds == 30.0
    sink = sinks_from_environment(default, {**url, "HOLDFAST_ALERT_WEBHOOK_BUDGET": "12.5"})[-1]
    assert sink.budget_seconds == 12.5
    for bad in ("0", "-1", "inf", "nan", "soon"):
        with pytest.raises(ValueError, match="HOLDFAST_ALERT_WEBHOOK_BUDGET"):
            sinks_from_environment(default, {**url, "HOLDFAST_ALERT_WEBHOOK_BUDGET": bad})
