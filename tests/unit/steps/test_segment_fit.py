"""fit_segment_model with a fake clusterer: segment ids, content-derived model ids, refits."""

from __future__ import annotations

import numpy as np
import pytest
from tests.unit.fakes import FakeClusterer
from tests.unit.steps.segment_sample import (
    PARAMS,
    RAW_LABELS,
    SAMPLE,
    SAMPLE_IDS,
    SEG_DIM,
    fit_model,
    near,
)

from holdfast.application import segments


def test_fit_segment_model_orders_segment_ids_by_cluster_size():
    model = fit_model()
    assert model.segment_of_label == {3: 0, 5: 1, 7: 2}
    assert model.n_segments == 3
    assert model.noise_share == pytest.approx(2 / 21)
    assert model.n_sample == 21
    assert model.population_at_fit == 1234
    assert model.fit_reason == "no segment model yet"


def test_fit_segment_model_breaks_size_ties_by_lower_label():
    sample = np.concatenate([near(0, 5), near(1, 7), near(2, 5)])
    labels = [9] * 5 + [4] * 7 + [2] * 5
    model = segments.fit_segment_model(
        [f"t{i}" for i in range(17)],
        sample,
        FakeClusterer(labels),
        n_components=SEG_DIM,
        population=17,
        params={},
        fit_reason="test",
    )
    assert model.segment_of_label == {4: 0, 2: 1, 9: 2}


def test_fit_segment_model_clusters_in_the_reduced_space():
    clusterer = FakeClusterer(RAW_LABELS)
    segments.fit_segment_model(
        SAMPLE_IDS, SAMPLE, clusterer, n_components=2, population=21, params={}, fit_reason="x"
    )
    assert clusterer.fitted_on.shape == (21, 2)


def test_fit_segment_model_id_is_content_derived_and_params_are_copied():
    params = dict(PARAMS)
    model = segments.fit_segment_model(
        SAMPLE_IDS,
        SAMPLE,
        FakeClusterer(RAW_LABELS),
        n_components=SEG_DIM,
        population=21,
        params=params,
        fit_reason="x",
    )
    assert model.segment_model_id == segments.model_id_for(SAMPLE_IDS, SAMPLE, PARAMS)
    params["min_cluster_size"] = 99
    assert model.params == PARAMS


def test_a_refit_reuses_the_previous_models_segment_ids():
    first = fit_model()
    assert first.next_segment_id == 3
    # the same customers, clustered again with other raw labels: 7 -> 1, 3 -> 8, 5 -> 4
    relabelled = [1] * 4 + [8] * 9 + [4] * 6 + [-1, -1]
    refit = segments.fit_segment_model(
        SAMPLE_IDS,
        SAMPLE.astype(np.float32),
        FakeClusterer(relabelled),
        n_components=SEG_DIM,
        population=1300,
        params=PARAMS,
        fit_reason="refit requested",
        previous=first,
    )
    assert refit.segment_of_label == {8: 0, 4: 1, 1: 2}
    assert refit.matched_from == first.segment_model_id
    assert refit.next_segment_id == 3


def test_fit_segment_model_can_cluster_unit_length_reduced_vectors():
    clusterer = FakeClusterer(RAW_LABELS)
    model = segments.fit_segment_model(
        SAMPLE_IDS,
        SAMPLE,
        clusterer,
        n_components=2,
        population=21,
        params={},
        fit_reason="x",
        normalise=True,
    )
    np.testing.assert_allclose(np.linalg.norm(clusterer.fitted_on, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(model.reduce(SAMPLE[:3]), axis=1), 1.0)


def test_model_id_for_depends_on_sample_and_params_but_not_on_params_key_order():
    v = np.array([[0.6, 0.8], [1.0, 0.0]])
    base = segments.model_id_for(["a", "b"], v, {"x": 1, "y": 2})
    assert base == segments.model_id_for(["a", "b"], v, {"y": 2, "x": 1})
    assert base.startswith("seg-") and len(base) == len("seg-") + 16
    assert base != segments.model_id_for(["b", "a"], v, {"x": 1, "y": 2})
    assert base != segments.model_id_for(["a", "b", "c"], np.vstack([v, v[:1]]), {"x": 1, "y": 2})
    assert base != segments.model_id_for(["a", "b"], v, {"x": 1, "y": 3})
    one = np.zeros((1, 2))
    assert segments.model_id_for(["ab"], one, {}) != segments.model_id_for(["a", "b"], v, {})


def test_model_id_for_changes_with_the_vectors_not_with_float_noise():
    """The same customers with other purchases (other vectors) are another
    model; a difference far below the clusterer's resolution is not."""
    ids = ["a", "b"]
    v = np.array([[0.6, 0.8], [1.0, 0.0]])
    base = segments.model_id_for(ids, v, {})
    assert segments.model_id_for(ids, v + 1e-9, {}) == base
    assert segments.model_id_for(ids, v.astype(np.float32), {}) == base
    moved = v.copy()
    moved[1] = [0.8, 0.6]
    assert segments.model_id_for(ids, moved, {}) != base
