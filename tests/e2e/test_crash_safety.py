"""End to end: processes die (SIGKILL), runs overlap; nothing is lost or doubled.

`dbt build` is started in its own process group; when its output shows the
START line of a chosen model, the whole group gets SIGKILL. A rerun must then
give marts identical to an uninterrupted build (run-specific columns aside).
A second `holdfast run` started while one runs must exit at once with code 3
and leave the first run's result untouched; so must one started after only
`holdfast run` was killed while its dbt child still builds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import PROJECT_ROOT, Warehouse, assert_same_marts, make_warehouse

from holdfast.datagen.synthetic import generate_landing
from holdfast.infrastructure.run_lock import is_alive

pytestmark = [pytest.mark.e2e, pytest.mark.crash]

KEYS = {
    "dim_customers": "customer_id",
    "fct_purchases": "purchase_id",
    "fct_customer_segments": "customer_id",
    "dim_products": "product_id",
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash-landing")
    generate_landing(root, customers=150, seed=5, products=80, batches=2, invalid_share=0.05)
    return root


@pytest.fixture(scope="module")
def reference(tmp_path_factory, landing) -> Warehouse:
    warehouse = make_warehouse(tmp_path_factory.mktemp("reference"))
    warehouse = Warehouse(warehouse.db_path, landing, warehouse.target_dir)
    warehouse.dbt("build")
    return warehouse


def _dbt_command(warehouse: Warehouse, log_dir: Path) -> list[str]:
    dbt_bin = Path(sys.executable).parent / "dbt"
    return [
        str(dbt_bin if dbt_bin.exists() else "dbt"),
        "build",
        "--target-path",
        str(warehouse.target_dir),
        "--log-path",
        str(log_dir),
        "--vars",
        json.dumps({"landing_dir": str(warehouse.landing_dir)}),
    ]


def _environment(warehouse: Warehouse) -> dict[str, str]:
    return {
        **os.environ,
        "HOLDFAST_DUCKDB_PATH": str(warehouse.db_path),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "DO_NOT_TRACK": "1",
    }


def kill_build_at(warehouse: Warehouse, model: str, delay_seconds: float, log_dir: Path) -> str:
    """Run `dbt build`, SIGKILL its process group `delay_seconds` after the
    START line of `model`; return the output up to the kill."""
    started = re.compile(rf"START .*model [a-z_]+\.{re.escape(model)}\b")
    process = subprocess.Popen(
        _dbt_command(warehouse, log_dir),
        cwd=PROJECT_ROOT,
        env=_environment(warehouse),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    try:
        assert process.stdout is not None
        for output_line in process.stdout:
            seen.append(output_line)
            if started.search(output_line):
                time.sleep(delay_seconds)
                os.killpg(process.pid, signal.SIGKILL)
                break
        else:
            pytest.fail(f"dbt never started {model}:\n{''.join(seen)[-3000:]}")
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    return "".join(seen)


def _assert_no_duplicates(warehouse: Warehouse) -> None:
    for table, key in KEYS.items():
        duplicated = warehouse.scalar(f"select count(*) - count(distinct {key}) from marts.{table}")
        assert duplicated == 0, table
    assert (
        warehouse.scalar(
            "select count(*) from (select customer_id, rank from marts.fct_recommendations "
            "group by all having count(*) > 1)"
        )
        == 0
    )


@pytest.mark.parametrize(
    ("model", "delay_seconds"),
    [
        # ingestion: the first staging model reading the landing files
        ("stg_landing__customer_lines", 0.0),
        # inference: the embedding model, killed while it loads and runs the model
        ("int_products_embedded", 3.0),
    ],
)
def test_a_killed_build_then_a_rerun_equals_an_uninterrupted_build(
    reference: Warehouse, landing: Path, tmp_path: Path, model: str, delay_seconds: float
):
    crashed = Warehouse(tmp_path / "crashed.duckdb", landing, tmp_path / "target")
    kill_build_at(crashed, model, delay_seconds, tmp_path / "logs")
    # the kill came before the marts: the first build did not finish
    assert (
        crashed.scalar(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'fct_recommendations'"
        )
        == 0
    )
    crashed.dbt("build")
    _assert_no_duplicates(crashed)
    assert_same_marts(crashed, reference)
    ledger = (
        "select source, batch_id, rows_in, rows_valid, rows_invalid, status "
        "from ops.ops_batch_ledger order by all"
    )
    assert crashed.query(ledger) == reference.query(ledger)
    dead = "select count(*) from ops.ops_dead_letter_queue where status <> 'resolved'"
    assert crashed.scalar(dead) == 0


def test_a_second_holdfast_run_exits_at_once_with_code_3_and_harms_nothing(
    reference: Warehouse, landing: Path, tmp_path: Path
):
    warehouse = Warehouse(tmp_path / "locked.duckdb", landing, tmp_path / "target")
    command = [
        sys.executable,
        "-m",
        "holdfast.cli",
        "run",
        "--",
        *_dbt_command(warehouse, tmp_path / "logs")[2:],
    ]
    env = {**_environment(warehouse), "HOLDFAST_PROJECT_DIR": str(PROJECT_ROOT)}
    first = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert first.stdout is not None
        for output_line in first.stdout:  # wait until the first run is inside dbt
            if "START" in output_line:
                break
        started = time.monotonic()
        second = subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
        )
        elapsed = time.monotonic() - started
        rest = first.stdout.read()
    finally:
        first.wait(timeout=600)
    assert second.returncode == 3, second.stderr
    assert elapsed < 15  # at once: python start-up, no waiting on the lock
    assert "another run" in second.stderr and f"pid {first.pid}" in second.stderr
    assert first.returncode == 0, rest[-3000:]
    _assert_no_duplicates(warehouse)
    assert_same_marts(warehouse, reference)


def _run_environment(warehouse: Warehouse, out: Path) -> dict[str, str]:
    """`holdfast run`'s environment: the snapshot, report and alert file under `out`."""
    return {
        **_environment(warehouse),
        "HOLDFAST_PROJECT_DIR": str(PROJECT_ROOT),
        "HOLDFAST_PUBLISHED_PATH": str(out / "published.duckdb"),
        "HOLDFAST_REPORT_PATH": str(out / "report.html"),
        "HOLDFAST_ALERT_JSONL_PATH": str(out / "alerts.jsonl"),
    }


