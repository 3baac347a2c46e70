"""A hand-made catalog and sample the recommender is fitted on, with reference
computations of its signals (shared by the recommender fit and scoring tests)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa
from tests.unit.fakes import table_of, unit

from holdfast.application import recommend
from holdfast.domain.scoring import ScoringWeights
from holdfast.domain.segmentation import NOISE_SEGMENT_ID
from holdfast.entrypoints.steps import recommender_fit
from holdfast.settings import RecommenderSettings, ScoringSettings

# A hand-made catalog (given out of id order). Texts are one-hot except: "p-n" (never bought)
# is about the same thing as "p-a"; "p-e" and "p-f" share a little; "p-x" has no embedding
# (its vector, a copy of p-a's, must be ignored). "p-h" and "p-i" are twins: same counts,
# same buyers, so they tie on every signal.
REC_DIM = 12


def _axis(*parts: tuple[int, float]) -> np.ndarray:
    v = np.zeros(REC_DIM)
    for axis, weight in parts:
        v[axis] = weight
    return unit(v).astype(np.float32)


REC_IDS = ["p-g", "p-n", "p-i", "p-b", "p-x", "p-d", "p-a", "p-h", "p-f", "p-j", "p-c", "p-e"]
REC_EMB = {
    "p-a": _axis((0, 1.0)),
    "p-b": _axis((1, 1.0)),
    "p-c": _axis((2, 1.0)),
    "p-d": _axis((3, 1.0)),
    "p-e": _axis((4, 1.0), (8, 0.5)),
    "p-f": _axis((5, 1.0), (8, 0.5)),
    "p-g": _axis((6, 1.0)),
    "p-n": _axis((0, 3.0), (7, 1.0)),
    "p-x": _axis((0, 1.0)),
    "p-h": _axis((9, 1.0)),
    "p-i": _axis((10, 1.0)),
    "p-j": _axis((11, 1.0)),
}
REC_HAS_EMB = {p: p != "p-x" for p in REC_IDS}
REC_COUNT = {
    "p-a": 10, "p-b": 8, "p-c": 4, "p-d": 50, "p-e": 3, "p-f": 3, "p-g": 2, "p-n": 0, "p-x": 1,
    "p-h": 5, "p-i": 5, "p-j": 6,
}  # fmt: skip
REC_SPEND = {
    "p-a": 12.5, "p-b": 7.25, "p-c": 30.0, "p-d": 3.99, "p-e": 45.0, "p-f": 18.0, "p-g": 9.5,
    "p-n": 60.0, "p-x": 11.0, "p-h": 20.0, "p-i": 21.0, "p-j": 5.0,
}  # fmt: skip
# the customers the recommender is fitted on: (history, segment)
REC_SAMPLE = (
    [(["p-a", "p-b"], 0)] * 6
    + [(["p-c", "p-d"], 1)] * 2
    + [(["p-d"], 1)] * 5
    + [(["p-e", "p-f"], None)] * 2
    + [(["p-g", "p-d", "gone-product"], 1)]
    + [(["p-a", "p-e"], NOISE_SEGMENT_ID)]
    + [(None, 0)]
    + [(["p-a"], 2)]  # a segment that bought fewer products than the pool size
    + [(["p-h", "p-i", "p-j"], 3)] * 2
)
REC_SEGMENTS = {s for _, s in REC_SAMPLE if s is not None and s != NOISE_SEGMENT_ID}


def fit_settings(**overrides: int) -> recommend.FitSettings:
    """The project's fit settings (RecommenderSettings' defaults), with `overrides`."""
    return dataclasses.replace(recommender_fit.fit_settings(RecommenderSettings()), **overrides)


REC_SETTINGS = fit_settings(copurchase_neighbours=5, semantic_neighbours=3, pool_size=2)
REC_WEIGHTS = ScoringWeights(0.5, 0.2, 0.15, 0.15)


def fit(ids=REC_IDS, **changes) -> recommend.RecommenderModel:
    """fit_recommender on the hand-made catalog, with any input replaced."""
    inputs = {
        "embeddings": np.stack([REC_EMB[p] for p in ids]),
        "has_embedding": np.array([REC_HAS_EMB[p] for p in ids]),
        "purchase_counts": [REC_COUNT[p] for p in ids],
        "typical_spend": [REC_SPEND[p] for p in ids],
        "sample_histories": [h for h, _ in REC_SAMPLE],
        "sample_segments": [s for _, s in REC_SAMPLE],
        "settings": REC_SETTINGS,
    }
    inputs.update(changes)
    return recommend.fit_recommender(list(ids), **inputs)


def group_of(segment):
    """The affinity group of a customer's segment: None (everyone) for noise, missing
    and unknown segments."""
    return segment if segment in REC_SEGMENTS else None


def sample_group(segment) -> list[list[str]]:
    """The sample histories a segment's affinity counts: its own customers, or everyone
    for noise, missing and unknown segments."""
    if group_of(segment) is None:
        return [h or [] for h, _ in REC_SAMPLE]
    return [h or [] for h, s in REC_SAMPLE if s == segment]


def ref_affinity(segment, product: str) -> float:
    """Share of the group's customers who bought the product, relative to its best seller."""
    histories = sample_group(segment)
    buyers = {p: sum(p in set(h) for h in histories) for p in REC_IDS}
    return buyers[product] / max(buyers.values())


