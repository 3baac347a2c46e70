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
  carry one realistic defect each (see ``DEFECTS``).

Everything comes from seeded generators (``numpy.random.default_rng``) and the hash; the
same arguments give byte-identical files. Files are written to ``<name>.tmp`` and moved
into place with ``os.replace``.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

CUSTOMERS_DIR = "customers"
PRODUCTS_DIR = "products"
PRODUCT_SNAPSHOT_ID = "catalog_0001"
MAX_BATCHES = 50
CHUNK_LINES = 20_000
REPEAT_SHARE = 0.05
TASTE_SHARE = 0.9
ZIPF_EXPONENT = 1.1
OUT_OF_STOCK_SHARE = 0.08
MAX_PURCHASES = 200
CREATED_MAX_LEAD_MINUTES = 365 * 24 * 60
EMAIL_CHANGE_SHARE = 0.3

DEFECTS = (
    "not_json",
    "invalid_uuid",
    "invalid_email",
    "non_positive_amount",
    "amount_as_string",
    "missing_purchase_history",
    "invalid_date",
    "missing_created_at",
    "purchase_history_not_list",
)


@dataclass(frozen=True)
class Category:
    """One product category and the vocabulary its products are described with."""

    name: str
    median_price: float
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    variants: tuple[str, ...]
    details: tuple[str, ...]
    uses: tuple[str, ...]
    features: tuple[str, ...]


def _category(name: str, median_price: float, **vocabulary: str) -> Category:
    """A category whose vocabulary lists are given as "a | b | c" strings."""
    words = {key: tuple(w.strip() for w in text.split("|")) for key, text in vocabulary.items()}
    return Category(name, median_price, **words)


