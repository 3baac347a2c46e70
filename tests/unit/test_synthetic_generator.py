"""The synthetic landing generator: deterministic, contract-valid, realistic enough to segment."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from holdfast.datagen import synthetic
from holdfast.datagen.synthetic import GenerationSummary, batches, generate_landing
from holdfast.datagen.synthetic.defects import DEFECTS, make_invalid

BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
EMAIL = re.compile(
    r"[A-Za-z0-9_+-]([A-Za-z0-9_+.-]*[A-Za-z0-9_+-])?@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,}"
)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")

SMALL = {"customers": 300, "batches": 3, "invalid_share": 0.1}


# ---------------------------------------------------------------------------------------------
# reference validator (the landing contract, written independently of the generator)


def parse_instant(value: object) -> datetime | None:
    """The instant of an ISO-8601 datetime with an explicit zone, or None."""
    if not isinstance(value, str) or not ISO.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def purchase_errors(purchase: object) -> list[str]:
    if not isinstance(purchase, dict):
        return ["purchase: not an object"]
    errors = []
    product = purchase.get("productId")
    if not (isinstance(product, str) and product.strip() and len(product) <= 128):
        errors.append("productId")
    amount = purchase.get("amount")
    if not (is_number(amount) and math.isfinite(amount) and amount > 0):
        errors.append("amount")
    if parse_instant(purchase.get("date")) is None:
        errors.append("date")
    return errors


def customer_errors(line: str) -> list[str]:
    """Every contract rule a customer line breaks (empty = valid)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return ["not JSON"]
    if not isinstance(record, dict):
        return ["not an object"]
    errors = []
    if not (isinstance(record.get("id"), str) and UUID.fullmatch(record["id"])):
        errors.append("id")
    email = record.get("email")
    if not (isinstance(email, str) and EMAIL.fullmatch(email) and ".." not in email):
        errors.append("email")
    history = record.get("purchaseHistory")
    if not isinstance(history, list):
        errors.append("purchaseHistory")
    else:
        errors.extend(error for purchase in history for error in purchase_errors(purchase))
    if parse_instant(record.get("createdAt")) is None:
        errors.append("createdAt")
    return errors


def product_errors(record: dict) -> list[str]:
    errors = []
    for field in ("productId", "name", "description", "category"):
        if not (isinstance(record.get(field), str) and record[field].strip()):
            errors.append(field)
    price = record.get("price")
    if not (is_number(price) and math.isfinite(price) and price >= 0):
        errors.append("price")
    stock = record.get("stockQuantity")
    if not (isinstance(stock, int) and not isinstance(stock, bool) and stock >= 0):
        errors.append("stockQuantity")
    return errors


# ---------------------------------------------------------------------------------------------
# helpers


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), f"{path.name}: last line must end with a newline"
    assert b"\r" not in data
    return data.decode("utf-8").split("\n")[:-1]


def customer_files(out: Path) -> list[Path]:
    return sorted((out / "customers").glob("*.jsonl"))


def valid_customers(out: Path) -> list[tuple[str, dict]]:
    """(batch id, record) of every valid customer line, in delivery order."""
    return [
        (path.stem, json.loads(line))
        for path in customer_files(out)
        for line in read_lines(path)
        if not customer_errors(line)
    ]


def products(out: Path) -> list[dict]:
    return [json.loads(line) for line in read_lines(out / "products" / "catalog_0001.jsonl")]


def all_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("small")
    return out, generate_landing(out, seed=7, **SMALL)


# ---------------------------------------------------------------------------------------------
# determinism and layout


def test_same_seed_gives_byte_identical_files(small, tmp_path: Path) -> None:
    out, summary = small
    again = generate_landing(tmp_path, seed=7, **SMALL)
    assert all_bytes(tmp_path) == all_bytes(out)
    assert again.customer_lines == summary.customer_lines
    assert again.invalid_lines == summary.invalid_lines


def test_different_seed_gives_different_files(small, tmp_path: Path) -> None:
    out, _ = small
    generate_landing(tmp_path, seed=8, **SMALL)
    first, second = all_bytes(out), all_bytes(tmp_path)
    assert first.keys() == second.keys()
    assert all(first[name] != second[name] for name in first)


def test_layout_and_summary(small) -> None:
    out, summary = small
    assert summary.customer_batches == ["customers_0001", "customers_0002", "customers_0003"]
    assert [path.stem for path in customer_files(out)] == summary.customer_batches
    assert summary.product_snapshot == "catalog_0001"
    assert all(BATCH_ID.fullmatch(name) for name in [*summary.customer_batches, "catalog_0001"])
    assert summary.customers == 300
    assert summary.products == 200  # default: clamp(300 // 4, 200, 20000)
    lines = sum(len(read_lines(path)) for path in customer_files(out))
    assert lines == summary.customer_lines > summary.customers
    assert not list(out.rglob("*.tmp"))


def test_defaults_scale_with_customers() -> None:
    assert synthetic.default_products(100) == 200
    assert synthetic.default_products(100_000) == 20_000
    assert synthetic.default_products(10_000) == 2_500
    assert synthetic.default_batches(999) == 1
    assert synthetic.default_batches(5_000) == 5
    assert synthetic.default_batches(2_000_000) == 50


# ---------------------------------------------------------------------------------------------
# contract


