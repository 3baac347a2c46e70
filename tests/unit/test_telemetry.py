"""application.telemetry: progress lines and the step report, with a fake clock and probe."""

from __future__ import annotations

import pyarrow as pa
import pytest

from holdfast.application.telemetry import StepObserver, format_duration, progress_line


class FakeProbe:
    def __init__(self) -> None:
        self.cpu = 10.0
        self.rss = 100 * 2**20
        self.peak = 0
        self.started = self.stopped = 0

    def cpu_seconds(self) -> float:
        return self.cpu

    def rss_bytes(self) -> int:
        return self.rss

    def peak_rss_bytes(self) -> int:
        return self.peak

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _batch(n: int) -> pa.RecordBatch:
    return pa.record_batch([pa.array(range(n))], names=["x"])


def _observer(clock, probe, lines, reports, expected=None, interval=5.0):
    return StepObserver(
        step="embed_products",
        run_id="run-1",
        log=lines.append,
        probe=probe,
        sink=reports.append,
        clock=clock,
        wall_time=lambda: "2026-01-01T00:00:00Z",
        expected_rows=lambda: expected,
        min_interval_seconds=interval,
    )


def test_batches_pass_through_unchanged_and_the_report_counts_them():
    clock, probe, lines, reports = FakeClock(), FakeProbe(), [], []
    observer = _observer(clock, probe, lines, reports, expected=300)
    observer.begin()

    def batches():
        for n in (100, 100, 100):
            clock.now += 2.0
            probe.cpu += 1.5
            probe.peak = max(probe.peak, 250 * 2**20)
            yield _batch(n)

    out = list(observer.stream(batches()))
    assert [b.num_rows for b in out] == [100, 100, 100]
    (report,) = reports
    assert (report.rows, report.batches, report.expected_rows) == (300, 3, 300)
    assert report.wall_seconds == pytest.approx(6.0)
    assert report.cpu_seconds == pytest.approx(4.5)
    assert (report.start_rss_mb, report.peak_rss_mb) == (100.0, 250.0)
    assert report.status == "ok" and report.error is None
    assert probe.started == 1 and probe.stopped == 1


def test_progress_is_logged_first_then_throttled_with_an_eta():
    clock, probe, lines, reports = FakeClock(), FakeProbe(), [], []
    observer = _observer(clock, probe, lines, reports, expected=1000, interval=5.0)
    observer.begin()

    def batches():
        for _ in range(10):
            clock.now += 1.0
            yield _batch(100)

    list(observer.stream(batches()))
    progress = [line for line in lines if ": batch " in line]
    # first batch at t=1, then at t=6 (5 s later): two lines, not ten
    assert len(progress) == 2
    assert progress[0] == (
        "embed_products: batch 1 of ~10, 100 of 1,000 rows (10%), 100 rows/s, ETA 9s"
    )
    assert "batch 6 of ~10" in progress[1] and "ETA 4s" in progress[1]
    assert lines[-1].startswith("embed_products: ok, 1,000 rows in 10 batches")


def test_a_failing_stream_is_reported_as_failed_and_the_error_propagates():
    clock, probe, lines, reports = FakeClock(), FakeProbe(), [], []
    observer = _observer(clock, probe, lines, reports)
    observer.begin()

    def batches():
        yield _batch(5)
        raise RuntimeError("model exploded")

    with pytest.raises(RuntimeError, match="model exploded"):
        list(observer.stream(batches()))
    (report,) = reports
    assert report.status == "failed" and report.rows == 5
    assert report.error == "RuntimeError: model exploded"


def test_progress_line_without_a_known_total_has_no_eta():
    assert progress_line("recommend", 3, 600, None, 2.0) == (
        "recommend: batch 3, 600 rows, 300 rows/s"
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0s"), (42, "42s"), (185, "3m05s"), (3720, "1h02m")]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