def test_killing_only_holdfast_run_leaves_the_lock_held_until_its_dbt_child_ends(
    reference: Warehouse, landing: Path, tmp_path: Path
):
    warehouse = Warehouse(tmp_path / "orphan.duckdb", landing, tmp_path / "target")
    command = [
        sys.executable,
        "-m",
        "holdfast.cli",
        "run",
        "--",
        *_dbt_command(warehouse, tmp_path / "logs")[2:],
    ]
    env = _run_environment(warehouse, tmp_path)
    lock_path = Path(f"{warehouse.db_path}.lock")
    output = tmp_path / "first-run.log"
    with open(output, "w") as log:  # a file, not a pipe: nobody reads it once the parent dies
        first = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 300
    while "START" not in output.read_text():  # dbt is building
        assert first.poll() is None and time.monotonic() < deadline, output.read_text()[-3000:]
        time.sleep(0.2)
    holders = lock_path.read_text().split()
    assert holders[:2] == [str(first.pid), "child"]
    dbt_pid = int(holders[2])
    assert is_alive(dbt_pid)

    os.kill(first.pid, signal.SIGKILL)  # only holdfast run; its dbt child goes on
    first.wait(timeout=30)
    second = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )
    child_outlived_the_second_run = is_alive(dbt_pid)

    assert child_outlived_the_second_run, "the build ended before the check: inconclusive"
    assert second.returncode == 3, second.stdout[-3000:] + second.stderr
    assert "START" not in second.stdout  # it never started dbt
    assert f"pid {first.pid}, ended; its child pid {dbt_pid} still runs" in second.stderr

    deadline = time.monotonic() + 600
    while is_alive(dbt_pid):
        assert time.monotonic() < deadline, "the orphaned dbt build did not end"
        time.sleep(0.5)
    finished = output.read_text()
    assert "Done. PASS=" in finished and " ERROR=0 " in finished  # the orphan built it all
    third = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr
    _assert_no_duplicates(warehouse)
    assert_same_marts(warehouse, reference)