CATEGORIES: tuple[Category, ...] = (
    _category(
        "Coffee & Tea",
        14.0,
        adjectives="Single-Origin | Dark Roast | Organic | Barista | Artisan | Fairtrade | Morning",
        nouns=(
            "Espresso Beans | Ground Coffee | Loose Leaf Tea | Matcha Powder |"
            " Pour-Over Kettle | Burr Grinder | French Press | Milk Frother | Tea Infuser |"
            " Coffee Filters | Cold Brew Maker | Chai Blend"
        ),
        variants="250g | 500g | 1kg | 350ml | 1L | Set of 2",
        details=(
            "a rich chocolate and caramel profile | a borosilicate glass body |"
            " a stainless steel finish | a ceramic burr | whole-leaf green tea |"
            " beans roasted in small batches"
        ),
        uses=(
            "slow weekend brewing | a quick morning espresso | the office kitchen |"
            " afternoon tea | cafe-style lattes at home"
        ),
        features=(
            "Brews a smooth cup with a golden crema |"
            " Brings out notes of cocoa, citrus and toasted nuts |"
            " Gives a clean, sediment-free cup every time |"
            " Keeps water at the ideal brewing temperature"
        ),
    ),
    _category(
        "Running Gear",
        45.0,
        adjectives=(
            "Lightweight | Breathable | Trail | Reflective | Marathon | Cushioned | Insulated"
        ),
        nouns=(
            "Running Shoes | Trail Shoes | Running Socks | Hydration Vest | Water Bottle |"
            " Running Tights | Rain Jacket | Running Cap | Sports Watch | Compression Sleeves |"
            " Race Belt | Energy Gels"
        ),
        variants="Size S | Size M | Size L | 500ml | 750ml | Pack of 3",
        details=(
            "recycled mesh | merino wool | ripstop nylon | a breathable knit upper |"
            " a waterproof membrane | a grippy rubber outsole"
        ),
        uses=(
            "long trail runs | marathon training | early-morning jogs | race day |"
            " wet-weather running"
        ),
        features=(
            "Wicks sweat away to keep you dry mile after mile |"
            " Reflective details keep you visible after dark |"
            " Cushioning absorbs impact on long runs | Packs down small for race day"
        ),
    ),
    _category(
        "Baby Care",
        18.0,
        adjectives="Gentle | Newborn | Hypoallergenic | Sensitive | Soothing | Anti-Colic | Cosy",
        nouns=(
            "Baby Wipes | Nappies | Baby Bottle | Teething Ring | Swaddle Blanket |"
            " Baby Bodysuit | Nappy Cream | Baby Monitor | Changing Mat | Sleep Sack |"
            " Bath Thermometer | Soft Rattle"
        ),
        variants="0-3 Months | 3-6 Months | Pack of 64 | Pack of 3 | 260ml | Size 2",
        details=(
            "organic cotton | BPA-free plastic | food-grade silicone | bamboo fibre |"
            " breathable muslin | natural rubber"
        ),
        uses=(
            "newborn night feeds | sensitive baby skin | nappy changes on the go |"
            " safe and settled sleep | bath time"
        ),
        features=(
            "Dermatologically tested and fragrance free |"
            " Soft enough for delicate newborn skin | Helps your little one settle to sleep |"
            " Easy to sterilise and clean"
        ),
    ),
    _category(
        "Gardening",
        22.0,
        adjectives="Heavy-Duty | Ergonomic | Weatherproof | Heritage | Galvanised | Cottage",
        nouns=(
            "Pruning Shears | Hand Trowel | Watering Can | Seed Tray | Raised Bed |"
            " Compost Bin | Garden Gloves | Hose Reel | Plant Feed | Bird Feeder | Herb Seeds |"
            " Terracotta Pot"
        ),
        variants="5L | 10L | 30cm | 45cm | Pack of 6 | Large",
        details=(
            "galvanised steel | frost-proof terracotta | recycled plastic |"
            " FSC-certified timber | a carbon steel blade | nitrile-coated fabric"
        ),
        uses=(
            "vegetable patches | balcony containers | pruning roses | sowing seeds in spring |"
            " lawn and border care"
        ),
        features=(
            "Built to withstand frost, rain and summer sun |"
            " Makes clean cuts that help plants heal |"
            " Encourages strong roots and healthy growth |"
            " Attracts birds and pollinators to the garden"
        ),
    ),
    _category(
        "Board Games",
        30.0,
        adjectives="Family | Strategic | Cooperative | Classic | Deluxe | Fantasy | Quick-Play",
        nouns=(
            "Strategy Game | Card Game | Jigsaw Puzzle | Dice Set | Party Game |"
            " Cooperative Game | Chess Set | Deck-Building Game | Word Game | Trivia Game |"
            " Expansion Pack | Game Mat"
        ),
        variants=(
            "2-4 Players | 2-6 Players | 1000 Pieces | 500 Pieces | Travel Edition |"
            " Collector's Edition"
        ),
        details=(
            "wooden tokens | linen-finish cards | a sturdy board | detailed miniatures |"
            " a drawstring dice bag | metal coins"
        ),
        uses=(
            "family game night | two-player evenings | parties with friends | solo puzzling |"
            " long strategy sessions"
        ),
        features=(
            "Easy to learn, with hours of replay value | Each game plays in under an hour |"
            " Rewards clever tactics and a little bluffing | Gets the whole table laughing"
        ),
    ),
    _category(
        "Pet Supplies",
        16.0,
        adjectives="Grain-Free | Durable | Calming | Orthopaedic | Natural | Interactive | Puppy",
        nouns=(
            "Dog Food | Cat Litter | Chew Toy | Dog Lead | Cat Scratcher | Pet Bed |"
            " Grooming Brush | Treat Pouch | Dog Harness | Cat Food | Pet Shampoo |"
            " Litter Tray"
        ),
        variants="2kg | 10kg | Small | Medium | Large | Pack of 12",
        details=(
            "natural rubber | memory foam | sisal rope | padded nylon webbing |"
            " salmon and sweet potato | clumping clay"
        ),
        uses=(
            "daily dog walks | indoor cats | teething puppies | senior dogs | bath time for pets"
        ),
        features=(
            "Vet-approved recipe with no artificial colours |"
            " Tough enough for enthusiastic chewers |"
            " Keeps your pet calm, clean and comfortable |"
            " Supports healthy joints, skin and coat"
        ),
    ),
    _category(
        "Home Office",
        60.0,
        adjectives="Ergonomic | Adjustable | Wireless | Minimalist | Compact | Dimmable | Foldable",
        nouns=(
            "Desk Lamp | Office Chair | Monitor Stand | Keyboard | Paper Notebook |"
            " Desk Organiser | Webcam | Laptop Stand | Cable Tray | Standing Desk Mat |"
            " Headset | Whiteboard"
        ),
        variants="Black | White | Oak | A5 | A4 | 120cm",
        details=(
            "brushed aluminium | solid bamboo | breathable mesh | recycled paper |"
            " tempered glass | a weighted base"
        ),
        uses=(
            "video calls | long working days | a tidy desk | remote work | focused study sessions"
        ),
        features=(
            "Reduces strain on neck, back and wrists | Sets up in minutes without tools |"
            " Keeps cables and clutter out of sight |"
            " Makes long meetings easier on the eyes and ears"
        ),
    ),
    _category(
        "Camping",
        50.0,
        adjectives="Waterproof | Ultralight | Four-Season | Packable | Rugged | Expedition",
        nouns=(
            "Sleeping Bag | Dome Tent | Camping Stove | Head Torch | Sleeping Mat |"
            " Camping Chair | Cool Box | Water Filter | Mess Tin | Tarp | Camp Lantern |"
            " Dry Bag"
        ),
        variants="1-Person | 2-Person | 4-Person | 20L | -5C Rated | 500 Lumens",
        details=(
            "ripstop nylon | duck down fill | titanium | aluminium alloy poles | waxed canvas |"
            " closed-cell foam"
        ),
        uses=(
            "wild camping | festival weekends | backpacking trips |"
            " cold nights under the stars | family campsites"
        ),
        features=(
            "Pitches in minutes, even in the rain | Packs small and weighs next to nothing |"
            " Keeps you warm when the temperature drops |"
            " Survives rough trails and muddy campsites"
        ),
    ),
    _category(
        "Skincare",
        20.0,
        adjectives="Hydrating | Brightening | Vitamin C | Retinol | Fragrance-Free | Mineral",
        nouns=(
            "Face Serum | Moisturiser | Gel Cleanser | Sunscreen | Eye Cream | Night Cream |"
            " Sheet Mask | Toner | Lip Balm | Body Lotion | Exfoliating Scrub |"
            " Micellar Water"
        ),
        variants="30ml | 50ml | 100ml | 200ml | SPF 30 | SPF 50",
        details=(
            "hyaluronic acid | niacinamide | shea butter | aloe vera | jojoba oil | zinc oxide"
        ),
        uses=(
            "dry skin | sensitive skin | a morning routine | overnight repair |"
            " daily sun protection"
        ),
        features=(
            "Absorbs quickly without a greasy finish | Dermatologist tested and cruelty free |"
            " Visibly smooths and brightens the skin | Locks in moisture all day"
        ),
    ),
    _category(
        "Kitchen & Baking",
        15.0,
        adjectives="Non-Stick | Professional | Heavy-Gauge | Springform | Heat-Resistant | Bakery",
        nouns=(
            "Cake Tin | Mixing Bowl | Stand Mixer | Rolling Pin | Baking Sheet | Piping Set |"
            " Cooling Rack | Measuring Cups | Silicone Spatula | Loaf Tin | Bread Flour |"
            " Cookie Cutters"
        ),
        variants="20cm | 23cm | 900g | 1.5kg | Set of 3 | 5L",
        details=(
            "carbon steel | food-grade silicone | beech wood | stainless steel |"
            " vitreous enamel | stoneware"
        ),
        uses=(
            "sourdough loaves | birthday cakes | weekend baking with kids | crisp cookies |"
            " pastry making"
        ),
        features=(
            "Bakes evenly to a golden crust | Cakes release cleanly every time |"
            " Dishwasher safe and built to last | Makes light, airy sponges and doughs"
        ),
    ),
    _category(
        "Cycling",
        40.0,
        adjectives="Aero | Commuter | Road | Mountain | High-Visibility | Gravel | Rechargeable",
        nouns=(
            "Bike Helmet | Bike Lights | Cycling Jersey | Padded Shorts | Bike Lock |"
            " Mini Pump | Inner Tube | Saddle Bag | Chain Lube | Cycling Gloves | Bottle Cage |"
            " Multi-Tool"
        ),
        variants="700x28c | 29in | Size M | Size L | 400 Lumens | Pack of 2",
        details=(
            "carbon fibre | hardened steel | aluminium alloy | stretch Lycra |"
            " a polycarbonate shell | chamois padding"
        ),
        uses=(
            "daily commuting | long road rides | mountain bike trails | night riding |"
            " roadside repairs"
        ),
        features=(
            "Keeps you seen in traffic day and night | Light without compromising on strength |"
            " Fits all standard frames and wheels | Stays comfortable in the saddle for hours"
        ),
    ),
    _category(
        "Books & Fiction",
        12.0,
        adjectives="Bestselling | Award-Winning | Gripping | Debut | Epic | Illustrated | Classic",
        nouns=(
            "Crime Novel | Fantasy Novel | Science Fiction Novel | Historical Novel |"
            " Short Story Collection | Poetry Anthology | Thriller | Romance Novel |"
            " Graphic Novel | Literary Novel | Audiobook | Book Box Set"
        ),
        variants="Paperback | Hardback | Volume 1 | Volume 2 | Large Print | Special Edition",
        details=(
            "a twisting plot | unforgettable characters | a sweeping world | lyrical prose |"
            " an author's afterword | illustrated chapter openings"
        ),
        uses=(
            "cosy evenings | the daily commute | book club discussions | holiday reading |"
            " bedtime reading"
        ),
        features=(
            "A story you will not be able to put down | Ends with a twist nobody sees coming |"
            " Praised by critics and readers alike | The first chapter of a much-loved series"
        ),
    ),
)


