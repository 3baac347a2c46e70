"""Shared fixtures of the unit tests: a run context and a retry policy that never waits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from holdfast.application.records import RunContext
from holdfast.application.resilience import RetryPolicy


@pytest.fixture
def run_context() -> RunContext:
    return RunContext(run_id="run-test", run_started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


@pytest.fixture
def fast_policy() -> RetryPolicy:
    """Retries without backoff: the steps call the real time.sleep, so waits must be 0."""
    return RetryPolicy(max_retries=2, initial_backoff_seconds=0.0, jitter_seconds=0.0)
