"""report.render and charts: self-contained HTML, text from the data escaped."""

from __future__ import annotations

from holdfast.ops import charts
from holdfast.ops.report import ReportData, render

HOSTILE = '<script>alert("x")</script>'


def _data() -> ReportData:
    return ReportData(
        generated_at="2026-01-01 00:00 UTC",
        warehouse="w.duckdb",
        batches=[
            {
                "source": "customers",
                "batch_id": HOSTILE,
                "status": "error_rate_exceeded",
                "rows_in": 120,
                "expected_rows": 100.0,
                "error_rate": 0.6,
                "is_count_anomaly": False,
                "is_error_rate_breached": True,
            }
        ],
        alerts=[
            {
                "alert_id": "a1",
                "raised_at": "2026-01-01 00:00:00",
                "severity": "critical",
                "check_name": "schema_error_rate",
                "message": f"Batch {HOSTILE}: 60.0% of 120 lines failed",
                "batch_id": HOSTILE,
                "run_id": "r1",
            }
        ],
        latest_run_id="r1",
        runs=[{"run_id": "r1", "dead_letter_queue_size": 7}],
    )


def test_text_from_the_data_is_escaped_and_nothing_is_loaded_from_outside():
    html = render(_data())
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_key_numbers_and_the_threshold_line_are_on_the_page():
    html = render(_data())
    assert '<div class="number" id="kn-alerts-critical"><div class="value">1</div>' in html
    assert '<div class="number" id="kn-dead-letters"><div class="value">7</div>' in html
    assert "60.0%" in html  # error rate of the last customer batch
    assert 'class="threshold"' in html and "alert 5%" in html


def test_an_empty_chart_says_so():
    svg = charts.bar_chart("x", "Title", [], [])
    assert 'data-chart="x"' in svg and "no data yet" in svg
