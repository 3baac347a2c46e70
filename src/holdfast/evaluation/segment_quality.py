"""Segment quality of a built warehouse: how many segments, how much noise, how
well separated (DBCV and silhouette on a sample), how stable across two refits
on different samples, and what they are called.

Stability: the segment model is refitted twice with the pipeline's settings, on
two different deterministic samples (70% of the customers with a vector each);
the second refit reuses the first one's ids where clusters match (the same
matching the pipeline uses). Both label every customer; the adjusted Rand index
compares the two labellings (noise counts as a label), and `same_id_share` is
the share of customers segmented by both refits who get the same segment id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from holdfast.application.records import array_to_vectors
from holdfast.application.segments import SegmentModel, fit_segment_model
from holdfast.domain.segmentation import sample_rank_key
from holdfast.infrastructure.clustering import HdbscanClusterer
from holdfast.infrastructure.model_store import load_model

VECTOR_DIMENSION = 384
QUALITY_SAMPLE = 2000
REFIT_SHARE = 0.7
REFIT_SEEDS = (101, 202)


def _vectors(con: duckdb.DuckDBPyConnection) -> tuple[list[str], np.ndarray]:
    table = con.sql(
        "select customer_id, vector from inference.int_customer_vectors "
        "where status = 'ok' and has_vector order by customer_id"
    ).to_arrow_table()
    vectors, _ = array_to_vectors(table.column("vector"), VECTOR_DIMENSION)
    return table.column("customer_id").to_pylist(), vectors


def _sample(ids: list[str], seed: int, size: int) -> np.ndarray:
    order = sorted(range(len(ids)), key=lambda i: (sample_rank_key(ids[i], seed), ids[i]))
    return np.array(sorted(order[:size]), dtype=np.int64)


def _refit(
    model: SegmentModel,
    ids: list[str],
    vectors: np.ndarray,
    seed: int,
    previous: SegmentModel | None,
) -> SegmentModel:
    rows = _sample(ids, seed, max(2, int(REFIT_SHARE * len(ids))))
    params = model.params
    size = max(10, round(params["min_cluster_size"] * len(rows) / max(model.n_sample, 1)))
    return fit_segment_model(
        [ids[i] for i in rows],
        vectors[rows],
        HdbscanClusterer(
            min_cluster_size=size,
            min_samples=params["min_samples"],
            cluster_selection_method=params.get("cluster_selection", "eom"),
        ),
        n_components=params["pca_components"],
        population=len(ids),
        params={**params, "min_cluster_size": size, "seed": seed},
        fit_reason="stability check",
        normalise=getattr(model, "normalise_reduced", False),
        previous=previous,
    )


def segment_quality(db_path: Path) -> dict[str, Any]:
    """The segment figures of the warehouse at `db_path` (JSON-ready)."""
    from hdbscan.validity import validity_index
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        row = con.execute(
            "select model_blob, model_checksum, params from inference.int_segment_models "
            "order by fitted_at desc, segment_model_id desc limit 1"
        ).fetchall()
        labels = con.execute(
            "select segment_id, segment_label, n_customers, customer_share "
            "from marts.dim_segments order by segment_id"
        ).fetchall()
        ids, vectors = _vectors(con)
    finally:
        con.close()
    report: dict[str, Any] = {
        "segments": [
            {"segment_id": s, "label": label, "customers": n, "share": share}
            for s, label, n, share in labels
        ],
        "n_segments": sum(1 for s, *_ in labels if s >= 0),
        "noise_share": next((share for s, _, _, share in labels if s == -1), 0.0),
    }
    if not row or len(ids) < 20:
        return report
    model = load_model(row[0][0], row[0][1])
    report["params"] = json.loads(row[0][2])
    segments_all, _ = model.assign(vectors)
    sample = _sample(ids, 7, min(QUALITY_SAMPLE, len(ids)))
    points, found = model.reduce(vectors[sample]), segments_all[sample]
    clustered = found >= 0
    if len(set(found[clustered].tolist())) >= 2:
        report["dbcv_sample"] = round(float(validity_index(points, found.astype(np.int64))), 4)
        report["silhouette_sample"] = round(
            float(silhouette_score(points[clustered], found[clustered])), 4
        )
    first = _refit(model, ids, vectors, REFIT_SEEDS[0], None)
    second = _refit(model, ids, vectors, REFIT_SEEDS[1], first)
    a, _ = first.assign(vectors)
    b, _ = second.assign(vectors)
    both = (a >= 0) & (b >= 0)
    report["stability"] = {
        "refit_segments": [first.n_segments, second.n_segments],
        "adjusted_rand_index": round(float(adjusted_rand_score(a, b)), 4),
        "same_id_share": round(float(np.mean(a[both] == b[both])), 4) if both.any() else None,
    }
    return report
