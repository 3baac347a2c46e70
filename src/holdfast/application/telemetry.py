"""Telemetry of a long Python step: progress lines and the resources it used.

A step's output is a stream of Arrow record batches; `observe` wraps that
stream without changing it. While batches flow it writes progress lines
(batch i of about n, rows done of the total, rows per second, ETA) through a
`ProgressLog`, throttled so a long step logs every few seconds; when the stream
ends (or fails) it builds a `StepReport` (rows, batches, wall and CPU seconds,
peak memory) and hands it to a `ReportSink`. Clocks and resource probes are
ports, so the accounting is tested with fakes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import pyarrow as pa


class ProgressLog(Protocol):
    def __call__(self, message: str) -> None: ...


class ResourceProbe(Protocol):
    """Where CPU time and memory are read from (a process, or a fake)."""

    def cpu_seconds(self) -> float: ...

    def rss_bytes(self) -> int: ...

    def peak_rss_bytes(self) -> int:
        """Highest resident memory seen since the probe was (re)started."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ReportSink(Protocol):
    def __call__(self, report: StepReport) -> None: ...


@dataclass(frozen=True)
class StepReport:
    """What one Python step of one run did and cost."""

    run_id: str
    step: str
    status: str  # ok | failed
    rows: int
    batches: int
    expected_rows: int | None
    wall_seconds: float
    cpu_seconds: float
    start_rss_mb: float
    peak_rss_mb: float
    started_at: str
    ended_at: str
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_duration(seconds: float) -> str:
    """'42s', '3m05s', '1h02m' (for ETAs in progress lines)."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def progress_line(
    step: str, batch: int, rows: int, expected_rows: int | None, elapsed: float
) -> str:
    """One progress line: batch i of about n, rows done, rows/s, ETA when the total is known."""
    rate = rows / elapsed if elapsed > 0 else 0.0
    if expected_rows and expected_rows > 0 and rows > 0:
        batches_total = max(batch, math.ceil(expected_rows * batch / rows))
        left = max(expected_rows - rows, 0)
        eta = format_duration(left / rate) if rate > 0 else "unknown"
        return (
            f"{step}: batch {batch} of ~{batches_total}, {rows:,} of "
            f"{expected_rows:,} rows ({100 * rows / expected_rows:.0f}%), "
            f"{rate:,.0f} rows/s, ETA {eta}"
        )
    return f"{step}: batch {batch}, {rows:,} rows, {rate:,.0f} rows/s"


@dataclass
class StepProgress:
    """Counts batches and rows of a step and decides when to log."""

    step: str
    started: float
    expected_rows: int | None = None
    min_interval_seconds: float = 5.0
    batches: int = 0
    rows: int = 0
    last_logged: float | None = field(default=None)

    def add(self, n_rows: int, now: float) -> str | None:
        """Count a batch; return a progress line when one is due (first batch, then throttled)."""
        self.batches += 1
        self.rows += n_rows
        due = self.last_logged is None or now - self.last_logged >= self.min_interval_seconds
        if not due:
            return None
        self.last_logged = now
        return progress_line(
            self.step, self.batches, self.rows, self.expected_rows, now - self.started
        )


class StepObserver:
    """Times a step from `begin()` (before its set-up) to the end of its output stream."""

    def __init__(
        self,
        *,
        step: str,
        run_id: str,
        log: ProgressLog,
        probe: ResourceProbe,
        sink: ReportSink,
        clock: Callable[[], float],
        wall_time: Callable[[], str],
        expected_rows: Callable[[], int | None] = lambda: None,
        min_interval_seconds: float = 5.0,
    ) -> None:
        self.step, self.run_id = step, run_id
        self.log, self.probe, self.sink = log, probe, sink
        self.clock, self.wall_time, self.expected_rows = clock, wall_time, expected_rows
        self.progress = StepProgress(step, 0.0, min_interval_seconds=min_interval_seconds)
        self._started = 0.0
        self._cpu_start = 0.0
        self._start_rss = 0
        self._started_at = ""
        self._finished = False

    def begin(self) -> None:
        self.probe.start()
        self._started = self.progress.started = self.clock()
        self._started_at = self.wall_time()
        self._cpu_start = self.probe.cpu_seconds()
        self._start_rss = self.probe.rss_bytes()
        self.log(f"{self.step}: started")

    def stream(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Yield `batches` unchanged, logging progress; report when they end or fail."""
        error = None
        try:
            for batch in batches:
                if self.progress.expected_rows is None:
                    self.progress.expected_rows = self.expected_rows()
                line = self.progress.add(batch.num_rows, self.clock())
                if line:
                    self.log(line)
                yield batch
        except BaseException as failure:
            error = f"{type(failure).__name__}: {failure}"
            raise
        finally:
            self.finish(error)

    def finish(self, error: str | None = None) -> StepReport | None:
        """Build and hand over the report (once); `error` marks the step failed."""
        if self._finished:
            return None
        self._finished = True
        elapsed = self.clock() - self._started
        self.probe.stop()
        report = StepReport(
            run_id=self.run_id,
            step=self.step,
            status="failed" if error else "ok",
            rows=self.progress.rows,
            batches=self.progress.batches,
            expected_rows=self.progress.expected_rows,
            wall_seconds=round(elapsed, 3),
            cpu_seconds=round(self.probe.cpu_seconds() - self._cpu_start, 3),
            start_rss_mb=round(self._start_rss / 2**20, 1),
            peak_rss_mb=round(max(self.probe.peak_rss_bytes(), self._start_rss) / 2**20, 1),
            started_at=self._started_at,
            ended_at=self.wall_time(),
            error=error[:500] if error else None,
        )
        rate = report.rows / elapsed if elapsed > 0 else 0.0
        self.log(
            f"{self.step}: {report.status}, {report.rows:,} rows in "
            f"{report.batches} batches, {format_duration(elapsed)} ({rate:,.0f} rows/s), "
            f"CPU {report.cpu_seconds:.1f}s, peak memory {report.peak_rss_mb:,.0f} MB"
        )
        self.sink(report)
        return report
