"""What the steps share: vector size, record batch sizes, retry policy, worker log."""

from __future__ import annotations

from collections.abc import Callable

from holdfast import environment
from holdfast.application.faults import FaultPlan
from holdfast.application.resilience import RetryPolicy
from holdfast.infrastructure import step_telemetry
from holdfast.settings import InferenceSettings

VECTOR_DIMENSION = 384

# worker processes start only for a step that reads at least this many
# record batches (49,152 customers): starting them (spawning, imports, the
# model) took about 5 s, in which one process scores or labels 20,000
# customers (the 1% run at 2 million customers)
POOL_MIN_RECORD_BATCHES = 6

# the language model is ~100x slower per row: smaller batches, so progress
# lines come every few seconds
EMBED_STREAM_ROWS = 1024


def stream_batch_rows() -> int:
    """Rows per record batch a step reads (environment.stream_batch_rows)."""
    return environment.stream_batch_rows()


def retry_policy(inference: InferenceSettings, step: str) -> RetryPolicy:
    """The retry policy of `step`, with the faults injected into that step
    (HOLDFAST_INJECT_FAULTS; a malformed spec stops the step)."""
    plan = FaultPlan.from_env()
    return RetryPolicy(
        max_retries=inference.max_retries,
        initial_backoff_seconds=inference.initial_backoff_seconds,
        faults=plan.for_step(step) if plan is not None else None,
    )


def announce_workers(step: str) -> Callable[[int], None]:
    """A callback that logs how many worker processes a step started."""
    log = step_telemetry.dbt_log()
    return lambda n: log(f"{step}: {n} worker processes")
