"""A sample of customers whose baskets fall in product groups, and a segment
model fitted on it with a fake clusterer (shared by the segment fit and
assignment tests)."""

from __future__ import annotations

import numpy as np
from tests.unit.fakes import FakeClusterer

from holdfast.application import segments

GROUPS = 5
PRODUCTS_PER_GROUP = 4
# as many factors as products: the fold-in is then a rotation of the tf-idf
# rows, so distances can be checked on the rows themselves
N_COMPONENTS = GROUPS * PRODUCTS_PER_GROUP
NAMES = {
    f"g{g}p{j}": f"{word} item {j}"
    for g, word in enumerate(["candle", "lunchbag", "teacup", "postcard", "ribbon"])
    for j in range(PRODUCTS_PER_GROUP)
}
CATEGORIES = dict.fromkeys(NAMES, "Giftware")


def basket(group: int, i: int, extra: str | None = None) -> list[str]:
    """Two or three products of `group` (which ones depends on i)."""
    products = [f"g{group}p{j}" for j in range(PRODUCTS_PER_GROUP) if (i + j) % 3 != 0]
    return products + ([extra] if extra else [])


# Clusters told to the fake: raw label 7 (group 0, 4 customers), 3 (group 1,
# 9), 5 (group 2, 6); two noise customers, of groups 3 and 4, who also bought
# a product of group 1 (so their nearest segment is group 1's).
SAMPLE = (
    [basket(0, i) for i in range(4)]
    + [basket(1, i) for i in range(9)]
    + [basket(2, i) for i in range(6)]
    + [basket(3, 0, "g1p1"), basket(4, 1, "g1p1")]
)
RAW_LABELS = [7] * 4 + [3] * 9 + [5] * 6 + [-1, -1]
SAMPLE_IDS = [f"s{i:02d}" for i in range(len(SAMPLE))]
PARAMS = {"min_cluster_size": 3, "feature_components": N_COMPONENTS}
# the fake's cluster radius: every member of a group is within it of the
# group's centroid (at most 0.69), the noise customers are not (1.17 or more)
RADIUS = 0.9


def tfidf_unit_rows(baskets, products, sample=SAMPLE) -> np.ndarray:
    """The unit tf-idf rows of `baskets` over `products` (idf of `sample`), computed directly."""
    n_sample = len(sample)
    buyers = np.array([sum(p in b for b in sample) for p in products], dtype=float)
    idf = np.log((1 + n_sample) / (1 + buyers)) + 1
    rows = np.array([[idf[j] if p in b else 0.0 for j, p in enumerate(products)] for b in baskets])
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def fit_model(**kw) -> segments.SegmentModel:
    args = {
        "n_products": 100,
        "n_components": N_COMPONENTS,
        "population": 1234,
        "params": PARAMS,
        "fit_reason": "no segment model yet",
        "names": NAMES,
        "categories": CATEGORIES,
    }
    return segments.fit_segment_model(
        SAMPLE_IDS, SAMPLE, FakeClusterer(RAW_LABELS, RADIUS), **{**args, **kw}
    )
