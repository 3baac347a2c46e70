"""End to end: an incremental run gives the same current state as a rebuild,
and rescores only the customers a new batch touched."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from tests.conftest import Warehouse, make_warehouse

from holdfast.datagen.synthetic import generate_landing
from holdfast.entrypoints.steps._shared import POOL_MIN_RECORD_BATCHES

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


CANDIDATES_CHECKED = "intermediate.int_recommendation_candidates_checked"
CHECKED_COLUMNS = (
    "customer_id, product_id, first_broken_rule_id, candidate_rank, recommendation_rank, "
    "confidence, failed_rules, passes_rules, rules_fingerprint"
)


def _rows(warehouse: Warehouse, table: str, columns: str) -> list[tuple]:
    return warehouse.query(f"select {columns} from {table} order by all")


def _scratch_tables_created(log_dir: Path) -> set[str]:
    """The scratch tables of several pieces a dbt run created in a model's
    schema (materialization batched_incremental), from its debug log (every
    statement is logged there; the drop afterwards is not a create)."""
    log = (log_dir / "dbt.log").read_text()
    return set(re.findall(r"create\s+table\s+(\S*__dbt_pieces\S*)", log))


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


def _tables(warehouse: Warehouse) -> list[tuple]:
    return warehouse.query(
        "select schema_name, table_name from duckdb_tables()"
        " where database_name = current_database() order by all"
    )


def test_an_incremental_run_leaves_the_same_tables_as_a_rebuild(builds):
    """No scratch or staging table survives a run: the incremental warehouse
    holds exactly the rebuild's tables, whatever each model staged."""
    incremental, rebuild, _ = builds
    assert _tables(incremental) == _tables(rebuild)


def _views(warehouse: Warehouse) -> set[str]:
    rows = warehouse.query(
        "select view_name from duckdb_views()"
        " where database_name = current_database() and not internal"
    )
    return {name for (name,) in rows}


def test_the_steps_leave_no_view_of_their_own_in_the_warehouse(builds):
    """The Python steps name their inputs as views for their SQL; those views
    live in the step's connection only. Every view the warehouse (and so the
    snapshot analysts read) holds is a model of the project, counted from its
    files."""
    project = Path(__file__).resolve().parents[2]
    models = {
        path.stem for path in (project / "models").rglob("*") if path.suffix in {".sql", ".py"}
    }
    for warehouse in builds[:2]:
        views = _views(warehouse)
        assert views, "the project has view models; none found"
        assert views <= models, sorted(views - models)


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


def test_key_tests_check_the_latest_run_unless_asked_for_everything(builds, tmp_path):
    """Key tests on per-customer tables check the rows the latest run wrote
    (their cost follows the run, not the table); `test_scope: all` checks every
    row, so an old duplicate is caught by the deep check only."""
    incremental, _, _ = builds
    copy = Warehouse(tmp_path / "copy.duckdb", incremental.landing_dir, tmp_path / "target")
    shutil.copyfile(incremental.db_path, copy.db_path)
    table = "intermediate.int_purchases_deduplicated"

    def duplicate_one_row(stamp: str) -> None:
        with duckdb.connect(str(copy.db_path)) as con:
            con.execute(
                f"insert into {table} select * from {table} "
                f"where refreshed_at = (select {stamp}(refreshed_at) from {table}) "
                "order by purchase_id limit 1"
            )

    key_tests = ("test", "--select", "int_purchases_deduplicated,test_type:generic")
    duplicate_one_row("min")  # a row the first run wrote
    assert copy.dbt(*key_tests, check=False).returncode == 0
    deep = copy.dbt(*key_tests, vars={"test_scope": "all"}, check=False)
    assert deep.returncode == 1
    assert "Failure in test unique_int_purchases_deduplicated_purchase_id" in deep.stdout

    duplicate_one_row("max")  # a row the latest run wrote
    latest = copy.dbt(*key_tests, check=False)
    assert latest.returncode == 1
    assert "Failure in test unique_int_purchases_deduplicated_purchase_id" in latest.stdout

    wrong = copy.dbt(*key_tests, vars={"test_scope": "some"}, check=False)
    assert wrong.returncode != 0
    assert "test_scope must be 'latest' or 'all'" in wrong.stdout


