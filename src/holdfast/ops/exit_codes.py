"""The exit codes of the `holdfast` command: one table, which the commands return and
each subcommand's `--help` lists (its epilog, built here)."""

from __future__ import annotations

import textwrap
from enum import IntEnum


class ExitCode(IntEnum):
    """An exit code and what it tells the operator (or the scheduler that ran it)."""

    meaning: str

    def __new__(cls, code: int, meaning: str) -> ExitCode:
        member = int.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    OK = 0, "ok"
    DBT_FAILED = (
        1,
        "dbt reported errors or test failures (`run` then leaves the snapshot as it "
        "was, and a snapshot_not_published alert says why)",
    )
    USAGE = 2, "usage error"
    LOCKED = 3, "another run holds the lock (or a process it started still does)"
    CRASH = (
        4,
        "holdfast itself crashed (or could not publish the snapshot or write the report)",
    )
    CRITICAL_ALERTS = (
        5,
        "the run raised a new alert at severity critical (dbt succeeded; alerts delivered)",
    )
    NOTHING_TO_READ = (
        6,
        "nothing to read yet (no snapshot published, or with --live no warehouse)",
    )
    BUSY = (
        7,
        "the file is being written (--live or `dlq list` while a run holds the warehouse)",
    )
    READ_FAILED = 8, "the read failed (bad SQL, a table that is not there, an unreadable file)"
    INTERRUPTED = 130, "interrupted (Ctrl-C): stopped where it was, with a one-line message"


_ANY_COMMAND = (ExitCode.OK, ExitCode.USAGE, ExitCode.CRASH, ExitCode.INTERRUPTED)
_PIPELINE = (ExitCode.DBT_FAILED, ExitCode.LOCKED, ExitCode.CRITICAL_ALERTS)
_READER = (ExitCode.NOTHING_TO_READ, ExitCode.BUSY, ExitCode.READ_FAILED)

# the codes each subcommand can return
COMMAND_EXITS: dict[str, tuple[ExitCode, ...]] = {
    "generate": _ANY_COMMAND,
    "import-online-retail": _ANY_COMMAND,
    "run": (*_ANY_COMMAND, *_PIPELINE),
    "report": (*_ANY_COMMAND, *_READER),
    "summary": (*_ANY_COMMAND, *_READER),
    "query": (*_ANY_COMMAND, *_READER),
    "dlq": (*_ANY_COMMAND, ExitCode.LOCKED, *_READER),
    "demo": (*_ANY_COMMAND, *_PIPELINE),
    "evaluate": (*_ANY_COMMAND, ExitCode.DBT_FAILED),
}


def epilog(command: str) -> str:
    """The `exit codes:` section of a subcommand's --help: each code it can return, with
    its meaning (for argparse's RawDescriptionHelpFormatter, which keeps the lines)."""
    lines = ["exit codes:"]
    for code in sorted(COMMAND_EXITS[command]):
        lines.extend(
            textwrap.wrap(
                code.meaning,
                width=88,
                initial_indent=f"  {int(code):<5}",
                subsequent_indent=" " * 7,
            )
        )
    return "\n".join(lines)
