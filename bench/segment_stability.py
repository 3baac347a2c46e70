"""Segment settings on the Online Retail splits: stability across refits and lift.

For each fold (a training cutoff, 61 days of test purchases after it), the
split's training purchases (evaluation.split.prepare_split, cached in
`--workdir`) give every customer's product list. Per setting:

- the pipeline's fit (every customer: the pipeline's fit sample is larger than
  this data) labels every customer; the lift is the hit rate@10 of each
  segment's best sellers over that of the global best sellers on the fold's
  test purchases (the `segment_popularity` / `popularity` methods of
  `holdfast evaluate`);
- `--pairs` pairs of refits on two different 70% samples (the seeds of
  `holdfast evaluate` first, then further pairs), each labelling every customer,
  compared by the adjusted Rand index, as evaluation.segment_quality does.

Prints one JSON line per (fold, setting); choose on the validation folds only.

    python bench/segment_stability.py ../shared/data/online_retail/online_retail.parquet \\
        [--cutoff 2011-08-01 --cutoff 2011-06-01] [--pairs 5] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from holdfast.application.segments import SegmentModel, fit_segment_model
from holdfast.domain.segmentation import sample_rank_key
from holdfast.evaluation import baselines, metrics
from holdfast.evaluation.split import Split, prepare_split
from holdfast.infrastructure.clustering import HdbscanClusterer

BASE = {
    "components": 8,
    "min_samples": 10,
    "cluster_share": 0.01,
    "selection": "leaf",
    "products": 2000,
    # the refits' purchase factors: on their own 70% sample, or on every customer
    # (the pipeline's factor sample, segment_factor_sample_size, holds them all here)
    "factors_on_every_customer": True,
}
SETTINGS: dict[str, dict[str, Any]] = {
    "factors on the refit sample": {"factors_on_every_customer": False},
    "factors on every customer": {},
    "factors on the refit sample, eom": {"factors_on_every_customer": False, "selection": "eom"},
    "factors on the refit sample, min_samples 25": {
        "factors_on_every_customer": False,
        "min_samples": 25,
    },
    "factors on every customer, min_samples 25": {"min_samples": 25},
    "factors on the refit sample, 6 factors": {
        "factors_on_every_customer": False,
        "components": 6,
    },
    "factors on every customer, 10 factors": {"components": 10},
}
PAIR_SEEDS = [(101, 202), (303, 404), (505, 606), (707, 808), (909, 1010), (1111, 1212)]


def fold(parquet: Path, cutoff: date, workdir: Path) -> dict[str, Any]:
    cache = workdir / f"fold-{cutoff.isoformat()}.pickle"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    data = prepare_split(
        parquet, Split(cutoff.isoformat(), cutoff, 61), workdir / cutoff.isoformat()
    )
    found = {
        "pairs": data.train_pairs,
        "catalog": data.catalog,
        "in_stock": data.in_stock,
        "truth": data.truth,
    }
    cache.write_bytes(pickle.dumps(found))
    return found


def fit(
    ids: list[str],
    baskets: list[list[str]],
    setting: dict[str, Any],
    seed: int,
    clustered: int | None = None,
) -> SegmentModel:
    """The pipeline's fit: factors on every basket given, HDBSCAN on the first
    `clustered` of them (None: all)."""
    size = max(10, round(setting["cluster_share"] * (clustered or len(ids))))
    return fit_segment_model(
        ids,
        baskets,
        HdbscanClusterer(
            min_cluster_size=size,
            min_samples=setting["min_samples"],
            cluster_selection_method=setting["selection"],
        ),
        n_products=setting["products"],
        n_components=setting["components"],
        population=len(ids),
        params={"seed": seed},
        fit_reason="stability bench",
        cluster_sample_size=clustered,
    )


def sample(ids: list[str], seed: int, share: float) -> list[int]:
    order = sorted(range(len(ids)), key=lambda i: (sample_rank_key(ids[i], seed), ids[i]))
    return sorted(order[: max(2, int(share * len(ids)))])


def measure(data: dict[str, Any], setting: dict[str, Any], pairs: int) -> dict[str, Any]:
    interactions = baselines.Interactions.from_pairs(data["pairs"], data["catalog"])
    ids = interactions.customer_ids
    bought: dict[str, list[str]] = {c: [] for c in ids}
    for customer, product in data["pairs"]:
        if customer in bought:
            bought[customer].append(product)
    baskets = [bought[c] for c in ids]
    in_stock = np.array([p in data["in_stock"] for p in interactions.product_ids])
    truth = {c: t for c, t in data["truth"].items() if c in bought}
    n_stock = int(in_stock.sum())

    def hit_rate(scores: np.ndarray) -> float:
        top = baselines.recommend_top_k(scores, interactions, in_stock, 10)
        return metrics.ranking_metrics(top, truth, k=10, n_recommendable=n_stock).hit_rate

    # the pipeline's fit sample: every customer, in the order of its sampling key
    rows = sorted(range(len(ids)), key=lambda i: (sample_rank_key(ids[i], 42), ids[i]))
    started = time.perf_counter()
    model = fit([ids[i] for i in rows], [baskets[i] for i in rows], setting, 42)
    fit_seconds = time.perf_counter() - started
    segments, _, noise = model.assign(baskets)
    popularity = hit_rate(baselines.popularity_scores(interactions))
    by_segment = hit_rate(baselines.segment_popularity_scores(interactions, segments.tolist()))
    aris, counts = [], []
    for first_seed, second_seed in PAIR_SEEDS[:pairs]:
        labelled = []
        for seed in (first_seed, second_seed):
            rows = sample(ids, seed, 0.7)
            clustered = len(rows)
            if setting["factors_on_every_customer"]:  # the refit sample first, then the rest
                rows = rows + sorted(set(range(len(ids))) - set(rows))
            refit = fit(
                [ids[i] for i in rows], [baskets[i] for i in rows], setting, seed, clustered
            )
            labelled.append(refit.assign(baskets)[0])
            counts.append(len(set(labelled[-1][labelled[-1] >= 0].tolist())))
        aris.append(round(float(adjusted_rand_score(*labelled)), 3))
    sizes = np.bincount(segments[segments >= 0])
    return {
        "segments": len(sizes),
        "sizes": sizes.tolist(),
        "labels": [p.label for p in model.profiles],
        "noise": round(float(noise.mean()), 3),
        "unsegmented": round(float(np.mean(segments < 0)), 4),
        "lift": round(by_segment / popularity, 3),
        "ari_mean": round(float(np.mean(aris)), 3),
        "ari_min": min(aris),
        "aris": aris,
        "refit_segments": counts,
        "fit_seconds": round(fit_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("parquet", type=Path)
    parser.add_argument("--cutoff", action="append", type=date.fromisoformat)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--only", action="append", help="setting names (default: all)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/holdfast-segment-stability"))
    parser.add_argument("--set", type=json.loads, default={}, help="an extra setting (JSON)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    settings = {name: SETTINGS[name] for name in (args.only or SETTINGS)}
    if args.set:
        settings = {json.dumps(args.set): args.set}
    for cutoff in args.cutoff or [date(2011, 8, 1), date(2011, 6, 1)]:
        data = fold(args.parquet, cutoff, args.workdir)
        for name, overrides in settings.items():
            figures = measure(data, {**BASE, **overrides}, args.pairs)
            print(json.dumps({"fold": cutoff.isoformat(), "setting": name, **figures}), flush=True)


if __name__ == "__main__":
    main()
