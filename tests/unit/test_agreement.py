"""Neighbour lists and their overlap, the bar a cheaper embedding backend must clear."""

from __future__ import annotations

import numpy as np

from holdfast.evaluation.agreement import nearest_neighbours, neighbour_overlap


def _unit(rows: list[list[float]]) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_nearest_neighbours_exclude_the_row_itself_and_break_ties_by_index():
    vectors = _unit([[1, 0], [1, 0], [1, 0], [0, 1]])
    assert nearest_neighbours(vectors, k=2).tolist() == [[1, 2], [0, 2], [0, 1], [0, 1]]


def test_overlap_is_one_for_the_same_vectors_and_drops_with_each_lost_neighbour():
    reference = _unit([[1, 0.1], [1, 0.2], [0.1, 1], [0.2, 1]])
    assert neighbour_overlap(reference, reference, k=1) == 1.0
    # swap two rows' directions: rows 1 and 2 now find other neighbours
    moved = reference[[0, 2, 1, 3]]
    assert neighbour_overlap(reference, moved, k=1) == 0.0
