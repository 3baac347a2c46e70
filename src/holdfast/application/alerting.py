"""Alert delivery: every alert of ops_alerts reaches every sink once.

Sinks (the log, a JSON-lines file, a webhook) are small ports; a ledger
remembers which (alert, sink) pairs were delivered. A sink that fails is
recorded as failed, and the alerts after it in the same run are recorded as
skipped for that sink (a broken or slow receiver costs one failure a run, not
one per alert); both are tried again on the next run. A sink never raises out
of `deliver`, so a broken webhook cannot fail the pipeline.

Every text a sink sends is data-derived and leaves the warehouse for people:
e-mail addresses are masked before any sink sees an alert, and the Slack text
escapes Slack's control characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from holdfast.domain.privacy import mask_emails

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

    def masked(self) -> Alert:
        """This alert with e-mail addresses masked in every data-derived text."""
        return Alert(
            alert_id=self.alert_id,
            raised_at=self.raised_at,
            severity=self.severity,
            check_name=mask_emails(self.check_name) or "",
            message=mask_emails(self.message) or "",
            details=mask_emails(self.details),
            batch_id=mask_emails(self.batch_id),
            run_id=self.run_id,
        )


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
    status: str  # delivered | failed | skipped (the sink failed earlier in the run)
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

    @property
    def skipped(self) -> list[DeliveryOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]


def deliver(
    alerts: Iterable[Alert], sinks: Sequence[AlertSink], ledger: DeliveryLedger
) -> DeliveryReport:
    """Send each alert to each sink that has not had it yet, oldest first; record every outcome.

    After a sink's first failure in this call, its remaining alerts are recorded as `skipped`
    (with the failure as the reason) and not sent: they are tried on the next run.
    """
    ordered = [a.masked() for a in sorted(alerts, key=lambda a: (a.raised_at, a.alert_id))]
    report = DeliveryReport()
    for sink in sinks:
        done = ledger.delivered(sink.name)
        outcomes: list[DeliveryOutcome] = []
        failure: str | None = None
        for alert in ordered:
            if alert.alert_id in done:
                continue
            if failure is not None:
                outcomes.append(
                    DeliveryOutcome(
                        alert.alert_id,
                        sink.name,
                        "skipped",
                        0,
                        f"not tried: the sink failed earlier in this run ({failure})",
                    )
                )
                continue
            try:
                attempts = sink.send(alert)
                outcomes.append(DeliveryOutcome(alert.alert_id, sink.name, "delivered", attempts))
            except SinkError as error:
                failure = str(error)
                outcomes.append(
                    DeliveryOutcome(alert.alert_id, sink.name, "failed", error.attempts, failure)
                )
            except Exception as error:  # a sink bug must not fail the pipeline either
                failure = type(error).__name__
                outcomes.append(DeliveryOutcome(alert.alert_id, sink.name, "failed", 1, failure))
        ledger.record(outcomes)
        report.outcomes.extend(outcomes)
    return report


def worst_severity(alerts: Iterable[Alert]) -> str | None:
    """'critical', 'warning' or None for no alerts."""
    worst = max((SEVERITY_ORDER.get(a.severity, 0) for a in alerts), default=0)
    return {2: "critical", 1: "warning"}.get(worst)


def slack_escape(text: str) -> str:
    """Text Slack shows as written: `&`, `<` and `>` as entities, so data cannot carry
    Slack's control syntax (`<!channel>`, `<!here>`, `<@U123>`, `<http://x|y>`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body (text), with the alert's fields beside it.

    The text's data-derived parts (check, message) are Slack-escaped and e-mail-masked; the
    fields beside it are the alert as stored (masked), for machines, not shown by Slack.
    """
    masked = alert.masked()
    icon = ":rotating_light:" if masked.severity == "critical" else ":warning:"
    return {
        "text": (
            f"{icon} holdfast [{slack_escape(masked.severity)}] "
            f"{slack_escape(masked.check_name)}: {slack_escape(masked.message)}"
        ),
        "holdfast_alert": masked.as_dict(),
    }
