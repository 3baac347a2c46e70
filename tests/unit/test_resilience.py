"""application.resilience: batches, retries with backoff, isolating poisonous records.

No test sleeps: run_in_batches takes a `sleep` that only records the delays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from itertools import pairwise

import pytest

from holdfast.application.resilience import (
    MAX_ERROR_LENGTH,
    REASON_PERMANENT,
    REASON_RETRIES_EXHAUSTED,
    FatalError,
    PermanentError,
    RetryPolicy,
    run_in_batches,
)


class TransientError(Exception):
    """A failure that could go away on retry (a timeout, a busy model server)."""


class FakeModel:
    """Doubles its inputs; fails as configured; records every call."""

    def __init__(
        self,
        *,
        fail_first_calls: int = 0,
        poison: Callable[[int], Exception | None] | None = None,
        always: Exception | None = None,
        result_count: Callable[[int], int] | None = None,
    ) -> None:
        self.fail_first_calls = fail_first_calls
        self.poison = poison
        self.always = always
        self.result_count = result_count
        self.calls: list[list[int]] = []

    def __call__(self, payload: list[int]) -> list[int]:
        self.calls.append(list(payload))
        if self.always is not None:
            raise self.always
        if len(self.calls) <= self.fail_first_calls:
            raise TransientError(f"busy (call {len(self.calls)})")
        if self.poison is not None:
            for item in payload:
                error = self.poison(item)
                if error is not None:
                    raise error
        values = [2 * item for item in payload]
        if self.result_count is not None:
            values = (values * 2)[: self.result_count(len(payload))]
        return values


def run(
    payloads: Sequence[int],
    model: FakeModel,
    policy: RetryPolicy,
    *,
    batch_size: int = 4,
    first_batch_number: int = 1,
) -> tuple[list, list[float]]:
    delays: list[float] = []
    outcomes = list(
        run_in_batches(
            payloads,
            model,
            batch_size=batch_size,
            policy=policy,
            first_batch_number=first_batch_number,
            sleep=delays.append,
        )
    )
    return outcomes, delays


NO_WAIT = RetryPolicy(max_retries=3, initial_backoff_seconds=0.0, jitter_seconds=0.0)


# the happy path ------------------------------------------------------------------------------


def test_every_record_gets_an_ok_outcome_in_input_order_with_one_call_per_batch():
    model = FakeModel()
    outcomes, delays = run(list(range(10)), model, NO_WAIT, batch_size=4)
    assert [o.index for o in outcomes] == list(range(10))
    assert [o.value for o in outcomes] == [2 * i for i in range(10)]
    assert all(o.ok and o.reason is None and o.error is None for o in outcomes)
    assert all(o.attempts == 1 and o.batch_attempts == 1 for o in outcomes)
    assert model.calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert delays == []


def test_batch_numbers_increment_per_batch_from_the_first_batch_number():
    outcomes, _ = run(list(range(7)), FakeModel(), NO_WAIT, batch_size=3, first_batch_number=5)
    assert [o.batch_number for o in outcomes] == [5, 5, 5, 6, 6, 6, 7]


def test_no_payloads_means_no_calls_and_no_outcomes():
    model = FakeModel()
    outcomes, _ = run([], model, NO_WAIT)
    assert outcomes == []
    assert model.calls == []


def test_batch_latency_is_measured_with_the_given_clock_in_milliseconds():
    ticks = iter([10.0, 10.25])
    outcomes = list(
        run_in_batches(
            [1, 2],
            FakeModel(),
            batch_size=5,
            policy=NO_WAIT,
            sleep=lambda _: None,
            clock=lambda: next(ticks),
        )
    )
    assert [o.batch_latency_ms for o in outcomes] == [pytest.approx(250.0)] * 2


@pytest.mark.parametrize("batch_size", [0, -3])
def test_batch_size_below_one_is_rejected(batch_size):
    with pytest.raises(ValueError):
        list(run_in_batches([1], FakeModel(), batch_size=batch_size, policy=NO_WAIT))


@pytest.mark.parametrize("kwargs", [{"max_retries": -1}, {"initial_backoff_seconds": -0.5}])
def test_retry_policy_rejects_negative_retries_or_backoff(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


# retries -------------------------------------------------------------------------------------


def test_transient_failure_that_recovers_on_the_second_attempt_gives_all_ok():
    model = FakeModel(fail_first_calls=1)
    policy = RetryPolicy(max_retries=3, initial_backoff_seconds=0.5, jitter_seconds=0.1)
    outcomes, delays = run([1, 2, 3], model, policy, batch_size=10)
    assert all(o.ok for o in outcomes)
    assert [o.value for o in outcomes] == [2, 4, 6]
    assert [o.batch_attempts for o in outcomes] == [2, 2, 2]
    assert model.calls == [[1, 2, 3], [1, 2, 3]]
    assert len(delays) == 1
    assert 0.5 <= delays[0] <= 0.6


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_persistent_transient_failure_is_attempted_max_retries_plus_one_times(max_retries):
    model = FakeModel(always=TransientError("model server unavailable"))
    policy = RetryPolicy(max_retries=max_retries, initial_backoff_seconds=0.0)
    outcomes, delays = run([7], model, policy)
    (outcome,) = outcomes
    # The batch call is retried, then the record alone is retried as often again.
    assert outcome.batch_attempts == max_retries + 1
    assert outcome.attempts == 2 * (max_retries + 1)
    assert len(model.calls) == 2 * (max_retries + 1)
    assert len(delays) == 2 * max_retries
    assert not outcome.ok
    assert outcome.value is None
    assert outcome.reason == REASON_RETRIES_EXHAUSTED
    assert "TransientError" in outcome.error
    assert "model server unavailable" in outcome.error


def test_backoff_delays_grow_exponentially_with_bounded_jitter():
    initial, jitter, retries = 0.5, 0.1, 4
    policy = RetryPolicy(
        max_retries=retries,
        initial_backoff_seconds=initial,
        max_backoff_seconds=100.0,
        jitter_seconds=jitter,
    )
    _, delays = run([1], FakeModel(always=TransientError("down")), policy)
    # Two retried calls (the batch, then the record alone), each waiting `retries` times.
    assert len(delays) == 2 * retries
    for call_delays in (delays[:retries], delays[retries:]):
        for n, delay in enumerate(call_delays):
            base = initial * 2**n
            assert base <= delay <= base + jitter, (n, delay)
        assert all(b > a for a, b in pairwise(call_delays))


def test_backoff_delays_are_capped_at_max_backoff_seconds():
    policy = RetryPolicy(
        max_retries=5, initial_backoff_seconds=1.0, max_backoff_seconds=3.0, jitter_seconds=0.5
    )
    model = FakeModel(always=TransientError("down"))
    delays: list[float] = []
    list(run_in_batches([1], model, batch_size=1, policy=policy, sleep=delays.append))
    first_call = delays[:5]
    assert 1.0 <= first_call[0] <= 1.5
    assert 2.0 <= first_call[1] <= 2.5
    assert first_call[2:] == [3.0, 3.0, 3.0]
    assert max(delays) <= 3.0


def test_zero_initial_backoff_retries_without_waiting_or_jitter():
    policy = RetryPolicy(max_retries=2, initial_backoff_seconds=0.0, jitter_seconds=5.0)
    _, delays = run([1], FakeModel(always=TransientError("down")), policy)
    assert delays == [0.0] * 4


def test_permanent_error_is_not_retried():
    model = FakeModel(always=PermanentError("input too long"))
    policy = RetryPolicy(max_retries=5, initial_backoff_seconds=1.0)
    outcomes, delays = run([3], model, policy)
    (outcome,) = outcomes
    assert delays == []
    assert len(model.calls) == 2  # the batch once, the record alone once
    assert outcome.batch_attempts == 1
    assert outcome.attempts == 2
    assert outcome.reason == REASON_PERMANENT
    assert "PermanentError" in outcome.error and "input too long" in outcome.error


# isolation of poisonous records --------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PermanentError("cannot embed record 3"), REASON_PERMANENT),
        (TransientError("times out on record 3"), REASON_RETRIES_EXHAUSTED),
    ],
)
def test_one_poisonous_record_fails_alone_and_its_neighbours_succeed_in_input_order(error, reason):
    model = FakeModel(poison=lambda item: error if item == 3 else None)
    outcomes, _ = run([0, 1, 2, 3, 4, 5], model, NO_WAIT, batch_size=6)
    assert [o.index for o in outcomes] == [0, 1, 2, 3, 4, 5]
    assert [o.ok for o in outcomes] == [True, True, True, False, True, True]
    assert [o.value for o in outcomes] == [0, 2, 4, None, 8, 10]
    failed = outcomes[3]
    assert failed.reason == reason
    assert str(error) in failed.error
    assert all(o.reason is None and o.error is None for o in outcomes if o.ok)
    assert {o.batch_number for o in outcomes} == {1}


def test_a_poisonous_record_only_affects_its_own_batch():
    model = FakeModel(poison=lambda item: PermanentError("bad") if item == 5 else None)
    outcomes, _ = run(list(range(9)), model, NO_WAIT, batch_size=3)
    assert [o.ok for o in outcomes] == [True] * 5 + [False] + [True] * 3
    # Batch 1 and 3 are single calls; batch 2 fails once then is split into three calls.
    assert model.calls == [[0, 1, 2], [3, 4, 5], [3], [4], [5], [6, 7, 8]]
    assert [o.batch_number for o in outcomes] == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_a_model_returning_too_few_results_is_a_failure_not_silent():
    model = FakeModel(result_count=lambda n: n - 1)
    outcomes, _ = run([1, 2, 3], model, NO_WAIT, batch_size=3)
    assert len(outcomes) == 3
    assert all(not o.ok for o in outcomes)
    assert all(o.reason == REASON_PERMANENT for o in outcomes)
    assert all("results" in o.error for o in outcomes)


def test_a_model_returning_too_many_results_is_a_failure_not_silent():
    model = FakeModel(result_count=lambda n: n + 1)
    outcomes, _ = run([1, 2], model, NO_WAIT, batch_size=2)
    assert [o.ok for o in outcomes] == [False, False]
    assert all(o.value is None for o in outcomes)


def test_a_long_error_message_is_truncated_to_the_maximum_length():
    model = FakeModel(always=PermanentError("x" * 5000))
    outcomes, _ = run([1], model, NO_WAIT)
    assert len(outcomes[0].error) == MAX_ERROR_LENGTH
    assert outcomes[0].error.startswith("PermanentError: xxx")
    assert outcomes[0].error.endswith("…")


# a model that is gone (its process died) --------------------------------------------------------

DEAD_MODEL_ERRORS = [
    FatalError("the encoder's child process was killed by SIGKILL; no restart left"),
    BrokenProcessPool("A process in the process pool was terminated abruptly"),
]
BACKOFF = RetryPolicy(max_retries=5, initial_backoff_seconds=1.0, jitter_seconds=0.5)


@pytest.mark.parametrize("error", DEAD_MODEL_ERRORS, ids=type)
def test_a_dead_model_stops_the_step_at_its_first_call_without_waiting(error):
    payloads = list(range(40))
    model = FakeModel(always=error)
    delays: list[float] = []
    with pytest.raises(type(error)) as raised:
        list(run_in_batches(payloads, model, batch_size=4, policy=BACKOFF, sleep=delays.append))
    assert raised.value is error
    # one call, no backoff: not 10 batches x (6 attempts + 4 records x 6 attempts) calls
    assert model.calls == [[0, 1, 2, 3]]
    assert delays == []


class DiesAtCall(FakeModel):
    """Fails transiently on its first `flaky` calls, and its process dies at call `dies_at`."""

    def __init__(self, dies_at: int, error: Exception, flaky: int = 0) -> None:
        super().__init__(fail_first_calls=flaky)
        self.dies_at = dies_at
        self.error = error

    def __call__(self, payload: list[int]) -> list[int]:
        if len(self.calls) + 1 >= self.dies_at:
            self.calls.append(list(payload))
            raise self.error
        return super().__call__(payload)


@pytest.mark.parametrize("error", DEAD_MODEL_ERRORS, ids=type)
def test_batches_done_before_the_death_keep_their_outcomes_and_none_is_dead_lettered(error):
    model = DiesAtCall(dies_at=3, error=error)
    delays: list[float] = []
    outcomes = run_in_batches(
        list(range(20)), model, batch_size=4, policy=BACKOFF, sleep=delays.append
    )
    done = [next(outcomes) for _ in range(8)]
    with pytest.raises(type(error)):
        next(outcomes)
    assert [o.value for o in done] == [2 * i for i in range(8)]
    assert all(o.ok for o in done)  # no failed outcome, no reason: nothing to dead-letter
    assert len(model.calls) == 3 and delays == []


def test_a_death_while_records_are_retried_alone_stops_at_once():
    # the batch fails transiently until its retries run out, then the model dies
    # while its first record is retried alone: no other record is tried
    error = FatalError("the encoder's child process died")
    model = DiesAtCall(dies_at=4, error=error, flaky=3)
    delays: list[float] = []
    policy = RetryPolicy(max_retries=2, initial_backoff_seconds=1.0, jitter_seconds=0.0)
    with pytest.raises(FatalError):
        list(run_in_batches([1, 2, 3], model, batch_size=3, policy=policy, sleep=delays.append))
    assert model.calls == [[1, 2, 3], [1, 2, 3], [1, 2, 3], [1]]
    assert delays == [1.0, 2.0]  # the batch's own backoff only
