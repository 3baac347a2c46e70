"""The bfloat16 backend (the default on CPUs with native bfloat16) agrees with fp32.

`auto:all-MiniLM-L6-v2`, the `embedding_model` default, computes in bfloat16
where the CPU multiplies it natively. It is the default because its nearest-
neighbour lists agree with the fp32 model's (bench/embedding_backends.py
reports overlap@10 on the synthetic catalog and the real Online Retail texts).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml

from holdfast.datagen.synthetic import catalog_texts
from holdfast.evaluation.agreement import neighbour_overlap
from holdfast.infrastructure.encoder import (
    AUTO_SPEC,
    DEFAULT_SPEC,
    PACKAGED_BF16_SPEC,
    PACKAGED_SPEC,
    SentenceTransformerEncoder,
    cpu_flags,
    load_encoder,
    resolve_model_path,
    resolve_spec,
)

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return catalog_texts(300, seed=7, customers=5)


@pytest.fixture(scope="module")
def encoders() -> dict[str, SentenceTransformerEncoder]:
    folder, version = resolve_model_path(PACKAGED_SPEC)
    return {
        "fp32": SentenceTransformerEncoder(folder, version),
        "bf16": SentenceTransformerEncoder(folder, version + "+bf16", bfloat16=True),
    }


def test_bf16_vectors_are_unit_float32_and_their_neighbours_agree_with_fp32(encoders, texts):
    reference = encoders["fp32"].encode(texts)
    vectors = encoders["bf16"].encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors, reference, atol=1e-4)  # it really computes in bfloat16
    assert (vectors * reference).sum(axis=1).min() >= 0.99
    assert neighbour_overlap(reference, vectors, k=10) >= 0.95


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_vectors_are_the_same_bit_for_bit_whatever_the_batch(encoders, texts, dtype):
    # a text's vector must not depend on its batch neighbours: a full refresh,
    # an incremental run and a Spark partition cut the same texts differently
    encoder = encoders[dtype]
    sample = texts[:40]
    together = encoder.encode(sample)
    np.testing.assert_array_equal(together, encoder.encode(sample))
    np.testing.assert_array_equal(together, np.concatenate([encoder.encode([t]) for t in sample]))
    reversed_order = encoder.encode(sample[::-1])[::-1]
    np.testing.assert_array_equal(together, reversed_order)
    mixed = encoder.encode(sample[:7] + texts[200:230] + sample[7:])
    np.testing.assert_array_equal(together, np.concatenate([mixed[:7], mixed[37:]]))
    assert encoder.encode([]).shape == (0, encoder.dimension)


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_the_model_runs_on_one_thread_whichever_thread_calls(encoders, texts, dtype):
    # torch runs an OpenMP team per calling thread: a model cast on one thread
    # and run on another used 1.5 of 2 cores (dbt calls the step on its node
    # thread, the step encodes on its producer thread)
    encoder = encoders[dtype]
    seen: set[str] = set()
    hook = encoder._model.register_forward_pre_hook(
        lambda *_: seen.add(threading.current_thread().name)
    )
    try:
        here = encoder.encode(texts[:5])
        with ThreadPoolExecutor(2) as callers:
            there = [callers.submit(encoder.encode, texts[:5]).result() for _ in range(2)]
    finally:
        hook.remove()
    assert len(seen) == 1 and seen.pop().startswith("holdfast-torch")
    for vectors in there:
        np.testing.assert_array_equal(here, vectors)


def test_cpu_flags_are_read_from_x86_and_arm_cpuinfo(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\nprocessor\t: 1\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")
    assert {"avx2", "avx512_bf16"} <= cpu_flags(x86)
    assert "bf16" in cpu_flags(arm)
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_auto_picks_bf16_only_where_the_cpu_has_it():
    assert resolve_spec(AUTO_SPEC, frozenset({"avx2", "avx512_bf16"})) == PACKAGED_BF16_SPEC
    assert resolve_spec(AUTO_SPEC, frozenset({"fp", "asimd", "bf16"})) == PACKAGED_BF16_SPEC
    assert resolve_spec(AUTO_SPEC, frozenset({"avx2", "fma"})) == PACKAGED_SPEC
    assert resolve_spec(AUTO_SPEC, frozenset()) == PACKAGED_SPEC
    # explicit specs are never second-guessed
    for spec in (PACKAGED_SPEC, PACKAGED_BF16_SPEC, "onnx:all-MiniLM-L6-v2", "path:/x"):
        assert resolve_spec(spec, frozenset({"avx512_bf16"})) == spec


def test_the_version_says_how_the_vectors_were_computed():
    fp32 = resolve_model_path(PACKAGED_SPEC)[1]
    assert resolve_model_path(PACKAGED_BF16_SPEC)[1] == fp32 + "+bf16"
    # auto's version is the version of what it resolves to on this machine
    assert resolve_model_path(AUTO_SPEC)[1] == resolve_model_path(resolve_spec(AUTO_SPEC))[1]
    assert load_encoder(AUTO_SPEC).version == resolve_model_path(AUTO_SPEC)[1]


def test_the_project_default_is_the_encoders_default():
    project = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())
    assert project["vars"]["embedding_model"] == DEFAULT_SPEC
