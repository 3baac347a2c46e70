"""The product catalog: products drawn per category with log-normal prices, some out of
stock, and Zipf-like popularity inside each category for drawing purchases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from holdfast.datagen.synthetic.seeding import rng_for
from holdfast.datagen.synthetic.vocabulary import CATEGORIES, Category

ZIPF_EXPONENT = 1.1
OUT_OF_STOCK_SHARE = 0.08
_MAX_NOUNS = max(len(category.nouns) for category in CATEGORIES)


@dataclass(frozen=True)
class Catalog:
    """Products in memory: ids, prices, categories and per-category popularity."""

    product_ids: list[str]
    prices: np.ndarray
    categories: np.ndarray
    members: list[np.ndarray]
    popularity_cdf: list[np.ndarray]


def product_id(index: int, width: int = 6) -> str:
    """Product id of the 0-based product `index`, e.g. P000123."""
    return f"P{index + 1:0{width}d}"


def _product_text(category: Category, picks: Sequence[int]) -> tuple[str, str]:
    """Base name and description of a product from six vocabulary picks."""
    adjective = category.adjectives[picks[0] % len(category.adjectives)]
    noun = category.nouns[picks[1] % len(category.nouns)]
    variant = category.variants[picks[2] % len(category.variants)]
    detail = category.details[picks[3] % len(category.details)]
    use = category.uses[picks[4] % len(category.uses)]
    feature = category.features[picks[5] % len(category.features)]
    description = (
        f"{adjective} {noun.lower()} with {detail}, made for {use}. {feature}. "
        f"Part of our {category.name.lower()} range."
    )
    return f"{adjective} {noun} {variant}", description


def _unique_name(base: str, seen: dict[str, int]) -> str:
    """`base`, or `base Model N` when the name is already taken."""
    if base not in seen:
        seen[base] = 1
        return base
    while True:
        seen[base] += 1
        candidate = f"{base} Model {seen[base]}"
        if candidate not in seen:
            seen[candidate] = 1
            return candidate


def _stock_quantities(rng: np.random.Generator, count: int) -> np.ndarray:
    in_stock = np.clip(np.rint(rng.lognormal(3.2, 1.1, count)), 1, 500).astype(np.int64)
    return np.where(rng.random(count) < OUT_OF_STOCK_SHARE, 0, in_stock)


def _product_categories(rng: np.random.Generator, count: int) -> np.ndarray:
    """Every category gets a product first, then categories are drawn with uneven shares."""
    shares = rng.uniform(0.7, 1.3, len(CATEGORIES))
    drawn = rng.choice(len(CATEGORIES), size=count - len(CATEGORIES), p=shares / shares.sum())
    return np.concatenate([np.arange(len(CATEGORIES)), drawn]).astype(np.int64)


def _product_prices(
    rng: np.random.Generator, categories: np.ndarray, nouns: np.ndarray
) -> np.ndarray:
    """Log-normal around a category median times a per-noun factor, clipped to 1..2000."""
    medians = np.array([category.median_price for category in CATEGORIES])
    noun_factor = rng.lognormal(0.0, 0.5, (len(CATEGORIES), _MAX_NOUNS))
    raw = (
        medians[categories]
        * noun_factor[categories, nouns]
        * rng.lognormal(0.0, 0.35, len(categories))
    )
    return np.round(np.clip(raw, 1.0, 2000.0), 2)


def build_products(seed: int, count: int) -> tuple[list[dict], Catalog]:
    """Product records (contract order) and the in-memory catalog used to draw purchases."""
    rng = rng_for(seed, 0)
    categories = _product_categories(rng, count)
    picks = rng.integers(0, 1 << 30, (count, 6))
    nouns = np.array(
        [picks[i, 1] % len(CATEGORIES[c].nouns) for i, c in enumerate(categories)], dtype=np.int64
    )
    prices = _product_prices(rng, categories, nouns)
    stock = _stock_quantities(rng, count).tolist()
    width = max(6, len(str(count)))
    seen: dict[str, int] = {}
    records: list[dict] = []
    for index, category_index in enumerate(categories.tolist()):
        category = CATEGORIES[category_index]
        name, description = _product_text(category, picks[index].tolist())
        records.append(
            {
                "productId": product_id(index, width),
                "name": _unique_name(name, seen),
                "description": description,
                "category": category.name,
                "price": float(prices[index]),
                "stockQuantity": stock[index],
            }
        )
    return records, _catalog(rng, records, prices, categories)


def _catalog(
    rng: np.random.Generator, records: Sequence[dict], prices: np.ndarray, categories: np.ndarray
) -> Catalog:
    members: list[np.ndarray] = []
    cdfs: list[np.ndarray] = []
    for index in range(len(CATEGORIES)):
        in_category = np.flatnonzero(categories == index)
        members.append(rng.permutation(in_category))
        weights = 1.0 / np.arange(1, len(in_category) + 1) ** ZIPF_EXPONENT
        cdfs.append(np.cumsum(weights) / weights.sum())
    return Catalog(
        product_ids=[record["productId"] for record in records],
        prices=prices,
        categories=categories,
        members=members,
        popularity_cdf=cdfs,
    )