def test_products_follow_the_contract(small) -> None:
    out, _ = small
    catalog = products(out)
    assert [product_errors(record) for record in catalog] == [[]] * len(catalog)
    ids = [record["productId"] for record in catalog]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"P\d{6}", product) for product in ids)
    assert len({record["name"] for record in catalog}) >= 0.95 * len(catalog)
    assert len({record["category"] for record in catalog}) == 12
    assert all(1 <= record["price"] <= 2000 for record in catalog)
    out_of_stock = sum(record["stockQuantity"] == 0 for record in catalog)
    assert 0 < out_of_stock < 0.25 * len(catalog)
    assert max(record["stockQuantity"] for record in catalog) <= 500


def test_invalid_lines_are_exactly_the_counted_ones(small) -> None:
    out, summary = small
    failing = [
        line for path in customer_files(out) for line in read_lines(path) if customer_errors(line)
    ]
    assert len(failing) == summary.invalid_lines
    assert summary.invalid_lines == pytest.approx(0.1 * summary.customer_lines, abs=3)


def test_valid_lines_are_consistent(small) -> None:
    out, _ = small
    catalog = {record["productId"] for record in products(out)}
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2026, 6, 25, tzinfo=UTC)  # start_date + 540 days
    for _, record in valid_customers(out):
        dates = [parse_instant(purchase["date"]) for purchase in record["purchaseHistory"]]
        assert dates, "every generated customer has at least one purchase"
        assert dates == sorted(dates)
        assert all(start <= moment < end for moment in dates)
        assert parse_instant(record["createdAt"]) < dates[0]
        assert {purchase["productId"] for purchase in record["purchaseHistory"]} <= catalog
        assert all(round(p["amount"], 2) == p["amount"] for p in record["purchaseHistory"])


@pytest.mark.parametrize("defect", DEFECTS)
def test_every_defect_breaks_the_contract(small, defect: str) -> None:
    out, _ = small
    line = next(line for line in read_lines(customer_files(out)[0]) if not customer_errors(line))
    for variant in range(4):
        broken = make_invalid(line, defect, variant)
        assert "\n" not in broken
        assert customer_errors(broken), f"{defect} (variant {variant}) still valid: {broken}"


def test_invalid_lines_cover_all_defects(tmp_path: Path) -> None:
    summary = generate_landing(tmp_path, customers=200, seed=3, invalid_share=0.5)
    lines = [line for path in customer_files(tmp_path) for line in read_lines(path)]
    errors = Counter(tuple(customer_errors(line)) for line in lines)
    assert sum(count for key, count in errors.items() if key) == summary.invalid_lines == 100
    kinds = {key[0] for key in errors if key}
    assert kinds >= {"not JSON", "id", "email", "amount", "purchaseHistory", "date", "createdAt"}


# ---------------------------------------------------------------------------------------------
# realism


def test_tastes_are_visible_in_purchases(small) -> None:
    out, _ = small
    category = {record["productId"]: record["category"] for record in products(out)}
    shares = []
    for _, record in valid_customers(out):
        counts = Counter(category[p["productId"]] for p in record["purchaseHistory"])
        shares.append(max(counts.values()) / sum(counts.values()))
    assert sum(shares) / len(shares) > 0.6


def test_popularity_is_long_tailed(tmp_path: Path) -> None:
    generate_landing(tmp_path, customers=2_000, seed=5)
    sales = Counter(
        p["productId"] for _, record in valid_customers(tmp_path) for p in record["purchaseHistory"]
    )
    counts = sorted(sales.values(), reverse=True)
    top_decile = sum(counts[: len(products(tmp_path)) // 10])
    assert top_decile > 0.4 * sum(counts)


def test_repeat_customers_carry_only_new_purchases(small) -> None:
    out, _ = small
    seen: dict[str, tuple[str, dict]] = {}
    repeats = 0
    for batch, record in valid_customers(out):
        if record["id"] in seen:
            repeats += 1
            first_batch, earlier = seen[record["id"]]
            assert first_batch < batch
            assert record["createdAt"] == earlier["createdAt"]
            last_before = max(parse_instant(p["date"]) for p in earlier["purchaseHistory"])
            assert all(parse_instant(p["date"]) > last_before for p in record["purchaseHistory"])
        seen[record["id"]] = (batch, record)
    assert repeats > 0


def test_dirty_batch_share_hits_only_the_last_batch(tmp_path: Path) -> None:
    summary = generate_landing(
        tmp_path, customers=400, seed=11, batches=4, invalid_share=0.0, dirty_batch_share=0.12
    )
    shares = []
    for path in customer_files(tmp_path):
        lines = read_lines(path)
        shares.append(sum(bool(customer_errors(line)) for line in lines) / len(lines))
    assert shares[:-1] == [0.0, 0.0, 0.0]
    assert shares[-1] > 0.05
    assert summary.invalid_lines == round(0.12 * len(read_lines(customer_files(tmp_path)[-1])))


def test_many_chunks_stay_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "CHUNK_LINES", 37)
    summary = generate_landing(tmp_path, customers=500, seed=2, batches=2, invalid_share=0.05)
    records = valid_customers(tmp_path)
    assert len(records) == summary.customer_lines - summary.invalid_lines
    new_ids = {record["id"] for batch, record in records if batch == "customers_0001"}
    assert len(new_ids) == len([1 for batch, _ in records if batch == "customers_0001"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"customers": 0},
        {"customers": 10, "batches": 11},
        {"customers": 10, "invalid_share": 1.5},
        {"customers": 10, "dirty_batch_share": -0.1},
        {"customers": 10, "products": 5},
        {"customers": 10, "days": 0},
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate_landing(tmp_path, **kwargs)
