"""holdfast.ops.dlq and `holdfast dlq` on a real DuckDB file shaped like the warehouse.

The tables are created here with the columns the dbt models write (the
end-to-end test tests/e2e/test_faults_and_replay.py runs the real pipeline).
"""

from __future__ import annotations

import fcntl
from pathlib import Path

import duckdb
import pytest

from holdfast import cli
from holdfast.ops import dlq

T0 = "2026-01-01 00:00:00+00"


def _make_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema ops; create schema inference")
    for table, key in dlq.STEP_TABLES.values():
        con.execute(
            f"create table {table} ({key} varchar, status varchar, failed_runs integer, "
            "processed_at timestamptz)"
        )
    con.execute(
        """
        create table ops.ops_dead_letter_queue (
            dead_letter_id varchar, record_key varchar, step varchar, batch_id varchar,
            reason varchar, error varchar, attempts integer, calls_in_last_run integer,
            status varchar, last_run_id varchar, first_failed_at timestamptz,
            last_failed_at timestamptz, resolved_at timestamptz
        )
        """
    )
    rows = [
        ("recommend", "c1", "permanent_error", 5, "exhausted"),
        ("recommend", "c2", "retries_exhausted", 2, "pending"),
        ("recommend", "c3", "permanent_error", 1, "resolved"),
        ("embed_products", "p1", "permanent_error", 5, "exhausted"),
    ]
    for step, key, reason, attempts, status in rows:
        table, _ = dlq.STEP_TABLES[step]
        con.execute(
            f"insert into {table} values (?, ?, ?, ?)",
            [key, "ok" if status == "resolved" else "failed", attempts, T0],
        )
        con.execute(
            "insert into ops.ops_dead_letter_queue values "
            "(?, ?, ?, 'b1', ?, 'boom', ?, 1, ?, 'r1', ?, ?, null)",
            [f"{step}|{key}", key, step, reason, attempts, status, T0, T0],
        )
    # a healthy row that must never be touched
    con.execute("insert into inference.int_recommendations_scored values ('c9', 'ok', 0, ?)", [T0])
    con.close()


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "wh.duckdb"
    _make_warehouse(path)
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(path))
    return path


def _query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_list_filters_by_step_reason_and_status(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        open_rows = dlq.list_dead_letters(con)
        assert [(r.step, r.record_key) for r in open_rows] == [
            ("embed_products", "p1"),
            ("recommend", "c1"),
            ("recommend", "c2"),
        ]
        assert [r.record_key for r in dlq.list_dead_letters(con, step="embed")] == ["p1"]
        assert [r.record_key for r in dlq.list_dead_letters(con, reason="retries_exhausted")] == [
            "c2"
        ]
        assert len(dlq.list_dead_letters(con, statuses=dlq.STATUSES)) == 4
    finally:
        con.close()


def test_requeue_resets_the_attempts_of_matching_failed_rows_only(warehouse):
    con = duckdb.connect(str(warehouse))
    try:
        counts = dlq.requeue(con, step="recommend", reason="permanent_error")
    finally:
        con.close()
    assert counts == {"recommend": 1}
    assert _query(
        warehouse,
        "select customer_id, failed_runs from inference.int_recommendations_scored order by 1",
    ) == [("c1", 0), ("c2", 2), ("c3", 1), ("c9", 0)]
    assert _query(warehouse, "select failed_runs from inference.int_products_embedded") == [(5,)]
    assert _query(
        warehouse, "select record_key, status from ops.ops_dead_letter_queue order by 1"
    ) == [("c1", "pending"), ("c2", "pending"), ("c3", "resolved"), ("p1", "exhausted")]
    assert _query(
        warehouse,
        "select record_key, attempts_before, status_before, filter_step, filter_reason "
        "from ops.dead_letter_requeues",
    ) == [("c1", 5, "exhausted", "recommend", "permanent_error")]


def test_purge_deletes_resolved_rows_only(warehouse):
    con = duckdb.connect(str(warehouse))
    try:
        assert dlq.purge_resolved(con) == 1
    finally:
        con.close()
    assert _query(warehouse, "select record_key from ops.ops_dead_letter_queue order by 1") == [
        ("c1",),
        ("c2",),
        ("p1",),
    ]


def test_filters_are_data_not_sql(warehouse):
    con = duckdb.connect(str(warehouse))
    try:
        hostile = "x' or '1'='1"
        assert dlq.list_dead_letters(con, reason=hostile) == []
        assert dlq.requeue(con, reason=hostile) == {}
        with pytest.raises(ValueError, match="unknown step"):
            dlq.requeue(con, step="recommend'; drop table ops.ops_dead_letter_queue; --")
    finally:
        con.close()
    assert _query(warehouse, "select count(*) from ops.ops_dead_letter_queue") == [(4,)]


def test_cli_requeue_then_list(warehouse, capsys):
    assert cli.main(["dlq", "requeue", "--step", "embed"]) == 0
    assert "requeued 1 dead letter(s) (embed_products 1)" in capsys.readouterr().out
    assert cli.main(["dlq", "list", "--status", "pending"]) == 0
    out = capsys.readouterr().out
    assert "p1" in out and "c1" not in out  # c1 is still exhausted
    assert out.splitlines()[0].split()[:3] == ["step", "record_key", "batch_id"]


def test_cli_purge_needs_the_resolved_flag(warehouse, capsys):
    assert cli.main(["dlq", "purge"]) == 2
    assert "--resolved" in capsys.readouterr().err
    assert cli.main(["dlq", "purge", "--resolved"]) == 0
    assert "purged 1 resolved" in capsys.readouterr().out


def test_cli_writes_wait_for_no_one_when_a_run_holds_the_lock(warehouse, capsys):
    lock = open(f"{warehouse}.lock", "a+")  # noqa: SIM115
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert cli.main(["dlq", "requeue"]) == 3
        assert "holds" in capsys.readouterr().err
        assert cli.main(["dlq", "purge", "--resolved"]) == 3
        assert cli.main(["dlq", "list"]) == 0  # reading needs no lock
    finally:
        lock.close()
    assert _query(warehouse, "select count(*) from ops.ops_dead_letter_queue") == [(4,)]


def test_cli_without_a_warehouse_or_queue_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(tmp_path / "missing.duckdb"))
    assert cli.main(["dlq", "list"]) == 2
    assert "no warehouse" in capsys.readouterr().err
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(empty))
    assert cli.main(["dlq", "list"]) == 2
    assert "run `holdfast run` first" in capsys.readouterr().err
