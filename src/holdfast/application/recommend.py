"""Step: recommendation candidates with confidence and predicted value.

For each customer, every catalog product is scored (domain.scoring: taste
similarity + segment affinity + popularity), products the customer already
bought are left out, and the best `k` become candidates. Business rules (in
stock, minimum confidence, value range) are *not* applied here: the SQL layer
validates the model's output, and keeps what it rejects with the reason.
Cost per batch is batch x catalog, never customers x catalog at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from holdfast.application.records import (
    RunContext,
    array_to_vectors,
    status_columns,
    status_fields,
)
from holdfast.application.resilience import RetryPolicy, run_in_batches
from holdfast.domain.scoring import (
    ScoringWeights,
    blend_confidence,
    popularity_prior,
    predicted_value,
    top_k,
)
from holdfast.domain.segmentation import NOISE_SEGMENT_ID

INPUT_COLUMNS = (
    "customer_id",
    "scoring_fingerprint",
    "vector",
    "segment_id",
    "segment_model_id",
    "purchased_product_ids",
    "previous_failed_runs",
)

CANDIDATE_TYPE = pa.struct(
    [
        pa.field("product_id", pa.string()),
        pa.field("candidate_rank", pa.int32()),
        pa.field("confidence", pa.float64()),
        pa.field("predicted_value", pa.float64()),
        pa.field("similarity", pa.float64()),
        pa.field("segment_affinity", pa.float64()),
        pa.field("popularity", pa.float64()),
    ]
)


@dataclass(frozen=True)
class Catalog:
    """The products a customer can be recommended, in product_id order."""

    product_ids: list[str]
    embeddings: np.ndarray
    popularity: np.ndarray
    typical_spend: np.ndarray
    segment_affinity: np.ndarray
    segment_row: Mapping[int, int]

    @property
    def index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.product_ids)}

    def affinity_rows(self, segment_ids: Sequence[int | None]) -> np.ndarray:
        """Affinity row per customer; noise and unknown segments get row of -1
        (the whole population), or zeros when even that is missing."""
        fallback = self.segment_row.get(NOISE_SEGMENT_ID)
        rows = []
        for s in segment_ids:
            row = self.segment_row.get(NOISE_SEGMENT_ID if s is None else int(s), fallback)
            rows.append(-1 if row is None else row)
        rows_arr = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(rows), len(self.product_ids)), dtype=np.float32)
        known = rows_arr >= 0
        if known.any():
            out[known] = self.segment_affinity[rows_arr[known]]
        return out


def build_catalog(
    product_ids: Sequence[str],
    embeddings: np.ndarray,
    purchase_counts: Sequence[float],
    typical_spend: Sequence[float],
    affinity: Iterable[tuple[int, str, float]],
) -> Catalog:
    """Assemble a Catalog; `affinity` is (segment_id, product_id, affinity) rows."""
    order = np.argsort(np.asarray(product_ids, dtype=object), kind="stable")
    ids = [product_ids[i] for i in order]
    index = {p: i for i, p in enumerate(ids)}
    triples = list(affinity)
    segments = sorted({s for s, _, _ in triples})
    segment_row = {s: r for r, s in enumerate(segments)}
    matrix = np.zeros((len(segments), len(ids)), dtype=np.float32)
    for s, p, a in triples:
        if p in index:
            matrix[segment_row[s], index[p]] = a
    return Catalog(
        product_ids=ids,
        embeddings=np.asarray(embeddings, dtype=np.float32)[order],
        popularity=popularity_prior(np.asarray(purchase_counts, dtype=np.float64)[order]),
        typical_spend=np.asarray(typical_spend, dtype=np.float64)[order],
        segment_affinity=matrix,
        segment_row=segment_row,
    )


def output_schema() -> pa.Schema:
    """Schema of the recommendation step's rows: one per customer."""
    return pa.schema(
        [
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("scoring_fingerprint", pa.string(), nullable=False),
            pa.field("segment_id", pa.int32()),
            pa.field("segment_model_id", pa.string()),
            pa.field("candidates", pa.list_(CANDIDATE_TYPE)),
            pa.field("recommender_version", pa.string(), nullable=False),
            *status_fields(),
        ]
    )


