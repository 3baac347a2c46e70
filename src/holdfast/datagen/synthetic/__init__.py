"""Synthetic landing data: a product catalog and customer batches that look like real traffic.

The generator writes the landing contract (``OUT/customers/<batch_id>.jsonl`` and
``OUT/products/<snapshot_id>.jsonl``) with enough structure for embeddings and segments to
mean something:

- 12 product categories, each with its own vocabulary, so names and descriptions of one
  category are about the same things; prices are log-normal around a category median;
  about 8% of products are out of stock.
- Popularity inside a category is Zipf-like (exponent 1.1): few hits, a long tail.
- Every customer has one of 9 tastes (personas), a weighted mix of 1-3 categories;
  about 90% of their purchases come from it, the rest from anywhere.
- The date window ``[start_date, start_date + days)`` is cut into one period per batch.
  Batch k delivers the customers first seen in period k (all their purchases fall in it)
  plus about 5% repeat customers from earlier batches carrying only new purchases of
  period k (and, for some, a changed e-mail). Over all batches dates are uniform in the
  window; ``createdAt`` is always before a customer's first purchase.
- A customer's identity (uuid, name, e-mail, taste, createdAt) is a pure function of
  ``(seed, customer index)``, computed with a counter-based hash, so a repeat customer is
  re-derived instead of remembered: memory stays bounded by one chunk of lines, whatever
  the number of customers.
- ``invalid_share`` of the customer lines of a batch (exactly ``round(share * lines)``)
  carry one realistic defect each (see ``defects.DEFECTS``).

Everything comes from seeded generators (``numpy.random.default_rng``) and the hash; the
same arguments give byte-identical files. Files are written to ``<name>.tmp`` and moved
into place with ``os.replace``.

The parts: ``vocabulary`` (categories, tastes, names), ``seeding`` (seeded streams and the
hash), ``catalog`` (products), ``customers`` (identities and purchases), ``defects``,
``batches`` (which customers and lines each batch holds) and ``files`` (the writers); this
module puts them together.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from holdfast.datagen.synthetic.batches import batch_lines, plan_batches
from holdfast.datagen.synthetic.catalog import build_products
from holdfast.datagen.synthetic.files import (
    CUSTOMERS_DIR,
    PRODUCT_SNAPSHOT_ID,
    PRODUCTS_DIR,
    atomic_write_lines,
    compact_json,
)
from holdfast.datagen.synthetic.seeding import epoch_minutes
from holdfast.datagen.synthetic.vocabulary import CATEGORIES

MAX_BATCHES = 50


@dataclass(frozen=True)
class GenerationSummary:
    """What `generate_landing` wrote."""

    out_dir: Path
    customer_batches: list[str]  # batch ids written, sorted (= delivery order)
    product_snapshot: str
    customers: int  # distinct customers; each has one line in the batch it first appears in
    customer_lines: int  # lines across all customer files (new + repeat customers)
    invalid_lines: int  # lines deliberately made invalid, exactly
    products: int


def default_products(customers: int) -> int:
    """Catalog size used when none is given: customers // 4 clamped to [200, 20000]."""
    return min(max(customers // 4, 200), 20_000)


def default_batches(customers: int) -> int:
    """Batch count used when none is given: one per 1000 customers, 1..50."""
    return min(max(1, customers // 1000), MAX_BATCHES)


def _check_arguments(
    customers: int, products: int, batches: int, shares: Sequence[float], days: int
) -> None:
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if products < len(CATEGORIES):
        raise ValueError(f"products must be at least {len(CATEGORIES)} (one per category)")
    if not 1 <= batches <= customers:
        raise ValueError("batches must be between 1 and the number of customers")
    if days < 1:
        raise ValueError("days must be at least 1")
    for share in shares:
        if not (math.isfinite(share) and 0.0 <= share <= 1.0):
            raise ValueError("invalid shares must be between 0 and 1")


def generate_landing(
    out_dir: Path,
    *,
    customers: int,
    seed: int = 42,
    products: int | None = None,
    batches: int | None = None,
    invalid_share: float = 0.0,
    dirty_batch_share: float | None = None,
    start_date: str = "2025-01-01",
    days: int = 540,
) -> GenerationSummary:
    """Write a synthetic product snapshot and customer batches under `out_dir`.

    Defaults: ``products`` = clamp(customers // 4, 200, 20000); ``batches`` =
    clamp(customers // 1000, 1, 50). ``dirty_batch_share``, when given, replaces
    ``invalid_share`` for the last batch only (the only batch when there is one).
    Files are overwritten; other files already in `out_dir` are left alone.
    """
    out_dir = Path(out_dir)
    products = default_products(customers) if products is None else products
    batches = default_batches(customers) if batches is None else batches
    shares = [invalid_share] + ([] if dirty_batch_share is None else [dirty_batch_share])
    _check_arguments(customers, products, batches, shares, days)

    records, catalog = build_products(seed, products)
    atomic_write_lines(
        out_dir / PRODUCTS_DIR / f"{PRODUCT_SNAPSHOT_ID}.jsonl",
        (compact_json(record) for record in records),
    )

    plans = plan_batches(
        seed, customers, batches, epoch_minutes(start_date), days, invalid_share, dirty_batch_share
    )
    lines = 0
    for plan in plans:
        path = out_dir / CUSTOMERS_DIR / f"{plan.batch_id}.jsonl"
        lines += atomic_write_lines(path, batch_lines(seed, plans, plan, catalog))
    return GenerationSummary(
        out_dir=out_dir,
        customer_batches=sorted(plan.batch_id for plan in plans),
        product_snapshot=PRODUCT_SNAPSHOT_ID,
        customers=customers,
        customer_lines=lines,
        invalid_lines=sum(len(plan.invalid_positions) for plan in plans),
        products=products,
    )


def catalog_texts(products: int, *, seed: int, customers: int = 10) -> list[str]:
    """The product texts of a generated catalog, as the pipeline builds them
    (`<name>. <category>. <description>`, int_products_current): the texts the
    embedding benchmarks and tests encode."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        summary = generate_landing(Path(folder), customers=customers, products=products, seed=seed)
        path = Path(folder) / "products" / f"{summary.product_snapshot}.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [f"{r['name']}. {r['category']}. {r['description']}" for r in rows]
