"""Step: recommendation candidates with confidence and predicted value.

Two stages, so the cost per customer depends on their history, not on the
catalog size:

1. Fit (rarely, on a refit policy): a RecommenderModel holds, for the whole
   catalog, the top-k co-purchase neighbours of every product (counted on a
   bounded, deterministic sample of customers), its top-k text-embedding
   neighbours, EASE^R's top-k weights for the most-bought products (on the same
   sample; dense maths, so bounded by `ease_max_items`), per-segment affinity,
   a popularity prior and a small pool of each segment's best sellers. The
   neighbour lists are stored reversed (domain.neighbours.reverse_neighbours):
   row i holds the products that count i among their k nearest, at most
   `reverse_cap` of them.
2. Score (every run, only customers whose inputs changed): a customer's
   candidates are the products that count something they bought among their
   nearest neighbours, plus their segment's pool (so a candidate is scored by
   its own neighbourhood, as in classic item-kNN); each candidate gets its
   signals and a blended confidence (domain.scoring), products they already
   bought are left out, and the best `k` are kept. All of it is sparse matrix
   work on a batch of customers (application.candidates), and batches are
   scored in worker processes when there are enough of them
   (application.parallel).

Business rules (in stock, minimum confidence, value range) are *not* applied
here: the SQL layer validates the model's output, and keeps what it rejects
with the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import sparse

from holdfast.application.candidates import POOL_MARK, Scored, score_history_matrix
from holdfast.application.histories import history_matrix, history_matrix_of_lists
from holdfast.application.parallel import map_in_order
from holdfast.application.records import RunContext, status_columns, status_fields
from holdfast.application.resilience import RetryPolicy, numbered_batches, run_over_rows
from holdfast.domain.neighbours import (
    copurchase_neighbours,
    ease_neighbours,
    reverse_neighbours,
    semantic_neighbours,
)
from holdfast.domain.scoring import (
    ScoringWeights,
    affinity_rows,
    popularity_prior,
    predicted_value,
)
from holdfast.domain.segmentation import NOISE_SEGMENT_ID

INPUT_COLUMNS = (
    "customer_id",
    "scoring_fingerprint",
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
        pa.field("copurchase", pa.float64()),
        pa.field("similarity", pa.float64()),
        pa.field("segment_affinity", pa.float64()),
        pa.field("popularity", pa.float64()),
    ]
)


@dataclass(frozen=True)
class FitSettings:
    """How a RecommenderModel is fitted (the values come from
    holdfast.settings.RecommenderSettings; no defaults here)."""

    copurchase_neighbours: int
    semantic_neighbours: int
    pool_size: int
    # the most products one product can vote for (a row of a reversed list)
    reverse_cap: int
    # EASE^R: on the most-bought products only (0: no EASE lists), its λ, and the
    # predicting products kept per product
    ease_max_items: int
    ease_l2: float
    ease_neighbours: int

    def as_dict(self) -> dict[str, int | float]:
        return {
            "copurchase_neighbours": self.copurchase_neighbours,
            "semantic_neighbours": self.semantic_neighbours,
            "pool_size": self.pool_size,
            "reverse_cap": self.reverse_cap,
            "ease_max_items": self.ease_max_items,
            "ease_l2": self.ease_l2,
            "ease_neighbours": self.ease_neighbours,
        }


@dataclass
class RecommenderModel:
    """Everything scoring needs, for one catalog; products in product_id order.
    `copurchase`, `semantic` and `ease` are reversed neighbour lists: entry (i, j)
    is the similarity (for `ease`: the scaled EASE weight) of i and j when i is
    among j's nearest neighbours. `ease` is None in a model fitted without it."""

    model_id: str
    product_ids: list[str]
    popularity: np.ndarray
    typical_spend: np.ndarray
    copurchase: sparse.csr_matrix
    semantic: sparse.csr_matrix
    segment_row: dict[int, int]
    affinity: np.ndarray
    pools: sparse.csr_matrix
    n_sample: int
    settings: dict[str, Any] = field(default_factory=dict)
    ease: sparse.csr_matrix | None = None

    @cached_property
    def index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.product_ids)}

    @cached_property
    def product_array(self) -> pa.Array:
        """The product ids in index order, as Arrow strings."""
        return pa.array(self.product_ids, pa.string())

    def rows_for_segments(self, segment_ids: Sequence[int | None]) -> np.ndarray:
        """The affinity/pool row of each customer's segment; noise, unknown
        and missing segments use the population row."""
        population = self.segment_row[NOISE_SEGMENT_ID]
        return np.fromiter(
            (
                population if s is None else self.segment_row.get(int(s), population)
                for s in segment_ids
            ),
            dtype=np.int64,
            count=len(segment_ids),
        )


