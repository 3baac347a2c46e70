"""application.records: vector columns and the shared status columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from holdfast.application.records import (
    STATUS_FAILED,
    STATUS_OK,
    array_to_vectors,
    status_columns,
    status_fields,
    vector_type,
    vectors_to_array,
)
from holdfast.application.resilience import Outcome

ROWS = [
    np.array([1.0, 2.0, 3.0], dtype=np.float32),
    None,
    np.array([-4.5, 0.0, 6.25], dtype=np.float32),
    np.array([7.0, 8.0, 9.0], dtype=np.float32),
    None,
]


def expected_matrix(rows):
    return np.array([np.zeros(3) if r is None else r for r in rows], dtype=np.float32)


def ok(index: int, **kw) -> Outcome:
    base = {
        "value": index,
        "reason": None,
        "error": None,
        "attempts": 1,
        "batch_number": 1,
        "batch_latency_ms": 12.3456,
        "batch_attempts": 1,
    }
    return Outcome(index=index, **{**base, **kw})


def failed(index: int, **kw) -> Outcome:
    return ok(index, value=None, reason="permanent_error", error="Boom: bad", **kw)


# vector columns ------------------------------------------------------------------------------


def test_vectors_to_array_builds_a_fixed_size_float32_list_with_nulls():
    column = vectors_to_array(ROWS, 3)
    assert column.type == vector_type(3) == pa.list_(pa.float32(), 3)
    assert column.to_pylist() == [
        [1.0, 2.0, 3.0],
        None,
        [-4.5, 0.0, 6.25],
        [7.0, 8.0, 9.0],
        None,
    ]


def test_vectors_round_trip_with_null_rows_as_zeros():
    matrix, present = array_to_vectors(vectors_to_array(ROWS, 3), 3)
    assert matrix.dtype == np.float32
    assert present.tolist() == [True, False, True, True, False]
    np.testing.assert_array_equal(matrix, expected_matrix(ROWS))


@pytest.mark.parametrize(("start", "length"), [(1, 3), (2, 3), (3, 1), (0, 2)])
def test_array_to_vectors_reads_a_sliced_array_from_its_offset(start, length):
    sliced = vectors_to_array(ROWS, 3).slice(start, length)
    matrix, present = array_to_vectors(sliced, 3)
    window = ROWS[start : start + length]
    np.testing.assert_array_equal(matrix, expected_matrix(window))
    assert present.tolist() == [r is not None for r in window]


def test_array_to_vectors_reads_a_chunked_array_of_slices():
    column = vectors_to_array(ROWS, 3)
    chunked = pa.chunked_array([column.slice(0, 2), column.slice(2, 3)])
    matrix, present = array_to_vectors(chunked, 3)
    np.testing.assert_array_equal(matrix, expected_matrix(ROWS))
    assert present.tolist() == [True, False, True, True, False]


def test_array_to_vectors_accepts_a_variable_size_list_column():
    column = pa.array([r.tolist() if r is not None else None for r in ROWS], pa.list_(pa.float64()))
    matrix, present = array_to_vectors(column.slice(1), 3)
    np.testing.assert_array_equal(matrix, expected_matrix(ROWS[1:]))
    assert present.tolist() == [False, True, True, False]


def test_array_to_vectors_of_an_empty_column_is_empty():
    matrix, present = array_to_vectors(vectors_to_array([], 4), 4)
    assert matrix.shape == (0, 4)
    assert present.shape == (0,)


def test_vectors_to_array_of_only_nulls_round_trips_to_zeros():
    matrix, present = array_to_vectors(vectors_to_array([None, None], 2), 2)
    np.testing.assert_array_equal(matrix, np.zeros((2, 2)))
    assert present.tolist() == [False, False]


# status columns ------------------------------------------------------------------------------


def test_status_columns_fit_the_status_fields_schema(run_context):
    outcomes = [ok(0), failed(1)]
    table = pa.Table.from_arrays(
        status_columns(outcomes, [0, 0], run_context), schema=pa.schema(status_fields())
    )
    assert table.num_rows == 2
    assert table.schema.names[0] == "status"
    assert table.schema.names[-1] == "processed_at"


def test_failed_runs_increments_on_failure_and_resets_to_zero_on_success(run_context):
    outcomes = [ok(0), failed(1), failed(2), ok(3)]
    columns = status_columns(outcomes, [4, 0, 2, 0], run_context)
    by_name = dict(zip([f.name for f in status_fields()], columns, strict=True))
    assert by_name["failed_runs"].to_pylist() == [0, 1, 3, 0]
    assert by_name["status"].to_pylist() == [STATUS_OK, STATUS_FAILED, STATUS_FAILED, STATUS_OK]
    reasons = by_name["failure_reason"].to_pylist()
    assert reasons == [None, "permanent_error", "permanent_error", None]
    assert by_name["error_message"].to_pylist() == [None, "Boom: bad", "Boom: bad", None]


def test_status_columns_carry_telemetry_and_run_identity(run_context):
    outcomes = [
        ok(0, attempts=1, batch_number=3, batch_latency_ms=1.23456, batch_attempts=2),
        failed(1, attempts=6, batch_number=4, batch_latency_ms=9.87654, batch_attempts=3),
    ]
    columns = status_columns(outcomes, [0, 0], run_context)
    by_name = dict(zip([f.name for f in status_fields()], columns, strict=True))
    assert by_name["attempts"].to_pylist() == [1, 6]
    assert by_name["inference_batch_number"].to_pylist() == [3, 4]
    assert by_name["batch_latency_ms"].to_pylist() == [1.235, 9.877]
    assert by_name["batch_attempts"].to_pylist() == [2, 3]
    assert by_name["run_id"].to_pylist() == ["run-test", "run-test"]
    assert by_name["processed_at"].to_pylist() == [run_context.run_started_at] * 2


def test_status_columns_require_one_previous_count_per_outcome(run_context):
    with pytest.raises(ValueError):
        status_columns([ok(0), ok(1)], [0], run_context)
