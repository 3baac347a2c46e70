"""application.faults: the HOLDFAST_INJECT_FAULTS spec and what injected faults do
to run_in_batches (retry transient, dead-letter permanent per record)."""

from __future__ import annotations

import pytest

from holdfast.application.faults import (
    ENV_SEED,
    ENV_SPEC,
    FaultPlan,
    FaultSpecError,
    InjectedPermanentFault,
    InjectedTransientFault,
    StepFaults,
    canonical_step,
)
from holdfast.application.resilience import (
    REASON_PERMANENT,
    REASON_RETRIES_EXHAUSTED,
    RetryPolicy,
    run_in_batches,
)
from holdfast.entrypoints.steps._shared import retry_policy
from holdfast.settings import InferenceSettings


def double(payload: list[int]) -> list[int]:
    return [2 * x for x in payload]


def policy_with(faults: StepFaults | None, max_retries: int = 3) -> RetryPolicy:
    return RetryPolicy(
        max_retries=max_retries, initial_backoff_seconds=0.0, jitter_seconds=0.0, faults=faults
    )


def test_the_issue_example_parses_with_short_step_names():
    plan = FaultPlan.parse("embed.transient=0.3,embed.permanent=0.01,recommend.transient=0.1")
    assert plan.rates == {
        ("embed_products", "transient"): 0.3,
        ("embed_products", "permanent"): 0.01,
        ("recommend", "transient"): 0.1,
    }
    assert plan.for_step("embed") == StepFaults("embed_products", 0.3, 0.01, "0")
    assert plan.for_step("vectorize_customers") is None


@pytest.mark.parametrize(
    ("alias", "step"),
    [
        ("embed", "embed_products"),
        ("vectors", "vectorize_customers"),
        ("segments", "assign_segments"),
        ("recommend", "recommend"),
        ("assign_segments", "assign_segments"),
    ],
)
def test_short_and_long_step_names_are_the_same_step(alias, step):
    assert canonical_step(alias) == step


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("embed=0.3", "is not step.kind=rate"),
        ("embed.transient", "is not step.kind=rate"),
        ("embedz.transient=0.3", "unknown step"),
        ("embed.flaky=0.3", "kind must be transient, permanent or crash"),
        ("embed.transient=1.5", "rate must be a number in [0, 1]"),
        ("embed.transient=nan", "rate must be a number in [0, 1]"),
        ("embed.transient=-0.1", "rate must be a number in [0, 1]"),
        ("embed.transient=abc", "rate must be a number in [0, 1]"),
    ],
)
def test_a_malformed_spec_is_refused_with_the_entry_named(spec, message):
    with pytest.raises(FaultSpecError) as error:
        FaultPlan.parse(spec)
    assert message in str(error.value)
    assert ENV_SPEC in str(error.value)


SETTINGS = InferenceSettings(batch_size=8, max_retries=3, initial_backoff_seconds=0.0)


def test_injection_is_off_when_the_variable_is_unset_or_blank(monkeypatch):
    assert FaultPlan.from_env({}) is None
    assert FaultPlan.from_env({ENV_SPEC: "  "}) is None
    monkeypatch.delenv(ENV_SPEC, raising=False)
    assert retry_policy(SETTINGS, "embed_products").faults is None


def test_step_settings_pick_up_the_faults_of_their_step_only(monkeypatch):
    monkeypatch.setenv(ENV_SPEC, "recommend.permanent=0.5")
    monkeypatch.setenv(ENV_SEED, "7")
    recommend = retry_policy(SETTINGS, "recommend")
    embed = retry_policy(SETTINGS, "embed_products")
    assert recommend.faults == StepFaults("recommend", 0.0, 0.5, "7")
    assert embed.faults is None


def test_a_malformed_spec_in_the_environment_stops_the_step(monkeypatch):
    monkeypatch.setenv(ENV_SPEC, "recommend.sometimes=0.5")
    with pytest.raises(FaultSpecError, match="kind must be transient, permanent or crash"):
        retry_policy(SETTINGS, "recommend")


def test_a_crash_fault_is_only_for_the_step_whose_model_runs_in_a_child_process():
    plan = FaultPlan.parse("embed.crash=1,embed.transient=0.2", seed="3")
    assert plan.for_step("embed") == StepFaults("embed_products", 0.2, 0.0, "3", crash_rate=1.0)
    assert FaultPlan.parse("embed.crash=0.5").for_step("embed").check(["a"], 1) is None
    for step in ("recommend", "vectors", "segments"):
        with pytest.raises(FaultSpecError, match="child process that a crash can kill"):
            FaultPlan.parse(f"{step}.crash=0.5")