def fit_recommender(
    product_ids: Sequence[str],
    embeddings: np.ndarray,
    has_embedding: np.ndarray,
    purchase_counts: Sequence[float],
    typical_spend: Sequence[float],
    sample_histories: Sequence[Sequence[str] | None],
    sample_segments: Sequence[int | None],
    settings: FitSettings,
) -> RecommenderModel:
    """Fit the neighbour lists, affinities and pools (products sorted by id)."""
    order = np.argsort(np.asarray(product_ids, dtype=object), kind="stable")
    ids = [product_ids[i] for i in order]
    index = {p: i for i, p in enumerate(ids)}
    n_items = len(ids)
    history = history_matrix(sample_histories, index, n_items)
    popularity = popularity_prior(np.asarray(purchase_counts, dtype=np.float64)[order])

    labels = np.asarray(
        [NOISE_SEGMENT_ID if s is None else int(s) for s in sample_segments], dtype=np.int64
    )
    segments = sorted({int(s) for s in labels if s != NOISE_SEGMENT_ID})
    groups = [NOISE_SEGMENT_ID, *segments]  # row 0: the whole population
    bought = np.zeros((len(groups), n_items), dtype=np.float64)
    bought[0] = np.asarray(history.sum(axis=0)).ravel()
    for row, segment in enumerate(segments, start=1):
        mask = labels == segment
        if mask.any():
            bought[row] = np.asarray(history[mask].sum(axis=0)).ravel()
    affinity = affinity_rows(bought)
    pools = _segment_pools(affinity, popularity, settings.pool_size)

    model = RecommenderModel(
        model_id="",
        product_ids=ids,
        popularity=popularity,
        typical_spend=np.asarray(typical_spend, dtype=np.float64)[order],
        copurchase=reverse_neighbours(
            copurchase_neighbours(history, settings.copurchase_neighbours),
            settings.reverse_cap,
        ),
        semantic=reverse_neighbours(
            semantic_neighbours(
                np.asarray(embeddings, dtype=np.float32)[order],
                np.asarray(has_embedding, dtype=bool)[order],
                settings.semantic_neighbours,
            ),
            settings.reverse_cap,
        ),
        segment_row={s: r for r, s in enumerate(groups)},
        affinity=affinity,
        pools=pools,
        n_sample=len(sample_histories),
        settings=settings.as_dict(),
        ease=reverse_neighbours(
            ease_neighbours(
                history, settings.ease_max_items, settings.ease_l2, settings.ease_neighbours
            ),
            settings.reverse_cap,
        )
        if settings.ease_max_items > 0
        else None,
    )
    model.model_id = model_fingerprint(model)
    return model


def _segment_pools(affinity: np.ndarray, popularity: np.ndarray, size: int) -> sparse.csr_matrix:
    """Per group row: its `size` best products by affinity plus the `size` most
    popular overall (ties by lower product index)."""
    n_groups, n_items = affinity.shape
    size = min(size, n_items)
    by_popularity = np.lexsort((np.arange(n_items), -popularity))[:size]
    rows, cols = [], []
    for row in range(n_groups):
        by_affinity = np.lexsort((np.arange(n_items), -affinity[row]))[:size]
        by_affinity = by_affinity[affinity[row, by_affinity] > 0]
        chosen = np.union1d(by_affinity, by_popularity)
        rows.append(np.full(chosen.size, row))
        cols.append(chosen)
    all_cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    return sparse.csr_matrix(
        (
            np.full(all_cols.size, POOL_MARK),
            (np.concatenate(rows) if rows else all_cols, all_cols),
        ),
        shape=(n_groups, n_items),
    )


def model_fingerprint(model: RecommenderModel) -> str:
    """A content hash: the same fit inputs give the same model id."""
    digest = hashlib.sha256()
    digest.update(json.dumps(model.product_ids).encode())
    for array in (model.popularity, model.typical_spend, model.affinity):
        digest.update(np.ascontiguousarray(array).tobytes())
    matrices = (model.copurchase, model.semantic, model.pools)
    for matrix in (*matrices, *([] if model.ease is None else [model.ease])):
        for part in (matrix.indptr, matrix.indices, matrix.data):
            digest.update(np.ascontiguousarray(part).tobytes())
    digest.update(json.dumps(sorted(model.segment_row.items())).encode())
    digest.update(json.dumps(model.settings, sort_keys=True).encode())
    return "rec-" + digest.hexdigest()[:16]


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


