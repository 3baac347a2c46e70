"""Alert delivery: every alert of ops_alerts reaches every sink once.

Sinks (the log, a JSON-lines file, a webhook) are small ports; a ledger
remembers which (alert, sink) pairs were delivered. A sink that fails is
recorded as failed and retried on the next run; it never raises out of
`deliver`, so a broken webhook cannot fail the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

SEVERITY_ORDER = {"warning": 1, "critical": 2}


@dataclass(frozen=True)
class Alert:
    """One row of ops_alerts."""

    alert_id: str
    raised_at: str
    severity: str
    check_name: str
    message: str
    details: str | None = None
    batch_id: str | None = None
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "raised_at": self.raised_at,
            "severity": self.severity,
            "check_name": self.check_name,
            "message": self.message,
            "details": self.details,
            "batch_id": self.batch_id,
            "run_id": self.run_id,
        }


class SinkError(Exception):
    """A sink could not deliver; the message is safe to record (no secrets)."""

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class AlertSink(Protocol):
    name: str

    def send(self, alert: Alert) -> int:
        """Deliver one alert; return the attempts it took, raise SinkError when it fails."""
        ...


class DeliveryLedger(Protocol):
    def delivered(self, sink: str) -> set[str]:
        """alert_ids already delivered to `sink`."""
        ...

    def record(self, outcomes: Sequence[DeliveryOutcome]) -> None: ...


@dataclass(frozen=True)
class DeliveryOutcome:
    alert_id: str
    sink: str
    status: str  # delivered | failed
    attempts: int
    error: str | None = None


@dataclass
class DeliveryReport:
    outcomes: list[DeliveryOutcome] = field(default_factory=list)

    def count(self, sink: str, status: str) -> int:
        return sum(1 for o in self.outcomes if o.sink == sink and o.status == status)

    @property
    def failed(self) -> list[DeliveryOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def deliver(
    alerts: Iterable[Alert], sinks: Sequence[AlertSink], ledger: DeliveryLedger
) -> DeliveryReport:
    """Send each alert to each sink that has not had it yet, oldest first; record every outcome."""
    ordered = sorted(alerts, key=lambda a: (a.raised_at, a.alert_id))
    report = DeliveryReport()
    for sink in sinks:
        done = ledger.delivered(sink.name)
        outcomes = []
        for alert in ordered:
            if alert.alert_id in done:
                continue
            try:
                attempts = sink.send(alert)
                outcomes.append(DeliveryOutcome(alert.alert_id, sink.name, "delivered", attempts))
            except SinkError as error:
                outcomes.append(
                    DeliveryOutcome(alert.alert_id, sink.name, "failed", error.attempts, str(error))
                )
            except Exception as error:  # a sink bug must not fail the pipeline either
                outcomes.append(
                    DeliveryOutcome(
                        alert.alert_id, sink.name, "failed", 1, f"{type(error).__name__}"
                    )
                )
        ledger.record(outcomes)
        report.outcomes.extend(outcomes)
    return report


def worst_severity(alerts: Iterable[Alert]) -> str | None:
    """'critical', 'warning' or None for no alerts."""
    worst = max((SEVERITY_ORDER.get(a.severity, 0) for a in alerts), default=0)
    return {2: "critical", 1: "warning"}.get(worst)


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body (text), with the alert's fields beside it."""
    icon = ":rotating_light:" if alert.severity == "critical" else ":warning:"
    return {
        "text": f"{icon} holdfast [{alert.severity}] {alert.check_name}: {alert.message}",
        "holdfast_alert": alert.as_dict(),
    }
