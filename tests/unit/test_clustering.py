"""The vectorised approximate prediction agrees with hdbscan's own."""

from __future__ import annotations

import pickle
import subprocess
import sys

import hdbscan
import numpy as np
import pytest

from holdfast.infrastructure.clustering import HdbscanClusterer, HdbscanFitted, _PredictionTables


def blobs(n: int, seed: int) -> np.ndarray:
    """Clusters of different density and size, nested pairs and uniform noise."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0], [6, 0], [6.8, 0.4], [0, 7], [-6, -6], [3, -5]], dtype=float)
    spread = np.array([0.5, 0.3, 0.3, 1.2, 0.2, 0.8])
    which = rng.choice(len(centers), size=n, p=[0.3, 0.15, 0.1, 0.2, 0.15, 0.1])
    points = centers[which] + rng.normal(size=(n, 2)) * spread[which, None]
    noise = rng.uniform(-10, 10, size=(n // 10, 2))
    return np.vstack([points, noise])


@pytest.fixture(scope="module")
def fitted() -> HdbscanFitted:
    return HdbscanClusterer(
        min_cluster_size=40, min_samples=10, cluster_selection_method="leaf"
    ).fit(blobs(3000, 1))


def test_prediction_matches_hdbscan_point_for_point(fitted):
    points = np.vstack([blobs(20000, 2), np.random.default_rng(3).uniform(-30, 30, (500, 2))])
    expected_labels, expected_strengths = hdbscan.approximate_predict(fitted.model, points)
    labels, strengths = fitted.predict(points)
    assert fitted.n_clusters >= 3
    assert 0 < np.mean(labels < 0) < 0.9  # both noise and members are predicted
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_array_equal(strengths, expected_strengths)


def test_points_on_training_points_and_empty_batches(fitted):
    training = fitted.model.prediction_data_.raw_data[:300]
    labels, strengths = fitted.predict(training)
    expected_labels, expected_strengths = hdbscan.approximate_predict(fitted.model, training)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_array_equal(strengths, expected_strengths)
    empty_labels, empty_strengths = fitted.predict(np.zeros((0, 2)))
    assert empty_labels.shape == (0,) and empty_strengths.shape == (0,)


def test_no_cluster_predicts_noise():
    flat = np.random.default_rng(4).uniform(0, 1, (60, 2))
    model = HdbscanClusterer(
        min_cluster_size=50, min_samples=5, cluster_selection_method="leaf"
    ).fit(flat)
    assert model.n_clusters == 0
    labels, strengths = model.predict(flat[:7])
    assert labels.tolist() == [-1] * 7 and strengths.tolist() == [0.0] * 7


def test_a_pickled_model_predicts_the_same_without_hdbscan(fitted, tmp_path):
    points = blobs(4000, 6)
    expected_labels, expected_strengths = fitted.predict(points)
    blob_file, points_file = tmp_path / "model.pickle", tmp_path / "points.npy"
    blob_file.write_bytes(pickle.dumps(fitted))
    np.save(points_file, points)
    loaded = pickle.loads(blob_file.read_bytes())
    assert loaded.model is None and loaded.n_clusters == fitted.n_clusters
    labels, strengths = loaded.predict(points)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_array_equal(strengths, expected_strengths)
    # a fresh interpreter loads and predicts without importing hdbscan or
    # scikit-learn (2.3 s of imports for every run that labels customers)
    script = (
        "import pickle, sys, numpy as np\n"
        f"model = pickle.loads(open({str(blob_file)!r}, 'rb').read())\n"
        f"labels, _ = model.predict(np.load({str(points_file)!r}))\n"
        "print(int((labels >= 0).sum()), sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('hdbscan', 'sklearn')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=1)
    assert int(out[0]) == int((expected_labels >= 0).sum()) > 0
    assert out[1].strip() == "[]"


def test_a_model_pickled_with_its_hdbscan_object_still_loads(fitted):
    # segment models stored before the prediction state existed pickled the
    # hdbscan object itself, and the caches computed by then
    legacy = HdbscanFitted.__new__(HdbscanFitted)
    legacy.__setstate__({"model": fitted.model, "_tables": _PredictionTables()})
    points = blobs(2000, 7)
    np.testing.assert_array_equal(legacy.predict(points)[0], fitted.predict(points)[0])
    np.testing.assert_array_equal(legacy.predict(points)[1], fitted.predict(points)[1])


def test_nearest_centroid_is_the_largest_cosine_with_the_unit_cluster_means():
    from holdfast.infrastructure.clustering import NearestCentroid

    rng = np.random.default_rng(11)
    points = rng.normal(size=(60, 4))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels = rng.integers(-1, 3, size=60) * 2  # labels -2 (noise-like), 0, 2, 4
    labels[labels < 0] = -1
    queries = rng.normal(size=(25, 4))
    found = NearestCentroid(points, labels).label_of(queries)
    for query, label in zip(queries, found, strict=True):
        best, best_cosine = None, -np.inf
        for candidate in sorted(set(labels.tolist()) - {-1}):
            mean = points[labels == candidate].mean(axis=0)
            cosine = float(query @ mean / np.linalg.norm(mean))
            if cosine > best_cosine:
                best, best_cosine = candidate, cosine
        assert label == best
    assert NearestCentroid(points[:0], labels[:0]).label_of(queries).tolist() == [-1] * 25
