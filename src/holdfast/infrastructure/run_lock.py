"""The run lock: one writer of a warehouse at a time.

`holdfast run` and the commands that write to the warehouse outside dbt
(`holdfast dlq requeue|purge`) take an exclusive flock on `<warehouse>.lock`,
without waiting: a second writer is told at once who holds it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RunLocked(RuntimeError):
    """Another process holds the warehouse's run lock."""


def lock_path_for(warehouse: Path) -> Path:
    """`<warehouse>.lock`, beside the DuckDB file."""
    return warehouse.with_name(warehouse.name + ".lock")


@contextmanager
def hold_run_lock(warehouse: Path) -> Iterator[Path]:
    """Hold the run lock of `warehouse` for the block; RunLocked if taken."""
    path = lock_path_for(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "a+", not "w": a process that finds the lock taken must not wipe the holder's pid
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise RunLocked(f"another run (pid {holder}) holds {path}") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield path
