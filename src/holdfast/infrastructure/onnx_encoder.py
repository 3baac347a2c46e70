"""An ONNX Runtime backend for the same all-MiniLM-L6-v2 (optional, faster on CPU).

The transformer is exported offline from the packaged weights with torch's
dynamo exporter (the legacy exporter silently gives wrong embeddings with
transformers 5.x), optionally quantised to int8 (dynamic, per channel), and
cached in a folder next to the warehouse. Tokenisation uses the packaged
`tokenizer.json` with padding turned off (it pads every text to 128 tokens
otherwise) and truncation at the model's max_seq_length; pooling is the mean
over real tokens, then unit length, as in the sentence-transformers folder.

Needs the `onnx` extra (onnx, onnxruntime, onnxscript).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from holdfast import environment

ONNX_FILE = "model.onnx"
MANIFEST = "holdfast-export.json"


def _weights_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    with open(folder / "model.safetensors", "rb") as weights:
        for chunk in iter(lambda: weights.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def export_model(folder: Path, out_dir: Path, *, quantize: bool) -> Path:
    """Export the transformer of a sentence-transformers `folder` to ONNX in
    `out_dir` (int8 dynamic per-channel when `quantize`); returns out_dir."""
    import torch
    from sentence_transformers import SentenceTransformer

    environment.load_models_offline(quiet=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    transformer = model[0].auto_model.eval()
    batch, length = 2, 16
    example = {
        "input_ids": torch.ones((batch, length), dtype=torch.long),
        "attention_mask": torch.ones((batch, length), dtype=torch.long),
        "token_type_ids": torch.zeros((batch, length), dtype=torch.long),
    }

    class Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence", max=512)}
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        torch.onnx.export(
            Encoder(transformer),
            (),
            str(fp32),
            kwargs=example,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_shapes={name: dims for name in example},
            dynamo=True,
            external_data=False,
        )
        target = out_dir / ONNX_FILE
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(target), per_channel=True, weight_type=QuantType.QInt8)
        else:
            shutil.copyfile(fp32, target)
    shutil.copyfile(folder / "tokenizer.json", out_dir / "tokenizer.json")
    config = json.loads((folder / "sentence_bert_config.json").read_text())
    (out_dir / MANIFEST).write_text(
        json.dumps(
            {
                "source_weights_sha256": _weights_digest(folder),
                "quantized": quantize,
                "max_seq_length": int(config.get("max_seq_length", 256)),
            },
            sort_keys=True,
        )
    )
    return out_dir


def cached_export(folder: Path, cache_dir: Path, *, quantize: bool) -> Path:
    """The export for these weights, made once (under a file lock) and reused."""
    name = f"{'int8' if quantize else 'fp32'}-{_weights_digest(folder)}"
    out_dir = cache_dir / name
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f"{name}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out_dir / MANIFEST).exists():
            staging = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=cache_dir))
            export_model(folder, staging, quantize=quantize)
            shutil.rmtree(out_dir, ignore_errors=True)
            os.replace(staging, out_dir)
    return out_dir


class OnnxEncoder:
    """TextEncoder over an exported model folder, on ONNX Runtime (CPU)."""

    def __init__(self, export_dir: Path, version: str, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        manifest = json.loads((export_dir / MANIFEST).read_text())
        self._tokenizer = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=int(manifest["max_seq_length"]))
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(export_dir / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._version = version
        self._dimension = int(self._session.get_outputs()[0].shape[-1] or 384)

    @property
    def version(self) -> str:
        return self._version

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            encodings = self._tokenizer.encode_batch(list(texts[start : start + batch_size]))
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(encodings), width), dtype=np.int64)
            mask = np.zeros((len(encodings), width), dtype=np.int64)
            types = np.zeros((len(encodings), width), dtype=np.int64)
            for row, encoding in enumerate(encodings):
                n = len(encoding.ids)
                ids[row, :n] = encoding.ids
                mask[row, :n] = encoding.attention_mask
                types[row, :n] = encoding.type_ids
            (hidden,) = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            )
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[start : start + len(encodings)] = pooled / np.maximum(norms, 1e-12)
        return out
