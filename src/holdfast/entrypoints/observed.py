"""The one-line telemetry hook of the dbt Python model entry points.

    @observed_step("embed_products")
    def embed_products_model(con, *, runs, ...) -> pa.RecordBatchReader: ...

wraps the returned Arrow reader (or table) so the step logs progress through
dbt's logger (console and logs/dbt.log) and leaves a report (rows, wall and
CPU seconds, peak memory, set-up included) for the model `ops_step_telemetry`.
The data passes through unchanged. While the step runs, DuckDB's memory limit
is lowered (environment.step_memory_limit), so its page cache does not sit beside the
step's own memory.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pyarrow as pa

from holdfast import environment
from holdfast.application.telemetry import StepObserver, StepReport
from holdfast.infrastructure import step_telemetry, warehouse

F = TypeVar("F", bound=Callable[..., Any])


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _batches(result: pa.RecordBatchReader | pa.Table) -> Iterator[pa.RecordBatch]:
    if isinstance(result, pa.RecordBatchReader):
        yield from result
    else:
        yield from result.to_batches()


def observed_step(step: str) -> Callable[[F], F]:
    """Decorate a `*_model(con, *, runs, ...)` entry point with progress and resource telemetry."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(con, *args: Any, **kwargs: Any):
            log = step_telemetry.dbt_log()
            database = step_telemetry.warehouse_file(con)
            directory = step_telemetry.telemetry_dir(database) if database else None

            def sink(report: StepReport) -> None:
                if directory is None:
                    return
                try:
                    step_telemetry.write_report(directory, report)
                except OSError as error:  # telemetry never fails the step
                    log(f"{step}: could not write telemetry ({type(error).__name__})")

            step_telemetry.ExpectedRows.reset()
            observer = StepObserver(
                step=step,
                run_id=warehouse.run_context(con, kwargs["runs"]).run_id,
                log=log,
                probe=step_telemetry.ProcessProbe(),
                sink=sink,
                clock=time.perf_counter,
                wall_time=_now_iso,
                expected_rows=step_telemetry.ExpectedRows.get,
            )
            observer.begin()
            lowered, restore_limit = warehouse.lower_memory_limit(
                con, environment.step_memory_limit()
            )
            if lowered:
                log(f"{step}: {lowered}")
            try:
                result = function(con, *args, **kwargs)
            except BaseException as failure:
                restore_limit()
                observer.finish(f"{type(failure).__name__}: {failure}")
                raise

            def after_stream() -> None:
                restore_limit()
                released = step_telemetry.return_freed_memory()
                if released >= 2**20:
                    log(f"{step}: returned {released / 2**20:,.0f} MB of freed memory")

            observed = warehouse.then(observer.stream(_batches(result)), after_stream)
            if isinstance(result, pa.RecordBatchReader):
                return pa.RecordBatchReader.from_batches(result.schema, observed)
            return pa.Table.from_batches(list(observed), schema=result.schema)

        return wrapper  # type: ignore[return-value]

    return decorate
