"""application.alerting: each alert reaches each sink once; a failing sink never raises."""

from __future__ import annotations

from holdfast.application.alerting import (
    Alert,
    DeliveryOutcome,
    SinkError,
    deliver,
    slack_payload,
    worst_severity,
)


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
