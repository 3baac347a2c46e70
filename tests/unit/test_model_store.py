"""infrastructure.model_store: pickled segment models with a sha256 integrity check."""

from __future__ import annotations

import hashlib
import pickle

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdfast.application.segments import SegmentModel
from holdfast.domain.segment_features import fit_purchase_factors
from holdfast.infrastructure.clustering import NearestCentroid
from holdfast.infrastructure.model_store import (
    SEGMENT_MODEL_ID,
    dump_model,
    load_model,
    newest_model_sql,
)


class ThresholdFitted:
    """A picklable FittedClusterer fake: label by the sign of the first feature coordinate."""

    def __init__(self, margin: float) -> None:
        self.margin = margin

    @property
    def n_clusters(self) -> int:
        return 2

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first = points[:, 0]
        labels = np.where(first > self.margin, 0, np.where(first < -self.margin, 1, -1))
        return labels, np.minimum(np.abs(first), 1.0)


class NotAModel:
    def __init__(self) -> None:
        self.segment_model_id = "seg-fake"


PRODUCTS = [f"p{j}" for j in range(8)]


def baskets(seed: int, n: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [sorted(set(rng.choice(PRODUCTS, size=3).tolist())) for _ in range(n)]


def make_model() -> SegmentModel:
    sample = baskets(4, 40)
    factors = fit_purchase_factors(sample, n_products=8, n_components=3)
    features = factors.transform(sample)
    return SegmentModel(
        segment_model_id="seg-0123456789abcdef",
        factors=factors,
        clusterer=ThresholdFitted(margin=0.1),
        nearest=NearestCentroid(features, np.where(features[:, 0] > 0, 0, 1)),
        segment_of_label={0: 1, 1: 0},
        profiles=[],
        population_at_fit=40,
        n_sample=40,
        noise_share=0.2,
        fit_reason="no segment model yet",
        params={"min_cluster_size": 10, "n_components": 3},
    )


def test_dump_model_returns_the_bytes_and_their_sha256():
    blob, checksum = dump_model(make_model())
    assert isinstance(blob, bytes) and blob
    assert checksum == hashlib.sha256(blob).hexdigest()


def test_a_dumped_model_loads_back_equal_and_assigns_identically():
    model = make_model()
    loaded = load_model(*dump_model(model))
    assert isinstance(loaded, SegmentModel)
    for name in (
        "segment_model_id",
        "segment_of_label",
        "population_at_fit",
        "n_sample",
        "noise_share",
        "fit_reason",
        "params",
    ):
        assert getattr(loaded, name) == getattr(model, name)
    assert loaded.factors.product_ids == model.factors.product_ids
    np.testing.assert_array_equal(loaded.factors.components, model.factors.components)
    new = [*baskets(5, 25), ["unknown"]]
    expected = model.assign(new)
    got = loaded.assign(new)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert set(expected[0].tolist()) <= {-1, 0, 1}
    assert expected[0][-1] == -1


def test_loading_corrupted_bytes_raises_value_error():
    blob, checksum = dump_model(make_model())
    corrupted = bytearray(blob)
    corrupted[len(corrupted) // 2] ^= 0xFF
    with pytest.raises(ValueError, match="corrupt"):
        load_model(bytes(corrupted), checksum)


def test_loading_truncated_bytes_raises_value_error():
    blob, checksum = dump_model(make_model())
    with pytest.raises(ValueError, match="corrupt"):
        load_model(blob[:-1], checksum)


def test_loading_with_a_checksum_of_other_bytes_raises_value_error():
    blob, _ = dump_model(make_model())
    with pytest.raises(ValueError):
        load_model(blob, hashlib.sha256(b"something else").hexdigest())


def test_loading_a_pickle_that_is_not_a_segment_model_raises_type_error():
    blob = pickle.dumps(NotAModel())
    with pytest.raises(TypeError, match="NotAModel"):
        load_model(blob, hashlib.sha256(blob).hexdigest())


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    fits=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 10_000)),
        min_size=1,
        max_size=12,
        unique_by=lambda fit: fit[1],
    )
)
def test_the_newest_fit_is_the_latest_and_then_the_larger_id(fits: list[tuple[int, int]]) -> None:
    # few distinct instants, so fits of the same instant are common
    con = duckdb.connect()
    con.execute(
        "create table fits (segment_model_id bigint, fitted_at timestamp, model_checksum varchar)"
    )
    for minute, model_id in fits:
        con.execute(
            "insert into fits values (?, timestamp '2026-01-01' + to_minutes(?), ?)",
            [model_id, minute, f"c{model_id}"],
        )
    expected = max(fits)  # (instant, id): the latest, then the larger id
    row = con.execute(
        newest_model_sql("fits", [SEGMENT_MODEL_ID, "model_checksum"], SEGMENT_MODEL_ID)
    ).fetchall()
    assert row == [(expected[1], f"c{expected[1]}")]


def test_an_empty_model_table_has_no_newest_fit() -> None:
    con = duckdb.connect()
    con.execute("create table fits (segment_model_id bigint, fitted_at timestamp)")
    assert (
        con.execute(newest_model_sql("fits", [SEGMENT_MODEL_ID], SEGMENT_MODEL_ID)).fetchall() == []
    )
