"""Calling a model in batches without losing records.

Each batch call is retried with exponential backoff and jitter (tenacity). If
a batch still fails, its records are retried one by one, so one poisonous
record cannot take its neighbours down with it; a record that still fails
comes back as a failed Outcome (the caller turns it into a dead-letter row),
and the run goes on. A policy may carry injected faults (application.faults),
checked before each call; without them a call costs nothing extra.

A FatalError (or a broken executor) says the model itself is gone, not that a
record is bad: it is neither retried nor split into records, and it stops the
step at once (raised out of run_in_batches), so no record is dead-lettered for
it and no backoff is spent against a model that cannot answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import pyarrow as pa
from tenacity import (
    RetryError,
    Retrying,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

if TYPE_CHECKING:
    from holdfast.application.faults import StepFaults

P = TypeVar("P")
R = TypeVar("R")
B = TypeVar("B")  # a record batch: anything with num_rows

REASON_PERMANENT = "permanent_error"
REASON_RETRIES_EXHAUSTED = "retries_exhausted"
MAX_ERROR_LENGTH = 500


class PermanentError(Exception):
    """The model will never accept this input: retrying is pointless."""


class FatalError(RuntimeError):
    """The model cannot be called any more (its process died and could not be
    brought back): no record is at fault, and retrying is pointless. Stops the
    step: its records are neither retried nor dead-lettered."""


# errors that stop the step: a broken executor stays broken, whatever is sent to it
FATAL_ERRORS: tuple[type[BaseException], ...] = (FatalError, BrokenExecutor)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries after the first attempt, and the backoff between them."""

    max_retries: int = 3
    initial_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    jitter_seconds: float = 0.5
    faults: StepFaults | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.initial_backoff_seconds < 0:
            raise ValueError("max_retries and initial_backoff_seconds must be >= 0")


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What happened to one record.

    attempts: model calls that carried this record (its batch's attempts, plus
    its own when the batch was split); batch_attempts: calls of its batch.
    """

    index: int
    value: R | None
    reason: str | None
    error: str | None
    attempts: int
    batch_number: int
    batch_latency_ms: float
    batch_attempts: int

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class _CallResult(Generic[R]):
    values: list[R] | None
    attempts: int
    error: BaseException | None


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


def _call(
    fn: Callable[[list[P]], Sequence[R]],
    payload: list[P],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    keys: Sequence[str],
    attempt_offset: int = 0,
) -> _CallResult[R]:
    attempts = 0
    faults = policy.faults
    retrying = Retrying(
        stop=stop_after_attempt(policy.max_retries + 1),
        wait=wait_exponential_jitter(
            multiplier=policy.initial_backoff_seconds,
            max=policy.max_backoff_seconds,
            jitter=policy.jitter_seconds if policy.initial_backoff_seconds > 0 else 0,
        ),
        retry=retry_if_not_exception_type((PermanentError, *FATAL_ERRORS)),
        sleep=sleep,
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                attempts += 1
                if faults is not None:
                    faults.check(keys, attempt_offset + attempts)
                values = list(fn(payload))
                if len(values) != len(payload):
                    raise PermanentError(
                        f"model returned {len(values)} results for {len(payload)} inputs"
                    )
        return _CallResult(values=values, attempts=attempts, error=None)
    except RetryError as error:  # pragma: no cover - reraise=True re-raises the cause
        return _CallResult(values=None, attempts=attempts, error=error)
    except FATAL_ERRORS:
        raise
    except Exception as error:
        return _CallResult(values=None, attempts=attempts, error=error)


def run_in_batches(
    payloads: Sequence[P],
    fn: Callable[[list[P]], Sequence[R]],
    *,
    batch_size: int,
    policy: RetryPolicy,
    first_batch_number: int = 1,
    keys: Sequence[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator[Outcome[R]]:
    """Yield one Outcome per payload, in input order.

    `fn` maps a list of payloads to a list of results of the same length.
    `keys` (one per payload, e.g. the record ids) name the records to fault
    injection; without them a record is named by its position. A FatalError
    (or BrokenExecutor) from `fn` is raised here, after the outcomes of the
    batches before it.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if keys is not None and len(keys) != len(payloads):
        raise ValueError("keys must have one entry per payload")
    for offset in range(0, len(payloads), batch_size):
        batch = list(payloads[offset : offset + batch_size])
        batch_number = first_batch_number + offset // batch_size
        batch_keys = (
            [str(k) for k in keys[offset : offset + batch_size]]
            if keys is not None
            else [str(offset + i) for i in range(len(batch))]
        )
        started = clock()
        result = _call(fn, batch, policy, sleep, batch_keys)
        if result.values is not None:
            latency = (clock() - started) * 1000.0
            for i, value in enumerate(result.values):
                yield Outcome(
                    offset + i,
                    value,
                    None,
                    None,
                    result.attempts,
                    batch_number,
                    latency,
                    result.attempts,
                )
            continue
        # The batch failed: isolate the records, one call each.
        yield from _isolated(
            fn,
            batch,
            batch_keys,
            first_index=offset,
            batch_number=batch_number,
            batch_attempts=result.attempts,
            policy=policy,
            sleep=sleep,
            clock=clock,
            started=started,
        )


def _isolated(
    fn: Callable[[list[P]], Sequence[R]],
    batch: list[P],
    batch_keys: Sequence[str],
    *,
    first_index: int,
    batch_number: int,
    batch_attempts: int,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    started: float,
) -> Iterator[Outcome[R]]:
    """The outcomes of a failed batch's records, each called on its own (its attempts
    counted on from the batch's); a record that still fails is a dead letter. Every
    outcome's latency is the batch's, from `started` until all its records are done."""
    singles: list[tuple[int, _CallResult[R]]] = [
        (i, _call(fn, [record], policy, sleep, [batch_keys[i]], batch_attempts))
        for i, record in enumerate(batch)
    ]
    elapsed = (clock() - started) * 1000.0
    for i, single in singles:
        attempts = batch_attempts + single.attempts
        if single.values is not None:
            yield Outcome(
                first_index + i,
                single.values[0],
                None,
                None,
                attempts,
                batch_number,
                elapsed,
                batch_attempts,
            )
        else:
            assert single.error is not None
            reason = (
                REASON_PERMANENT
                if isinstance(single.error, PermanentError)
                else REASON_RETRIES_EXHAUSTED
            )
            yield Outcome(
                first_index + i,
                None,
                reason,
                _describe(single.error),
                attempts,
                batch_number,
                elapsed,
                batch_attempts,
            )


def numbered_batches(batches: Iterable[B], batch_size: int) -> Iterator[tuple[int, B]]:
    """Non-empty record batches, each with the number its first inference batch
    gets from run_in_batches, numbered on across batches as if the stream were
    one (so numbers do not depend on which process runs a batch)."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    next_number = 1
    for batch in batches:
        if batch.num_rows:
            yield next_number, batch
            next_number += -(-batch.num_rows // batch_size)


def run_over_rows(
    batch: pa.RecordBatch,
    fn: Callable[[list[int]], Sequence[R]],
    *,
    batch_size: int,
    policy: RetryPolicy,
    first_batch_number: int,
    key_column: str = "customer_id",
) -> list[Outcome[R]]:
    """run_in_batches over the row positions of one record batch, records named
    by `key_column` (what the per-customer steps share)."""
    return list(
        run_in_batches(
            list(range(batch.num_rows)),
            fn,
            keys=batch.column(key_column).to_pylist(),
            batch_size=batch_size,
            policy=policy,
            first_batch_number=first_batch_number,
        )
    )
