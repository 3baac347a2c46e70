"""application.alerting: each alert reaches each sink once; a failing sink never raises."""

from __future__ import annotations

from holdfast.application.alerting import (
    Alert,
    DeliveryOutcome,
    SinkError,
    deliver,
    slack_escape,
    slack_payload,
    worst_severity,
)
from holdfast.domain.privacy import mask_emails


def _alert(alert_id: str, severity: str = "warning", raised_at: str = "2026-01-01") -> Alert:
    return Alert(alert_id, raised_at, severity, "schema_error_rate", f"message {alert_id}")


class FakeLedger:
    def __init__(self) -> None:
        self.rows: list[DeliveryOutcome] = []

    def delivered(self, sink: str) -> set[str]:
        return {o.alert_id for o in self.rows if o.sink == sink and o.status == "delivered"}

    def record(self, outcomes) -> None:
        self.rows.extend(outcomes)


class RecordingSink:
    def __init__(self, name: str, fail_times: int = 0, crash: bool = False) -> None:
        self.name = name
        self.sent: list[str] = []
        self.fail_times = fail_times
        self.crash = crash

    def send(self, alert: Alert) -> int:
        if self.crash:
            raise KeyError("bug in a sink")
        if self.fail_times > 0:
            self.fail_times -= 1
            raise SinkError("webhook failed after 4 attempts (HTTP 503)", attempts=4)
        self.sent.append(alert.alert_id)
        return 1


def test_each_alert_is_delivered_once_per_sink_across_runs():
    ledger, log, hook = FakeLedger(), RecordingSink("log"), RecordingSink("webhook")
    deliver([_alert("b", raised_at="2026-01-02"), _alert("a")], [log, hook], ledger)
    deliver([_alert("a"), _alert("b", raised_at="2026-01-02"), _alert("c")], [log, hook], ledger)
    assert log.sent == ["a", "b", "c"]  # oldest first, then only the new one
    assert hook.sent == ["a", "b", "c"]


def test_a_failing_sink_is_recorded_and_retried_next_time_without_raising():
    ledger, log, hook = FakeLedger(), RecordingSink("log"), RecordingSink("webhook", fail_times=1)
    report = deliver([_alert("a")], [log, hook], ledger)
    assert [(o.sink, o.status, o.attempts) for o in report.outcomes] == [
        ("log", "delivered", 1),
        ("webhook", "failed", 4),
    ]
    assert "HTTP 503" in report.failed[0].error
    deliver([_alert("a")], [log, hook], ledger)
    assert hook.sent == ["a"] and log.sent == ["a"]


def test_after_a_failure_a_sink_skips_the_rest_of_the_run_and_others_carry_on():
    ledger = FakeLedger()
    log, hook = RecordingSink("log"), RecordingSink("webhook", fail_times=1)
    alerts = [_alert("a"), _alert("b", raised_at="2026-01-02"), _alert("c", raised_at="2026-01-03")]
    report = deliver(alerts, [hook, log], ledger)
    assert [(o.sink, o.alert_id, o.status, o.attempts) for o in report.outcomes] == [
        ("webhook", "a", "failed", 4),
        ("webhook", "b", "skipped", 0),
        ("webhook", "c", "skipped", 0),
        ("log", "a", "delivered", 1),
        ("log", "b", "delivered", 1),
        ("log", "c", "delivered", 1),
    ]
    assert hook.sent == []  # b and c were never offered to the failed sink
    assert all("HTTP 503" in o.error for o in report.skipped)
    deliver(alerts, [hook, log], ledger)  # the next run tries them all again
    assert hook.sent == ["a", "b", "c"] and log.sent == ["a", "b", "c"]


def test_a_sink_with_a_bug_does_not_stop_the_others():
    ledger, broken, log = FakeLedger(), RecordingSink("broken", crash=True), RecordingSink("log")
    report = deliver([_alert("a")], [broken, log], ledger)
    assert log.sent == ["a"]
    assert report.count("broken", "failed") == 1


def test_worst_severity_and_slack_payload():
    assert worst_severity([]) is None
    assert worst_severity([_alert("a"), _alert("b", "critical")]) == "critical"
    payload = slack_payload(_alert("x", "critical"))
    assert payload["text"].startswith(":rotating_light: holdfast [critical] schema_error_rate:")
    assert payload["holdfast_alert"]["alert_id"] == "x"


def test_slack_escape_neutralises_mentions_and_links():
    assert slack_escape("<!channel> <!here> <@U123> <http://x|y> a&b") == (
        "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;http://x|y&gt; a&amp;b"
    )
    text = slack_payload(Alert("x", "t", "warning", "batch_refused", "<!channel> hi"))["text"]
    assert text == ":warning: holdfast [warning] batch_refused: &lt;!channel&gt; hi"


def test_sinks_receive_alerts_with_addresses_masked():
    sink, ledger = RecordingSink("log"), FakeLedger()
    seen: list[Alert] = []
    sink.send = lambda alert: seen.append(alert) or 1  # type: ignore[method-assign]
    raw = Alert(
        "a",
        "t",
        "critical",
        "batch_refused",
        "File jane@example.com.jsonl refused",
        details='{"file_name": "jane@example.com.jsonl"}',
        batch_id="jane@example.com.jsonl",
    )
    deliver([raw], [sink], ledger)
    (alert,) = seen
    assert alert.message == "File <email> refused"
    assert alert.details == '{"file_name": "<email>"}'
    assert alert.batch_id == "<email>"


def test_mask_emails_covers_escaped_and_dangling_addresses():
    cases = {
        "jane@example.com": "<email>",
        '"jane\\u0040example.com"': '"<email>"',
        "jane\\U0040example.com": "<email>",
        "jane\\u002edoe@example\\u002ecom and more": "<email> and more",
        '{"k": "x\\\\u0040y.org"}': '{"k": "<email>"}',  # escaped twice (JSON in JSON)
        "cut here: jane.doe@": "cut here: <email>",
        "no address: @handle, a @ b": "no address: @handle, a @ b",
    }
    for text, masked in cases.items():
        assert mask_emails(text) == masked, text
        assert mask_emails(masked) == masked  # idempotent
    assert mask_emails(None) is None
