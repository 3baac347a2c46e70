"""Run a command and report its wall time and the peak memory of its whole
process tree (the Python driver plus the JVM Spark starts), as one JSON line.

    python tests/spark/measured.py pytest tests/spark -q

The exit status is the command's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from holdfast.infrastructure.step_telemetry import tree_rss_bytes


def main(argv: list[str]) -> int:
    started = time.monotonic()
    process = subprocess.Popen(argv)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
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
