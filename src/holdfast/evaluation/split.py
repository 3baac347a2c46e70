"""Temporal split of the UCI Online Retail data: train landing files and test truth.

Train: the invoice lines before the cutoff, turned into landing files by the
same importer users run (`holdfast import-online-retail`), so the pipeline and
the baselines see exactly the same purchases, catalog and stock (the importer's
stock rule then reads "sold in the 90 days before the cutoff"). Test: for every
customer who bought before the cutoff, the products they bought in the
`horizon_days` after it and had not bought before (the importer's exclusion
rules apply to test lines too). Nothing is copied into the project: the train
parquet and landing files live in a work folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from holdfast.datagen import online_retail


@dataclass(frozen=True)
class Split:
    """Train on purchases before `cutoff`, test on the next `horizon_days` days."""

    name: str
    cutoff: date
    horizon_days: int

    def __post_init__(self) -> None:
        if self.horizon_days < 1:
            raise ValueError("horizon_days must be >= 1")

    @property
    def test_end(self) -> date:
        return self.cutoff + timedelta(days=self.horizon_days)

    def as_dict(self) -> dict[str, str | int]:
        return {
            "name": self.name,
            "train_before": self.cutoff.isoformat(),
            "test_from": self.cutoff.isoformat(),
            "test_before": self.test_end.isoformat(),
            "horizon_days": self.horizon_days,
        }


# Settings are chosen on `validation`, whose test window ends where `test` starts.
SPLITS = {
    "validation": Split("validation", date(2011, 8, 1), 61),
    "test": Split("test", date(2011, 10, 1), 61),
}


RECENT_DAYS = 30


@dataclass
class SplitData:
    """What every method is trained on and judged against."""

    split: Split
    landing_dir: Path
    train_pairs: list[tuple[str, str]]  # (customer uuid, product id), distinct
    catalog: list[str]  # product ids of the train catalog, sorted
    in_stock: set[str]
    truth: dict[str, set[str]]  # customer uuid -> new products bought in the test window
    recent_pairs: list[tuple[str, str]]  # (customer uuid, product id) bought in the last
    # RECENT_DAYS before the cutoff: the recency signal of the prototype blend


def _cleaned_lines(con: duckdb.DuckDBPyConnection, parquet: Path) -> None:
    # the importer's own rules, so train and test lines are cleaned alike
    online_retail._load(con, parquet, online_retail.BATCH_FORMATS["month"])


def _catalog(landing_dir: Path) -> tuple[list[str], set[str]]:
    path = landing_dir / "products" / f"{online_retail.PRODUCT_SNAPSHOT_ID}.jsonl"
    products = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    catalog = sorted(p["productId"] for p in products)
    return catalog, {p["productId"] for p in products if p["stockQuantity"] > 0}


def prepare_split(parquet: Path, split: Split, workdir: Path) -> SplitData:
    """Write the train landing files under `workdir` and compute the test truth."""
    parquet = Path(parquet)
    if not parquet.is_file():
        raise FileNotFoundError(f"Online Retail parquet not found: {parquet}")
    workdir.mkdir(parents=True, exist_ok=True)
    train_parquet = workdir / "train.parquet"
    cutoff = datetime.combine(split.cutoff, datetime.min.time())
    end = datetime.combine(split.test_end, datetime.min.time())
    with duckdb.connect() as con:
        con.execute(
            "copy (select * from read_parquet(?) where invoice_date < ?) to "
            f"'{_quoted(train_parquet)}' (format parquet)",
            [str(parquet), cutoff],
        )
        _cleaned_lines(con, parquet)
        train = con.execute(
            "select distinct customer_id, code from lines "
            "where reason is null and invoice_date < ? order by 1, 2",
            [cutoff],
        ).fetchall()
        recent = con.execute(
            "select distinct customer_id, code from lines where reason is null "
            "and invoice_date >= ? and invoice_date < ? order by 1, 2",
            [cutoff - timedelta(days=RECENT_DAYS), cutoff],
        ).fetchall()
        test = con.execute(
            "select distinct customer_id, code from lines "
            "where reason is null and invoice_date >= ? and invoice_date < ? order by 1, 2",
            [cutoff, end],
        ).fetchall()
    if not train:
        raise ValueError(f"no purchases before {split.cutoff}: nothing to train on")
    landing = workdir / "landing"
    online_retail.import_online_retail(train_parquet, landing)
    catalog, in_stock = _catalog(landing)
    uuid_of = {c: online_retail.customer_uuid(c) for c in {c for c, _ in train}}
    bought = {(uuid_of[c], p) for c, p in train}
    truth: dict[str, set[str]] = {}
    for customer_id, product in test:
        customer = uuid_of.get(customer_id)
        if customer is None or (customer, product) in bought:
            continue  # a new customer, or a repeat purchase: not a recommendation target
        truth.setdefault(customer, set()).add(product)
    recent_pairs = [(uuid_of[c], p) for c, p in recent]
    return SplitData(split, landing, sorted(bought), catalog, in_stock, truth, recent_pairs)


def _quoted(path: Path) -> str:
    text = str(path)
    if "'" in text:
        raise ValueError(f"work folder path must not contain a quote: {text}")
    return text
