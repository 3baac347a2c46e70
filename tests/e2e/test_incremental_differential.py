"""Incremental equals rebuild, on generated delivery sequences (hypothesis).

A sequence of deliveries lands in one warehouse that is built incrementally
after each delivery; after every step a fresh warehouse is built from scratch
on the same files, and the two must hold the same rows: every mart, the batch
ledger, the schema error log and the dead-letter queue (run stamps and the
ledger's delivery history aside, see `HISTORY_COLUMNS`).

Two policies let an incremental warehouse lag a rebuild by design, and both
builds here set them to their exact mode: the segment and recommender models
are refitted on every run (`segment_refit`, `recommender_refit`; a model is
fitted on the data of the run that fits it, and is kept until its refit
policy says otherwise), and the products' sales figures are recomputed on
every run (`product_statistics_refresh_share: 0`; by default they wait until
5% of the purchases were rewritten). With those, every mart depends on the
files alone, and that is what this checks.

Deliveries (all on a small catalog, over a base batch of customers that keeps
the clusterer and the recommender in their normal regime):
- a new customer batch (customers shared with other batches; valid and
  invalid lines);
- a re-delivery of a batch: identical, or with a line withdrawn, changed,
  made invalid or made valid again, or empty (the whole batch withdrawn);
- an empty file;
- a new product snapshot (products dropped, out of stock, repriced), and a
  re-delivery of a snapshot (changed, or empty).

The examples are bounded (`EXAMPLES`, a fixed seed) so the test fits in
`make test`; HOLDFAST_DIFFERENTIAL_EXAMPLES raises the count for a longer
search. The shrunk sequences it found are kept below as named tests.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from tests.conftest import Warehouse, assert_same_rows, make_warehouse

from holdfast.datagen.synthetic import generate_landing

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("HOLDFAST_DIFFERENTIAL_EXAMPLES", "2"))
# both warehouses in the policies' exact mode (see the module docstring)
BUILD_VARS = {
    "segment_refit": True,
    "recommender_refit": True,
    "product_statistics_refresh_share": 0,
}

# the customers the generated deliveries move between batches
CONTESTED = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"holdfast-contested-{i}")) for i in range(6)]
EMAILS = ("first", "second", "third")
N_PRODUCTS = 24
DAYS = ("2025-03-01", "2025-03-15", "2025-04-02", "2025-05-20")

# columns that say when or in which run a row was written, not what it holds
RUN_COLUMNS = frozenset(
    {
        "run_id",
        "generated_at",
        "assigned_at",
        "model_fitted_at",
        "ingested_at",
        "refreshed_at",
        "last_run_id",
        "first_failed_at",
        "last_failed_at",
        "resolved_at",
        "calls_in_last_run",
    }
)
# the ledger's record of how often and when a batch was delivered: history
# that a rebuild from today's files cannot know
HISTORY_COLUMNS = frozenset(
    {"previous_checksum", "n_deliveries", "first_loaded_at", "last_loaded_at"}
)
COMPARED_OPS = ("ops_batch_ledger", "ops_schema_errors", "ops_dead_letter_queue")


@dataclass(frozen=True)
class Line:
    """One customer line: who, which e-mail, what they bought, valid or not."""

    customer: int
    email: int
    purchases: tuple[tuple[int, int, int], ...]  # (product, amount in cents, day)
    valid: bool = True

    def text(self, product_ids: list[str]) -> str:
        record = {
            "id": CONTESTED[self.customer],
            "email": (
                f"{EMAILS[self.email]}.{self.customer}@example.com"
                if self.valid
                else f"{EMAILS[self.email]}.{self.customer}-at-example.com"
            ),
            "purchaseHistory": [
                {
                    "productId": product_ids[p],
                    "amount": cents / 100,
                    "date": f"{DAYS[day]}T10:00:00Z",
                }
                for p, cents, day in self.purchases
            ],
            "createdAt": "2025-01-01T00:00:00Z",
        }
        return json.dumps(record)


@dataclass(frozen=True)
class Snapshot:
    """A product snapshot: the base catalog with some products dropped,
    out of stock or repriced."""

    dropped: frozenset[int] = frozenset()
    out_of_stock: frozenset[int] = frozenset()
    repriced: frozenset[int] = frozenset()


@dataclass
class Landing:
    """What the landing zone holds: customer batches (in delivery order) and
    product snapshots, as data; `write` puts them on disk."""

    batches: dict[str, list[Line] | None] = field(default_factory=dict)  # None: empty file
    snapshots: dict[str, Snapshot] = field(default_factory=dict)

    def copy(self) -> Landing:
        return Landing(dict(self.batches), dict(self.snapshots))


@dataclass(frozen=True)
class NewBatch:
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class EmptyFile:
    pass


@dataclass(frozen=True)
class Redeliver:
    """Re-deliver the `which`-th batch (modulo the batches there are) with
    `change` applied to its `at`-th line (modulo its length)."""

    which: int
    change: str  # identical | withdraw | change | invalidate | revalidate | empty
    at: int = 0
    line: Line | None = None  # the new line for `change`


@dataclass(frozen=True)
class NewSnapshot:
    snapshot: Snapshot


@dataclass(frozen=True)
class RedeliverSnapshot:
    """Re-deliver the `which`-th product snapshot (modulo the snapshots there
    are) as `snapshot`; every product dropped makes an empty file."""

    which: int
    snapshot: Snapshot


def apply(landing: Landing, step) -> Landing:
    """The landing zone after one delivery."""
    after = landing.copy()
    if isinstance(step, NewBatch):
        after.batches[f"d_{len(after.batches) + 1:04d}"] = list(step.lines)
    elif isinstance(step, EmptyFile):
        after.batches[f"d_{len(after.batches) + 1:04d}"] = None
    elif isinstance(step, NewSnapshot):
        after.snapshots[f"catalog_{len(after.snapshots) + 2:04d}"] = step.snapshot
    elif isinstance(step, RedeliverSnapshot) and after.snapshots:
        after.snapshots[sorted(after.snapshots)[step.which % len(after.snapshots)]] = step.snapshot
    elif isinstance(step, Redeliver) and after.batches:
        name = sorted(after.batches)[step.which % len(after.batches)]
        lines = list(after.batches[name] or [])
        if step.change == "empty":
            lines = []
        elif lines:
            k = step.at % len(lines)
            if step.change == "withdraw":
                del lines[k]
            elif step.change == "change" and step.line is not None:
                lines[k] = step.line
            elif step.change == "invalidate":
                lines[k] = replace(lines[k], valid=False)
            elif step.change == "revalidate":
                lines[k] = replace(lines[k], valid=True)
        after.batches[name] = lines
    return after


def write_landing(landing: Landing, base: Path, target: Path) -> None:
    """Put `landing` on disk under `target` (over the base files); a file whose
    bytes are unchanged is rewritten all the same, as a re-delivery would be."""
    shutil.copytree(base, target, dirs_exist_ok=True)
    catalog = [
        json.loads(x)
        for x in (base / "products" / "catalog_0001.jsonl").read_text().split("\n")
        if x
    ]
    product_ids = [p["productId"] for p in catalog]
    for name, lines in landing.batches.items():
        path = target / "customers" / f"{name}.jsonl"
        text = "" if lines is None else "".join(x.text(product_ids) + "\n" for x in lines)
        path.write_text(text)
    for name, snapshot in landing.snapshots.items():
        products = []
        for i, product in enumerate(catalog):
            if i in snapshot.dropped:
                continue
            product = dict(product)
            if i in snapshot.out_of_stock:
                product["stockQuantity"] = 0
            if i in snapshot.repriced:
                product["price"] = round(product["price"] * 1.5 + 1, 2)
            products.append(json.dumps(product))
        (target / "products" / f"{name}.jsonl").write_text("".join(p + "\n" for p in products))


def compared_rows(warehouse: Warehouse) -> dict[str, list]:
    """Every mart and the compared ops tables, sorted, without run stamps."""
    tables = [
        (schema, name)
        for schema, name in warehouse.query(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = 'marts' or (table_schema = 'ops' and table_name in "
            f"({', '.join(repr(t) for t in COMPARED_OPS)})) order by all"
        )
    ]
    snapshot = {}
    for schema, name in tables:
        columns = [
            c
            for (c,) in warehouse.query(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            )
            if c not in RUN_COLUMNS | HISTORY_COLUMNS
        ]
        listed = ", ".join(f'"{c}"' for c in columns)
        snapshot[f"{schema}.{name}"] = warehouse.query(
            f"select {listed} from {schema}.{name} order by all"
        )
    return snapshot


@pytest.fixture(scope="module")
def base_landing(tmp_path_factory) -> Path:
    """The files every sequence starts from: a catalog and one customer batch."""
    base = tmp_path_factory.mktemp("differential-base")
    generate_landing(base, customers=60, products=N_PRODUCTS, batches=1, seed=5)
    return base


class Differential:
    """One incremental warehouse, fed step by step, checked against a fresh
    build after every step."""

    def __init__(self, root: Path, base: Path) -> None:
        self.root = root
        self.base = base
        self.incremental = make_warehouse(root / "incremental")
        self.landing = Landing()
        self.steps = 0

    def step(self, delivery, *, check: bool = True) -> None:
        """Deliver, build incrementally, and (with `check`) compare with a fresh build."""
        self.landing = apply(self.landing, delivery)
        self.steps += 1
        write_landing(self.landing, self.base, self.incremental.landing_dir)
        self.incremental.dbt("build", vars=BUILD_VARS)
        if not check:
            return
        fresh = make_warehouse(self.root / f"fresh-{self.steps}")
        write_landing(self.landing, self.base, fresh.landing_dir)
        fresh.dbt("build", vars=BUILD_VARS)
        try:
            assert_same_rows(compared_rows(self.incremental), compared_rows(fresh))
        finally:
            shutil.rmtree(fresh.db_path.parent)


# --- the generated sequences ------------------------------------------------

purchases = st.lists(
    st.tuples(st.integers(0, N_PRODUCTS - 1), st.sampled_from([250, 999, 1500]), st.integers(0, 3)),
    min_size=0,
    max_size=3,
).map(tuple)
lines = st.builds(
    Line,
    customer=st.integers(0, len(CONTESTED) - 1),
    email=st.integers(0, len(EMAILS) - 1),
    purchases=purchases,
    valid=st.booleans(),
)
products = st.frozensets(st.integers(0, N_PRODUCTS - 1), max_size=4)
deliveries = st.one_of(
    st.builds(NewBatch, st.lists(lines, min_size=1, max_size=4).map(tuple)),
    st.builds(
        Redeliver,
        which=st.integers(0, 7),
        change=st.sampled_from(
            ["identical", "withdraw", "change", "invalidate", "revalidate", "empty"]
        ),
        at=st.integers(0, 7),
        line=lines,
    ),
    st.just(EmptyFile()),
    st.builds(NewSnapshot, st.builds(Snapshot, products, products, products)),
    st.builds(
        RedeliverSnapshot,
        which=st.integers(0, 3),
        snapshot=st.one_of(
            st.builds(Snapshot, products, products, products),
            st.just(Snapshot(dropped=frozenset(range(N_PRODUCTS)))),
        ),
    ),
)
# a sequence opens with two batches, so re-deliveries have something to act on
sequences = st.tuples(
    st.builds(NewBatch, st.lists(lines, min_size=2, max_size=4).map(tuple)),
    st.builds(NewBatch, st.lists(lines, min_size=1, max_size=4).map(tuple)),
    st.lists(deliveries, min_size=1, max_size=2),
).map(lambda t: [t[0], t[1], *t[2]])


@seed(20261206)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(sequence=sequences)
def test_incremental_builds_equal_a_rebuild_after_every_delivery(
    sequence, base_landing, tmp_path_factory
):
    run = Differential(tmp_path_factory.mktemp("differential"), base_landing)
    for delivery in sequence:
        run.step(delivery)


# --- sequences kept as regression tests ---------------------------------------

C = 0  # the customer the regressions are about


def customer_state(warehouse: Warehouse) -> tuple[str, int]:
    """C's e-mail in dim_customers and the number of C's rows in fct_purchases."""
    email = warehouse.scalar(
        "select email from marts.dim_customers where customer_id = ?", [CONTESTED[C]]
    )
    n_purchases = warehouse.scalar(
        "select count(*) from marts.fct_purchases where customer_id = ?", [CONTESTED[C]]
    )
    return email, n_purchases


def test_a_redelivery_that_withdraws_a_customer_line_gives_the_rebuild(base_landing, tmp_path):
    run = Differential(tmp_path, base_landing)
    run.step(NewBatch((Line(C, 0, ((1, 250, 0),)),)), check=False)
    run.step(NewBatch((Line(C, 1, ((2, 999, 1),)), Line(1, 0, ()))), check=False)
    run.step(Redeliver(which=1, change="withdraw", at=0))
    # the withdrawn line's e-mail and purchase are gone, the first batch's remain
    assert customer_state(run.incremental) == ("first.0@example.com", 1)


def test_a_redelivery_that_invalidates_a_customer_line_gives_the_rebuild(base_landing, tmp_path):
    run = Differential(tmp_path, base_landing)
    run.step(NewBatch((Line(C, 0, ((1, 250, 0),)),)), check=False)
    run.step(NewBatch((Line(C, 1, ((2, 999, 1),)), Line(1, 0, ()))), check=False)
    run.step(Redeliver(which=1, change="invalidate", at=0))
    assert customer_state(run.incremental) == ("first.0@example.com", 1)
    run.step(Redeliver(which=1, change="revalidate", at=0))
    # the second batch's line is back: its e-mail wins again, both purchases count
    assert customer_state(run.incremental) == ("second.0@example.com", 2)


def test_a_refit_that_leaves_everyone_unsegmented_gives_the_rebuild(base_landing, tmp_path):
    """A new customer makes a new segment model; dim_segments then carries that
    model's labels (read from its segment_profiles), and -1 is 'Unsegmented'."""
    run = Differential(tmp_path, base_landing)
    run.step(NewBatch((Line(3, 2, ()),)), check=False)
    run.step(NewBatch((Line(4, 1, ((11, 250, 0),)),)))
    shown = dict(run.incremental.query("select segment_id, segment_label from marts.dim_segments"))
    stored = dict(
        run.incremental.query(
            """
            select p.segment_id, p.segment_label
            from (
                select unnest(segment_profiles) as p
                from (
                    select segment_profiles from inference.int_segment_models
                    order by fitted_at desc, segment_model_id desc limit 1
                )
            )
            """
        )
    )
    assert shown, "dim_segments is empty"
    for segment_id, label in shown.items():
        assert label == ("Unsegmented" if segment_id == -1 else stored[segment_id])


