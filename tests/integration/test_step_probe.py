"""A step's probe counts the processes it starts, from whichever thread.

Linux lists a child under the thread that forked it; the steps start their
worker processes from their producer thread, so a probe that read only the
main thread's children missed them (and so did bench/scale.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from holdfast.infrastructure.step_telemetry import (
    ProcessProbe,
    current_rss_bytes,
    process_tree,
    tree_rss_bytes,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process tree from /proc"
)

# a child that holds 160 MiB (pages touched), says so, and waits for stdin to close
HOLDER = (
    "import sys; block = bytearray(160 * 2**20); block[::4096] = b'x' * (len(block) // 4096); "
    "print('ready', flush=True); sys.stdin.read()"
)


def test_a_child_started_from_another_thread_counts_in_the_tree_and_the_probe():
    probe = ProcessProbe(interval_seconds=0.02)
    probe.start()
    started = threading.Event()
    finish = threading.Event()
    children: list[subprocess.Popen] = []

    def start_child() -> None:  # the child's parent is this thread while it lives
        child = subprocess.Popen(
            [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        children.append(child)
        assert child.stdout.readline().strip() == "ready"
        started.set()
        finish.wait()
        child.stdin.close()
        child.wait()

    thread = threading.Thread(target=start_child)
    thread.start()
    try:
        assert started.wait(30)
        (child,) = children
        assert child.pid in process_tree(os.getpid())
        assert tree_rss_bytes() >= current_rss_bytes() + 150 * 2**20
        cpu_before = probe.cpu_seconds()
        peak_while = probe.peak_rss_bytes()
    finally:
        finish.set()
        thread.join()
        probe.stop()
    assert peak_while >= current_rss_bytes() + 150 * 2**20
    assert probe.peak_rss_bytes() >= peak_while
    # the child's CPU counts once it has ended and been waited for
    assert probe.cpu_seconds() > cpu_before
    assert child.pid not in process_tree(os.getpid())
