"""Segment quality of a built warehouse: how many segments, how many customers
HDBSCAN leaves as noise and how many stay unsegmented, how well separated (DBCV
and silhouette on a sample), how stable across two refits on different
samples, and what they are called.

Shares are over the customers fct_customer_segments lists (every current
customer): `noise_share` is HDBSCAN's noise (is_noise; such a customer still
gets the nearest segment), `unsegmented_share` the customers with segment -1
(nothing to place them by).

Separation, on a 2,000-customer sample in the clustering space (the unit
purchase-factor vectors): DBCV (hdbscan's validity index) of HDBSCAN's own
labels, noise included; silhouette of the segments customers are given
(nearest segment for noise).

Stability: the segment model is refitted twice with the pipeline's settings, on
two different deterministic samples (70% of the customers with purchases
each; the purchase factors on the pipeline's factor sample drawn with the same
seed, which here holds every customer); the second refit reuses the first
one's ids where segments match (the same matching the pipeline uses). Both
label every customer with purchases; the adjusted Rand index compares the two
labellings, and `same_id_share` is the share of customers segmented by both
refits who get the same segment id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from holdfast.application.segments import SegmentModel, fit_segment_model
from holdfast.domain.segmentation import sample_rank_key
from holdfast.infrastructure.clustering import HdbscanClusterer
from holdfast.infrastructure.model_store import SEGMENT_MODEL_ID, load_model, newest_model_sql

QUALITY_SAMPLE = 2000
REFIT_SHARE = 0.7
REFIT_SEEDS = (101, 202)


def _baskets(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[list[str]]]:
    table = con.sql(
        "select customer_id, product_ids from intermediate.int_customer_purchase_profiles "
        "where n_products > 0 order by customer_id"
    ).to_arrow_table()
    return table.column("customer_id").to_pylist(), table.column("product_ids").to_pylist()


def _sample(ids: list[str], seed: int, size: int) -> np.ndarray:
    order = sorted(range(len(ids)), key=lambda i: (sample_rank_key(ids[i], seed), ids[i]))
    return np.array(sorted(order[:size]), dtype=np.int64)


def _refit(
    model: SegmentModel,
    ids: list[str],
    baskets: list[list[str]],
    seed: int,
    previous: SegmentModel | None,
) -> SegmentModel:
    """A refit as the pipeline would do it on a sample of REFIT_SHARE of the
    customers: HDBSCAN on that sample, the purchase factors on the pipeline's
    factor sample drawn with the same seed (that sample and more customers)."""
    rows = _sample(ids, seed, max(2, int(REFIT_SHARE * len(ids))))
    params = model.params
    factor_rows = _sample(ids, seed, min(len(ids), int(params.get("factor_sample_size", 0))))
    every = np.concatenate([rows, np.setdiff1d(factor_rows, rows)])
    size = max(10, round(params["min_cluster_size"] * len(rows) / max(model.n_sample, 1)))
    return fit_segment_model(
        [ids[i] for i in every],
        [baskets[i] for i in every],
        HdbscanClusterer(
            min_cluster_size=size,
            min_samples=params["min_samples"],
            cluster_selection_method=params["cluster_selection"],
        ),
        n_products=params["feature_products"],
        n_components=params["feature_components"],
        population=len(ids),
        params={**params, "min_cluster_size": size, "seed": seed},
        fit_reason="stability check",
        previous=previous,
        cluster_sample_size=len(rows),
    )


def segment_quality(db_path: Path) -> dict[str, Any]:
    """The segment figures of the warehouse at `db_path` (JSON-ready)."""
    from hdbscan.validity import validity_index
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        row = con.execute(
            newest_model_sql(
                "inference.int_segment_models",
                ["model_blob", "model_checksum", "params"],
                SEGMENT_MODEL_ID,
            )
        ).fetchall()
        labels = con.execute(
            "select segment_id, segment_label, n_customers, customer_share, n_noise_customers, "
            "segment_profile from marts.dim_segments order by segment_id"
        ).fetchall()
        ids, baskets = _baskets(con)
    finally:
        con.close()
    total = sum(n for _, _, n, *_ in labels)
    noise = sum(n_noise for *_, n_noise, _ in labels)
    named = [label for s, label, *_ in labels if s >= 0]
    report: dict[str, Any] = {
        "segments": [
            {
                "segment_id": s,
                "label": label,
                "customers": n,
                "share": share,
                "noise_customers": n_noise,
                "profile": profile,
            }
            for s, label, n, share, n_noise, profile in labels
        ],
        "n_segments": len(named),
        "labels_distinct": len(set(named)) == len(named),
        "noise_share": round(noise / total, 4) if total else 0.0,
        "unsegmented_share": next((share for s, _, _, share, *_ in labels if s == -1), 0.0),
    }
    if not row or len(ids) < 20:
        return report
    model = load_model(row[0][0], row[0][1])
    report["params"] = json.loads(row[0][2])
    sample = _sample(ids, 7, min(QUALITY_SAMPLE, len(ids)))
    points = model.features([baskets[i] for i in sample])
    given, _, noise = model.assign([baskets[i] for i in sample])
    hard = np.where(noise, -1, given).astype(np.int64)
    placed = given >= 0
    if len(set(given[placed].tolist())) >= 2:
        report["silhouette_sample"] = round(
            float(silhouette_score(points[placed], given[placed])), 4
        )
    if len(set(hard[hard >= 0].tolist())) >= 2:
        report["dbcv_sample"] = round(float(validity_index(points[placed], hard[placed])), 4)
    first = _refit(model, ids, baskets, REFIT_SEEDS[0], None)
    second = _refit(model, ids, baskets, REFIT_SEEDS[1], first)
    a, _, _ = first.assign(baskets)
    b, _, _ = second.assign(baskets)
    both = (a >= 0) & (b >= 0)
    report["stability"] = {
        "refit_segments": [first.n_segments, second.n_segments],
        "adjusted_rand_index": round(float(adjusted_rand_score(a, b)), 4),
        "same_id_share": round(float(np.mean(a[both] == b[both])), 4) if both.any() else None,
    }
    return report