def _candidates_array(per_customer: list[list[tuple] | None]) -> pa.Array:
    offsets, mask = [0], []
    fields: list[list] = [[] for _ in CANDIDATE_TYPE]
    for candidates in per_customer:
        mask.append(candidates is None)
        for candidate in candidates or []:
            for column, value in zip(fields, candidate, strict=True):
                column.append(value)
        offsets.append(len(fields[0]))
    struct = pa.StructArray.from_arrays(
        [pa.array(values, f.type) for values, f in zip(fields, CANDIDATE_TYPE, strict=True)],
        fields=list(CANDIDATE_TYPE),
    )
    return pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), struct, mask=pa.array(mask, pa.bool_())
    )


def score_customers(
    batches: Iterable[pa.RecordBatch],
    catalog: Catalog,
    *,
    k: int,
    weights: ScoringWeights,
    recommender_version: str,
    run: RunContext,
    policy: RetryPolicy,
    batch_size: int,
) -> Iterator[pa.RecordBatch]:
    """One output row per input customer (columns INPUT_COLUMNS) with up to
    `k` candidates, best first."""
    schema = output_schema()
    dimension = catalog.embeddings.shape[1]
    index = catalog.index
    next_batch_number = 1
    for batch in batches:
        if batch.num_rows == 0:
            continue
        vectors, _ = array_to_vectors(batch.column("vector"), dimension)
        segment_ids = batch.column("segment_id").to_pylist()
        purchased = batch.column("purchased_product_ids").to_pylist()

        def score(rows: list[int], vectors=vectors, segment_ids=segment_ids, purchased=purchased):
            rows_arr = np.asarray(rows, dtype=np.int64)
            similarity = vectors[rows_arr] @ catalog.embeddings.T
            affinity = catalog.affinity_rows([segment_ids[r] for r in rows])
            confidence = blend_confidence(similarity, affinity, catalog.popularity, weights)
            excluded = np.zeros(confidence.shape, dtype=bool)
            for j, r in enumerate(rows):
                bought = [index[p] for p in purchased[r] or [] if p in index]
                excluded[j, bought] = True
            picked = top_k(confidence, k, excluded)
            result = []
            for j in range(len(rows)):
                chosen = [c for c in picked[j] if c >= 0]
                values = predicted_value(confidence[j, chosen], catalog.typical_spend[chosen])
                result.append(
                    [
                        (
                            catalog.product_ids[c],
                            rank + 1,
                            float(confidence[j, c]),
                            float(values[rank]),
                            round(float(similarity[j, c]), 6),
                            round(float(affinity[j, c]), 6),
                            round(float(catalog.popularity[c]), 6),
                        )
                        for rank, c in enumerate(chosen)
                    ]
                )
            return result

        outcomes = list(
            run_in_batches(
                list(range(batch.num_rows)),
                score,
                keys=batch.column("customer_id").to_pylist(),
                batch_size=batch_size,
                policy=policy,
                first_batch_number=next_batch_number,
            )
        )
        next_batch_number = outcomes[-1].batch_number + 1
        n = len(outcomes)
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("customer_id").cast(pa.string()),
                batch.column("scoring_fingerprint").cast(pa.string()),
                batch.column("segment_id").cast(pa.int32()),
                batch.column("segment_model_id").cast(pa.string()),
                _candidates_array([o.value if o.ok else None for o in outcomes]),
                pa.array([recommender_version] * n, pa.string()),
                *status_columns(outcomes, batch.column("previous_failed_runs").to_pylist(), run),
            ],
            schema=schema,
        )