def score_histories(
    model: RecommenderModel,
    histories: Sequence[Sequence[str] | None],
    segment_ids: Sequence[int | None],
    k: int,
    weights: ScoringWeights,
) -> list[Scored]:
    """The best `k` candidates of each customer (vectorised over the batch).

    A customer's candidates are the products their purchases vote for in
    any reversed neighbour list, plus their segment's pool, less what they
    bought. Each signal is scaled by the customer's best candidate for it.
    The entries of the three sources meet on one key (row, product), sorted
    once (application.candidates), and only each customer's best bucket of scores is sorted
    (top_k_within_rows); a pool entry carries the pool's mark (1e-9) in its
    co-purchase signal."""
    history = history_matrix(histories, model.index, len(model.product_ids))
    return score_history_matrix(model, history, segment_ids, k, weights)


def _candidates_array(model: RecommenderModel, per_customer: list[Scored | None]) -> pa.Array:
    lengths = np.asarray([0 if s is None else s.items.size for s in per_customer], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    present = [s for s in per_customer if s is not None]

    def flat(name: str, dtype: type = np.float64) -> np.ndarray:
        parts = [getattr(s, name) for s in present]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    items = flat("items", np.int64)
    confidence = flat("confidence")
    ranks = np.concatenate([np.arange(1, n + 1) for n in lengths]) if lengths.sum() else items
    struct = pa.StructArray.from_arrays(
        [
            model.product_array.take(pa.array(items, pa.int64())),
            pa.array(ranks, pa.int32()),
            pa.array(confidence, pa.float64()),
            pa.array(predicted_value(confidence, model.typical_spend[items]), pa.float64()),
            pa.array(np.round(flat("copurchase"), 6), pa.float64()),
            pa.array(np.round(flat("semantic"), 6), pa.float64()),
            pa.array(np.round(flat("affinity"), 6), pa.float64()),
            pa.array(np.round(model.popularity[items].astype(np.float64), 6), pa.float64()),
        ],
        fields=list(CANDIDATE_TYPE),
    )
    mask = pa.array([s is None for s in per_customer], pa.bool_())
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct, mask=mask)


@dataclass(frozen=True)
class _ScoringJob:
    """What every batch of one scoring run shares (sent once to each worker)."""

    model: RecommenderModel
    k: int
    weights: ScoringWeights
    recommender_version: str
    run: RunContext
    policy: RetryPolicy
    batch_size: int


def _score_record_batch(job: _ScoringJob, item: tuple[int, pa.RecordBatch]) -> pa.RecordBatch:
    """One output batch for one input batch whose first inference batch is numbered
    `item[0]` (module level: it runs in worker processes)."""
    first_batch_number, batch = item
    history = history_matrix_of_lists(
        batch.column("purchased_product_ids"), job.model.product_array
    )
    segment_ids = batch.column("segment_id").to_pylist()

    def score(rows: list[int]) -> list[Scored]:
        return score_history_matrix(
            job.model,
            history[np.asarray(rows, dtype=np.int64)],
            [segment_ids[r] for r in rows],
            job.k,
            job.weights,
        )

    outcomes = run_over_rows(
        batch,
        score,
        batch_size=job.batch_size,
        policy=job.policy,
        first_batch_number=first_batch_number,
    )
    n = len(outcomes)
    return pa.RecordBatch.from_arrays(
        [
            batch.column("customer_id").cast(pa.string()),
            batch.column("scoring_fingerprint").cast(pa.string()),
            batch.column("segment_id").cast(pa.int32()),
            batch.column("segment_model_id").cast(pa.string()),
            _candidates_array(job.model, [o.value if o.ok else None for o in outcomes]),
            pa.array([job.recommender_version] * n, pa.string()),
            *status_columns(outcomes, batch.column("previous_failed_runs").to_pylist(), job.run),
        ],
        schema=output_schema(),
    )


def score_customers(
    batches: Iterable[pa.RecordBatch],
    model: RecommenderModel,
    *,
    k: int,
    weights: ScoringWeights,
    recommender_version: str,
    run: RunContext,
    policy: RetryPolicy,
    batch_size: int,
    processes: int = 1,
    on_start: Callable[[int], None] | None = None,
    pool_min_batches: int = 2,
) -> Iterator[pa.RecordBatch]:
    """One output row per input customer (columns INPUT_COLUMNS) with up to
    `k` candidates, best first, in input order. With `processes` > 1 and at
    least `pool_min_batches` input batches, they are scored in that many
    worker processes (application.parallel); the rows are the same either way."""
    job = _ScoringJob(model, k, weights, recommender_version, run, policy, batch_size)
    yield from map_in_order(
        _score_record_batch,
        job,
        numbered_batches(batches, batch_size),
        processes=processes,
        on_start=on_start,
        min_items=pool_min_batches,
    )
