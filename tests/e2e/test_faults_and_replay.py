"""End to end: injected faults, dead letters, and their replay (real model, real dbt).

A clean build is the reference. A build with HOLDFAST_INJECT_FAULTS set must
finish with everything but the faulted records done; the next build without
faults must resolve the dead letters and give marts identical to the clean
build. With dead_letter_max_attempts reached, the records are exhausted (and
alerted) until `holdfast dlq requeue` gives them new attempts. An encoder
whose child process keeps dying stops the build in seconds, with no product
dead-lettered, and the next build embeds every product.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import (
    PROJECT_ROOT,
    RUN_COLUMNS,
    Warehouse,
    assert_same_rows,
    make_warehouse,
    mart_rows,
)

from holdfast.application.faults import FaultPlan
from holdfast.datagen.synthetic import generate_landing

pytestmark = pytest.mark.e2e

FAULTS = {
    "HOLDFAST_INJECT_FAULTS": (
        "recommend.permanent=0.1,recommend.transient=0.3,embed.transient=0.3"
    ),
    "HOLDFAST_FAULT_SEED": "11",
}
FAST_RETRIES = {"inference_initial_backoff_seconds": 0.01, "inference_batch_size": 16}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("faults-landing")
    generate_landing(root, customers=150, seed=3, products=80, batches=2)
    return root


@pytest.fixture(scope="module")
def clean(tmp_path_factory, landing) -> Warehouse:
    warehouse = make_warehouse(tmp_path_factory.mktemp("clean"))
    warehouse = Warehouse(warehouse.db_path, landing, warehouse.target_dir)
    warehouse.dbt("build", vars=FAST_RETRIES)
    return warehouse


@pytest.fixture(scope="module")
def faulted(tmp_path_factory, landing) -> Warehouse:
    warehouse = make_warehouse(tmp_path_factory.mktemp("faulted"))
    warehouse = Warehouse(warehouse.db_path, landing, warehouse.target_dir)
    warehouse.dbt("build", vars=FAST_RETRIES, env=FAULTS)
    return warehouse


def _copy(source: Warehouse, tmp_path: Path) -> Warehouse:
    copy = Warehouse(tmp_path / "copy.duckdb", source.landing_dir, tmp_path / "target")
    shutil.copy(source.db_path, copy.db_path)
    return copy


def _expected_permanent(warehouse: Warehouse) -> set[str]:
    faults = FaultPlan.parse(FAULTS["HOLDFAST_INJECT_FAULTS"], "11").for_step("recommend")
    scored = [
        c
        for (c,) in warehouse.query("select customer_id from inference.int_recommendations_scored")
    ]
    return {c for c in scored if faults.is_permanently_faulty(c)}


def test_a_faulted_run_finishes_and_dead_letters_exactly_the_faulted_records(
    faulted: Warehouse, clean: Warehouse
):
    dead = faulted.query(
        "select record_key, step, reason, status, attempts from ops.ops_dead_letter_queue"
    )
    permanent = {key for key, _, reason, _, _ in dead if reason == "permanent_error"}
    assert permanent == _expected_permanent(faulted)
    assert 0 < len(permanent) < 40
    # transient faults were retried away: embed never dead-letters, recommend
    # only where the permanent fault hit (or retries ran out, named as such)
    assert {step for _, step, _, _, _ in dead} == {"recommend"}
    assert {d[2] for d in dead} <= {
        "permanent_error",
        "retries_exhausted",
    }
    assert {status for _, _, _, status, _ in dead} == {"pending"}
    assert {attempts for *_, attempts in dead} == {1}
    # the retries happened: some embedding calls needed more than one attempt
    assert faulted.scalar("select max(batch_attempts) from inference.int_products_embedded") > 1
    # everything else is done, and done exactly as in the clean run
    embeddings = (
        "select product_id, embedding, status from inference.int_products_embedded order by 1"
    )
    assert faulted.query(embeddings) == clean.query(embeddings)
    dead_keys = {key for key, *_ in dead}
    recommendations = (
        "select customer_id, product_id, rank, confidence, predicted_value, segment_id "
        "from marts.fct_recommendations order by all"
    )
    clean_rows = clean.query(recommendations)
    assert_same_rows(
        {"fct_recommendations": faulted.query(recommendations)},
        {"fct_recommendations": [r for r in clean_rows if r[0] not in dead_keys]},
    )
    assert {r[0] for r in clean_rows} & dead_keys == dead_keys


def test_the_next_run_without_faults_resolves_them_and_matches_a_run_that_never_failed(
    faulted: Warehouse, clean: Warehouse, tmp_path: Path
):
    replay = _copy(faulted, tmp_path)
    pending = replay.scalar("select count(*) from ops.ops_dead_letter_queue")
    replay.dbt("build", vars=FAST_RETRIES)
    statuses = replay.query("select status, count(*) from ops.ops_dead_letter_queue group by 1")
    assert statuses == [("resolved", pending)]
    assert_same_rows(mart_rows(replay, RUN_COLUMNS), mart_rows(clean, RUN_COLUMNS))


def test_exhausted_dead_letters_alert_and_wait_for_a_requeue(
    faulted: Warehouse, clean: Warehouse, tmp_path: Path
):
    stuck = _copy(faulted, tmp_path)
    one_attempt = {**FAST_RETRIES, "dead_letter_max_attempts": 1}
    stuck.dbt("build", vars=one_attempt)  # faults gone, but no attempts left
    dead = stuck.query("select record_key, status from ops.ops_dead_letter_queue")
    assert dead and {s for _, s in dead} == {"exhausted"}
    alert = stuck.query(
        "select severity, message from ops.ops_alerts where check_name = 'dead_letters_exhausted'"
    )
    assert alert and alert[0][0] == "critical" and f"{len(dead)} record(s)" in alert[0][1]
    missing = stuck.scalar(
        "select count(distinct customer_id) from marts.fct_recommendations"
    ) - clean.scalar("select count(distinct customer_id) from marts.fct_recommendations")
    assert missing == -len(dead)

    env = {**os.environ, "HOLDFAST_DUCKDB_PATH": str(stuck.db_path)}
    requeued = subprocess.run(
        [sys.executable, "-m", "holdfast.cli", "dlq", "requeue", "--step", "recommend"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert requeued.returncode == 0, requeued.stderr
    assert f"requeued {len(dead)} dead letter(s)" in requeued.stdout

    stuck.dbt("build", vars=one_attempt)
    assert stuck.query("select distinct status from ops.ops_dead_letter_queue") == [("resolved",)]
    assert_same_rows(mart_rows(stuck, RUN_COLUMNS), mart_rows(clean, RUN_COLUMNS))
    assert stuck.scalar("select count(*) from ops.dead_letter_requeues") == len(dead)


def test_an_encoder_that_keeps_dying_stops_the_step_in_seconds_and_nothing_is_dead_lettered(
    landing: Path, tmp_path: Path
):
    warehouse = make_warehouse(tmp_path)
    warehouse = Warehouse(warehouse.db_path, landing, warehouse.target_dir)
    select = ("run", "--select", "+int_products_embedded")
    # the default backoff (1 s, 3 retries): retried per batch and then per record,
    # the 5 batches of 16 products against a dead process would wait about 10 minutes
    batches = {"inference_batch_size": 16}
    failed = warehouse.dbt(
        *select, vars=batches, env={"HOLDFAST_INJECT_FAULTS": "embed.crash=1"}, check=False
    )
    assert failed.returncode != 0
    # the step's own error is the headline dbt reports
    headline = failed.stdout.partition("reading the stream")[2].partition("Detail:")[0]
    assert "was killed by SIGKILL" in headline and "no restart left (1 used)" in headline
    assert "no record is at fault" in headline
    step = re.search(r"int_products_embedded \.* ?\[\S*ERROR\S* in ([0-9.]+)s\]", failed.stdout)
    assert step is not None, failed.stdout[-3000:]
    # two model loads (20-30 s each on a busy two-core machine) and no backoff; retried
    # as transient errors, the backoff alone would take 5 x (7 + 16 x 7) = 595 s
    assert float(step.group(1)) < 240
    assert failed.stdout.count("starting a new one") == 1
    # the step wrote nothing: no product is failed or dead-lettered
    tables = warehouse.query(
        "select count(*) from information_schema.tables where table_name = 'int_products_embedded'"
    )
    assert tables == [(0,)]

    warehouse.dbt(*select, vars=batches)
    products = warehouse.scalar("select count(*) from intermediate.int_products_current")
    assert products > 0
    assert warehouse.query(
        "select status, count(*) from inference.int_products_embedded group by 1"
    ) == [("ok", products)]
