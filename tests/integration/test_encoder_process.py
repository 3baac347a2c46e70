"""The embedding step's model runs in a child process that ends with the step.

Loaded in the dbt process, torch and what it kept for the model (about 1 GB)
stayed resident under every later step of a build.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from holdfast.datagen.synthetic import catalog_texts
from holdfast.infrastructure.encoder import PACKAGED_SPEC, EncoderProcess, load_encoder
from holdfast.infrastructure.step_telemetry import (
    child_pids,
    current_rss_bytes,
    tree_rss_bytes,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process tree from /proc"
)


def test_vectors_come_from_a_child_process_and_equal_the_in_process_ones():
    texts = catalog_texts(60, seed=11, customers=5)
    encoder = EncoderProcess(PACKAGED_SPEC)
    try:
        assert encoder.pid != os.getpid() and encoder.pid in child_pids(os.getpid())
        assert encoder.version == load_encoder(PACKAGED_SPEC).version
        vectors = encoder.encode(texts)
        np.testing.assert_array_equal(vectors, load_encoder(PACKAGED_SPEC).encode(texts))
        assert encoder.encode([]).shape == (0, encoder.dimension)
        # the model's memory is the child's, and the tree counts it
        model_memory = tree_rss_bytes(encoder.pid)
        assert model_memory >= 200 * 2**20
        assert tree_rss_bytes() >= current_rss_bytes() + model_memory
    finally:
        encoder.close()
    assert encoder.pid not in child_pids(os.getpid())  # the process is gone
    with pytest.raises(RuntimeError, match="closed"):
        encoder.encode(texts[:1])
    encoder.close()  # closing twice is harmless


def test_a_model_that_cannot_load_raises_its_own_error_here(tmp_path):
    children_before = set(child_pids(os.getpid()))
    with pytest.raises(FileNotFoundError, match="no sentence-transformers model"):
        EncoderProcess(f"path:{tmp_path}")
    # no process left behind (multiprocessing's resource tracker may start, once)
    left = set(child_pids(os.getpid())) - children_before
    assert all("resource_tracker" in _command(pid) for pid in left)


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""