def test_crash_draws_are_per_call_and_per_child_and_deterministic():
    calls = [[f"text {i}", f"text {i + 1}"] for i in range(2000)]
    always = StepFaults("embed_products", crash_rate=1.0)
    never = StepFaults("embed_products", transient_rate=1.0, permanent_rate=1.0)
    assert all(always.crashes(texts, child) for texts in calls[:50] for child in (0, 1, 7))
    assert not any(never.crashes(texts, 0) for texts in calls[:50])
    some = StepFaults("embed_products", crash_rate=0.1, seed="s")
    first_child = [i for i, texts in enumerate(calls) if some.crashes(texts, 0)]
    assert first_child == [i for i, texts in enumerate(calls) if some.crashes(texts, 0)]
    assert first_child != [i for i, texts in enumerate(calls) if some.crashes(texts, 1)]
    assert 150 < len(first_child) < 250  # about 10%


def test_draws_are_deterministic_and_depend_on_the_seed():
    keys = [f"k{i}" for i in range(2000)]
    a = StepFaults("recommend", permanent_rate=0.1, seed="1")
    b = StepFaults("recommend", permanent_rate=0.1, seed="2")
    hit_a = [k for k in keys if a.is_permanently_faulty(k)]
    assert hit_a == [k for k in keys if a.is_permanently_faulty(k)]
    assert hit_a != [k for k in keys if b.is_permanently_faulty(k)]
    assert 150 < len(hit_a) < 250  # about 10%


def test_a_permanent_fault_dead_letters_only_the_records_it_hits():
    faults = StepFaults("embed_products", permanent_rate=0.2, seed="s")
    keys = [f"p{i:03d}" for i in range(100)]
    hit = {k for k in keys if faults.is_permanently_faulty(k)}
    assert 0 < len(hit) < 100
    outcomes = list(
        run_in_batches(
            list(range(100)), double, batch_size=16, policy=policy_with(faults), keys=keys
        )
    )
    assert len(outcomes) == 100
    failed = {keys[o.index] for o in outcomes if not o.ok}
    assert failed == hit
    for o in outcomes:
        if o.ok:
            assert o.value == 2 * o.index
        else:
            assert o.reason == REASON_PERMANENT
            assert "injected permanent fault" in o.error and keys[o.index] in o.error


def test_transient_faults_are_retried_and_recover():
    faults = StepFaults("recommend", transient_rate=0.3, seed="s")
    keys = [f"c{i:03d}" for i in range(200)]
    outcomes = list(
        run_in_batches(
            list(range(200)), double, batch_size=20, policy=policy_with(faults), keys=keys
        )
    )
    assert [o.value for o in outcomes] == [2 * i for i in range(200)]
    assert max(o.batch_attempts for o in outcomes) > 1  # some calls were retried


def test_transient_faults_that_outlast_the_retries_dead_letter_records_not_the_batch():
    faults = StepFaults("recommend", transient_rate=0.9, seed="s")
    keys = [f"c{i:03d}" for i in range(40)]
    outcomes = list(
        run_in_batches(
            list(range(40)),
            double,
            batch_size=10,
            policy=policy_with(faults, max_retries=1),
            keys=keys,
        )
    )
    assert len(outcomes) == 40
    failed = [o for o in outcomes if not o.ok]
    assert failed and len(failed) < 40
    assert {o.reason for o in failed} == {REASON_RETRIES_EXHAUSTED}
    assert all("injected transient fault" in o.error for o in failed)


def test_faults_follow_the_record_key_not_its_position():
    faults = StepFaults("recommend", permanent_rate=0.3, seed="s")
    keys = [f"c{i:03d}" for i in range(60)]

    def failed_keys(order: list[int]) -> set[str]:
        ordered = [keys[i] for i in order]
        return {
            ordered[o.index]
            for o in run_in_batches(
                order, double, batch_size=7, policy=policy_with(faults), keys=ordered
            )
            if not o.ok
        }

    assert failed_keys(list(range(60))) == failed_keys(list(reversed(range(60))))


def test_check_raises_the_right_exception_types():
    with pytest.raises(InjectedPermanentFault):
        StepFaults("recommend", permanent_rate=1.0).check(["a"], 1)
    with pytest.raises(InjectedTransientFault):
        StepFaults("recommend", transient_rate=1.0).check(["a"], 1)
    StepFaults("recommend").check(["a"], 1)  # no rates: nothing raised


def test_keys_must_match_the_payloads():
    with pytest.raises(ValueError, match="one entry per payload"):
        list(run_in_batches([1, 2], double, batch_size=2, policy=policy_with(None), keys=["a"]))
