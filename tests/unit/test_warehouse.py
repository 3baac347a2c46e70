"""The SQL a Python step streams its pending records with (in-memory DuckDB)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from holdfast import environment
from holdfast.infrastructure import warehouse


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(
        "create table products as select * from (values "
        "('p3', 'a long product text'), ('p1', 'mid text'), ('p2', 'short'), "
        "('p4', 'tiny!'), ('p5', 'changed text')) as t(product_id, product_text)"
    )
    con.execute(
        "create table previous as select * from (values "
        "('p1', 'mid text', 'ok', 0), ('p5', 'old text', 'ok', 0), ('p2', 'short', 'failed', 1)) "
        "as t(product_id, product_text, status, failed_runs)"
    )
    yield con
    con.close()


def _selection(con, previous, **kwargs) -> warehouse.PendingRecords:
    return warehouse.pending_records(
        con,
        "products",
        previous,
        key="product_id",
        columns=["product_id", "product_text"],
        unchanged_when=["p.product_text = s.product_text"],
        max_failed_runs=3,
        **kwargs,
    )


def _pending(con, previous, **kwargs):
    pending = _selection(con, previous, **kwargs)
    return con.execute(pending.sql, pending.params).fetchall()


def _streamed(con, previous, batch_size=2, **kwargs):
    batches = list(warehouse.stream(con, _selection(con, previous, **kwargs), batch_size))
    assert all(b.num_rows <= batch_size for b in batches)
    return [tuple(row.values()) for b in batches for row in b.to_pylist()]


def test_pending_records_come_in_key_order_by_default(con):
    rows = _pending(con, None)
    assert [r[0] for r in rows] == ["p1", "p2", "p3", "p4", "p5"]
    assert {r[2] for r in rows} == {0}


def test_pending_records_skip_unchanged_rows_and_retry_failed_ones(con):
    rows = _pending(con, "previous")
    assert [(r[0], r[2]) for r in rows] == [("p2", 1), ("p3", 0), ("p4", 0), ("p5", 0)]


def test_pending_records_follow_an_explicit_order_with_the_key_as_tie_break(con):
    rows = _pending(con, "previous", order_by="length(s.product_text), s.product_id")
    assert [r[0] for r in rows] == ["p2", "p4", "p5", "p3"]


@pytest.mark.parametrize("previous", [None, "previous"])
@pytest.mark.parametrize("order_by", [None, "length(s.product_text), s.product_id"])
def test_streaming_gives_the_pending_rows_in_their_order(con, previous, order_by):
    # incremental runs stream through a temp table of the pending keys
    streamed = _streamed(con, previous, order_by=order_by)
    assert streamed == _pending(con, previous, order_by=order_by)
    assert len(streamed) == (5 if previous is None else 4)
    tables = "select count(*) from duckdb_tables() where temporary"
    assert con.execute(tables).fetchall() == [(0,)]  # the keys table is dropped


def _streamed_keys(con, pending) -> list[str]:
    return [row["product_id"] for b in warehouse.stream(con, pending, 10) for row in b.to_pylist()]


def test_a_recency_column_bounds_the_row_read_and_loses_no_pending_row(con):
    con.execute("alter table products add column written_at integer default 0")
    con.execute("update products set written_at = 1 where product_id in ('p3', 'p4', 'p5')")
    pending = _selection(con, "previous", recency_column="written_at")
    assert "s.written_at >= ?" in pending.rows_since_sql
    # the failed p2 (written at 0) is retried: the bound is 0, every pending row comes
    assert _streamed_keys(con, pending) == ["p2", "p3", "p4", "p5"]
    con.execute("update previous set status = 'ok' where product_id = 'p2'")
    # only rows written at 1 are pending: the bound is 1
    assert _streamed_keys(con, pending) == ["p3", "p4", "p5"]
    # a pending row without a value in the column: no bound, nothing lost
    con.execute("update products set written_at = null where product_id = 'p4'")
    assert _streamed_keys(con, pending) == ["p3", "p4", "p5"]


def test_nothing_pending_streams_nothing(con):
    con.execute(
        "create table everything_done as select *, 'ok' as status, 0 as failed_runs from products"
    )
    assert _streamed(con, "everything_done") == []
    assert warehouse.count_pending(con, _selection(con, "everything_done")) == 0


def memory_limit(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_setting('memory_limit')").fetchall()[0][0]


def test_a_python_step_lowers_the_memory_limit_and_puts_the_profiles_back(monkeypatch):
    monkeypatch.setenv(environment.DUCKDB_MEMORY_LIMIT, "1500MB")
    con = duckdb.connect()
    con.execute("set memory_limit = '1500MB'")
    before = memory_limit(con)
    done, restore = warehouse.lower_memory_limit(con, "256MB")
    assert memory_limit(con) == "244.1 MiB"  # 256 MB
    assert done == f"memory_limit {before} -> 256MB during the step"
    restore()
    assert memory_limit(con) == before  # the exact profile value, not the rounded one


def test_a_limit_duckdb_refuses_or_an_empty_one_changes_nothing():
    con = duckdb.connect()
    con.execute("set memory_limit = '1GB'")
    before = memory_limit(con)
    done, restore = warehouse.lower_memory_limit(con, "a lot")
    assert done.startswith(f"memory_limit kept at {before}")
    restore()
    assert memory_limit(con) == before
    assert warehouse.lower_memory_limit(con, "")[0] is None
    assert warehouse.lower_memory_limit(object(), "256MB")[0] is None
    assert memory_limit(con) == before


@pytest.fixture
def watermarked():
    """Source rows stamped by the run that wrote them (written_at), the
    step's previous output stamped by the run that processed them
    (processed_at) and the model that made them."""
    con = duckdb.connect()
    con.execute(
        "create table source as select * from (values "
        "('c1', 'f1', 1), ('c2', 'f2', 1), ('c3', 'f3', 1), ('c4', 'f4', 1), "
        "('c5', 'f5b', 3), ('c6', 'f6', 3), ('c7', 'f7', 3)) "
        "as t(customer_id, fingerprint, written_at)"
    )
    con.execute(
        "create table previous as select * from (values "
        "('c1', 'f1', 'm1', 'ok', 0, 2), ('c2', 'f2', 'm1', 'failed', 1, 2), "
        "('c3', 'f3', 'm1', 'failed', 3, 2), ('c5', 'f5', 'm1', 'ok', 0, 2), "
        "('c7', 'f7', 'm1', 'ok', 0, 2)) "
        "as t(customer_id, fingerprint, model_id, status, failed_runs, processed_at)"
    )
    yield con
    con.close()


def _watermarked(con, model_id="m1", shortcut=True):
    return warehouse.pending_records(
        con,
        "source",
        "previous",
        key="customer_id",
        columns=["customer_id", "fingerprint"],
        unchanged_when=["p.fingerprint = s.fingerprint"],
        settings_unchanged_when=["p.model_id = ?"],
        settings_params=[model_id],
        max_failed_runs=3,
        recency_column="written_at",
        previous_recency_column="processed_at" if shortcut else None,
    )


def _keys(con, pending) -> list[tuple[str, int]]:
    return [
        (row["customer_id"], row["previous_failed_runs"])
        for b in warehouse.stream(con, pending, 10)
        for row in b.to_pylist()
    ]


def test_the_watermark_shortcut_finds_the_pending_rows_of_the_full_join(watermarked):
    con = watermarked
    # c2 failed once (retried), c3 is exhausted, c4 was never processed and is
    # older than the watermark (see below), c5 changed, c6 is new, c7 was
    # rewritten unchanged
    full = _keys(con, _watermarked(con, shortcut=False))
    assert full == [("c2", 1), ("c4", 0), ("c5", 0), ("c6", 0)]
    pending = _watermarked(con)
    assert con.execute(pending.watermark_sql, pending.watermark_params).fetchall() == [(2, 0)]
    # the shortcut's assumption: a source row older than the previous output's
    # newest row was there when the step last ran, so the previous output has
    # its result. c4 breaks it on purpose, to show the shortcut is taken.
    assert _keys(con, pending) == [("c2", 1), ("c5", 0), ("c6", 0)]
    con.execute("insert into previous values ('c4', 'f4', 'm1', 'ok', 0, 2)")
    assert _keys(con, pending) == _keys(con, _watermarked(con, shortcut=False))
    tables = "select count(*) from duckdb_tables() where temporary"
    assert con.execute(tables).fetchall() == [(0,)]


def test_a_new_model_or_an_unstamped_row_turns_the_watermark_shortcut_off(watermarked):
    con = watermarked
    con.execute("insert into previous values ('c4', 'f4', 'm1', 'ok', 0, 2)")
    # a new model: every row is pending, old ones included
    assert [k for k, _ in _keys(con, _watermarked(con, model_id="m2"))] == [
        "c1",
        "c2",
        "c3",
        "c4",
        "c5",
        "c6",
        "c7",
    ]
    # a source row without a recency value: the full join finds c1 (changed)
    con.execute("update source set written_at = null, fingerprint = 'f1b' where customer_id = 'c1'")
    pending = _watermarked(con)
    assert con.execute(pending.watermark_sql, pending.watermark_params).fetchall() == [(2, 1)]
    assert [k for k, _ in _keys(con, pending)] == ["c1", "c2", "c5", "c6"]
    # no previous row with a stamp: no watermark, the full join
    con.execute("update previous set processed_at = null")
    assert [k for k, _ in _keys(con, pending)] == ["c1", "c2", "c5", "c6"]


def test_the_pending_rows_are_found_when_the_stream_is_made_not_when_it_is_read(con):
    # dbt-duckdb reads a model's batches inside a statement of its own (on a
    # cursor), which leaves another query half the threads: the join and the
    # sort run before that
    batches = warehouse.stream(con, _selection(con, "previous"), 2)
    con.cursor().execute("insert into products values ('p0', 'arrived after the stream')")
    assert [row["product_id"] for b in batches for row in b.to_pylist()] == ["p2", "p3", "p4", "p5"]
    tables = "select count(*) from duckdb_tables() where temporary"
    assert con.execute(tables).fetchall() == [(0,)]  # the keys table is dropped
    assert [r[0] for r in _pending(con, "previous")] == ["p0", "p2", "p3", "p4", "p5"]


def test_a_failed_stream_raises_its_own_error_not_the_cleanup_s():
    # DuckDB refuses the cleanup's query while the failed statement is open: the
    # stream's error must stay the headline of what the step reports
    con = duckdb.connect()
    schema = pa.schema([("x", pa.int64())])

    def batches():
        yield pa.RecordBatch.from_pydict({"x": [1, 2]}, schema=schema)
        raise RuntimeError("the model process died")

    cleanups: list[int] = []

    def cleanup() -> None:
        cleanups.append(1)
        con.execute("set memory_limit = '1GB'")

    con.register("step_output", warehouse.as_reader(schema, warehouse.then(batches(), cleanup)))
    with pytest.raises(duckdb.Error) as failed:
        con.execute("create table t as select * from step_output")
    headline = str(failed.value).split("Detail:")[0]
    assert "the model process died" in headline and "Resource In Use" not in headline
    assert "and then, cleaning up: " in str(failed.value)
    assert cleanups == [1]


@pytest.mark.parametrize("consumed", ["all", "abandoned"])
def test_the_cleanup_runs_once_after_the_stream_ends_or_is_abandoned(consumed):
    cleanups: list[int] = []
    stream = warehouse.then(iter([1, 2, 3]), lambda: cleanups.append(1))
    if consumed == "all":
        assert list(stream) == [1, 2, 3]
    else:
        assert next(stream) == 1
        stream.close()
    assert cleanups == [1]


def test_a_relation_is_named_by_a_view_of_this_connection_only(tmp_path):
    """A step's input views are temporary: they are not written to the
    warehouse file, and another connection never sees them."""
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as writer:
        writer.execute("create table t as select 1 as a union all select 2")
        name = warehouse.view(writer, writer.sql("select a from t where a > 1"), "hf_t")
        assert writer.execute(f"select a from {name}").fetchall() == [(2,)]
    with duckdb.connect(str(path), read_only=True) as reader:
        assert (
            reader.execute("select view_name from duckdb_views() where not internal").fetchall()
            == []
        )
