"""Step: recommendation candidates with confidence and predicted value.

Two stages, so the cost per customer depends on their history, not on the
catalog size:

1. Fit (rarely, on a refit policy): a RecommenderModel holds, for the whole
   catalog, the top-k co-purchase neighbours of every product (counted on a
   bounded, deterministic sample of customers), its top-k text-embedding
   neighbours, per-segment affinity, a popularity prior and a small pool of
   each segment's best sellers. The neighbour lists are stored reversed
   (domain.neighbours.reverse_neighbours): row i holds the products that
   count i among their k nearest, at most `reverse_cap` of them.
2. Score (every run, only customers whose inputs changed): a customer's
   candidates are the products that count something they bought among their
   nearest neighbours, plus their segment's pool (so a candidate is scored by
   its own neighbourhood, as in classic item-kNN); each candidate gets its
   four signals and a blended confidence
   (domain.scoring), products they already bought are left out, and the best
   `k` are kept. All of it is sparse matrix work on a batch of customers.

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
import pyarrow.compute as pc
from scipy import sparse

from holdfast.application.parallel import map_in_order
from holdfast.application.records import RunContext, status_columns, status_fields
from holdfast.application.resilience import RetryPolicy, numbered_batches, run_over_rows
from holdfast.domain.neighbours import (
    copurchase_neighbours,
    divide_by_row_max,
    entry_rows,
    reverse_neighbours,
    semantic_neighbours,
    top_k_within_rows,
)
from holdfast.domain.scoring import (
    ScoringWeights,
    affinity_rows,
    blend_confidence,
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

# a pool entry's stored value: below the 6-decimal resolution of confidence
_POOL_MARK = 1e-9


@dataclass(frozen=True)
class FitSettings:
    """How a RecommenderModel is fitted."""

    copurchase_neighbours: int = 100
    semantic_neighbours: int = 20
    pool_size: int = 50
    # the most products one product can vote for (a row of a reversed list)
    reverse_cap: int = 200

    def as_dict(self) -> dict[str, int]:
        return {
            "copurchase_neighbours": self.copurchase_neighbours,
            "semantic_neighbours": self.semantic_neighbours,
            "pool_size": self.pool_size,
            "reverse_cap": self.reverse_cap,
        }


@dataclass
class RecommenderModel:
    """Everything scoring needs, for one catalog; products in product_id order.
    `copurchase` and `semantic` are reversed neighbour lists: entry (i, j) is
    the similarity of i and j when i is among j's nearest neighbours."""

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


def history_matrix(
    histories: Sequence[Sequence[str] | None], index: dict[str, int], n_items: int
) -> sparse.csr_matrix:
    """(customers x items) 0/1 matrix of what each customer bought; unknown
    products are ignored."""
    indptr, indices = [0], []
    for products in histories:
        known = sorted({index[p] for p in products or () if p in index})
        indices.extend(known)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return sparse.csr_matrix(
        (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(histories), n_items),
    )


def history_matrix_of_lists(products: pa.Array, known: pa.Array) -> sparse.csr_matrix:
    """history_matrix of an Arrow list<string> column (one row per list, a
    null list is empty), the products looked up in `known` (the catalog in
    index order) in one vectorised call instead of one dict lookup each."""
    if isinstance(products, pa.ChunkedArray):
        products = products.combine_chunks()
    n_rows = len(products)
    lengths = pc.fill_null(pc.list_value_length(products), 0).to_numpy(zero_copy_only=False)
    positions = pc.index_in(pc.list_flatten(products), value_set=known)
    items = pc.fill_null(positions, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths.astype(np.int64))
    found = items >= 0
    history = sparse.csr_matrix(
        (np.ones(int(found.sum()), dtype=np.float32), (rows[found], items[found])),
        shape=(n_rows, len(known)),
    )
    history.sum_duplicates()  # sorted columns; a product bought twice counts once
    history.data[:] = 1.0
    return history


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
            np.full(all_cols.size, _POOL_MARK),
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
    for matrix in (model.copurchase, model.semantic, model.pools):
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


@dataclass(frozen=True)
class _Scored:
    """One customer's candidates, best first (parallel arrays)."""

    items: np.ndarray
    confidence: np.ndarray
    copurchase: np.ndarray
    semantic: np.ndarray
    affinity: np.ndarray


def _entry_keys(matrix: sparse.csr_matrix) -> np.ndarray:
    """row * n_cols + col of each stored entry, in storage order."""
    return entry_rows(matrix) * matrix.shape[1] + matrix.indices.astype(np.int64)


# keys of a batch with fewer cells than this are sorted as int32 (half the bytes)
_INT32_CELLS = 1 << 31


