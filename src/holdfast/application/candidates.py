"""A batch of customers' recommendation candidates, scored: the products their purchases
vote for in the recommender's reversed neighbour lists (co-purchase, semantic, EASE), plus
their segment's pool, less what they bought; each with its signals and blended confidence,
the best `k` kept.

All of it is sparse matrix work on the whole batch: the entries of the four sources meet
on one key (row, product), sorted once (`_union`), and only each customer's best bucket of
scores is sorted (domain.neighbours.top_k_within_rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from holdfast.domain.neighbours import divide_by_row_max, entry_rows, top_k_within_rows
from holdfast.domain.scoring import ScoringWeights, blend_confidence, copurchase_evidence

if TYPE_CHECKING:
    from holdfast.application.recommend import RecommenderModel

# a pool entry's stored value: below the 6-decimal resolution of confidence
POOL_MARK = 1e-9


@dataclass(frozen=True)
class Scored:
    """One customer's candidates, best first (parallel arrays); `copurchase` is the
    co-purchase evidence (item-kNN and EASE, domain.scoring.copurchase_evidence)."""

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


def score_history_matrix(
    model: RecommenderModel,
    history: sparse.csr_matrix,
    segment_ids: Sequence[int | None],
    k: int,
    weights: ScoringWeights,
) -> list[Scored]:
    """score_histories for histories given as a (customers x items) 0/1
    matrix with sorted columns (history_matrix, history_matrix_of_lists)."""
    n_customers, n_items = history.shape
    sources = [history @ model.copurchase, history @ model.semantic]
    if model.ease is not None:
        sources.append(history @ model.ease)
    for source in sources:
        source.eliminate_zeros()
    rows_of_group = model.rows_for_segments(segment_ids)
    pools = model.pools[rows_of_group]
    source_keys = [_entry_keys(source) for source in sources]
    # products the customer bought are no candidates: their entries land in
    # a spare last slot, dropped
    keys, where = _union(
        np.concatenate([*source_keys, _entry_keys(pools)]),
        _entry_keys(history),
        n_customers * n_items,
    )
    # keys are sorted: each customer's run of them starts at row * n_items
    starts = np.searchsorted(keys, np.arange(n_customers + 1, dtype=np.int64) * n_items)
    signals = []
    offset = 0
    for source, source_key in zip(sources, source_keys, strict=True):
        values = np.zeros(keys.size + 1)
        values[where[offset : offset + source_key.size]] = source.data
        offset += source_key.size
        signals.append(divide_by_row_max(values[:-1], starts))
    in_pool = np.zeros(keys.size + 1, dtype=bool)
    in_pool[where[offset:]] = True
    in_pool = in_pool[:-1]
    rows = np.repeat(np.arange(n_customers, dtype=np.int64), np.diff(starts))
    cols = keys - rows * n_items
    cp_all = signals[0] + np.where(in_pool, POOL_MARK, 0.0)
    sem_all = signals[1]
    ease_all = signals[2] if len(signals) > 2 else np.zeros(keys.size)
    # segment affinity with no weight (the default) adds exactly 0 to every
    # confidence: then it is looked up for the kept candidates only
    weighted_affinity = weights.segment != 0
    aff_all = (
        model.affinity[rows_of_group[rows], cols].astype(np.float64)
        if weighted_affinity
        else np.zeros(rows.size)
    )
    confidence_all = blend_confidence(
        cp_all, sem_all, aff_all, model.popularity[cols], weights, ease=ease_all
    )
    top = top_k_within_rows(rows, cols, confidence_all, k, n_customers)
    top_rows, top_cols = rows[top], cols[top]
    cp = copurchase_evidence(cp_all[top], ease_all[top], weights)
    sem, confidence = sem_all[top], confidence_all[top]
    aff = (
        aff_all[top]
        if weighted_affinity
        else model.affinity[rows_of_group[top_rows], top_cols].astype(np.float64)
    )
    starts = np.searchsorted(top_rows, np.arange(n_customers + 1))
    return [
        Scored(
            items=top_cols[starts[r] : starts[r + 1]],
            confidence=confidence[starts[r] : starts[r + 1]],
            copurchase=cp[starts[r] : starts[r + 1]],
            semantic=sem[starts[r] : starts[r + 1]],
            affinity=aff[starts[r] : starts[r + 1]],
        )
        for r in range(n_customers)
    ]
