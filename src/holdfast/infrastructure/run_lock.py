"""The run lock: one writer of a warehouse at a time.

`holdfast run` and the commands that write to the warehouse outside dbt
(`holdfast dlq requeue|purge`) take an exclusive flock on `<warehouse>.lock`,
without waiting: a second writer is told at once who holds it.

A flock belongs to the open file, not to the process: `holdfast run` hands
the lock's descriptor to its `dbt build` child (`pass_fds`), so the lock is
held until every holder has exited. Killing only `holdfast run` leaves its
dbt child holding the lock, and the next run does not start beside it. The
lock file names the holders: the first line the pid that took it, then one
`child <pid>` line per process it was handed to.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


class RunLocked(RuntimeError):
    """Another process holds the warehouse's run lock."""


def lock_path_for(warehouse: Path) -> Path:
    """`<warehouse>.lock`, beside the DuckDB file."""
    return warehouse.with_name(warehouse.name + ".lock")


@dataclass
class RunLock:
    """The held lock: its file, and the descriptor a child must inherit to hold it too."""

    path: Path
    handle: TextIO

    @property
    def fd(self) -> int:
        return self.handle.fileno()

    def add_holder(self, pid: int) -> None:
        """Record a child that was handed the lock's descriptor."""
        self.handle.write(f"child {pid}\n")
        self.handle.flush()


def is_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True  # no /proc: kill(0) is all there is


def describe_holders(text: str) -> str:
    """'pid N' for the lock file's first line, with the children still alive
    when N has ended (the lock is then held by what it started)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or not lines[0][0].isdigit():
        return "pid unknown"
    holder = int(lines[0][0])
    children = [int(words[1]) for words in lines[1:] if len(words) == 2 and words[1].isdigit()]
    if is_alive(holder):
        return f"pid {holder}"
    living = [str(pid) for pid in children if is_alive(pid)]
    if living:
        return f"pid {holder}, ended; its child pid {', '.join(living)} still runs"
    return f"pid {holder}, ended; a process it started still runs"


@contextmanager
def hold_run_lock(warehouse: Path) -> Iterator[RunLock]:
    """Hold the run lock of `warehouse` for the block; RunLocked if taken."""
    path = lock_path_for(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "a+", not "w": a process that finds the lock taken must not wipe the holder's pid
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holders = describe_holders(lock.read())
            raise RunLocked(f"another run ({holders}) holds {path}") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield RunLock(path, lock)