def _union(keys: np.ndarray, excluded: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct keys not in `excluded`, sorted; the position of each
    input key among them, len(distinct) for an excluded one). One stable
    argsort of the keys (int32 when the batch has fewer than _INT32_CELLS
    cells): equal keys become one group, excluded groups are dropped."""
    dtype = np.int32 if n_cells < _INT32_CELLS else np.int64
    packed = keys.astype(dtype, copy=False)
    order = np.argsort(packed, kind="stable")
    ordered = packed[order]
    first = np.empty(ordered.size, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    distinct = ordered[first]
    group = np.cumsum(first) - 1
    if excluded.size and distinct.size:
        dropped = np.zeros(distinct.size + 1, dtype=bool)
        at = np.searchsorted(distinct, excluded.astype(dtype, copy=False))
        found = at < distinct.size
        at = at[found]
        dropped[at[distinct[at] == excluded[found]]] = True
        kept = ~dropped[:-1]
        # kept groups renumbered in order; dropped ones (and the spare slot) last
        renumber = np.cumsum(kept) - 1
        renumber[~kept] = np.count_nonzero(kept)
        group = renumber[group]
        distinct = distinct[kept]
    where = np.empty(keys.size, dtype=np.int64)
    where[order] = group
    return distinct.astype(np.int64), where


def score_histories(
    model: RecommenderModel,
    histories: Sequence[Sequence[str] | None],
    segment_ids: Sequence[int | None],
    k: int,
    weights: ScoringWeights,
) -> list[_Scored]:
    """The best `k` candidates of each customer (vectorised over the batch).

    A customer's candidates are the products their purchases vote for in
    either reversed neighbour list, plus their segment's pool, less what they
    bought. Each signal is scaled by the customer's best candidate for it.
    The entries of the three sources meet on one key (row, product), sorted
    once (_union), and only each customer's best bucket of scores is sorted
    (top_k_within_rows); a pool entry carries the pool's mark (1e-9) in its
    co-purchase signal."""
    history = history_matrix(histories, model.index, len(model.product_ids))
    return score_history_matrix(model, history, segment_ids, k, weights)


def score_history_matrix(
    model: RecommenderModel,
    history: sparse.csr_matrix,
    segment_ids: Sequence[int | None],
    k: int,
    weights: ScoringWeights,
) -> list[_Scored]:
    """score_histories for histories given as a (customers x items) 0/1
    matrix with sorted columns (history_matrix, history_matrix_of_lists)."""
    n_customers, n_items = history.shape
    copurchase = history @ model.copurchase
    semantic = history @ model.semantic
    copurchase.eliminate_zeros()
    semantic.eliminate_zeros()
    rows_of_group = model.rows_for_segments(segment_ids)
    pools = model.pools[rows_of_group]
    cp_keys, sem_keys = _entry_keys(copurchase), _entry_keys(semantic)
    # products the customer bought are no candidates: their entries land in
    # a spare last slot, dropped
    keys, where = _union(
        np.concatenate([cp_keys, sem_keys, _entry_keys(pools)]),
        _entry_keys(history),
        n_customers * n_items,
    )
    n_cp, n_sem = cp_keys.size, sem_keys.size
    cp_all, sem_all = np.zeros(keys.size + 1), np.zeros(keys.size + 1)
    cp_all[where[:n_cp]] = copurchase.data
    sem_all[where[n_cp : n_cp + n_sem]] = semantic.data
    in_pool = np.zeros(keys.size + 1, dtype=bool)
    in_pool[where[n_cp + n_sem :]] = True
    cp_all, sem_all, in_pool = cp_all[:-1], sem_all[:-1], in_pool[:-1]
    # keys are sorted: each customer's run of them starts at row * n_items
    starts = np.searchsorted(keys, np.arange(n_customers + 1, dtype=np.int64) * n_items)
    rows = np.repeat(np.arange(n_customers, dtype=np.int64), np.diff(starts))
    cols = keys - rows * n_items
    cp_all = divide_by_row_max(cp_all, starts) + np.where(in_pool, _POOL_MARK, 0.0)
    sem_all = divide_by_row_max(sem_all, starts)
    # segment affinity with no weight (the default) adds exactly 0 to every
    # confidence: then it is looked up for the kept candidates only
    weighted_affinity = weights.segment != 0
    aff_all = (
        model.affinity[rows_of_group[rows], cols].astype(np.float64)
        if weighted_affinity
        else np.zeros(rows.size)
    )
    confidence_all = blend_confidence(cp_all, sem_all, aff_all, model.popularity[cols], weights)
    top = top_k_within_rows(rows, cols, confidence_all, k, n_customers)
    top_rows, top_cols = rows[top], cols[top]
    cp, sem, confidence = cp_all[top], sem_all[top], confidence_all[top]
    aff = (
        aff_all[top]
        if weighted_affinity
        else model.affinity[rows_of_group[top_rows], top_cols].astype(np.float64)
    )
    starts = np.searchsorted(top_rows, np.arange(n_customers + 1))
    return [
        _Scored(
            items=top_cols[starts[r] : starts[r + 1]],
            confidence=confidence[starts[r] : starts[r + 1]],
            copurchase=cp[starts[r] : starts[r + 1]],
            semantic=sem[starts[r] : starts[r + 1]],
            affinity=aff[starts[r] : starts[r + 1]],
        )
        for r in range(n_customers)
    ]


def _candidates_array(model: RecommenderModel, per_customer: list[_Scored | None]) -> pa.Array:
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

    def score(rows: list[int]) -> list[_Scored]:
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