def ref_popularity(product: str) -> float:
    return math.log1p(REC_COUNT[product]) / math.log1p(max(REC_COUNT.values()))


def ref_pool(segment) -> set[str]:
    """The segment's pool: its best products by affinity, plus the most popular overall."""
    size = REC_SETTINGS.pool_size
    by_affinity = sorted(REC_IDS, key=lambda p: (-ref_affinity(segment, p), p))
    by_popularity = sorted(REC_IDS, key=lambda p: (-REC_COUNT[p], p))
    return {p for p in by_affinity[:size] if ref_affinity(segment, p) > 0} | set(
        by_popularity[:size]
    )


def buyers_of(product: str) -> set[int]:
    return {i for i, (h, _) in enumerate(REC_SAMPLE) if product in (h or [])}


def rec_batch(rows, previous_failed_runs=None) -> pa.RecordBatch:
    """rows: (customer_id, segment_id, purchased ids or None)."""
    return pa.RecordBatch.from_pydict(
        {
            "customer_id": [r[0] for r in rows],
            "scoring_fingerprint": [f"sf-{r[0]}" for r in rows],
            "segment_id": pa.array([r[1] for r in rows], pa.int32()),
            "segment_model_id": ["seg-abc"] * len(rows),
            "purchased_product_ids": pa.array([r[2] for r in rows], pa.list_(pa.string())),
            "previous_failed_runs": pa.array(previous_failed_runs or [0] * len(rows), pa.int32()),
        }
    )


def random_rec_customers(seed: int, n: int):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        bought = [p for p in sorted(REC_IDS) if rng.random() < 0.25]
        if i % 4 == 0:
            bought.append("gone-product")
        segment = [0, 1, NOISE_SEGMENT_ID, None, 42][i % 5]
        rows.append((f"c{i:02d}", segment, bought if i % 9 != 8 else None))
    return rows


def recommend_table(batches, run_context, policy, *, model=None, k=4, batch_size=64) -> pa.Table:
    return table_of(
        recommend.score_customers(
            batches,
            model or fit(),
            k=k,
            weights=REC_WEIGHTS,
            recommender_version="rec-v1",
            run=run_context,
            policy=policy,
            batch_size=batch_size,
        )
    )


def candidates_of(table: pa.Table) -> dict[str, list[dict]]:
    return dict(
        zip(
            table.column("customer_id").to_pylist(),
            table.column("candidates").to_pylist(),
            strict=True,
        )
    )


def fit_abc(histories, counts, segments=None, **settings) -> recommend.RecommenderModel:
    """A recommender over products a, b, c from co-purchases only (no embeddings, no
    EASE unless `ease_max_items` is given)."""
    return recommend.fit_recommender(
        ["a", "b", "c"],
        np.eye(3, dtype=np.float32),
        np.zeros(3, dtype=bool),
        counts,
        [1.0, 1.0, 1.0],
        histories,
        segments if segments is not None else [None] * len(histories),
        fit_settings(**{"semantic_neighbours": 0, "ease_max_items": 0, **settings}),
    )


# the project's default blend (vars recommendation_weight_*)
PROJECT_WEIGHTS = ScoringSettings().weights
# the same with EASE's weight on item-kNN: the reported co-purchase signal is item-kNN's
KNN_WEIGHTS = ScoringWeights(
    copurchase=PROJECT_WEIGHTS.copurchase + PROJECT_WEIGHTS.ease,
    semantic=PROJECT_WEIGHTS.semantic,
    segment=PROJECT_WEIGHTS.segment,
    popularity=PROJECT_WEIGHTS.popularity,
)
