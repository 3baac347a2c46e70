"""The human summary and the read-only query command, on a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from holdfast.cli import main
from holdfast.ops.summary import print_summary, table_counts


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema ops")
    con.execute("create table marts.dim_customers as select range as customer_id from range(7)")
    con.execute(
        "create table ops.ops_alerts as select 'a1' as alert_id, now() as raised_at, "
        "'warning' as severity, 'schema_error_rate' as check_name, "
        "'Batch b2: 8.0% of lines failed' as message"
    )
    con.close()
    return path


def test_table_counts_lists_every_contract_table_and_marks_missing_ones(warehouse: Path):
    con = duckdb.connect(str(warehouse), read_only=True)
    counts = table_counts(con)
    con.close()
    assert counts["marts.dim_customers"] == 7
    assert counts["ops.ops_alerts"] == 1
    assert counts["marts.fct_recommendations"] is None
    assert len(counts) == 16


def test_summary_prints_counts_alerts_path_and_a_query(warehouse: Path, capsys):
    print_summary(warehouse)
    out = capsys.readouterr().out
    assert str(warehouse) in out
    assert "marts.dim_customers" in out and " 7" in out
    assert "[warning] schema_error_rate: Batch b2: 8.0% of lines failed" in out
    assert "holdfast query" in out


def test_query_command_live_reads_the_warehouse_beside_another_reader(
    warehouse: Path, capsys, monkeypatch
):
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(warehouse))
    other = duckdb.connect(str(warehouse), read_only=True)  # another reader is fine
    assert main(["query", "--live", "select count(*) as n from marts.dim_customers"]) == 0
    other.close()
    assert "7" in capsys.readouterr().out


def test_query_command_without_a_snapshot_or_a_warehouse_says_so(
    tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(tmp_path / "none.duckdb"))
    monkeypatch.setenv("HOLDFAST_PUBLISHED_PATH", str(tmp_path / "none_published.duckdb"))
    assert main(["query", "select 1"]) == 6
    err = capsys.readouterr().err
    assert "no published snapshot" in err and "none_published.duckdb" in err
    assert main(["query", "--live", "select 1"]) == 6
    assert "no warehouse" in capsys.readouterr().err