def test_the_pair_key_test_reports_exactly_the_duplicated_pair(builds, tmp_path):
    """unique_combination_of_columns groups by a hash of the columns first,
    then by the columns: a duplicated (customer, product) is reported once,
    with its count."""
    incremental, _, _ = builds
    copy = Warehouse(tmp_path / "copy.duckdb", incremental.landing_dir, tmp_path / "target")
    shutil.copyfile(incremental.db_path, copy.db_path)
    table = "intermediate.int_recommendation_candidates_checked"
    pair_test = (
        "test",
        "--select",
        "int_recommendation_candidates_checked,test_name:unique_combination_of_columns",
    )
    assert copy.dbt(*pair_test, check=False).returncode == 0
    with duckdb.connect(str(copy.db_path)) as con:
        con.execute(
            f"insert into {table} select * from {table} "
            f"where generated_at = (select max(generated_at) from {table}) "
            "order by customer_id, product_id limit 1"
        )
    failed = copy.dbt(*pair_test, check=False)
    assert failed.returncode == 1
    assert "Failure in test unique_combination_of_columns_int_recommendation_candidates" in (
        failed.stdout
    )
    assert "Got 1 result, configured to fail if != 0" in failed.stdout


def test_product_statistics_follow_their_refresh_policy(builds, tmp_path):
    """A run recomputes the catalog-wide sales figures only when enough
    purchases changed (or when forced), and what it computes is exact."""
    incremental, _, _ = builds
    copy = Warehouse(tmp_path / "copy.duckdb", incremental.landing_dir, tmp_path / "target")
    shutil.copyfile(incremental.db_path, copy.db_path)
    table = "intermediate.int_product_statistics"
    stamps = f"select distinct computed_at from {table}"
    # the last batch rewrote more than 5% of the purchases: everything was recomputed
    (after_second_build,) = copy.query(stamps)

    select = ("run", "--select", "int_product_statistics")
    copy.dbt(*select, vars={"product_statistics_refresh_share": 1})
    assert copy.query(stamps) == [after_second_build]  # nothing changed since: nothing computed

    copy.dbt(*select, vars={"product_statistics_refresh": True})
    (forced,) = copy.query(stamps)
    assert forced != after_second_build
    expected = copy.query(
        "select c.product_id, count(p.purchase_id), count(distinct p.customer_id), "
        "round(coalesce(median(p.amount), any_value(c.price)), 2) "
        "from intermediate.int_products_current as c "
        "left join intermediate.int_purchases_deduplicated as p on p.product_id = c.product_id "
        "group by c.product_id order by c.product_id"
    )
    computed = copy.query(
        f"select product_id, n_purchases, n_customers, typical_spend from {table} "
        "order by product_id"
    )
    assert computed == expected
    assert any(row[1] > 0 for row in computed)


def test_candidates_checked_rebuilt_in_one_statement_equal_the_incremental_rows(builds, tmp_path):
    """The rule checks run as one statement with DuckDB's join-order
    optimizers off (each join builds the side written on the right); a full
    refresh gives the rows the incremental runs left, and the optimizers are
    turned back on after the model."""
    incremental, _, _ = builds
    copy = Warehouse(tmp_path / "copy.duckdb", incremental.landing_dir, tmp_path / "target")
    shutil.copyfile(incremental.db_path, copy.db_path)
    kept = _rows(copy, CANDIDATES_CHECKED, CHECKED_COLUMNS)
    assert kept
    logs = tmp_path / "logs"
    copy.dbt(
        "run",
        "--select",
        "int_recommendation_candidates_checked",
        "--full-refresh",
        "--log-path",
        str(logs),
    )
    assert _rows(copy, CANDIDATES_CHECKED, CHECKED_COLUMNS) == kept
    assert _scratch_tables_created(logs) == set()
    statements = (logs / "dbt.log").read_text()
    turned_off = statements.index(
        "set disabled_optimizers = 'join_order,build_side_probe_side,common_subplan'"
    )
    created = statements.index("int_recommendation_candidates_checked", turned_off)
    assert statements.index("reset disabled_optimizers", created) > created


