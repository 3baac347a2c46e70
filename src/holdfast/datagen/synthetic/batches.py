"""Customer batches: which customers each batch delivers (new ones of its period and some
repeats), which of its lines are invalid, and its lines, generated chunk by chunk."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from holdfast.datagen.synthetic.catalog import Catalog
from holdfast.datagen.synthetic.customers import (
    customer_identities,
    draw_purchases,
    purchase_counts,
    purchase_fragments,
)
from holdfast.datagen.synthetic.defects import DEFECTS, make_invalid
from holdfast.datagen.synthetic.seeding import U64, customer_hash, rng_for
from holdfast.datagen.synthetic.vocabulary import CHANGED_EMAIL_DOMAINS

CHUNK_LINES = 20_000
REPEAT_SHARE = 0.05
EMAIL_CHANGE_SHARE = 0.3


@dataclass(frozen=True)
class BatchPlan:
    """Where one batch sits: its customers, its period and its invalid lines."""

    index: int
    batch_id: str
    first_customer: int
    new_customers: int
    period_start: int
    period_end: int
    repeat_positions: np.ndarray
    repeat_customers: np.ndarray
    invalid_positions: np.ndarray
    invalid_defects: np.ndarray

    @property
    def lines(self) -> int:
        """Number of lines in the batch file."""
        return self.new_customers + len(self.repeat_positions)


def batch_id(index: int) -> str:
    """Batch id of the 0-based batch `index` (lexical order = delivery order)."""
    return f"customers_{index + 1:04d}"


def _invalid_count(lines: int, share: float) -> int:
    return min(lines, round(share * lines))


def plan_batches(
    seed: int,
    customers: int,
    batches: int,
    start_minute: int,
    days: int,
    invalid_share: float,
    dirty_batch_share: float | None,
) -> list[BatchPlan]:
    """Split customers over batches and decide repeats and invalid lines of each batch."""
    window = days * 24 * 60
    plans: list[BatchPlan] = []
    first = 0
    for index in range(batches):
        new = customers // batches + (1 if index < customers % batches else 0)
        rng = rng_for(seed, 1, index)
        repeats = 0 if index == 0 else min(first, round(new * REPEAT_SHARE / (1 - REPEAT_SHARE)))
        lines = new + repeats
        last = index == batches - 1
        share = dirty_batch_share if (last and dirty_batch_share is not None) else invalid_share
        invalid = _invalid_count(lines, share)
        plans.append(
            BatchPlan(
                index=index,
                batch_id=batch_id(index),
                first_customer=first,
                new_customers=new,
                period_start=start_minute + window * index // batches,
                period_end=start_minute + window * (index + 1) // batches,
                repeat_positions=np.sort(rng.choice(lines, repeats, replace=False)),
                repeat_customers=rng.choice(max(first, 1), repeats, replace=False),
                invalid_positions=np.sort(rng.choice(lines, invalid, replace=False)),
                invalid_defects=rng.permutation(np.arange(invalid) % len(DEFECTS)),
            )
        )
        first += new
    return plans


def _arrival_starts(plans: Sequence[BatchPlan], customers: np.ndarray) -> np.ndarray:
    firsts = np.array([plan.first_customer for plan in plans])
    starts = np.array([plan.period_start for plan in plans])
    return starts[np.searchsorted(firsts, customers, side="right") - 1]


def _chunk_customers(
    plan: BatchPlan, start: int, stop: int, new_before: int, repeats_before: int
) -> tuple[np.ndarray, np.ndarray]:
    """Customer index and repeat flag of each line position in [start, stop)."""
    positions = np.arange(start, stop)
    is_repeat = np.isin(positions, plan.repeat_positions)
    customers = np.empty(stop - start, dtype=np.int64)
    repeat_count = int(is_repeat.sum())
    customers[is_repeat] = plan.repeat_customers[repeats_before : repeats_before + repeat_count]
    fresh = plan.first_customer + new_before
    customers[~is_repeat] = np.arange(fresh, fresh + (stop - start) - repeat_count)
    return customers, is_repeat


def _customer_lines(
    seed: int,
    plans: Sequence[BatchPlan],
    plan: BatchPlan,
    chunk: int,
    customers: np.ndarray,
    is_repeat: np.ndarray,
    catalog: Catalog,
) -> list[str]:
    rng = rng_for(seed, 2, plan.index, chunk)
    identity = customer_identities(seed, customers, _arrival_starts(plans, customers))
    counts = purchase_counts(rng, is_repeat)
    purchases = draw_purchases(
        rng, catalog, identity.tastes, counts, (plan.period_start, plan.period_end)
    )
    fragments = purchase_fragments(catalog, purchases)
    changed = is_repeat & (rng.random(len(customers)) < EMAIL_CHANGE_SHARE)
    alt = (customer_hash(seed, customers, 8) % U64(len(CHANGED_EMAIL_DOMAINS))).tolist()
    ends = np.cumsum(counts).tolist()
    lines: list[str] = []
    begin = 0
    for row, end in enumerate(ends):
        domain = CHANGED_EMAIL_DOMAINS[alt[row]] if changed[row] else identity.domains[row]
        lines.append(
            f'{{"id":"{identity.ids[row]}","email":"{identity.local_parts[row]}@{domain}",'
            f'"purchaseHistory":[{",".join(fragments[begin:end])}],'
            f'"createdAt":"{identity.created_at[row]}"}}'
        )
        begin = end
    return lines


def batch_lines(
    seed: int, plans: Sequence[BatchPlan], plan: BatchPlan, catalog: Catalog
) -> Iterator[str]:
    """Lines of one batch file, generated chunk by chunk (bounded memory)."""
    new_before = repeats_before = 0
    invalid = dict(zip(plan.invalid_positions.tolist(), plan.invalid_defects.tolist(), strict=True))
    for chunk, start in enumerate(range(0, plan.lines, CHUNK_LINES)):
        stop = min(start + CHUNK_LINES, plan.lines)
        customers, is_repeat = _chunk_customers(plan, start, stop, new_before, repeats_before)
        lines = _customer_lines(seed, plans, plan, chunk, customers, is_repeat, catalog)
        for offset, line in enumerate(lines):
            defect = invalid.get(start + offset)
            yield line if defect is None else make_invalid(line, DEFECTS[defect], start + offset)
        repeats = int(is_repeat.sum())
        repeats_before += repeats
        new_before += (stop - start) - repeats