def test_a_redelivery_that_empties_a_batch_gives_the_rebuild(base_landing, tmp_path):
    """An empty re-delivery withdraws the whole batch: its lines' profiles and
    purchases go, and a customer seen only there leaves the warehouse."""
    run = Differential(tmp_path, base_landing)
    run.step(NewBatch((Line(C, 0, ((1, 250, 0),)),)), check=False)
    run.step(NewBatch((Line(C, 1, ((2, 999, 1),)), Line(1, 0, ()))), check=False)
    run.step(Redeliver(which=1, change="empty"))
    assert customer_state(run.incremental) == ("first.0@example.com", 1)
    gone = run.incremental.scalar(
        "select count(*) from marts.dim_customers where customer_id = ?", [CONTESTED[1]]
    )
    assert gone == 0


def test_a_product_snapshot_redelivered_empty_gives_the_rebuild(base_landing, tmp_path):
    """An empty re-delivery of the newest snapshot withdraws it: the catalog is
    the previous snapshot's again (product 0 at its first price)."""
    run = Differential(tmp_path, base_landing)
    run.step(NewBatch((Line(C, 0, ((1, 250, 0),)), Line(1, 0, ((2, 999, 1),)))), check=False)
    run.step(NewSnapshot(Snapshot(repriced=frozenset({0}))), check=False)
    repriced = run.incremental.query("select product_id, price from marts.dim_products")
    run.step(RedeliverSnapshot(which=0, snapshot=Snapshot(dropped=frozenset(range(N_PRODUCTS)))))
    first = {
        product["productId"]: product["price"]
        for product in map(
            json.loads,
            (base_landing / "products" / "catalog_0001.jsonl").read_text().splitlines(),
        )
    }
    assert dict(run.incremental.query("select product_id, price from marts.dim_products")) == first
    assert dict(repriced) != first