@dataclass(frozen=True)
class Taste:
    """A customer persona: a weighted mix of categories (by name)."""

    name: str
    share: float
    mix: tuple[tuple[str, float], ...]


TASTES: tuple[Taste, ...] = (
    Taste(
        "coffee lovers",
        0.13,
        (("Coffee & Tea", 0.7), ("Kitchen & Baking", 0.2), ("Books & Fiction", 0.1)),
    ),
    Taste("runners", 0.11, (("Running Gear", 0.7), ("Cycling", 0.2), ("Skincare", 0.1))),
    Taste("new parents", 0.10, (("Baby Care", 0.7), ("Coffee & Tea", 0.2), ("Home Office", 0.1))),
    Taste(
        "gardeners", 0.12, (("Gardening", 0.75), ("Pet Supplies", 0.15), ("Kitchen & Baking", 0.1))
    ),
    Taste("board gamers", 0.09, (("Board Games", 0.75), ("Books & Fiction", 0.25))),
    Taste("pet owners", 0.13, (("Pet Supplies", 0.8), ("Gardening", 0.2))),
    Taste(
        "remote workers",
        0.12,
        (("Home Office", 0.65), ("Coffee & Tea", 0.25), ("Books & Fiction", 0.1)),
    ),
    Taste(
        "outdoor adventurers", 0.10, (("Camping", 0.6), ("Cycling", 0.25), ("Running Gear", 0.15))
    ),
    Taste("skincare fans", 0.10, (("Skincare", 0.8), ("Books & Fiction", 0.2))),
)


