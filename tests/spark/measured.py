"""Run a command and report its wall time and the peak memory of its whole
process tree (the Python driver plus the JVM Spark starts), as one JSON line.

    python tests/spark/measured.py pytest tests/spark -q

The exit status is the command's.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the process may be gone already
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _tree_rss_bytes(root: int) -> int:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
        stack += _children(pid)
    return total


def main(argv: list[str]) -> int:
    started = time.monotonic()
    process = subprocess.Popen(argv)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_bytes(process.pid))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    figures = {
        "command": " ".join(argv[:4]),
        "exit_code": code,
        "wall_seconds": round(time.monotonic() - started, 1),
        "peak_tree_rss_mib": round(peak / 2**20, 1),
    }
    print(json.dumps(figures), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
