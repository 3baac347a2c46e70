"""Step: embed product texts in batches, with retries and dead letters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa

from holdfast.application.ports import TextEncoder
from holdfast.application.records import (
    RunContext,
    status_columns,
    status_fields,
    vector_type,
    vectors_to_array,
)
from holdfast.application.resilience import (
    PermanentError,
    RetryPolicy,
    numbered_batches,
    run_in_batches,
)

INPUT_COLUMNS = ("product_id", "product_text", "text_hash", "previous_failed_runs")


def output_schema(dimension: int) -> pa.Schema:
    """Schema of the product-embedding step's rows."""
    return pa.schema(
        [
            pa.field("product_id", pa.string(), nullable=False),
            pa.field("text_hash", pa.string(), nullable=False),
            pa.field("embedding", vector_type(dimension)),
            pa.field("embedding_model_version", pa.string(), nullable=False),
            *status_fields(),
        ]
    )


def _encode_checked(encoder: TextEncoder):
    def encode(texts: list[str]) -> list:
        for text in texts:
            if not text or not text.strip():
                raise PermanentError("empty product text")
        return list(encoder.encode(texts))

    return encode


def embed_products(
    batches: Iterable[pa.RecordBatch],
    encoder: TextEncoder,
    *,
    run: RunContext,
    policy: RetryPolicy,
    batch_size: int,
) -> Iterator[pa.RecordBatch]:
    """Embed every product in `batches` (columns INPUT_COLUMNS); one output row
    per product, failed ones with a null embedding and the reason."""
    schema = output_schema(encoder.dimension)
    encode = _encode_checked(encoder)
    for first_batch_number, batch in numbered_batches(batches, batch_size):
        columns = batch.to_pydict()
        outcomes = list(
            run_in_batches(
                columns["product_text"],
                encode,
                keys=columns["product_id"],
                batch_size=batch_size,
                policy=policy,
                first_batch_number=first_batch_number,
            )
        )
        n = len(outcomes)
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(columns["product_id"], pa.string()),
                pa.array(columns["text_hash"], pa.string()),
                vectors_to_array([o.value for o in outcomes], encoder.dimension),
                pa.array([encoder.version] * n, pa.string()),
                *status_columns(outcomes, columns["previous_failed_runs"], run),
            ],
            schema=schema,
        )
