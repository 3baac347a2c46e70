"""The operator's report: one self-contained HTML file (inline CSS and SVG, no
scripts, no network) from the monitoring tables of a warehouse.

Sections: key numbers, open alerts, batch volumes against the expected band,
error rate per batch with the alert line, latency percentiles per run, the
confidence histogram and its PSI per run, segment sizes over runs, the
dead-letter queue per run, step runtimes, and memory and CPU of the Python
steps. Every piece of text from the data is e-mail-masked (the ops tables
are masked already; this holds for any column added later) and escaped.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import duckdb

from holdfast.domain.privacy import mask_emails
from holdfast.ops import charts

STEPS = ("embed_products", "vectorize_customers", "assign_segments", "recommend")


@dataclass
class Thresholds:
    """The alert thresholds drawn on the charts (dbt vars, defaults of dbt_project.yml)."""

    schema_error_rate_alert: float = 0.05
    record_count_tolerance: float = 0.30
    psi_warning: float = 0.1
    psi_critical: float = 0.25


@dataclass
class ReportData:
    generated_at: str
    warehouse: str
    batches: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    latest_run_id: str | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    latency: list[dict[str, Any]] = field(default_factory=list)
    confidence_bins: list[dict[str, Any]] = field(default_factory=list)
    psi: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    step_runtimes: list[dict[str, Any]] = field(default_factory=list)
    step_resources: list[dict[str, Any]] = field(default_factory=list)


def _exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [
        {n: mask_emails(v) if isinstance(v, str) else v for n, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def collect(con: duckdb.DuckDBPyConnection, warehouse: str) -> ReportData:
    """Read everything the report shows (tables that do not exist yet are left empty)."""
    data = ReportData(
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), warehouse=warehouse
    )
    if _exists(con, "ops", "mon_input_quality"):
        data.batches = _rows(
            con,
            "select source, batch_id, status, rows_in, expected_rows, error_rate, "
            "is_count_anomaly, is_error_rate_breached from ops.mon_input_quality "
            "order by source, batch_id",
        )
    if _exists(con, "ops", "ops_alerts"):
        data.alerts = _rows(
            con,
            "select alert_id, raised_at, severity, check_name, message, batch_id, run_id "
            "from ops.ops_alerts order by (severity = 'critical') desc, raised_at desc, alert_id "
            "limit 100",
        )
    if _exists(con, "ops", "ops_runs"):
        data.runs = _rows(
            con, "select run_id, run_started_at from ops.ops_runs order by run_started_at, run_id"
        )
        data.latest_run_id = data.runs[-1]["run_id"] if data.runs else None
    if _exists(con, "ops", "mon_pipeline_health"):
        health = {
            r["run_id"]: r
            for r in _rows(
                con,
                "select run_id, runtime_seconds, n_failed, n_warned, success_rate, "
                "dead_letter_queue_size, dead_letter_queue_growth from ops.mon_pipeline_health",
            )
        }
        for run in data.runs:
            run.update(health.get(run["run_id"], {}))
    if _exists(con, "ops", "mon_model_performance"):
        data.latency = _rows(
            con,
            "select p.run_id, p.step, p.metric, p.metric_value from ops.mon_model_performance p "
            "join ops.ops_runs r using (run_id) where p.metric like 'latency_%' "
            "order by r.run_started_at, p.run_id, p.step, p.metric",
        )
    if _exists(con, "ops", "mon_distribution_history") and data.latest_run_id:
        data.confidence_bins = _rows(
            con,
            "select bin, n, share from ops.mon_distribution_history "
            "where distribution = 'confidence' and run_id = ? order by bin_order",
            [data.latest_run_id],
        )
        data.segments = _rows(
            con,
            "select h.run_id, h.bin as segment_id, h.n from ops.mon_distribution_history h "
            "join ops.ops_runs r using (run_id) where h.distribution = 'segment_size' "
            "order by r.run_started_at, h.run_id, h.bin_order",
        )
    if _exists(con, "ops", "mon_distribution_shift"):
        data.psi = _rows(
            con,
            "select s.run_id, s.distribution, s.psi, s.severity from ops.mon_distribution_shift s "
            "join ops.ops_runs r using (run_id) order by r.run_started_at, s.run_id",
        )
    if _exists(con, "ops", "ops_step_runs") and data.latest_run_id:
        data.step_runtimes = _rows(
            con,
            "select node_name, resource_type, status, execution_seconds from ops.ops_step_runs "
            "where run_id = ? and resource_type in ('model', 'seed') "
            "order by execution_seconds desc, node_name limit 15",
            [data.latest_run_id],
        )
    if _exists(con, "ops", "ops_step_telemetry") and data.latest_run_id:
        data.step_resources = _rows(
            con,
            "select step, rows, wall_seconds, cpu_seconds, peak_rss_mb from ops.ops_step_telemetry "
            "where run_id = ? order by started_at, step",
            [data.latest_run_id],
        )
    return data


def _short(run_id: str | None) -> str:
    return (run_id or "")[:8]


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _key_numbers(data: ReportData) -> list[tuple[str, str, str]]:
    critical = sum(1 for a in data.alerts if a["severity"] == "critical")
    warning = sum(1 for a in data.alerts if a["severity"] == "warning")
    latest_conf_psi = next(
        (p["psi"] for p in reversed(data.psi) if p["distribution"] == "confidence"), None
    )
    latest_run = data.runs[-1] if data.runs else {}
    customers = [b for b in data.batches if b["source"] == "customers"]
    last_batch = customers[-1] if customers else {}
    return [
        ("runs", "Runs recorded", _num(len(data.runs))),
        ("batches", "Batches delivered", _num(len(data.batches))),
        ("alerts-critical", "Critical alerts", _num(critical)),
        ("alerts-warning", "Warning alerts", _num(warning)),
        (
            "confidence-psi",
            "Confidence PSI (latest run)",
            "–" if latest_conf_psi is None else f"{latest_conf_psi:.3f}",
        ),
        ("dead-letters", "Dead-letter queue", _num(latest_run.get("dead_letter_queue_size"))),
        (
            "last-batch-error-rate",
            "Error rate, last customer batch",
            "–"
            if last_batch.get("error_rate") is None
            else f"{100 * last_batch['error_rate']:.1f}%",
        ),
    ]


def _alerts_table(alerts: list[dict[str, Any]], latest_run_id: str | None) -> str:
    if not alerts:
        return '<p class="none">No alerts raised.</p>'
    rows = []
    for a in alerts:
        new = a["run_id"] == latest_run_id
        rows.append(
            f'<tr class="alert {escape(a["severity"])}"><td>{escape(a["severity"])}'
            f"{' <b>new</b>' if new else ''}</td><td>{escape(a['check_name'])}</td>"
            f"<td>{escape(str(a['raised_at'])[:19])}</td>"
            f"<td>{escape(a['batch_id'] or '')}</td><td>{escape(a['message'])}</td></tr>"
        )
    return (
        '<table id="alerts"><thead><tr><th>severity</th><th>check</th><th>raised at</th>'
        "<th>batch</th><th>message</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _charts(data: ReportData, t: Thresholds) -> list[str]:
    """Every chart of the report, in the order it shows them."""
    run_index = {r["run_id"]: i for i, r in enumerate(data.runs)}
    return [
        *_batch_charts(data, t),
        *_latency_charts(data, run_index),
        *_model_charts(data, t, run_index),
        *_step_charts(data),
    ]


def _batch_charts(data: ReportData, t: Thresholds) -> list[str]:
    """Customer lines against the expected band, and schema error rates, per batch."""
    out = []
    customers = [b for b in data.batches if b["source"] == "customers"] or data.batches
    labels = [b["batch_id"] for b in customers]
    bands = [
        (
            (
                b["expected_rows"] * (1 - t.record_count_tolerance),
                b["expected_rows"] * (1 + t.record_count_tolerance),
            )
            if b["expected_rows"] is not None
            else None
        )
        for b in customers
    ]
    out.append(
        charts.bar_chart(
            "batch-volumes",
            f"Customer lines per batch (green: expected ± {100 * t.record_count_tolerance:.0f}%)",
            labels,
            [float(b["rows_in"] or 0) for b in customers],
            bands=bands,
            highlight=[bool(b["is_count_anomaly"]) for b in customers],
        )
    )
    out.append(
        charts.bar_chart(
            "error-rate",
            "Schema error rate per batch (%)",
            [f"{b['source'][:4]}/{b['batch_id']}" for b in data.batches],
            [100 * float(b["error_rate"] or 0) for b in data.batches],
            threshold=100 * t.schema_error_rate_alert,
            threshold_label=f"alert {100 * t.schema_error_rate_alert:.0f}%",
            highlight=[bool(b["is_error_rate_breached"]) for b in data.batches],
        )
    )
    return out


def _latency_charts(data: ReportData, run_index: dict[str, int]) -> list[str]:
    """Latency percentiles per model call over runs, one chart per step."""
    out = []
    run_labels = [_short(r["run_id"]) for r in data.runs]
    for step in STEPS:
        series: dict[str, list[float | None]] = {}
        for metric in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
            values: list[float | None] = [None] * len(data.runs)
            for row in data.latency:
                if row["step"] == step and row["metric"] == metric and row["run_id"] in run_index:
                    values[run_index[row["run_id"]]] = row["metric_value"]
            series[metric.removeprefix("latency_").removesuffix("_ms")] = values
        out.append(
            charts.line_chart(
                f"latency-{step}", f"Latency per model call, {step} (ms)", run_labels, series
            )
        )
    return out


def _model_charts(data: ReportData, t: Thresholds, run_index: dict[str, int]) -> list[str]:
    """What the models produced: confidence of the latest run, shift (PSI) and segment
    sizes over runs."""
    out = []
    run_labels = [_short(r["run_id"]) for r in data.runs]
    out.append(
        charts.bar_chart(
            "confidence-histogram",
            f"Confidence of recommendations, run {_short(data.latest_run_id)}",
            [b["bin"] for b in data.confidence_bins],
            [float(b["n"]) for b in data.confidence_bins],
        )
    )
    psi_series: dict[str, list[float | None]] = {}
    for row in data.psi:
        values = psi_series.setdefault(row["distribution"], [None] * len(data.runs))
        if row["run_id"] in run_index:
            values[run_index[row["run_id"]]] = row["psi"]
    out.append(
        charts.line_chart(
            "psi",
            "Shift against the previous run (PSI)",
            run_labels,
            psi_series,
            thresholds=[(t.psi_warning, "warning"), (t.psi_critical, "critical")],
        )
    )
    totals: dict[str, int] = {}
    for row in data.segments:
        totals[row["segment_id"]] = totals.get(row["segment_id"], 0) + row["n"]
    top = sorted(totals, key=lambda s: (-totals[s], s))[:8]
    segment_series = {f"segment {s}": [None] * len(data.runs) for s in top}
    for row in data.segments:
        if row["segment_id"] in top and row["run_id"] in run_index:
            segment_series[f"segment {row['segment_id']}"][run_index[row["run_id"]]] = float(
                row["n"]
            )
    out.append(
        charts.line_chart(
            "segment-sizes", "Customers per segment over runs", run_labels, segment_series
        )
    )
    return out


def _step_charts(data: ReportData) -> list[str]:
    """The dead-letter queue over runs; the latest run's slowest steps and peak memory."""
    out = []
    run_labels = [_short(r["run_id"]) for r in data.runs]
    out.append(
        charts.bar_chart(
            "dead-letter-queue",
            "Dead-letter queue after each run (pending + exhausted)",
            run_labels,
            [float(r.get("dead_letter_queue_size") or 0) for r in data.runs],
        )
    )
    out.append(
        charts.bar_chart(
            "step-runtimes",
            f"Slowest steps of run {_short(data.latest_run_id)} (seconds)",
            [r["node_name"] for r in data.step_runtimes],
            [float(r["execution_seconds"] or 0) for r in data.step_runtimes],
        )
    )
    out.append(
        charts.bar_chart(
            "step-memory",
            f"Peak memory of the Python steps, run {_short(data.latest_run_id)} (MB)",
            [r["step"] for r in data.step_resources],
            [float(r["peak_rss_mb"] or 0) for r in data.step_resources],
        )
    )
    return out


CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111827;background:#f9fafb}
h1{margin:0 0 4px}h2{margin-top:28px}.meta{color:#6b7280}
.numbers{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.number{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;
min-width:120px}
.number .value{font-size:24px;font-weight:600}.number .label{color:#6b7280;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
svg.chart{background:#fff;border:1px solid #e5e7eb;border-radius:8px}
.chart-title{font-size:13px;font-weight:600}.tick{font-size:10px;fill:#4b5563}
table{border-collapse:collapse;background:#fff;width:100%}
td,th{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
tr.critical td:first-child{color:#b91c1c;font-weight:600}
tr.warning td:first-child{color:#b45309}
"""


def render(data: ReportData, thresholds: Thresholds | None = None) -> str:
    """The report as one HTML document."""
    t = thresholds or Thresholds()
    numbers = "".join(
        f'<div class="number" id="kn-{key}"><div class="value">{value}</div>'
        f'<div class="label">{escape(label)}</div></div>'
        for key, label, value in _key_numbers(data)
    )
    resources = "".join(
        f"<tr><td>{escape(r['step'])}</td><td>{_num(r['rows'])}</td>"
        f"<td>{_num(r['wall_seconds'], 1)}</td><td>{_num(r['cpu_seconds'], 1)}</td>"
        f"<td>{_num(r['peak_rss_mb'], 0)}</td></tr>"
        for r in data.step_resources
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>holdfast operator report</title><style>{CSS}</style></head>
<body>
<h1>holdfast operator report</h1>
<p class="meta">Warehouse {escape(data.warehouse)}
· latest run {escape(data.latest_run_id or "none")} · generated {escape(data.generated_at)}</p>
<div class="numbers">{numbers}</div>
<h2>Alerts</h2>
{_alerts_table(data.alerts, data.latest_run_id)}
<h2>Charts</h2>
<div class="charts">{"".join(_charts(data, t))}</div>
<h2>Python steps, latest run</h2>
<table id="step-resources"><thead><tr><th>step</th><th>rows</th><th>wall s</th><th>CPU s</th>
<th>peak MB</th></tr></thead><tbody>{resources}</tbody></table>
</body></html>
"""


def write_report(database: Path, out: Path, thresholds: Thresholds | None = None) -> Path:
    """Read the warehouse (read-only) and write the report atomically to `out`."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        html = render(collect(con, database.name), thresholds)
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=out.parent, prefix=".report-", suffix=".html")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(html)
    os.replace(temp, out)
    return out
