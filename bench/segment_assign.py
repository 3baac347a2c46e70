"""Segment model at scale: fit on a bounded sample, label N customers in batches.

Synthetic baskets (20,000 products, 40 tastes of 200 products each; a customer
buys 3 to 20 products, four in five of their taste), generated batch by batch
so memory stays bounded; the fit uses the pipeline's own code path (purchase
factors over the `--vocabulary` most-bought products, 8 components, unit length;
HDBSCAN leaf, min_samples 10, 1% clusters; c-TF-IDF labels) on `--sample`
customers, then `SegmentModel.assign` labels `--customers` in batches of
8192 from Arrow list arrays, as int_customers_segmented does. Prints one JSON
document.

    .venv/bin/python bench/segment_assign.py [--customers 2000000] [--sample 50000]
        [--vocabulary 2000]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import pyarrow as pa

from holdfast.application.segments import fit_segment_model
from holdfast.domain.segmentation import auto_min_cluster_size
from holdfast.infrastructure.clustering import HdbscanClusterer

PRODUCTS = 20_000
TASTES = 40
BATCH = 8192


def baskets(n: int, seed: int) -> pa.Array:
    """n baskets of product ids as an Arrow list array."""
    rng = np.random.default_rng(seed)
    taste = rng.integers(0, TASTES, n)
    sizes = rng.integers(3, 21, n)
    lists = []
    for t, size in zip(taste.tolist(), sizes.tolist(), strict=True):
        own = rng.integers(0, 200, size) + 200 * t
        anywhere = rng.integers(0, PRODUCTS, size)
        picked = np.where(rng.random(size) < 0.8, own, anywhere)
        lists.append([f"p{p:05d}" for p in sorted(set(picked.tolist()))])
    return pa.array(lists, pa.list_(pa.string()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2_000_000)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--vocabulary", type=int, default=2000, help="segment_feature_products")
    args = parser.parse_args()
    sample = baskets(args.sample, 1).to_pylist()
    names = {f"p{p:05d}": f"product {p % 200} of taste{p // 200}" for p in range(PRODUCTS)}
    started = time.perf_counter()
    model = fit_segment_model(
        [f"c{i}" for i in range(args.sample)],
        sample,
        HdbscanClusterer(auto_min_cluster_size(args.sample), 10, "leaf"),
        n_products=args.vocabulary,
        n_components=8,
        population=args.customers,
        params={},
        fit_reason="bench",
        names=names,
    )
    fit_seconds = time.perf_counter() - started
    labelled = noise = unsegmented = 0
    assign_seconds = 0.0  # labelling only, not generating the synthetic baskets
    for first in range(0, args.customers, BATCH):
        batch = baskets(min(BATCH, args.customers - first), 100 + first // BATCH)
        started = time.perf_counter()
        segments, _, is_noise = model.assign(batch)
        assign_seconds += time.perf_counter() - started
        labelled += len(segments)
        noise += int(np.count_nonzero(is_noise))
        unsegmented += int(np.count_nonzero(segments < 0))
    print(
        json.dumps(
            {
                "customers": args.customers,
                "fit_sample": args.sample,
                "vocabulary": args.vocabulary,
                "segments": model.n_segments,
                "fit_seconds": round(fit_seconds, 1),
                "assign_seconds": round(assign_seconds, 1),
                "customers_per_second": round(labelled / assign_seconds),
                "noise_share": round(noise / labelled, 4),
                "unsegmented_share": round(unsegmented / labelled, 4),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
