"""What the analysts' commands read, and what they say when they cannot.

`holdfast query`, `holdfast summary` and `holdfast report` read the published
snapshot (holdfast.ops.publish) by default: its own DuckDB file, replaced whole
after each build that passed its tests, never held by a writer, so a read
always gets in, even while `holdfast run` writes the warehouse. `--live`
reads the working warehouse instead, which DuckDB refuses to open, even
read-only, while a writer holds it.

A read that cannot be done raises a `ReadError` whose one-line message says
what happened and what to do; the command line maps its kind to an exit code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

MISSING = "missing"  # nothing to read yet
BUSY = "busy"  # a writer holds the file
FAILED = "failed"  # the query (or the file) failed


@dataclass(frozen=True)
class Source:
    """The DuckDB file a reader opens, and whether it is the live warehouse."""

    path: Path
    live: bool

    @property
    def label(self) -> str:
        return "the live warehouse" if self.live else "the published snapshot"


class ReadError(Exception):
    """A read that could not be done; `kind` is MISSING, BUSY or FAILED."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def first_line(error: BaseException) -> str:
    """The first line of an error's message (DuckDB adds hints and a caret on later lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def explain(error: duckdb.Error, source: Source, advice: str | None = None) -> ReadError:
    """A DuckDB error as a ReadError: a writer's lock is BUSY, anything else FAILED."""
    text = str(error)
    if isinstance(error, duckdb.IOException) and "lock" in text.lower():
        holder = re.search(r"PID (\d+)", text)
        by = f" (by pid {holder.group(1)})" if holder else ""
        if advice is None:
            advice = (
                "read the published snapshot instead (leave out --live) or try again when "
                "the run has finished"
                if source.live
                else "try again in a moment"
            )
        return ReadError(BUSY, f"{source.label} {source.path} is being written{by}; {advice}")
    if isinstance(error, duckdb.IOException):  # not a DuckDB file, damaged, unreadable
        detail = first_line(error).removeprefix("IO Error: ")
        return ReadError(FAILED, f"cannot read {source.label} {source.path}: {detail}")
    return ReadError(FAILED, f"failed on {source.label} {source.path}: {first_line(error)}")


def require(source: Source) -> None:
    """MISSING when the file is not there, with how it comes to be."""
    if source.path.exists():
        return
    if source.live:
        raise ReadError(MISSING, f"no warehouse at {source.path}; run `holdfast run` first")
    raise ReadError(
        MISSING,
        f"no published snapshot at {source.path}; it is written by `holdfast run` after a "
        "build whose tests pass (add --live to read the working warehouse)",
    )


def connect(source: Source) -> duckdb.DuckDBPyConnection:
    """Open `source` read-only, or raise a ReadError."""
    require(source)
    try:
        return duckdb.connect(str(source.path), read_only=True)
    except duckdb.Error as error:
        raise explain(error, source) from None
