"""End to end: every customer is recommended to, or told why not (real model, real dbt).

dim_customers.recommendation_status is checked against what is counted
independently: the customers without purchases from the landing file's own
lines, the recommended ones from fct_recommendations, and, when a threshold
no candidate can reach rejects them all, the rule that rejected most of each
customer's candidates counted in Python from fct_rejected_recommendations.
Setting the range back rechecks every candidate without rescoring anyone:
the statuses must follow (and equal a fresh build's).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from tests.conftest import RUN_COLUMNS, Warehouse, assert_same_rows, make_warehouse, mart_rows

from holdfast.datagen.synthetic import generate_landing

pytestmark = pytest.mark.e2e

RULE_ORDER = [  # the seed recommendation_rules, in rule_order
    "in_stock",
    "confidence_threshold",
    "not_already_purchased",
    "predicted_value_in_range",
]
# a value range no candidate falls in: every candidate breaks at least this
# rule (the first broken may be an earlier one, the confidence threshold)
UNREACHABLE = {"predicted_value_min": 1e9, "predicted_value_max": 2e9}


def _landing(root: Path) -> Path:
    generate_landing(root, customers=80, seed=9, products=60, batches=1)
    # three customers who never bought anything, in a batch of their own
    lines = [
        {
            "id": f"00000000-0000-4000-8000-00000000000{i}",
            "email": f"no.purchases{i}@example.com",
            "purchaseHistory": [],
            "createdAt": "2025-02-01T00:00:00Z",
        }
        for i in range(3)
    ]
    (root / "customers" / "customers_9000.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines)
    )
    return root


def _customers_by_purchases(landing: Path) -> tuple[set[str], set[str]]:
    """(customers with purchases, customers without), from the files' own lines."""
    with_purchases, without = set(), set()
    for path in sorted((landing / "customers").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            (with_purchases if record["purchaseHistory"] else without).add(record["id"])
    return with_purchases, without - with_purchases


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    return _landing(tmp_path_factory.mktemp("status-landing"))


@pytest.fixture(scope="module")
def built(tmp_path_factory, landing) -> Warehouse:
    empty = make_warehouse(tmp_path_factory.mktemp("status"))
    warehouse = Warehouse(empty.db_path, landing, empty.target_dir)
    warehouse.dbt("build")
    return warehouse


def _statuses(warehouse: Warehouse) -> dict[str, tuple[str, int, str | None]]:
    return {
        customer: (status, n, rule)
        for customer, status, n, rule in warehouse.query(
            "select customer_id, recommendation_status, n_recommendations, rejected_most_by "
            "from marts.dim_customers"
        )
    }


def test_every_customer_is_recommended_or_told_why(built: Warehouse, landing: Path):
    with_purchases, without = _customers_by_purchases(landing)
    statuses = _statuses(built)
    assert set(statuses) == with_purchases | without
    assert {c for c, s in statuses.items() if s[0] == "no_purchases"} == without
    recommended_rows = Counter(
        c for (c,) in built.query("select customer_id from marts.fct_recommendations")
    )
    assert {c for c, s in statuses.items() if s[0] == "recommended"} == set(recommended_rows)
    assert all(statuses[c][1] == n for c, n in recommended_rows.items())
    assert all(s[1] == 0 for c, s in statuses.items() if c not in recommended_rows)
    # on this catalog nearly everyone with purchases is recommended to
    assert len(recommended_rows) >= 0.9 * len(with_purchases)


def test_a_rule_nobody_passes_says_which_rule_rejected_most(
    built: Warehouse, landing: Path, tmp_path: Path
):
    strict = Warehouse(tmp_path / "strict.duckdb", landing, tmp_path / "target")
    shutil.copy(built.db_path, strict.db_path)
    strict.dbt("build", vars=UNREACHABLE)

    with_purchases, without = _customers_by_purchases(landing)
    statuses = _statuses(strict)
    assert strict.scalar("select count(*) from marts.fct_recommendations") == 0
    rejected = {c for c, s in statuses.items() if s[0] == "all_candidates_rejected"}
    assert rejected == with_purchases
    # the rule that was the first broken of most candidates, counted here
    counts: dict[str, Counter] = {}
    for customer, rule in strict.query(
        "select customer_id, rule_id from marts.fct_rejected_recommendations"
    ):
        counts.setdefault(customer, Counter())[rule] += 1
    for customer in rejected:
        most = max(counts[customer].values())
        expected = min((r for r, n in counts[customer].items() if n == most), key=RULE_ORDER.index)
        assert statuses[customer] == ("all_candidates_rejected", 0, expected), customer
    assert {s[2] for c, s in statuses.items() if c in without} == {None}

    # the range back at its default: every candidate is checked again
    # (nobody is rescored), and the statuses follow, as a fresh build has them
    strict.dbt("build")
    fresh = Warehouse(tmp_path / "fresh.duckdb", landing, tmp_path / "fresh-target")
    fresh.dbt("build")
    assert _statuses(strict) == _statuses(built)
    assert_same_rows(mart_rows(strict, RUN_COLUMNS), mart_rows(fresh, RUN_COLUMNS))
