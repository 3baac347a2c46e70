"""Segment model at scale: fit on a bounded sample, label N customers in batches.

Synthetic 384-d unit taste vectors (40 noisy directions), generated batch by
batch so memory stays bounded; the fit uses the pipeline's own code path
(PCA, unit-length directions, HDBSCAN leaf, min_samples 10, 1% clusters) on
`--sample` customers, then `SegmentModel.assign` labels `--customers` in
batches of 8192, as int_customers_segmented does. Prints one JSON document.

    .venv/bin/python bench/segment_assign.py [--customers 2000000] [--sample 50000]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from holdfast.application.segments import fit_segment_model
from holdfast.domain.segmentation import auto_min_cluster_size
from holdfast.infrastructure.clustering import HdbscanClusterer

DIM = 384
BATCH = 8192


def vectors(n: int, seed: int, centers: np.ndarray) -> np.ndarray:
    """n unit vectors around random centers (float32)."""
    rng = np.random.default_rng(seed)
    picked = centers[rng.integers(0, len(centers), n)]
    x = picked + rng.normal(scale=0.6 / np.sqrt(DIM), size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2_000_000)
    parser.add_argument("--sample", type=int, default=50_000)
    args = parser.parse_args()
    centers = np.random.default_rng(0).normal(size=(40, DIM))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    sample = vectors(args.sample, 1, centers)
    started = time.perf_counter()
    model = fit_segment_model(
        [f"c{i}" for i in range(args.sample)],
        sample,
        HdbscanClusterer(auto_min_cluster_size(args.sample), 10, "leaf"),
        n_components=8,
        population=args.customers,
        params={},
        fit_reason="bench",
        normalise=True,
    )
    fit_seconds = time.perf_counter() - started
    labelled = noise = 0
    assign_seconds = 0.0  # labelling only, not generating the synthetic vectors
    for first in range(0, args.customers, BATCH):
        batch = vectors(min(BATCH, args.customers - first), 100 + first // BATCH, centers)
        started = time.perf_counter()
        segments, _ = model.assign(batch)
        assign_seconds += time.perf_counter() - started
        labelled += len(segments)
        noise += int(np.count_nonzero(segments < 0))
    print(
        json.dumps(
            {
                "customers": args.customers,
                "fit_sample": args.sample,
                "segments": model.n_segments,
                "fit_seconds": round(fit_seconds, 1),
                "assign_seconds": round(assign_seconds, 1),
                "customers_per_second": round(labelled / assign_seconds),
                "noise_share": round(noise / labelled, 4),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
