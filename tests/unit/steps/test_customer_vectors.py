"""build_customer_vectors: a customer's taste vector from the embeddings of their products."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from tests.unit.fakes import table_of, unit

from holdfast.application import customer_vectors
from holdfast.application.records import STATUS_FAILED, STATUS_OK

PRODUCT_VECTORS = np.stack([unit(v) for v in np.random.default_rng(11).normal(size=(5, 6))]).astype(
    np.float32
)
PRODUCT_INDEX = {f"p{i}": i for i in range(5)}


def profile_batch(rows) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "customer_id": [r[0] for r in rows],
            "product_ids": pa.array([r[1] for r in rows], pa.list_(pa.string())),
            "weights": pa.array([r[2] for r in rows], pa.list_(pa.float64())),
            "profile_fingerprint": [f"fp-{r[0]}" for r in rows],
            "previous_failed_runs": pa.array([r[3] for r in rows], pa.int32()),
        }
    )


def vectorize(batches, run_context, policy, batch_size=10) -> pa.Table:
    return table_of(
        customer_vectors.build_customer_vectors(
            batches,
            PRODUCT_INDEX,
            PRODUCT_VECTORS,
            embedding_model_version="fake-encoder-1",
            run=run_context,
            policy=policy,
            batch_size=batch_size,
        )
    )


def test_customer_vector_is_the_normalized_weighted_mean_of_known_products(
    run_context, fast_policy
):
    rows = [
        ("c1", ["p0", "p2"], [2.0, 1.0], 0),
        ("c2", ["p1", "unknown", "p3"], [1.0, 10.0, 3.0], 2),
        ("c3", ["p4"], [7.0], 0),
    ]
    out = vectorize([profile_batch(rows)], run_context, fast_policy)
    pv = PRODUCT_VECTORS.astype(np.float64)
    expected = [unit(2 * pv[0] + pv[2]), unit(pv[1] + 3 * pv[3]), pv[4]]
    got = out.column("vector").to_pylist()
    for vector, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(vector, reference, atol=1e-6)
        assert math.isclose(float(np.linalg.norm(vector)), 1.0, abs_tol=1e-5)
    assert out.column("n_products_used").to_pylist() == [2, 2, 1]
    assert out.column("has_vector").to_pylist() == [True, True, True]
    assert out.column("profile_fingerprint").to_pylist() == ["fp-c1", "fp-c2", "fp-c3"]
    assert set(out.column("embedding_model_version").to_pylist()) == {"fake-encoder-1"}
    assert out.column("failed_runs").to_pylist() == [0, 0, 0]
    assert out.schema == customer_vectors.output_schema(6)


def test_customer_with_no_known_product_gets_no_vector_and_is_not_a_failure(
    run_context, fast_policy
):
    rows = [
        ("c1", ["unknown-a", "unknown-b"], [1.0, 2.0], 0),
        ("c2", None, None, 0),
        ("c3", [], [], 0),
        ("c4", ["p1"], [1.0], 0),
    ]
    out = vectorize([profile_batch(rows)], run_context, fast_policy)
    assert out.column("has_vector").to_pylist() == [False, False, False, True]
    assert out.column("vector").to_pylist()[:3] == [None, None, None]
    assert out.column("n_products_used").to_pylist() == [0, 0, 0, 1]
    assert set(out.column("status").to_pylist()) == {STATUS_OK}


def test_customer_with_mismatched_weights_fails_alone(run_context, fast_policy):
    rows = [
        ("c1", ["p0"], [1.0], 0),
        ("c2", ["p0", "p1"], [1.0], 1),
        ("c3", ["p2"], [1.0], 0),
    ]
    out = vectorize([profile_batch(rows)], run_context, fast_policy)
    assert out.column("status").to_pylist() == [STATUS_OK, STATUS_FAILED, STATUS_OK]
    assert out.column("has_vector").to_pylist() == [True, False, True]
    assert out.column("vector").to_pylist()[1] is None
    assert out.column("error_message").to_pylist()[1]
    assert out.column("failed_runs").to_pylist() == [0, 2, 0]
    np.testing.assert_allclose(out.column("vector").to_pylist()[2], PRODUCT_VECTORS[2], atol=1e-6)


def test_customer_vectors_continue_batch_numbers_across_input_record_batches(
    run_context, fast_policy
):
    first = [(f"a{i}", ["p0"], [1.0], 0) for i in range(3)]
    second = [(f"b{i}", ["p1"], [1.0], 0) for i in range(4)]
    out = vectorize([profile_batch(first), profile_batch(second)], run_context, fast_policy, 2)
    assert out.column("inference_batch_number").to_pylist() == [1, 1, 2, 3, 3, 4, 4]
