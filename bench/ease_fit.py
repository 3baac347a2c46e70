"""What the recommender's EASE^R fit costs: time and peak memory at a catalog size.

Builds a synthetic (customers x products) purchase history as sparse as the scale
benchmark's (bench/scale.py: about 10 purchase lines per customer, product popularity
falling off as a power law), then runs the fit's EASE path on it with the pipeline's
code (domain.neighbours: the most-bought products, the Gram matrix from the sparse
history in bounded blocks, the in-place float32 inverse, the top-k weights per product)
and the reversal the recommender stores (`fit_s`; `gram_s` times the Gram matrix
alone, once more before it). Each size runs in a fresh process, so its peak
resident memory (getrusage) is its own.

    python bench/ease_fit.py                          # 2,000 / 5,000 / 20,000 products
    python bench/ease_fit.py --products 20000 --ease-max-items 2000 5000 20000

`--customers` is the fit sample (the recommender fits on at most
recommender_fit_sample_size customers, 200,000 by default, whatever the population).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from scipy import sparse


def synthetic_history(
    customers: int, products: int, lines_per_customer: float, seed: int
) -> sparse.csr_matrix:
    """A 0/1 (customers x products) matrix: each customer buys a Poisson number of
    lines (at least 1), products drawn with probability ∝ 1 / rank^0.8."""
    rng = np.random.default_rng(seed)
    counts = np.maximum(rng.poisson(lines_per_customer, customers), 1)
    weights = 1.0 / np.arange(1, products + 1) ** 0.8
    cols = rng.choice(products, size=int(counts.sum()), p=weights / weights.sum())
    rows = np.repeat(np.arange(customers), counts)
    history = sparse.csr_matrix(
        (np.ones(cols.size, dtype=np.float32), (rows, cols)), shape=(customers, products)
    )
    history.data[:] = 1.0  # repeated lines of one product count once
    return history


def measure(args: argparse.Namespace, max_items: int) -> dict[str, float | int]:
    """One fit of the EASE lists (run in its own process)."""
    from holdfast.domain.neighbours import (
        ease_neighbours,
        gram_matrix,
        most_bought_items,
        reverse_neighbours,
    )

    history = synthetic_history(args.customers, args.products, args.lines, args.seed)
    rss_history = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    started = time.perf_counter()
    items = most_bought_items(history, max_items)
    gram_matrix(history, items)  # timed alone: the sparse part of the fit
    gram_s = time.perf_counter() - started
    started = time.perf_counter()
    lists = reverse_neighbours(
        ease_neighbours(history, max_items, args.l2, args.neighbours), args.reverse_cap
    )
    total_s = time.perf_counter() - started
    return {
        "products": args.products,
        "ease_max_items": int(items.size),
        "customers": args.customers,
        "purchases": int(history.nnz),
        "gram_s": round(gram_s, 1),
        "fit_s": round(total_s, 1),
        "stored_weights": int(lists.nnz),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "history_rss_gib": round(rss_history, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--ease-max-items", type=int, nargs="+", default=[2000, 5000, 20000])
    parser.add_argument("--lines", type=float, default=10.0, help="purchase lines per customer")
    parser.add_argument("--l2", type=float, default=250.0)
    parser.add_argument("--neighbours", type=int, default=100)
    parser.add_argument("--reverse-cap", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args, args.one)))
        return
    for size in args.ease_max_items:
        command = [sys.argv[0], *sys.argv[1:], "--one", str(size)]
        out = subprocess.run([sys.executable, *command], capture_output=True, text=True)
        print(out.stdout.strip() or out.stderr.strip()[-2000:], flush=True)


if __name__ == "__main__":
    main()
