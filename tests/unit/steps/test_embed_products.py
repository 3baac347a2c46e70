"""embed_products with a fake encoder: one row per product, failures dead-lettered.

The step calls the real time.sleep between retries, so every policy here has zero backoff.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from tests.unit.fakes import DIM, FakeEncoder, fake_vector, table_of

from holdfast.application import embedding
from holdfast.application.records import STATUS_FAILED, STATUS_OK
from holdfast.application.resilience import (
    REASON_PERMANENT,
    REASON_RETRIES_EXHAUSTED,
    RetryPolicy,
)


def product_batch(rows: Sequence[tuple[str, str | None, int]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "product_id": [r[0] for r in rows],
            "product_text": pa.array([r[1] for r in rows], pa.string()),
            "text_hash": [f"hash-{r[0]}" for r in rows],
            "previous_failed_runs": pa.array([r[2] for r in rows], pa.int32()),
        }
    )


def embed(batches, encoder, run_context, policy, batch_size=2) -> pa.Table:
    return table_of(
        embedding.embed_products(
            batches, encoder, run=run_context, policy=policy, batch_size=batch_size
        )
    )


def test_embed_products_writes_one_row_per_product_with_its_embedding(run_context, fast_policy):
    first = [("p1", "red mug", 0), ("p2", "blue plate", 3), ("p3", "green bowl", 0)]
    second = [("p4", "tea towel", 1), ("p5", "lamp", 0)]
    encoder = FakeEncoder()
    out = embed([product_batch(first), product_batch(second)], encoder, run_context, fast_policy)
    rows = first + second
    assert out.schema == embedding.output_schema(DIM)
    assert out.column("product_id").to_pylist() == [r[0] for r in rows]
    assert out.column("text_hash").to_pylist() == [f"hash-{r[0]}" for r in rows]
    for got, (_, text, _) in zip(out.column("embedding").to_pylist(), rows, strict=True):
        np.testing.assert_array_equal(np.array(got, dtype=np.float32), fake_vector(text))
    assert set(out.column("embedding_model_version").to_pylist()) == {"fake-encoder-1"}
    assert set(out.column("status").to_pylist()) == {STATUS_OK}
    assert out.column("failed_runs").to_pylist() == [0] * 5
    assert set(out.column("run_id").to_pylist()) == {"run-test"}


def test_embed_products_fails_empty_texts_permanently_with_null_embedding(run_context, fast_policy):
    rows = [("p1", "mug", 0), ("p2", "", 0), ("p3", "   ", 2), ("p4", None, 0), ("p5", "jug", 0)]
    out = embed([product_batch(rows)], FakeEncoder(), run_context, fast_policy, batch_size=5)
    assert out.num_rows == 5
    assert out.column("status").to_pylist() == [
        STATUS_OK,
        STATUS_FAILED,
        STATUS_FAILED,
        STATUS_FAILED,
        STATUS_OK,
    ]
    embeddings = out.column("embedding").to_pylist()
    assert [e is None for e in embeddings] == [False, True, True, True, False]
    assert out.column("failure_reason").to_pylist() == [None] + [REASON_PERMANENT] * 3 + [None]
    errors = out.column("error_message").to_pylist()
    assert all("empty product text" in e for e in errors[1:4])
    assert out.column("failed_runs").to_pylist() == [0, 1, 3, 1, 0]
    np.testing.assert_array_equal(np.array(embeddings[4], np.float32), fake_vector("jug"))


def test_embed_products_dead_letters_a_text_the_encoder_keeps_rejecting(run_context):
    policy = RetryPolicy(max_retries=2, initial_backoff_seconds=0.0, jitter_seconds=0.0)
    encoder = FakeEncoder(fail_texts={"cursed vase"})
    rows = [("p1", "mug", 0), ("p2", "cursed vase", 4), ("p3", "jug", 0)]
    out = embed([product_batch(rows)], encoder, run_context, policy, batch_size=3)
    assert out.column("status").to_pylist() == [STATUS_OK, STATUS_FAILED, STATUS_OK]
    assert out.column("failure_reason").to_pylist() == [None, REASON_RETRIES_EXHAUSTED, None]
    error = out.column("error_message").to_pylist()[1]
    assert "RuntimeError" in error and "cursed vase" in error
    assert out.column("embedding").to_pylist()[1] is None
    assert out.column("failed_runs").to_pylist() == [0, 5, 0]
    # batch: 3 attempts, then the rejected record alone: 3 more
    assert out.column("attempts").to_pylist()[1] == 6
    assert out.column("batch_attempts").to_pylist() == [3, 3, 3]


def test_embed_products_recovers_from_a_transient_encoder_failure(run_context, fast_policy):
    encoder = FakeEncoder(fail_first_calls=1)
    rows = [("p1", "mug", 0), ("p2", "jug", 0)]
    out = embed([product_batch(rows)], encoder, run_context, fast_policy, batch_size=10)
    assert set(out.column("status").to_pylist()) == {STATUS_OK}
    assert out.column("batch_attempts").to_pylist() == [2, 2]
    assert len(encoder.calls) == 2


def test_embed_products_continues_batch_numbers_across_input_record_batches(
    run_context, fast_policy
):
    first = [(f"a{i}", f"text a{i}", 0) for i in range(5)]
    second = [(f"b{i}", f"text b{i}", 0) for i in range(3)]
    outputs = list(
        embedding.embed_products(
            [product_batch(first), product_batch([]), product_batch(second)],
            FakeEncoder(),
            run=run_context,
            policy=fast_policy,
            batch_size=2,
        )
    )
    assert [b.num_rows for b in outputs] == [5, 3]  # the empty batch yields nothing
    numbers = pa.Table.from_batches(outputs).column("inference_batch_number").to_pylist()
    assert numbers == [1, 1, 2, 2, 3, 4, 4, 5]
