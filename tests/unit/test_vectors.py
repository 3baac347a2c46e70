"""domain.vectors: normalisation, weighted means, cosine similarity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from holdfast.domain.vectors import (
    cosine_similarity,
    has_vector,
    normalize_rows,
    weighted_mean_rows,
)


def brute_force_weighted_mean(vectors, rows, weights):
    """Reference: plain Python loops, float64, then unit length (zero stays zero)."""
    dim = vectors.shape[1]
    out = np.zeros((len(rows), dim))
    for i, (row, ws) in enumerate(zip(rows, weights, strict=True)):
        total = np.zeros(dim)
        for index, w in zip(row, ws, strict=True):
            total += w * vectors[index].astype(np.float64)
        norm = math.sqrt(float(np.sum(total**2)))
        out[i] = total / norm if norm > 0 else total
    return out


# normalize_rows ------------------------------------------------------------------------------


def test_normalize_rows_scales_every_nonzero_row_to_unit_length():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(20, 7)) * rng.uniform(0.01, 100, size=(20, 1))
    normalized = normalize_rows(matrix)
    assert normalized.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=1), 1.0, rtol=1e-5)


def test_normalize_rows_keeps_the_direction_of_each_row():
    matrix = np.array([[3.0, 4.0], [0.0, -2.0], [1.0, 1.0]])
    expected = np.array([[0.6, 0.8], [0.0, -1.0], [1 / math.sqrt(2), 1 / math.sqrt(2)]])
    np.testing.assert_allclose(normalize_rows(matrix), expected, rtol=1e-6)


def test_normalize_rows_leaves_zero_rows_zero_and_never_nan():
    matrix = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    normalized = normalize_rows(matrix)
    assert not np.isnan(normalized).any()
    np.testing.assert_array_equal(normalized[0], [0, 0, 0])
    np.testing.assert_array_equal(normalized[2], [0, 0, 0])
    np.testing.assert_allclose(normalized[1], [1, 0, 0])


def test_normalize_rows_does_not_modify_its_input():
    matrix = np.array([[3.0, 4.0]], dtype=np.float32)
    normalize_rows(matrix)
    np.testing.assert_array_equal(matrix, [[3.0, 4.0]])


# weighted_mean_rows --------------------------------------------------------------------------


def test_weighted_mean_rows_matches_a_brute_force_weighted_mean():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, 8)).astype(np.float32)
    rows, weights = [], []
    for _ in range(25):
        size = int(rng.integers(1, 9))
        rows.append([int(x) for x in rng.integers(0, 30, size=size)])
        weights.append([float(x) for x in rng.uniform(0.1, 5.0, size=size)])
    means, counts = weighted_mean_rows(vectors, rows, weights)
    assert means.dtype == np.float32
    assert means.shape == (25, 8)
    np.testing.assert_allclose(means, brute_force_weighted_mean(vectors, rows, weights), atol=1e-5)
    assert counts.tolist() == [len(r) for r in rows]


def test_weighted_mean_rows_counts_a_repeated_index_with_its_weights_added():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    repeated, _ = weighted_mean_rows(vectors, [[0, 0, 1]], [[1.0, 1.0, 1.0]])
    summed, _ = weighted_mean_rows(vectors, [[0, 1]], [[2.0, 1.0]])
    np.testing.assert_allclose(repeated, summed, atol=1e-7)
    np.testing.assert_allclose(repeated[0], np.array([2.0, 1.0]) / math.sqrt(5), atol=1e-6)


def test_weighted_mean_rows_gives_zero_vector_and_zero_count_for_an_empty_row():
    vectors = np.eye(3, dtype=np.float32)
    means, counts = weighted_mean_rows(vectors, [[], [2], []], [[], [4.0], []])
    np.testing.assert_array_equal(means[0], 0)
    np.testing.assert_array_equal(means[2], 0)
    np.testing.assert_allclose(means[1], [0, 0, 1])
    assert counts.tolist() == [0, 1, 0]
    assert has_vector(means).tolist() == [False, True, False]


def test_weighted_mean_rows_gives_zero_vector_when_all_weights_are_zero():
    vectors = np.eye(3, dtype=np.float32)
    means, counts = weighted_mean_rows(vectors, [[0, 1]], [[0.0, 0.0]])
    np.testing.assert_array_equal(means[0], 0)
    assert not np.isnan(means).any()
    assert counts.tolist() == [2]


def test_weighted_mean_rows_with_no_rows_returns_empty_arrays():
    means, counts = weighted_mean_rows(np.eye(4, dtype=np.float32), [], [])
    assert means.shape == (0, 4)
    assert counts.shape == (0,)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_weighted_mean_rows_rejects_negative_or_non_finite_weights(bad):
    vectors = np.eye(3, dtype=np.float32)
    with pytest.raises(ValueError, match="weights"):
        weighted_mean_rows(vectors, [[0, 1]], [[1.0, bad]])


@pytest.mark.parametrize("bad_index", [-1, 3, 100])
def test_weighted_mean_rows_rejects_an_index_outside_the_vector_matrix(bad_index):
    vectors = np.eye(3, dtype=np.float32)
    with pytest.raises(IndexError):
        weighted_mean_rows(vectors, [[0], [bad_index]], [[1.0], [1.0]])


def test_weighted_mean_rows_rejects_a_different_number_of_rows_and_weight_lists():
    with pytest.raises(ValueError):
        weighted_mean_rows(np.eye(3, dtype=np.float32), [[0], [1]], [[1.0]])


def test_weighted_mean_rows_rejects_a_row_with_a_different_number_of_weights():
    with pytest.raises(ValueError):
        weighted_mean_rows(np.eye(3, dtype=np.float32), [[0, 1]], [[1.0]])


# cosine_similarity ---------------------------------------------------------------------------


def test_cosine_similarity_matches_the_dot_product_over_norms():
    rng = np.random.default_rng(2)
    queries = rng.normal(size=(6, 5))
    items = rng.normal(size=(9, 5))
    expected = np.array(
        [
            [float(q @ it) / (np.linalg.norm(q) * np.linalg.norm(it)) for it in items]
            for q in queries
        ]
    )
    similarity = cosine_similarity(queries, items)
    assert similarity.shape == (6, 9)
    assert similarity.dtype == np.float32
    np.testing.assert_allclose(similarity, expected, atol=1e-6)


def test_cosine_similarity_is_one_for_same_direction_minus_one_for_opposite_zero_for_orthogonal():
    queries = np.array([[1.0, 2.0, 0.0]])
    items = np.array([[10.0, 20.0, 0.0], [-1.0, -2.0, 0.0], [0.0, 0.0, 5.0]])
    np.testing.assert_allclose(cosine_similarity(queries, items), [[1.0, -1.0, 0.0]], atol=1e-6)


def test_cosine_similarity_of_a_zero_query_is_zero_not_nan():
    similarity = cosine_similarity(np.zeros((1, 3)), np.eye(3))
    np.testing.assert_array_equal(similarity, np.zeros((1, 3)))


def test_has_vector_is_false_only_for_all_zero_rows():
    matrix = np.array([[0.0, 0.0], [0.0, -1e-3], [2.0, 0.0]])
    assert has_vector(matrix).tolist() == [False, True, True]
