"""domain.reduction: deterministic PCA."""

from __future__ import annotations

import numpy as np
import pytest

from holdfast.domain.reduction import Projection, fit_pca


def sample(seed: int = 0, n: int = 60, dim: int = 6) -> np.ndarray:
    """Correlated data with clearly distinct variances along its principal axes."""
    rng = np.random.default_rng(seed)
    scales = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.2])[:dim]
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return (rng.normal(size=(n, dim)) * scales) @ rotation.T + rng.normal(size=dim)


def test_fit_pca_gives_identical_projections_across_calls():
    data = sample()
    first, second = fit_pca(data, 3), fit_pca(data.copy(), 3)
    np.testing.assert_array_equal(first.components, second.components)
    np.testing.assert_array_equal(first.mean, second.mean)
    np.testing.assert_array_equal(first.explained_variance_ratio, second.explained_variance_ratio)


def test_fit_pca_makes_the_largest_absolute_loading_of_each_component_positive():
    projection = fit_pca(sample(1), 4)
    for component in projection.components:
        assert component[np.argmax(np.abs(component))] > 0


def test_fit_pca_components_do_not_depend_on_the_sign_of_the_data():
    data = sample(2)
    plus, minus = fit_pca(data, 3), fit_pca(-data, 3)
    np.testing.assert_allclose(plus.components, minus.components, atol=1e-10)
    np.testing.assert_allclose(minus.transform(-data), -plus.transform(data), atol=1e-9)


def test_fit_pca_components_are_the_top_eigenvectors_of_the_covariance():
    data = sample(3)
    projection = fit_pca(data, 3)
    centered = data - data.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(centered.T @ centered)
    order = np.argsort(eigenvalues)[::-1]
    for i in range(3):
        reference = eigenvectors[:, order[i]]
        assert abs(float(projection.components[i] @ reference)) == pytest.approx(1.0, abs=1e-8)
    expected_ratio = eigenvalues[order[:3]] / eigenvalues.sum()
    np.testing.assert_allclose(projection.explained_variance_ratio, expected_ratio, rtol=1e-8)


def test_fit_pca_components_are_orthonormal():
    components = fit_pca(sample(4), 5).components
    np.testing.assert_allclose(components @ components.T, np.eye(5), atol=1e-10)


def test_explained_variance_ratio_is_in_unit_interval_sorted_and_sums_to_at_most_one():
    ratio = fit_pca(sample(5), 4).explained_variance_ratio
    assert np.all(ratio >= 0) and np.all(ratio <= 1)
    assert np.all(np.diff(ratio) <= 0)
    assert ratio.sum() <= 1 + 1e-12
    full = fit_pca(sample(5), 6).explained_variance_ratio
    assert full.sum() == pytest.approx(1.0, abs=1e-10)


def test_transform_centers_the_fit_data():
    data = sample(6)
    reduced = fit_pca(data, 3).transform(data)
    assert reduced.shape == (60, 3)
    assert reduced.dtype == np.float64
    np.testing.assert_allclose(reduced.mean(axis=0), 0.0, atol=1e-10)


def test_transform_with_all_components_reconstructs_the_data():
    data = sample(7)
    projection = fit_pca(data, 6)
    reconstructed = projection.transform(data) @ projection.components + projection.mean
    np.testing.assert_allclose(reconstructed, data, atol=1e-9)


def test_projection_transform_is_x_minus_mean_times_components_transposed():
    projection = Projection(
        mean=np.array([1.0, 2.0]),
        components=np.array([[0.0, 1.0]]),
        explained_variance_ratio=np.array([1.0]),
    )
    np.testing.assert_allclose(projection.transform([[3.0, 7.0], [1.0, 2.0]]), [[5.0], [0.0]])


def test_fit_pca_caps_components_at_rows_minus_one_and_dimension():
    rng = np.random.default_rng(8)
    few_rows = fit_pca(rng.normal(size=(4, 6)), 10)
    assert few_rows.components.shape == (3, 6)
    few_dims = fit_pca(rng.normal(size=(30, 2)), 10)
    assert few_dims.components.shape == (2, 2)


def test_fit_pca_with_more_components_than_the_data_rank_gives_zero_extra_variance():
    rng = np.random.default_rng(9)
    direction = np.array([1.0, 2.0, -1.0, 0.5, 3.0])
    data = rng.normal(size=(20, 1)) * direction + 4.0  # rank 1 after centering
    projection = fit_pca(data, 3)
    assert projection.components.shape == (3, 5)
    assert not np.isnan(projection.components).any()
    ratio = projection.explained_variance_ratio
    assert ratio[0] == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(ratio[1:], 0.0, atol=1e-10)
    unit = direction / np.linalg.norm(direction)
    assert abs(float(projection.components[0] @ unit)) == pytest.approx(1.0, abs=1e-10)


def test_fit_pca_of_identical_rows_gives_zero_ratios_not_nan():
    projection = fit_pca(np.ones((5, 3)), 2)
    assert not np.isnan(projection.explained_variance_ratio).any()
    np.testing.assert_array_equal(projection.explained_variance_ratio, [0.0, 0.0])
    np.testing.assert_allclose(projection.transform(np.ones((2, 3))), 0.0, atol=1e-12)


def test_fit_pca_always_keeps_at_least_one_component():
    assert fit_pca(sample(10), 0).components.shape == (1, 6)


@pytest.mark.parametrize("bad", [np.zeros((1, 3)), np.zeros(5), np.zeros((2, 2, 2))])
def test_fit_pca_rejects_fewer_than_two_rows_or_a_non_matrix(bad):
    with pytest.raises(ValueError):
        fit_pca(bad, 2)