def test_an_incremental_run_sizes_its_buckets_by_the_pending_customers(builds, tmp_path):
    """With bucket sizes that split all customers into several buckets, an
    incremental run with few customers pending runs the bucketed model as
    one statement (no scratch table) and recomputes those customers, to the
    rows of the rebuild; the rule checks recompute only the customers
    rescored since their last run, to the same rows as before."""
    incremental, rebuild, _ = builds
    copy = Warehouse(tmp_path / "copy.duckdb", incremental.landing_dir, tmp_path / "target")
    shutil.copyfile(incremental.db_path, copy.db_path)
    profiles = "intermediate.int_customer_purchase_profiles"
    checked_before = _rows(copy, CANDIDATES_CHECKED, CHECKED_COLUMNS)
    assert copy.scalar("select count(*) from intermediate.int_customers_current") > 2 * 250

    # 7 customers pending for each model, as upstream runs leave them: rows
    # written after the models' last run (a rescoring, rewritten purchases)
    pending = 7
    with duckdb.connect(str(copy.db_path)) as con:
        con.execute(
            "update inference.int_recommendations_scored set processed_at = now() "
            f"where customer_id in (select distinct customer_id from {CANDIDATES_CHECKED} "
            f"order by customer_id limit {pending})"
        )
        con.execute(
            "update intermediate.int_purchases_deduplicated set refreshed_at = now() "
            f"where customer_id in (select customer_id from {profiles} where n_purchases > 0 "
            f"order by customer_id limit {pending})"
        )
        last_checked = con.execute(
            f"select max(generated_at) from {CANDIDATES_CHECKED}"
        ).fetchone()[0]
        last_profiled = con.execute(f"select max(refreshed_at) from {profiles}").fetchone()[0]

    logs = tmp_path / "logs"
    result = copy.dbt(
        "run",
        "--select",
        "int_customer_purchase_profiles",
        "int_recommendation_candidates_checked",
        "--log-path",
        str(logs),
        vars={"profile_bucket_customers": 250},
    )
    assert f"int_customer_purchase_profiles: 1 bucket for {pending} pending customers" in (
        result.stdout
    )
    assert _scratch_tables_created(logs) == set()

    # those customers, and only those, were recomputed, to the same rows
    recomputed_checks = copy.scalar(
        f"select count(distinct customer_id) from {CANDIDATES_CHECKED} where generated_at > ?",
        [last_checked],
    )
    recomputed_profiles = copy.scalar(
        f"select count(*) from {profiles} where refreshed_at > ?", [last_profiled]
    )
    assert (recomputed_checks, recomputed_profiles) == (pending, pending)
    assert _rows(copy, CANDIDATES_CHECKED, CHECKED_COLUMNS) == checked_before
    columns = CURRENT_STATE[profiles]
    assert _rows(copy, profiles, columns) == _rows(rebuild, profiles, columns)


def test_steps_in_worker_processes_write_the_same_rows_under_dbt(builds, tmp_path):
    """Segment assignment and scoring spawn worker processes from inside dbt
    when a step reads at least POOL_MIN_RECORD_BATCHES record batches (here of
    25 rows); the rows are the same as in the dbt process."""
    incremental, _, _ = builds
    tables = {
        "inference.int_customers_segmented": (
            "customer_id, profile_fingerprint, segment_model_id, segment_id, "
            "membership_strength, status"
        ),
        "inference.int_recommendations_scored": (
            "customer_id, scoring_fingerprint, segment_id, candidates, recommender_version, status"
        ),
    }
    rows = {}
    for processes in (1, 2):
        copy = Warehouse(
            tmp_path / f"p{processes}.duckdb", incremental.landing_dir, tmp_path / f"t{processes}"
        )
        shutil.copyfile(incremental.db_path, copy.db_path)
        out = copy.dbt(
            "run",
            "--select",
            "int_customers_segmented",
            "int_recommendations_scored",
            "--full-refresh",
            vars={"inference_processes": processes},
            env={"HOLDFAST_STREAM_BATCH_ROWS": "25"},
        )
        started = [line for line in out.stdout.splitlines() if "worker processes" in line]
        assert len(started) == (2 if processes == 2 else 0), started
        rows[processes] = {
            table: copy.query(f"select {columns} from {table} order by all")
            for table, columns in tables.items()
        }
    for table in tables:
        assert len(rows[1][table]) >= 25 * POOL_MIN_RECORD_BATCHES
        assert rows[2][table] == rows[1][table]
