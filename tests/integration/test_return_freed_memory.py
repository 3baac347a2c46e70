"""A finished Python step hands the memory it freed back to the system.

glibc keeps freed blocks resident; without a trim they stay in the dbt
process under every later step.
"""

from __future__ import annotations

import sys

import pytest

from holdfast.infrastructure.step_telemetry import current_rss_bytes, return_freed_memory

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc malloc_trim and /proc are Linux's"
)


def test_freed_heap_blocks_go_back_to_the_system():
    # 64 KiB blocks come from the malloc heap (below the mmap threshold); the
    # last one stays allocated, so the freed ones are not at the heap's top
    # and glibc does not give them back on its own
    blocks = [bytearray(64 * 1024) for _ in range(2048)]  # 128 MiB, pages touched
    pin = bytearray(64 * 1024)
    del blocks
    resident = current_rss_bytes()
    released = return_freed_memory()
    assert released >= 64 * 2**20
    assert current_rss_bytes() <= resident - 64 * 2**20
    assert len(pin) == 64 * 1024


def test_nothing_freed_releases_little():
    return_freed_memory()
    assert return_freed_memory() < 16 * 2**20
