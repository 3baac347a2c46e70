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
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from holdfast.application.records import (
    RunContext,
    status_columns,
    status_fields,
    vector_type,
)
from holdfast.application.resilience import (
    PermanentError,
    RetryPolicy,
    numbered_batches,
    run_over_rows,
)
from holdfast.domain.vectors import weighted_mean_flat

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


@dataclass(frozen=True)
class _FlatProfiles:
    """A record batch's purchase profiles as flat arrays, products already
    looked up in the catalog (-1 = not embedded)."""

    starts: np.ndarray
    lengths: np.ndarray
    consistent: np.ndarray
    items: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, products: pa.Array, weights: pa.Array, known: pa.Array) -> _FlatProfiles:
        n_products = pc.fill_null(pc.list_value_length(products), 0).to_numpy(zero_copy_only=False)
        n_weights = pc.fill_null(pc.list_value_length(weights), 0).to_numpy(zero_copy_only=False)
        positions = pc.index_in(pc.list_flatten(products), value_set=known)
        flat_weights = pc.list_flatten(weights).to_numpy(zero_copy_only=False)
        consistent = n_products == n_weights
        # rows whose lists disagree contribute no weights (they fail anyway)
        weights_of_rows = np.repeat(consistent, n_weights)
        aligned = np.zeros(int(n_products.sum()), dtype=np.float64)
        aligned_rows = np.repeat(consistent, n_products)
        aligned[aligned_rows] = flat_weights[weights_of_rows]
        return cls(
            starts=np.concatenate([[0], np.cumsum(n_products)[:-1]]).astype(np.int64),
            lengths=n_products.astype(np.int64),
            consistent=consistent,
            items=pc.fill_null(positions, -1).to_numpy(zero_copy_only=False).astype(np.int64),
            weights=aligned,
        )

    def means(self, rows: list[int], product_vectors: np.ndarray):
        """(means, counts) of the given rows; a row with as many weights as
        products is required."""
        rows_arr = np.asarray(rows, dtype=np.int64)
        if not np.all(self.consistent[rows_arr]):
            raise PermanentError("purchase profile has a different number of products and weights")
        lengths = self.lengths[rows_arr]
        owner = np.repeat(np.arange(rows_arr.size, dtype=np.int64), lengths)
        first = np.repeat(self.starts[rows_arr] - np.cumsum(lengths) + lengths, lengths)
        entries = first + np.arange(owner.size, dtype=np.int64)
        items = self.items[entries]
        known = items >= 0
        return weighted_mean_flat(
            product_vectors, owner[known], items[known], self.weights[entries][known], len(rows)
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
    matrix = np.asarray(product_vectors, dtype=np.float32)
    known_products = pa.array(sorted(product_index, key=product_index.__getitem__), pa.string())
    if [product_index[p] for p in known_products.to_pylist()] != list(range(len(product_index))):
        raise ValueError("product_index must map the products to 0..n-1")

    for first_batch_number, batch in numbered_batches(batches, batch_size):
        flat = _FlatProfiles.of(
            batch.column("product_ids"), batch.column("weights"), known_products
        )

        def compute(rows: list[int], flat=flat):
            means, counts = flat.means(rows, matrix)
            return [(means[i], int(counts[i])) for i in range(len(rows))]

        outcomes = run_over_rows(
            batch,
            compute,
            batch_size=batch_size,
            policy=policy,
            first_batch_number=first_batch_number,
        )
        n = len(outcomes)
        vectors = np.zeros((n, dimension), dtype=np.float32)
        used = np.zeros(n, dtype=np.int32)
        ok_rows = [i for i, o in enumerate(outcomes) if o.ok]
        if ok_rows:
            vectors[ok_rows] = np.stack([outcomes[i].value[0] for i in ok_rows])
            used[ok_rows] = [outcomes[i].value[1] for i in ok_rows]
        has_vector = (used > 0) & np.any(vectors != 0, axis=1)
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("customer_id").cast(pa.string()),
                batch.column("profile_fingerprint").cast(pa.string()),
                pa.FixedSizeListArray.from_arrays(
                    pa.array(vectors.reshape(-1), pa.float32()),
                    dimension,
                    mask=pa.array(~has_vector),
                ),
                pa.array(used, pa.int32()),
                pa.array(has_vector, pa.bool_()),
                pa.array([embedding_model_version] * n, pa.string()),
                *status_columns(outcomes, batch.column("previous_failed_runs").to_pylist(), run),
            ],
            schema=schema,
        )
