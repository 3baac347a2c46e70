"""A sample of vectors in clusters, and a segment model fitted on it with a fake clusterer
(shared by the segment fit and assignment tests)."""

from __future__ import annotations

import numpy as np
from tests.unit.fakes import FakeClusterer, unit

from holdfast.application import segments

SEG_DIM = 5
_rng = np.random.default_rng(5)


def near(axis: int, n: int, rng=_rng) -> np.ndarray:
    """n unit vectors close to the basis vector `axis`."""
    center = np.eye(SEG_DIM)[axis]
    return np.stack([unit(center + rng.normal(scale=0.03, size=SEG_DIM)) for _ in range(n)])


# Clusters told to the fake: raw label 7 (4 points), 3 (9 points), 5 (6 points), 2 noise.
SAMPLE = np.concatenate([near(0, 4), near(1, 9), near(2, 6), near(3, 1), near(4, 1)])
RAW_LABELS = [7] * 4 + [3] * 9 + [5] * 6 + [-1, -1]
SAMPLE_IDS = [f"s{i:02d}" for i in range(len(SAMPLE))]
PARAMS = {"min_cluster_size": 3, "n_components": SEG_DIM}


def fit_model(**kw) -> segments.SegmentModel:
    args = {
        "n_components": SEG_DIM,
        "population": 1234,
        "params": PARAMS,
        "fit_reason": "no segment model yet",
    }
    return segments.fit_segment_model(
        SAMPLE_IDS, SAMPLE.astype(np.float32), FakeClusterer(RAW_LABELS), **{**args, **kw}
    )