def _words(text: str) -> tuple[str, ...]:
    """Whitespace-separated words of `text`."""
    return tuple(text.split())


FIRST_NAMES = _words(
    "olivia liam emma noah amelia oliver sophia elijah isla james mia lucas ava mateo freya "
    "leo grace arjun chloe kenji zara omar nina ivan lena tomas aisha david maya samuel "
    "hannah felix priya jonas elena marco sara diego ruby yusuf"
)
LAST_NAMES = _words(
    "smith jones taylor brown williams wilson johnson davies patel wright walker thompson "
    "white edwards green hall wood harris martin jackson clarke lewis khan nguyen garcia "
    "muller rossi silva kowalski tanaka novak okafor larsen dubois moreau fischer costa ahmed "
    "kim santos"
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
CHANGED_EMAIL_DOMAINS = ("mail.example.com", "inbox.example.org")
# Multiplier coprime with 10**7: the e-mail number is unique per customer index below 10**7.
EMAIL_NUMBER_MULTIPLIER = 7_919
EMAIL_NUMBER_MODULUS = 10_000_000
_MAX_NOUNS = max(len(category.nouns) for category in CATEGORIES)

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)
_STREAM = _U64(0xD1B54A32D192ED03)


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


@dataclass(frozen=True)
class Catalog:
    """Products in memory: ids, prices, categories and per-category popularity."""

    product_ids: list[str]
    prices: np.ndarray
    categories: np.ndarray
    members: list[np.ndarray]
    popularity_cdf: list[np.ndarray]


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


