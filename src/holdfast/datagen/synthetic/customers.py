"""Customers and their purchases: an identity per customer index (uuid, e-mail, taste,
createdAt), and purchase lines drawn mostly from the customer's taste."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from holdfast.datagen.synthetic.catalog import Catalog
from holdfast.datagen.synthetic.seeding import U64, customer_hash, format_minutes, unit
from holdfast.datagen.synthetic.vocabulary import (
    CATEGORIES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    TASTES,
)

TASTE_SHARE = 0.9
MAX_PURCHASES = 200
CREATED_MAX_LEAD_MINUTES = 365 * 24 * 60
# Multiplier coprime with 10**7: the e-mail number is unique per customer index below 10**7.
EMAIL_NUMBER_MULTIPLIER = 7_919
EMAIL_NUMBER_MODULUS = 10_000_000


def _taste_matrix() -> np.ndarray:
    """Cumulative category weights per taste, shape (tastes, categories)."""
    names = [category.name for category in CATEGORIES]
    matrix = np.zeros((len(TASTES), len(CATEGORIES)))
    for row, taste in enumerate(TASTES):
        for name, weight in taste.mix:
            matrix[row, names.index(name)] = weight
    return np.cumsum(matrix / matrix.sum(axis=1, keepdims=True), axis=1)


_TASTE_CDF = _taste_matrix()
_TASTE_SHARE_CDF = np.cumsum([taste.share for taste in TASTES]) / sum(t.share for t in TASTES)


@dataclass(frozen=True)
class Identities:
    """Profile fields of a set of customers, all derived from (seed, customer index)."""

    ids: list[str]
    local_parts: list[str]
    domains: list[str]
    tastes: np.ndarray
    created_at: list[str]


def customer_identities(seed: int, customers: np.ndarray, arrival_start: np.ndarray) -> Identities:
    """Identity of each customer index; `arrival_start` = start minute of its first period."""
    high = customer_hash(seed, customers, 0).tolist()
    low = customer_hash(seed, customers, 1).tolist()
    ids = [str(uuid.UUID(int=(h << 64) | lo, version=4)) for h, lo in zip(high, low, strict=True)]
    first = (customer_hash(seed, customers, 2) % U64(len(FIRST_NAMES))).tolist()
    last = (customer_hash(seed, customers, 3) % U64(len(LAST_NAMES))).tolist()
    offset = int(customer_hash(seed, np.array([0]), 4)[0] % U64(EMAIL_NUMBER_MODULUS))
    numbers = ((customers * EMAIL_NUMBER_MULTIPLIER + offset) % EMAIL_NUMBER_MODULUS).tolist()
    domain = (customer_hash(seed, customers, 5) % U64(len(EMAIL_DOMAINS))).tolist()
    taste_u = unit(customer_hash(seed, customers, 6))
    tastes = np.minimum(np.searchsorted(_TASTE_SHARE_CDF, taste_u, side="right"), len(TASTES) - 1)
    lead = (customer_hash(seed, customers, 7) % U64(CREATED_MAX_LEAD_MINUTES)).astype(np.int64)
    return Identities(
        ids=ids,
        local_parts=[
            f"{FIRST_NAMES[f]}.{LAST_NAMES[la]}{n}"
            for f, la, n in zip(first, last, numbers, strict=True)
        ],
        domains=[EMAIL_DOMAINS[d] for d in domain],
        tastes=tastes,
        created_at=format_minutes(arrival_start - 1 - lead),
    )


def purchase_counts(rng: np.random.Generator, is_repeat: np.ndarray) -> np.ndarray:
    """1 + negative binomial (mean ~10) for new customers, mean ~2.5 for repeats."""
    fresh = 1 + rng.negative_binomial(1.5, 1.5 / 10.5, len(is_repeat))
    repeat = 1 + rng.negative_binomial(1, 0.4, len(is_repeat))
    return np.minimum(np.where(is_repeat, repeat, fresh), MAX_PURCHASES)


def _draw_categories(rng: np.random.Generator, tastes: np.ndarray) -> np.ndarray:
    from_taste = (_TASTE_CDF[tastes] < rng.random(len(tastes))[:, None]).sum(axis=1)
    from_taste = np.minimum(from_taste, len(CATEGORIES) - 1)
    anywhere = rng.integers(0, len(CATEGORIES), len(tastes))
    return np.where(rng.random(len(tastes)) < TASTE_SHARE, from_taste, anywhere)


def _draw_products(
    rng: np.random.Generator, catalog: Catalog, categories: np.ndarray
) -> np.ndarray:
    products = np.empty(len(categories), dtype=np.int64)
    for index, (members, cdf) in enumerate(
        zip(catalog.members, catalog.popularity_cdf, strict=True)
    ):
        mask = categories == index
        ranks = np.searchsorted(cdf, rng.random(int(mask.sum())), side="right")
        products[mask] = members[np.minimum(ranks, len(members) - 1)]
    return products


def _draw_quantities(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.choice(np.arange(1, 6), size=count, p=[0.75, 0.12, 0.06, 0.04, 0.03])


@dataclass(frozen=True)
class Purchases:
    """Flat purchase lines of a chunk, sorted by (owner, date, product)."""

    owners: np.ndarray
    products: np.ndarray
    amounts: np.ndarray
    minutes: np.ndarray


def draw_purchases(
    rng: np.random.Generator,
    catalog: Catalog,
    tastes: np.ndarray,
    counts: np.ndarray,
    period: tuple[int, int],
) -> Purchases:
    """Purchase lines for customers with the given tastes and counts, dated inside `period`."""
    owners = np.repeat(np.arange(len(counts)), counts)
    products = _draw_products(rng, catalog, _draw_categories(rng, tastes[owners]))
    quantities = _draw_quantities(rng, len(owners))
    minutes = rng.integers(period[0], period[1], len(owners))
    order = np.lexsort((products, minutes, owners))
    products, quantities, minutes = products[order], quantities[order], minutes[order]
    amounts = np.round(catalog.prices[products] * quantities, 2)
    return Purchases(owners[order], products, amounts, minutes)


def purchase_fragments(catalog: Catalog, purchases: Purchases) -> list[str]:
    ids = catalog.product_ids
    return [
        f'{{"productId":"{ids[p]}","amount":{a!r},"date":"{d}"}}'
        for p, a, d in zip(
            purchases.products.tolist(),
            purchases.amounts.tolist(),
            format_minutes(purchases.minutes),
            strict=True,
        )
    ]
