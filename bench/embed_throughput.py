"""Raw throughput of the embedding backend on product-like texts.

Prints one JSON document: texts per second of a bare encode loop over the
synthetic catalog's product texts, for a few batch sizes. Usage:

    .venv/bin/python bench/embed_throughput.py [--texts 2000]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from holdfast.datagen.synthetic import catalog_texts
from holdfast.infrastructure.encoder import load_encoder


def product_texts(n: int) -> list[str]:
    """n product texts exactly as the pipeline builds them (name. category. description)."""
    return catalog_texts(n, seed=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=2000)
    args = parser.parse_args()
    texts = product_texts(args.texts)
    started = time.perf_counter()
    encoder = load_encoder()
    load_seconds = time.perf_counter() - started
    encoder.encode(texts[:64])  # warm-up
    results = []
    for batch_size in (32, 64, 256):
        started = time.perf_counter()
        for offset in range(0, len(texts), batch_size):
            encoder.encode(texts[offset : offset + batch_size])
        seconds = time.perf_counter() - started
        results.append(
            {
                "batch_size": batch_size,
                "seconds": round(seconds, 3),
                "texts_per_second": round(len(texts) / seconds, 1),
            }
        )
    print(
        json.dumps(
            {
                "benchmark": "embed_throughput",
                "model": encoder.version,
                "texts": len(texts),
                "model_load_seconds": round(load_seconds, 2),
                "runs": results,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
