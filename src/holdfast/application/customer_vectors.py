"""Step: a taste vector per customer, from the embeddings of what they bought.

The vector is the unit-length weighted mean of the product embeddings of the
customer's purchases (weight = number of purchase lines of the product), so
2 million customers cost one sparse matrix product per batch instead of 2
million calls to the language model. Customers whose purchases include no
embedded product get no vector (has_vector false): they are served by the
segment-free popularity prior downstream, which is not a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import pyarrow as pa

from holdfast.application.records import (
    RunContext,
    status_columns,
    status_fields,
    vector_type,
    vectors_to_array,
)
from holdfast.application.resilience import RetryPolicy, run_in_batches
from holdfast.domain.vectors import weighted_mean_rows

INPUT_COLUMNS = (
    "customer_id",
    "product_ids",
    "weights",
    "profile_fingerprint",
    "previous_failed_runs",
)


def output_schema(dimension: int) -> pa.Schema:
    """Schema of the customer-vector step's rows."""
    return pa.schema(
        [
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("profile_fingerprint", pa.string(), nullable=False),
            pa.field("vector", vector_type(dimension)),
            pa.field("n_products_used", pa.int32(), nullable=False),
            pa.field("has_vector", pa.bool_(), nullable=False),
            pa.field("embedding_model_version", pa.string(), nullable=False),
            *status_fields(),
        ]
    )


def build_customer_vectors(
    batches: Iterable[pa.RecordBatch],
    product_index: Mapping[str, int],
    product_vectors: np.ndarray,
    *,
    embedding_model_version: str,
    run: RunContext,
    policy: RetryPolicy,
    batch_size: int,
) -> Iterator[pa.RecordBatch]:
    """One output row per input customer (columns INPUT_COLUMNS)."""
    dimension = product_vectors.shape[1]
    schema = output_schema(dimension)

    def compute(profiles: list[tuple[list[str], list[float]]]) -> list[tuple[np.ndarray, int]]:
        rows, weights = [], []
        for product_ids, product_weights in profiles:
            pairs = [
                (product_index[p], w)
                for p, w in zip(product_ids, product_weights, strict=True)
                if p in product_index
            ]
            rows.append([i for i, _ in pairs])
            weights.append([w for _, w in pairs])
        means, counts = weighted_mean_rows(product_vectors, rows, weights)
        return [(means[i], int(counts[i])) for i in range(len(profiles))]

    next_batch_number = 1
    for batch in batches:
        if batch.num_rows == 0:
            continue
        columns = batch.to_pydict()
        profiles = [
            (ids or [], weights or [])
            for ids, weights in zip(columns["product_ids"], columns["weights"], strict=True)
        ]
        outcomes = list(
            run_in_batches(
                profiles,
                compute,
                keys=columns["customer_id"],
                batch_size=batch_size,
                policy=policy,
                first_batch_number=next_batch_number,
            )
        )
        next_batch_number = outcomes[-1].batch_number + 1
        vectors, used = [], []
        for outcome in outcomes:
            if outcome.ok and outcome.value[1] > 0 and np.any(outcome.value[0]):
                vectors.append(outcome.value[0])
                used.append(outcome.value[1])
            else:
                vectors.append(None)
                used.append(outcome.value[1] if outcome.ok else 0)
        n = len(outcomes)
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(columns["customer_id"], pa.string()),
                pa.array(columns["profile_fingerprint"], pa.string()),
                vectors_to_array(vectors, dimension),
                pa.array(used, pa.int32()),
                pa.array([v is not None for v in vectors], pa.bool_()),
                pa.array([embedding_model_version] * n, pa.string()),
                *status_columns(outcomes, columns["previous_failed_runs"], run),
            ],
            schema=schema,
        )
