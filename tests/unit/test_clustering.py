"""The vectorised approximate prediction agrees with hdbscan's own."""

from __future__ import annotations

import hdbscan
import numpy as np
import pytest

from holdfast.infrastructure.clustering import HdbscanClusterer, HdbscanFitted


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
    return HdbscanClusterer(min_cluster_size=40, min_samples=10).fit(blobs(3000, 1))


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
    model = HdbscanClusterer(min_cluster_size=50, min_samples=5).fit(flat)
    assert model.n_clusters == 0
    labels, strengths = model.predict(flat[:7])
    assert labels.tolist() == [-1] * 7 and strengths.tolist() == [0.0] * 7
