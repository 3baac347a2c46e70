"""End to end: an incremental run gives the same current state as a rebuild,
and rescores only the customers a new batch touched."""

from __future__ import annotations

import shutil

import pytest
from tests.conftest import Warehouse, make_warehouse

from holdfast.datagen.synthetic import generate_landing

pytestmark = pytest.mark.e2e

CURRENT_STATE = {
    "intermediate.int_customer_records_validated": "batch_id, line_number, is_valid, customer_id",
    "intermediate.int_customers_current": (
        "customer_id, email, first_batch_id, latest_batch_id, latest_line_number, n_records"
    ),
    "intermediate.int_purchases_deduplicated": (
        "purchase_id, customer_id, product_id, batch_id, amount, purchased_at"
    ),
    "intermediate.int_customer_purchase_profiles": (
        "customer_id, product_ids, weights, profile_fingerprint, n_purchases, total_amount"
    ),
    "marts.dim_customers": "customer_id, email, n_purchases, n_products, total_amount",
    "marts.fct_purchases": "purchase_id, customer_id, product_id, batch_id, amount",
}


def _rows(warehouse: Warehouse, table: str, columns: str) -> list[tuple]:
    return warehouse.query(f"select {columns} from {table} order by all")


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> tuple[Warehouse, Warehouse, list[str]]:
    root = tmp_path_factory.mktemp("incremental")
    source = root / "source"
    summary = generate_landing(source, customers=1200, products=300, batches=6, seed=11)
    last = summary.customer_batches[-1]

    incremental = make_warehouse(root / "incremental")
    shutil.copytree(source / "products", incremental.landing_dir / "products", dirs_exist_ok=True)
    for batch in summary.customer_batches[:-1]:
        shutil.copy(source / "customers" / f"{batch}.jsonl", incremental.landing_dir / "customers")
    incremental.dbt("build")
    shutil.copy(source / "customers" / f"{last}.jsonl", incremental.landing_dir / "customers")
    incremental.dbt("build")

    rebuild = make_warehouse(root / "rebuild")
    shutil.copytree(source, rebuild.landing_dir, dirs_exist_ok=True)
    rebuild.dbt("build")
    return incremental, rebuild, [last]


@pytest.mark.parametrize("table", sorted(CURRENT_STATE))
def test_an_incremental_run_gives_the_same_current_state_as_a_rebuild(builds, table):
    incremental, rebuild, _ = builds
    expected = _rows(rebuild, table, CURRENT_STATE[table])
    assert expected, f"{table} is empty"
    assert _rows(incremental, table, CURRENT_STATE[table]) == expected


def test_a_new_batch_rescores_only_the_customers_it_touched(builds):
    incremental, _, (last,) = builds
    runs = incremental.query("select run_id from ops.ops_runs order by run_started_at")
    assert len(runs) == 2
    second_run = runs[1][0]
    rescored = {
        c
        for (c,) in incremental.query(
            "select customer_id from inference.int_recommendations_scored where run_id = ?",
            [second_run],
        )
    }
    in_last_batch = {
        c
        for (c,) in incremental.query(
            "select distinct customer_id from intermediate.int_customer_records_validated "
            "where batch_id = ? and is_valid",
            [last],
        )
    }
    total = incremental.scalar("select count(*) from inference.int_recommendations_scored")
    assert rescored, "the second run scored nobody"
    assert rescored <= in_last_batch
    assert len(rescored) < total / 2
    # the recommender was not refitted for a small batch
    assert incremental.scalar("select count(*) from inference.int_recommender_models") == 1


def test_recommendations_of_untouched_customers_are_kept_from_the_first_run(builds):
    incremental, _, _ = builds
    first_run = incremental.query("select run_id from ops.ops_runs order by run_started_at")[0][0]
    kept = incremental.scalar(
        "select count(distinct customer_id) from marts.fct_recommendations where run_id = ?",
        [first_run],
    )
    assert kept > 0
    duplicates = incremental.scalar(
        "select count(*) from (select customer_id, product_id from marts.fct_recommendations "
        "group by all having count(*) > 1)"
    )
    assert duplicates == 0
