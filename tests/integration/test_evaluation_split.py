"""The temporal split of `holdfast evaluate` on the real Online Retail data: no leakage."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from holdfast.evaluation.split import Split, prepare_split

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def split_data(tmp_path_factory):
    from tests.conftest import ONLINE_RETAIL_PARQUET

    if not ONLINE_RETAIL_PARQUET.exists():
        pytest.skip(f"UCI Online Retail parquet not found at {ONLINE_RETAIL_PARQUET}")
    work = tmp_path_factory.mktemp("split")
    return prepare_split(ONLINE_RETAIL_PARQUET, Split("t", date(2011, 3, 1), 30), work)


def test_train_landing_files_hold_only_purchases_before_the_cutoff(split_data):
    dates = []
    for path in sorted((split_data.landing_dir / "customers").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            dates += [p["date"] for p in json.loads(line)["purchaseHistory"]]
    assert dates and max(dates) < "2011-03-01"
    assert min(dates) >= "2010-12-01"


def test_truth_is_new_products_of_known_customers_only(split_data):
    bought = set(split_data.train_pairs)
    customers = {c for c, _ in bought}
    assert split_data.truth
    for customer, products in split_data.truth.items():
        assert customer in customers
        assert products and not any((customer, p) in bought for p in products)


def test_stock_follows_the_importer_rule_before_the_cutoff(split_data):
    # in stock = sold in the 90 days before the cutoff: a subset of the catalog
    assert split_data.in_stock <= set(split_data.catalog)
    recent = {p for _, p in split_data.recent_pairs}
    assert recent <= split_data.in_stock  # sold in the last 30 days: surely in stock


def test_a_missing_parquet_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="not found"):
        prepare_split(tmp_path / "nope.parquet", Split("t", date(2011, 3, 1), 30), tmp_path)


def test_a_split_needs_a_positive_horizon():
    with pytest.raises(ValueError, match="horizon_days"):
        Split("t", date(2011, 3, 1), 0)
