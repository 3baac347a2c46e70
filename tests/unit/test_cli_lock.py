"""cli.run_pipeline: one run at a time, guarded by an flock on `<warehouse>.lock`.

dbt is never run here: subprocess.Popen is replaced by a recording fake.
tests/e2e/test_crash_safety.py runs the real processes.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from holdfast import cli


class FakeDbt:
    """Stands in for subprocess.Popen; records calls and checks the lock while 'running'."""

    pid = 999_999

    def __init__(self, returncode: int = 0, lock_path: Path | None = None) -> None:
        self.returncode = returncode
        self.lock_path = lock_path
        self.calls: list[dict] = []
        self.lock_was_held: bool | None = None
        self.lock_contents: str | None = None

    def __call__(self, command, **kwargs):
        self.calls.append({"command": list(command), **kwargs})
        if self.lock_path is not None:
            self.lock_contents = self.lock_path.read_text()
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def wait(self, timeout: float | None = None) -> int:
        if self.lock_path is not None:
            self.lock_was_held = is_locked(self.lock_path)
        return self.returncode


def is_locked(path: Path) -> bool:
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "warehouse" / "test.duckdb"
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(path))
    return path


@pytest.fixture
def fake_dbt(monkeypatch) -> FakeDbt:
    fake = FakeDbt()
    monkeypatch.setattr(cli.subprocess, "Popen", fake)
    return fake


def hold_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115 - closed by the caller
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return handle


def test_run_pipeline_returns_3_at_once_when_another_run_holds_the_lock(
    tmp_path, warehouse, fake_dbt, capsys
):
    lock_path = Path(f"{warehouse}.lock")
    holder = hold_lock(lock_path)
    try:
        started = time.monotonic()
        code = cli.run_pipeline([], project=tmp_path)
        elapsed = time.monotonic() - started
    finally:
        holder.close()
    assert code == 3
    assert elapsed < 2.0
    assert fake_dbt.calls == []
    captured = capsys.readouterr()
    assert str(lock_path) in captured.err
    assert "another run" in captured.err
    assert captured.out == ""


def test_locked_run_resolves_a_relative_warehouse_path_against_the_project(
    tmp_path, monkeypatch, fake_dbt, capsys
):
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", "data/wh/relative.duckdb")
    lock_path = tmp_path / "data" / "wh" / "relative.duckdb.lock"
    holder = hold_lock(lock_path)
    try:
        assert cli.run_pipeline(["--select", "x"], project=tmp_path) == 3
    finally:
        holder.close()
    assert fake_dbt.calls == []
    assert str(lock_path) in capsys.readouterr().err


def test_locked_run_leaves_the_lock_holders_pid_in_the_lock_file(tmp_path, warehouse, fake_dbt):
    lock_path = Path(f"{warehouse}.lock")
    holder = hold_lock(lock_path)
    try:
        holder.write("424242\n")
        holder.flush()
        assert cli.run_pipeline([], project=tmp_path) == 3
        assert lock_path.read_text() == "424242\n"
    finally:
        holder.close()


def test_run_pipeline_runs_dbt_build_under_the_lock_when_it_is_free(
    tmp_path, warehouse, monkeypatch
):
    lock_path = Path(f"{warehouse}.lock")
    fake = FakeDbt(returncode=0, lock_path=lock_path)
    monkeypatch.setattr(cli.subprocess, "Popen", fake)
    code = cli.run_pipeline(["--select", "stg_orders+"], project=tmp_path)
    assert code == 0
    (call,) = fake.calls
    assert call["command"][1:] == ["build", "--select", "stg_orders+"]
    assert Path(call["cwd"]) == tmp_path
    assert call["env"]["DO_NOT_TRACK"] == "1"
    assert fake.lock_was_held is True
    assert fake.lock_contents == f"{os.getpid()}\n"
    (lock_fd,) = call["pass_fds"]  # dbt inherits the lock's descriptor
    assert lock_fd > 2
    assert lock_path.read_text() == f"{os.getpid()}\nchild {FakeDbt.pid}\n"
    assert warehouse.parent.is_dir()
    assert not is_locked(lock_path)  # released after the run


def test_run_pipeline_returns_1_when_dbt_fails(tmp_path, warehouse, monkeypatch):
    monkeypatch.setattr(cli.subprocess, "Popen", FakeDbt(returncode=2))
    assert cli.run_pipeline([], project=tmp_path) == 1


def test_a_second_run_after_the_first_finished_takes_the_lock_again(tmp_path, warehouse, fake_dbt):
    assert cli.run_pipeline([], project=tmp_path) == 0
    assert cli.run_pipeline([], project=tmp_path) == 0
    assert len(fake_dbt.calls) == 2


def test_a_lock_held_by_the_child_of_an_ended_run_names_both(tmp_path, warehouse, fake_dbt, capsys):
    ended = os.fork()  # subprocess.Popen is the fake here
    if ended == 0:
        os._exit(0)
    os.waitpid(ended, 0)
    lock_path = Path(f"{warehouse}.lock")
    holder = hold_lock(lock_path)
    try:
        holder.write(f"{ended}\nchild {os.getpid()}\n")
        holder.flush()
        assert cli.run_pipeline([], project=tmp_path) == 3
    finally:
        holder.close()
    assert fake_dbt.calls == []
    err = capsys.readouterr().err
    assert f"pid {ended}, ended; its child pid {os.getpid()} still runs" in err
