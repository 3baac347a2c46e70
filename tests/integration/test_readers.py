"""The analysts' commands read the published snapshot and are never refused.

A real writer holds the live warehouse: a separate process with a read-write
DuckDB connection, inserting rows until it is told to stop (DuckDB then
refuses every other process, even read-only, as it does while `holdfast run`
builds). The commands are run as subprocesses of the real CLI. What they must
answer is counted independently: the rows this test put in the snapshot.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from holdfast.ops.exit_codes import ExitCode
from holdfast.ops.publish import publish_snapshot

CUSTOMERS = 137

WRITER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists staging.writes (n integer)")
print("holding", flush=True)
n = 0
while not sys.stdin.readline().strip():  # one empty line per write the test asks for
    n += 1
    con.execute("insert into staging.writes values (?)", [n])
    print("wrote", flush=True)
con.close()
"""


@contextmanager
def writing(path: Path) -> Iterator[subprocess.Popen]:
    """A process that holds `path` read-write (and writes to it on request) for the block."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdin is not None
        assert writer.stdout.readline().strip() == "holding"
        yield writer
    finally:
        if writer.stdin is not None:
            writer.stdin.write("stop\n")
            writer.stdin.close()
        writer.wait(timeout=60)


def write_once(writer: subprocess.Popen) -> None:
    assert writer.stdin is not None and writer.stdout is not None
    writer.stdin.write("\n")
    writer.stdin.flush()
    assert writer.stdout.readline().strip() == "wrote"


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    """A live warehouse with marts, ops and staging, and its published snapshot."""
    live = tmp_path / "warehouse" / "holdfast.duckdb"
    live.parent.mkdir()
    con = duckdb.connect(str(live))
    for schema in ("marts", "ops", "staging"):
        con.execute(f"create schema {schema}")
    con.execute(
        "create table marts.dim_customers as "
        f"select 'c' || range as customer_id, 'x' as email from range({CUSTOMERS})"
    )
    con.execute(
        "create table ops.ops_alerts as select 'a1' as alert_id, now() as raised_at, "
        "'warning' as severity, 'schema_error_rate' as check_name, 'Batch b2: 8%' as message, "
        "'b2' as batch_id, 'r1' as run_id"
    )
    con.execute("create table ops.ops_dead_letter_queue as select 1 as n")
    con.close()
    published = tmp_path / "published" / "holdfast_published.duckdb"
    publish_snapshot(live, published)
    return {"live": live, "published": published, "root": tmp_path}


def cli(paths: dict[str, Path], *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HOLDFAST_DUCKDB_PATH": str(paths["live"]),
        "HOLDFAST_PUBLISHED_PATH": str(paths["published"]),
        "HOLDFAST_PROJECT_DIR": str(paths["root"]),
    }
    return subprocess.run(
        [sys.executable, "-m", "holdfast.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess, command: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"holdfast {command}: ")
    for raw in ("Traceback", "IOException", "IO Error", "Could not set lock"):
        assert raw not in result.stderr
    return lines[0]


def test_thirty_queries_during_a_write_all_answer_from_the_snapshot(paths):
    sql = "select count(*) as n_customers from marts.dim_customers"
    with writing(paths["live"]) as writer:
        # the writer really shuts out the live file
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(paths["live"]), read_only=True)
        with ThreadPoolExecutor(max_workers=5) as pool:
            results = list(pool.map(lambda _: cli(paths, "query", sql), range(30)))
        write_once(writer)  # and it was writing all along
    assert [r.returncode for r in results] == [ExitCode.OK] * 30, [r.stderr for r in results]
    assert all(str(CUSTOMERS) in r.stdout for r in results)
    assert all(r.stderr == "" for r in results)


def test_live_during_a_write_says_so_in_one_line_with_its_own_exit_code(paths):
    with writing(paths["live"]):
        query = cli(paths, "query", "--live", "select 1")
        summary = cli(paths, "summary", "--live")
        report = cli(paths, "report", "--live", "--out", str(paths["root"] / "r.html"))
        dead = cli(paths, "dlq", "list")
    for result, command in ((query, "query"), (summary, "summary"), (report, "report")):
        assert result.returncode == ExitCode.BUSY, result.stderr
        line = assert_one_clear_line(result, command)
        assert f"the live warehouse {paths['live']} is being written" in line
        assert "leave out --live" in line
    assert dead.returncode == ExitCode.BUSY, dead.stderr
    assert "is being written" in assert_one_clear_line(dead, "dlq")
    assert not (paths["root"] / "r.html").exists()


def test_summary_and_report_read_the_snapshot_during_a_write(paths):
    out = paths["root"] / "report.html"
    with writing(paths["live"]):
        summary = cli(paths, "summary")
        report = cli(paths, "report", "--out", str(out))
    assert summary.returncode == ExitCode.OK, summary.stderr
    assert f"holdfast published snapshot: {paths['published']}" in summary.stdout
    rows = [line.split() for line in summary.stdout.splitlines()]
    counted = [words for words in rows if words[:1] == ["marts.dim_customers"]]
    assert counted == [["marts.dim_customers", str(CUSTOMERS)]]
    assert "[warning] schema_error_rate: Batch b2: 8%" in summary.stdout
    assert report.returncode == ExitCode.OK, report.stderr
    assert "the published snapshot" in report.stdout and out.stat().st_size > 1000


def test_a_query_that_fails_says_why_in_one_line(paths):
    bad_sql = cli(paths, "query", "selec 1")
    no_table = cli(paths, "query", "select * from staging.writes")  # not in the snapshot
    writes = cli(paths, "query", "create table marts.t as select 1")  # read-only
    for result in (bad_sql, no_table, writes):
        assert result.returncode == ExitCode.READ_FAILED, result.stderr
        line = assert_one_clear_line(result, "query")
        assert f"failed on the published snapshot {paths['published']}" in line
    assert "syntax error" in bad_sql.stderr.lower()
    assert "writes" in no_table.stderr


def test_a_missing_or_unreadable_snapshot_says_so(paths):
    paths["published"].unlink()
    missing = cli(paths, "query", "select 1")
    assert missing.returncode == ExitCode.NOTHING_TO_READ
    line = assert_one_clear_line(missing, "query")
    assert "no published snapshot" in line and "--live" in line
    summary = cli(paths, "summary")
    assert summary.returncode == ExitCode.NOTHING_TO_READ
    assert_one_clear_line(summary, "summary")
    paths["published"].write_bytes(b"not a duckdb file" * 100)
    garbage = cli(paths, "query", "select 1")
    assert garbage.returncode == ExitCode.READ_FAILED
    assert "cannot read the published snapshot" in assert_one_clear_line(garbage, "query")