# ---------------------------------------------------------------------------------------------
# small helpers


def default_products(customers: int) -> int:
    """Catalog size used when none is given: customers // 4 clamped to [200, 20000]."""
    return min(max(customers // 4, 200), 20_000)


def default_batches(customers: int) -> int:
    """Batch count used when none is given: one per 1000 customers, 1..50."""
    return min(max(1, customers // 1000), MAX_BATCHES)


def batch_id(index: int) -> str:
    """Batch id of the 0-based batch `index` (lexical order = delivery order)."""
    return f"customers_{index + 1:04d}"


def product_id(index: int, width: int = 6) -> str:
    """Product id of the 0-based product `index`, e.g. P000123."""
    return f"P{index + 1:0{width}d}"


def _seed_key(seed: int) -> int:
    return seed % (1 << 64)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([_seed_key(seed), *stream])


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _U64(30))) * _MIX1
    z = (z ^ (z >> _U64(27))) * _MIX2
    return z ^ (z >> _U64(31))


def customer_hash(seed: int, customers: np.ndarray, stream: int) -> np.ndarray:
    """Pseudo-random uint64 per customer index, independent per (seed, stream)."""
    key = _splitmix(np.array([_seed_key(seed)], dtype=np.uint64))[0]
    salt = _splitmix(np.array([stream], dtype=np.uint64) * _STREAM)[0]
    return _splitmix(_splitmix(customers.astype(np.uint64) ^ key) ^ salt)


def _unit(hashes: np.ndarray) -> np.ndarray:
    return (hashes >> _U64(11)).astype(np.float64) * (1.0 / (1 << 53))


def format_minutes(minutes: np.ndarray) -> list[str]:
    """Minutes since the Unix epoch -> ISO-8601 UTC strings like 2025-03-01T10:15:00Z."""
    text = np.datetime_as_string(minutes.astype("datetime64[m]"), unit="s")
    return [f"{value}Z" for value in text.tolist()]


def _epoch_minutes(day: str) -> int:
    return (date.fromisoformat(day) - date(1970, 1, 1)).days * 24 * 60


def _atomic_write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write lines (each + '\\n') to `path.tmp`, then move it over `path`; returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            for line in lines:
                handle.write(line)
                handle.write("\n")
                count += 1
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _compact(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# products


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
    rng = _rng(seed, 0)
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


# ---------------------------------------------------------------------------------------------
# customers


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
    first = (customer_hash(seed, customers, 2) % _U64(len(FIRST_NAMES))).tolist()
    last = (customer_hash(seed, customers, 3) % _U64(len(LAST_NAMES))).tolist()
    offset = int(customer_hash(seed, np.array([0]), 4)[0] % _U64(EMAIL_NUMBER_MODULUS))
    numbers = ((customers * EMAIL_NUMBER_MULTIPLIER + offset) % EMAIL_NUMBER_MODULUS).tolist()
    domain = (customer_hash(seed, customers, 5) % _U64(len(EMAIL_DOMAINS))).tolist()
    taste_u = _unit(customer_hash(seed, customers, 6))
    tastes = np.minimum(np.searchsorted(_TASTE_SHARE_CDF, taste_u, side="right"), len(TASTES) - 1)
    lead = (customer_hash(seed, customers, 7) % _U64(CREATED_MAX_LEAD_MINUTES)).astype(np.int64)
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


def _purchase_counts(rng: np.random.Generator, is_repeat: np.ndarray) -> np.ndarray:
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


def _purchase_fragments(catalog: Catalog, purchases: Purchases) -> list[str]:
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


# ---------------------------------------------------------------------------------------------
# defects


def make_invalid(line: str, defect: str, variant: int) -> str:
    """Turn a valid customer line into one with the given realistic defect."""
    if defect == "not_json":
        return line[: max(8, len(line) // 3)]
    record = json.loads(line)
    first = record["purchaseHistory"][0]
    if defect == "invalid_uuid":
        bad = (record["id"][:-3], "not-a-uuid", "g" + record["id"][1:])
        record["id"] = bad[variant % len(bad)]
    elif defect == "invalid_email":
        local, _, domain = record["email"].partition("@")
        bad = (
            f"{local}.{domain}",
            f"{local}@",
            local.replace(".", " ", 1) + f"@{domain}",
            local.replace(".", "..", 1) + f"@{domain}",
        )
        record["email"] = bad[variant % len(bad)]
    elif defect == "non_positive_amount":
        first["amount"] = 0 if variant % 2 == 0 else -first["amount"]
    elif defect == "amount_as_string":
        first["amount"] = f"{first['amount']:.2f}"
    elif defect == "missing_purchase_history":
        del record["purchaseHistory"]
    elif defect == "invalid_date":
        year = first["date"][:4]
        first["date"] = (f"{year}-02-30T10:00:00Z", "yesterday", f"{year}-13-01T00:00:00Z")[
            variant % 3
        ]
    elif defect == "missing_created_at":
        del record["createdAt"]
    elif defect == "purchase_history_not_list":
        record["purchaseHistory"] = first if variant % 2 == 0 else first["productId"]
    else:
        raise ValueError(f"unknown defect: {defect}")
    return _compact(record)


# ---------------------------------------------------------------------------------------------
# batch planning and writing


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
        rng = _rng(seed, 1, index)
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
    rng = _rng(seed, 2, plan.index, chunk)
    identity = customer_identities(seed, customers, _arrival_starts(plans, customers))
    counts = _purchase_counts(rng, is_repeat)
    purchases = draw_purchases(
        rng, catalog, identity.tastes, counts, (plan.period_start, plan.period_end)
    )
    fragments = _purchase_fragments(catalog, purchases)
    changed = is_repeat & (rng.random(len(customers)) < EMAIL_CHANGE_SHARE)
    alt = (customer_hash(seed, customers, 8) % _U64(len(CHANGED_EMAIL_DOMAINS))).tolist()
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
    _atomic_write_lines(
        out_dir / PRODUCTS_DIR / f"{PRODUCT_SNAPSHOT_ID}.jsonl",
        (_compact(record) for record in records),
    )

    plans = plan_batches(
        seed, customers, batches, _epoch_minutes(start_date), days, invalid_share, dirty_batch_share
    )
    lines = 0
    for plan in plans:
        path = out_dir / CUSTOMERS_DIR / f"{plan.batch_id}.jsonl"
        lines += _atomic_write_lines(path, batch_lines(seed, plans, plan, catalog))
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
