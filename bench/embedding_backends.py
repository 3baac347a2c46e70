"""Embedding backends compared: throughput and agreement with the fp32 model.

For each backend (sentence-transformers fp32, the same in bfloat16, ONNX
Runtime fp32, ONNX Runtime int8 dynamic per-channel) over the same product
texts: texts per second of a bare encode loop, cosine to the fp32
embeddings, and overlap@10 of each text's 10 nearest neighbours with the fp32
lists (what recommendations see).
Texts: the synthetic catalog's product texts, and the real Online Retail
product descriptions when ../shared/data is present. One JSON document.

    .venv/bin/python bench/embedding_backends.py [--texts 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from holdfast.evaluation.agreement import neighbour_overlap
from holdfast.infrastructure.encoder import PACKAGED_BF16_SPEC, PACKAGED_SPEC, load_encoder

PROJECT = Path(__file__).resolve().parents[1]
ONLINE_RETAIL = PROJECT.parent / "shared" / "data" / "online_retail" / "online_retail.parquet"
BACKENDS = [
    PACKAGED_SPEC,
    PACKAGED_BF16_SPEC,
    "onnx:all-MiniLM-L6-v2",
    "onnx-int8:all-MiniLM-L6-v2",
]
BATCH = 64


def synthetic_texts(n: int) -> list[str]:
    from holdfast.datagen.synthetic import catalog_texts

    return catalog_texts(n, seed=1)


def real_texts() -> list[str]:
    import duckdb

    rows = duckdb.sql(
        f"select distinct trim(Description) from read_parquet('{ONLINE_RETAIL}') "
        "where Description is not null and trim(Description) <> '' order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def compare(texts: list[str]) -> dict:
    results, reference = {}, None
    for spec in BACKENDS:
        started = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # the ONNX exporter prints progress
            encoder = load_encoder(spec)
        load_seconds = time.perf_counter() - started
        encoder.encode(texts[:BATCH])  # warm-up
        started = time.perf_counter()
        vectors = np.concatenate(
            [encoder.encode(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        )
        seconds = time.perf_counter() - started
        entry = {
            "version": encoder.version,
            "load_or_export_seconds": round(load_seconds, 1),
            "texts_per_second": round(len(texts) / seconds, 1),
        }
        if reference is None:
            reference = vectors
        else:
            cosine = (reference * vectors).sum(axis=1)
            overlap = neighbour_overlap(reference, vectors, k=10)
            entry.update(
                {
                    "cosine_to_fp32_mean": round(float(cosine.mean()), 5),
                    "cosine_to_fp32_min": round(float(cosine.min()), 5),
                    "overlap_at_10": round(float(overlap), 4),
                }
            )
        results[spec] = entry
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=2000)
    args = parser.parse_args()
    document = {"synthetic_products": compare(synthetic_texts(args.texts))}
    if ONLINE_RETAIL.exists():
        document["online_retail_products"] = compare(real_texts())
    else:
        document["online_retail_products"] = f"skipped: {ONLINE_RETAIL} not found"
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
