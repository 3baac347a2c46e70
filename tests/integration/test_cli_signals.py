"""Ctrl-C on a real `holdfast` process: SIGINT stops the command with exit code 130 and
one line on stderr, no traceback, and it lets go of what it held.

Each process starts in its own session, so the test can end whatever it started
(the stand-in dbt) by process group afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from holdfast import __version__
from holdfast.infrastructure.run_lock import RunLocked, hold_run_lock, lock_path_for

# `holdfast run` with a stand-in for dbt that runs until it is killed
RUN_WITH_STANDIN_DBT = """
import sys
from holdfast import cli
cli.dbt_executable = lambda: sys.argv[1]
sys.exit(cli.main(["run"]))
"""


def _wait_for(
    ready: Callable[[], bool], process: subprocess.Popen | None, seconds: float = 30
) -> None:
    """Until `ready()`, while `process` (if any) still runs."""
    deadline = time.monotonic() + seconds
    while not ready():
        assert process is None or process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"not ready after {seconds} s"
        time.sleep(0.05)


def _interrupt(process: subprocess.Popen) -> tuple[int, str]:
    """SIGINT to the command alone (not its children), as a terminal's Ctrl-C would
    send it; its exit code and stderr."""
    try:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        return process.returncode, err
    finally:
        with contextlib.suppress(ProcessLookupError):  # what it started, if any is left
            os.killpg(process.pid, signal.SIGKILL)


def _default_sigint() -> None:
    """In the child before it starts: SIGINT handled by default, as in a
    terminal's foreground job. A child inherits an ignored SIGINT (a suite
    started in the background of a non-interactive shell has one), and Python
    then never raises KeyboardInterrupt: Ctrl-C could not be tested."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


def test_ctrl_c_during_holdfast_run_exits_130(tmp_path: Path):
    dbt = tmp_path / "dbt"
    # its output goes elsewhere: the test reads holdfast's stderr up to its end
    dbt.write_text("#!/bin/sh\nexec sleep 60 >/dev/null 2>&1\n")
    dbt.chmod(0o755)
    warehouse = tmp_path / "warehouse.duckdb"
    env = {"HOLDFAST_PROJECT_DIR": str(tmp_path), "HOLDFAST_DUCKDB_PATH": str(warehouse)}
    process = _start(["-c", RUN_WITH_STANDIN_DBT, str(dbt)], env)
    lock = lock_path_for(warehouse)
    _wait_for(lambda: lock.exists() and "child" in lock.read_text(), process)  # dbt runs
    code, err = _interrupt(process)
    assert (code, err) == (130, "holdfast run: interrupted\n")
    _wait_for(lambda: _lock_is_free(warehouse), None, seconds=10)  # once the stand-in is gone


def _lock_is_free(warehouse: Path) -> bool:
    try:
        with hold_run_lock(warehouse):
            return True
    except RunLocked:
        return False


def test_ctrl_c_while_generating_exits_130_and_leaves_no_half_file(tmp_path: Path):
    landing = tmp_path / "landing"
    args = ["-m", "holdfast.cli", "generate", "--customers", "2000000", "--batches", "1"]
    process = _start([*args, "--out", str(landing)], {})
    products = landing / "products" / "catalog_0001.jsonl"
    _wait_for(products.exists, process)  # now writing the customers' batch
    code, err = _interrupt(process)
    assert (code, err) == (130, "holdfast generate: interrupted\n")
    assert list((landing / "customers").glob("*")) == []


def test_version_from_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "holdfast.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, f"holdfast {__version__}\n")
