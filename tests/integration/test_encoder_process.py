"""The embedding step's model runs in a child process that ends with the step.

Loaded in the dbt process, torch and what it kept for the model (about 1 GB)
stayed resident under every later step of a build.

A child that dies (SIGKILL, as the OOM killer sends) is started again once;
a second death stops the step within seconds, with no product dead-lettered.
These tests kill real children running the real model.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from tests.conftest import run_as_main_module

from holdfast.application.embedding import embed_products
from holdfast.application.faults import StepFaults
from holdfast.application.records import RunContext, array_to_vectors
from holdfast.application.resilience import FatalError, RetryPolicy
from holdfast.datagen.synthetic import catalog_texts
from holdfast.infrastructure.encoder import (
    PACKAGED_SPEC,
    EncoderClosed,
    EncoderDied,
    EncoderProcess,
    load_encoder,
    resolve_model_path,
)
from holdfast.infrastructure.step_telemetry import (
    child_pids,
    current_rss_bytes,
    tree_rss_bytes,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process tree from /proc"
)


def test_vectors_come_from_a_child_process_and_equal_the_in_process_ones():
    texts = catalog_texts(60, seed=11, customers=5)
    encoder = EncoderProcess(PACKAGED_SPEC)
    try:
        assert encoder.pid != os.getpid() and encoder.pid in child_pids(os.getpid())
        assert encoder.version == load_encoder(PACKAGED_SPEC).version
        vectors = encoder.encode(texts)
        np.testing.assert_array_equal(vectors, load_encoder(PACKAGED_SPEC).encode(texts))
        assert encoder.encode([]).shape == (0, encoder.dimension)
        # the model's memory is the child's, and the tree counts it
        model_memory = tree_rss_bytes(encoder.pid)
        assert model_memory >= 200 * 2**20
        assert tree_rss_bytes() >= current_rss_bytes() + model_memory
    finally:
        encoder.close()
    assert encoder.pid not in child_pids(os.getpid())  # the process is gone
    with pytest.raises(RuntimeError, match="closed"):
        encoder.encode(texts[:1])
    encoder.close()  # closing twice is harmless


def test_a_model_that_cannot_load_raises_its_own_error_here(tmp_path):
    children_before = set(child_pids(os.getpid()))
    with pytest.raises(FileNotFoundError, match="no sentence-transformers model"):
        EncoderProcess(f"path:{tmp_path}")
    # no process left behind (multiprocessing's resource tracker may start, once)
    left = set(child_pids(os.getpid())) - children_before
    assert all("resource_tracker" in _command(pid) for pid in left)


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


RUN = RunContext(run_id="run-encoder", run_started_at=datetime(2026, 1, 2, tzinfo=UTC))
# real backoff: a death retried as if it were a transient error would cost seconds per batch
BACKOFF = RetryPolicy(max_retries=3, initial_backoff_seconds=1.0, jitter_seconds=0.5)


def _products(texts: Sequence[str]) -> list[pa.RecordBatch]:
    ids = [f"p{i:05d}" for i in range(len(texts))]
    return [
        pa.RecordBatch.from_pydict(
            {
                "product_id": ids,
                "product_text": list(texts),
                "text_hash": [f"h{i}" for i in range(len(texts))],
                "previous_failed_runs": [0] * len(texts),
            }
        )
    ]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class KillsItsChildDuringCall:
    """An EncoderProcess whose child is SIGKILLed during model call `at`, once
    the child has spent `busy_seconds` of CPU on it (it is encoding)."""

    def __init__(self, encoder: EncoderProcess, at: int, busy_seconds: float = 0.2) -> None:
        self.encoder = encoder
        self.at = at
        self.busy_seconds = busy_seconds
        self.calls = 0
        self.killed: int | None = None
        self.killed_while_encoding = False

    @property
    def version(self) -> str:
        return self.encoder.version

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls != self.at:
            return self.encoder.encode(texts)
        returned = threading.Event()
        killer = threading.Thread(target=self._kill_when_busy, args=(self.encoder.pid, returned))
        killer.start()
        try:
            return self.encoder.encode(texts)
        finally:
            returned.set()
            killer.join()

    def _kill_when_busy(self, pid: int, returned: threading.Event) -> None:
        before = _cpu_seconds(pid)
        while not returned.is_set():
            if _cpu_seconds(pid) - before >= self.busy_seconds:
                self.killed_while_encoding = not returned.is_set()
                os.kill(pid, signal.SIGKILL)
                self.killed = pid
                return
            time.sleep(0.005)


class CountsCalls:
    """Counts the model calls the retry layer makes (delegates every one)."""

    def __init__(self, encoder: EncoderProcess) -> None:
        self.encoder = encoder
        self.calls = 0

    @property
    def version(self) -> str:
        return self.encoder.version

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return self.encoder.encode(texts)


def test_a_child_killed_while_encoding_is_restarted_once_and_every_vector_is_produced():
    texts = catalog_texts(90, seed=21, customers=5)
    restarts: list[str] = []
    encoder = EncoderProcess(PACKAGED_SPEC, on_restart=restarts.append)
    first_child = encoder.pid
    killing = KillsItsChildDuringCall(encoder, at=2)
    try:
        rows = pa.Table.from_batches(
            list(embed_products(_products(texts), killing, run=RUN, policy=BACKOFF, batch_size=30))
        )
        assert killing.killed == first_child and killing.killed_while_encoding
        assert encoder.restarts == 1 and encoder.pids == [first_child, encoder.pid]
        assert first_child not in child_pids(os.getpid())
        assert len(restarts) == 1
        assert f"pid {first_child}) was killed by SIGKILL" in restarts[0]
        assert "while encoding 30 texts" in restarts[0]
        # every product done, none retried or dead-lettered for the death
        assert rows.num_rows == len(texts)
        assert rows.column("product_id").to_pylist() == [f"p{i:05d}" for i in range(len(texts))]
        assert set(rows.column("status").to_pylist()) == {"ok"}
        assert set(rows.column("batch_attempts").to_pylist()) == {1}
        vectors, present = array_to_vectors(rows.column("embedding"), encoder.dimension)
        assert present.all()
        np.testing.assert_array_equal(vectors, load_encoder(PACKAGED_SPEC).encode(texts))
    finally:
        encoder.close()
    assert not set(encoder.pids) & set(child_pids(os.getpid()))


def test_an_idle_child_killed_is_replaced_and_a_second_death_is_fatal_at_once():
    texts = catalog_texts(20, seed=5, customers=5)
    restarts: list[str] = []
    encoder = EncoderProcess(PACKAGED_SPEC, on_restart=restarts.append)
    try:
        first = encoder.pid
        os.kill(first, signal.SIGKILL)  # between calls, as the OOM killer may
        np.testing.assert_array_equal(
            encoder.encode(texts), load_encoder(PACKAGED_SPEC).encode(texts)
        )
        assert encoder.restarts == 1 and encoder.pid != first and len(restarts) == 1
        second = encoder.pid
        os.kill(second, signal.SIGKILL)
        started = time.perf_counter()
        with pytest.raises(EncoderDied) as died:
            encoder.encode(texts)
        assert time.perf_counter() - started < 30  # no third child, no retries
        assert isinstance(died.value, FatalError)
        message = str(died.value)
        assert f"pid {second}) was killed by SIGKILL" in message
        assert "no restart left (1 used)" in message and "no record is at fault" in message
        assert encoder.pids == [first, second] and len(restarts) == 1
        assert not {first, second} & set(child_pids(os.getpid()))
        with pytest.raises(EncoderClosed, match="closed"):
            encoder.encode(texts)
    finally:
        encoder.close()


def test_a_child_that_dies_at_every_call_stops_the_step_within_seconds_with_no_dead_letter():
    texts = catalog_texts(400, seed=8, customers=5)
    batch_size = 16
    batches = -(-len(texts) // batch_size)
    # the `crash` fault: each child SIGKILLs itself at its first model call
    faults = StepFaults("embed_products", crash_rate=1.0)
    policy = RetryPolicy(max_retries=3, initial_backoff_seconds=1.0, faults=faults)
    restarts: list[str] = []
    encoder = EncoderProcess(PACKAGED_SPEC, faults=faults, on_restart=restarts.append)
    counting = CountsCalls(encoder)
    produced: list[pa.RecordBatch] = []
    started = time.perf_counter()
    try:
        with pytest.raises(EncoderDied) as died:
            for batch in embed_products(
                _products(texts), counting, run=RUN, policy=policy, batch_size=batch_size
            ):
                produced.append(batch)
        elapsed = time.perf_counter() - started
    finally:
        encoder.close()
    # one restart (a model load), then the step stops: not minutes of backoff
    # over 25 batches and their 400 records
    assert elapsed < 60
    assert counting.calls == 1 < batches
    assert encoder.restarts == 1 and len(encoder.pids) == 2 and len(restarts) == 1
    assert "was killed by SIGKILL" in str(died.value)
    assert "no restart left" in str(died.value)
    # no product is dead-lettered: the step yields no row at all
    assert produced == []
    assert not set(encoder.pids) & set(child_pids(os.getpid()))


def test_a_replacement_that_cannot_load_the_model_is_fatal(tmp_path):
    folder, _ = resolve_model_path(PACKAGED_SPEC)
    link = tmp_path / "model"
    link.symlink_to(folder, target_is_directory=True)
    encoder = EncoderProcess(f"path:{link}")
    try:
        first = encoder.pid
        link.unlink()  # the model is gone when a new child would load it
        os.kill(first, signal.SIGKILL)
        with pytest.raises(EncoderDied) as died:
            encoder.encode(["a product"])
        message = str(died.value)
        assert "its replacement could not load the model" in message
        assert "FileNotFoundError" in message and "no record is at fault" in message
        assert len(encoder.pids) == 1
    finally:
        encoder.close()
    assert first not in child_pids(os.getpid())


def test_the_child_does_not_run_the_host_programs_main_module(tmp_path):
    """The host is dbt's console script: a child that ran it again would hold
    all of dbt-core beside the model."""
    printed, runs = run_as_main_module(
        tmp_path,
        """
        from holdfast.infrastructure.encoder import PACKAGED_SPEC, EncoderProcess
        encoder = EncoderProcess(PACKAGED_SPEC)
        print(encoder.encode(["a red kettle"]).shape)
        encoder.close()
        """,
    )
    assert printed == "(1, 384)"
    assert runs == ["__main__"]  # the host only, not the encoder's child
