"""Process-side telemetry adapters: memory and CPU probes, dbt's logger, report files.

Reports are JSON files, one per step per run, written next to the warehouse
(`<warehouse dir>/<warehouse stem>.telemetry/<run_id>__<step>.json`) and read
back by the model `ops_step_telemetry`. Files, not rows: dbt-duckdb writes the
step's table from its Arrow reader while the step runs, so writing to the
database from inside the step would race that write.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import duckdb

from holdfast.application.telemetry import StepReport

SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, looked up once per process (None without glibc)."""
    import ctypes

    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def return_freed_memory() -> int:
    """Hand memory the process freed back to the system (glibc `malloc_trim`);
    the bytes of resident memory that went, 0 where there is no glibc.

    glibc keeps freed blocks in its arenas, one per thread that allocated, and
    a later step's peak stands on top of them. (It does not reach what the
    embedding step's model still holds while the encoder stays loaded: 89 MB
    of about 450 MB in a standalone loop.)"""
    trim = _malloc_trim()
    if trim is None:
        return 0
    before = current_rss_bytes()
    trim(0)
    return max(before - current_rss_bytes(), 0)


def current_rss_bytes() -> int:
    """Resident memory of this process (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def child_pids(pid: int) -> list[int]:
    """The processes `pid` started, whichever of its threads started them.

    Linux lists a child under the thread that forked it
    (`/proc/<pid>/task/<tid>/children`), and a step's worker processes are
    started from its producer thread, not the main one."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                found.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue  # the thread or the process ended meanwhile
    return found


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (Linux /proc; just `root` elsewhere)."""
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(child_pids(pid))
    return pids


def tree_rss_bytes(root: int | None = None) -> int:
    """Resident memory of `root` (default: this process) and its descendants."""
    total = 0
    for pid in process_tree(os.getpid() if root is None else root):
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
                total += int(statm.read().split()[1]) * _PAGE_SIZE
        except (OSError, ValueError, IndexError):
            continue
    return total


class ProcessProbe:
    """CPU seconds and peak resident memory of this process and the processes
    it starts (a step's workers, its encoder), sampled by a thread.

    CPU time is the process's (all threads, DuckDB's included) plus that of
    its children once they have ended and been waited for (a step's pools
    end with the step), which is the step's cost while dbt runs one model at a
    time (profile threads: 1). Memory is the tree's: this process's RSS plus
    that of its live descendants.
    """

    def __init__(self, interval_seconds: float = 0.05) -> None:
        self.interval_seconds = interval_seconds
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def cpu_seconds(self) -> float:
        times = os.times()
        return time.process_time() + times.children_user + times.children_system

    def rss_bytes(self) -> int:
        return tree_rss_bytes()

    def peak_rss_bytes(self) -> int:
        self._peak = max(self._peak, tree_rss_bytes())  # every reading counts
        return self._peak

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self._peak = max(self._peak, tree_rss_bytes())

    def start(self) -> None:
        self._peak = tree_rss_bytes()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="holdfast-rss", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None


def dbt_log():
    """A progress log that goes through dbt's own logger (console and logs/dbt.log).

    Outside dbt (unit tests, scripts) it falls back to the `logging` module.
    """
    try:
        from dbt.adapters.events.logging import AdapterLogger

        logger = AdapterLogger("holdfast")
        return logger.info
    except ImportError:  # pragma: no cover - dbt is a dependency
        import logging

        return logging.getLogger("holdfast").info


def warehouse_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file behind the connection's current database (None for in-memory)."""
    rows = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    path = rows[0][0] if rows else None
    return Path(path).resolve() if path else None


def telemetry_dir(database_file: Path) -> Path:
    """Where the step reports of a warehouse live: beside it, one folder per warehouse."""
    return database_file.parent / f"{database_file.stem}.telemetry"


TEMP_PREFIX = ".tmp-"
STALE_TEMP_SECONDS = 600.0


def write_report(directory: Path, report: StepReport) -> Path:
    """Write a step report as JSON, atomically: a hidden `.tmp-*.json` file,
    flushed to disk, then renamed to its final name.

    A write cut short (a kill, a full disk) leaves at most the hidden temp
    file, which the reader skips; a failed write removes its own, and temp
    files older than STALE_TEMP_SECONDS (left by a killed step) are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(directory)
    name = f"{SAFE_NAME.sub('_', report.run_id)}__{SAFE_NAME.sub('_', report.step)}.json"
    target = directory / name
    handle, temp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX, suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(report.as_dict(), out, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def _remove_stale_temp_files(directory: Path) -> None:
    """Remove temp files no writer has touched for STALE_TEMP_SECONDS (best effort)."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    for path in directory.glob(f"{TEMP_PREFIX}*.json"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue  # renamed or removed meanwhile


class ExpectedRows:
    """The row count a step's input query announced, for progress ETAs.

    Set by `warehouse.stream` just before it starts streaming, read by the
    step's observer after the first batch. dbt runs one model at a time
    (profile threads: 1), so one slot is enough; with more threads an ETA may
    belong to another step, which only affects a log line.
    """

    _lock = threading.Lock()
    _rows: int | None = None

    @classmethod
    def announce(cls, rows: int) -> None:
        with cls._lock:
            cls._rows = rows

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._rows = None

    @classmethod
    def get(cls) -> int | None:
        with cls._lock:
            return cls._rows
