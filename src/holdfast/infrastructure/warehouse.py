"""DuckDB side of the Python models: what needs work, streamed as Arrow.

The Python models get lazy DuckDB relations from dbt; these helpers name them
as temporary views, select the records a step must (re)process, and stream
the result in record batches, so memory holds one batch, not a table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from holdfast import environment
from holdfast.application.parallel import in_one_thread
from holdfast.application.records import RunContext, array_to_vectors
from holdfast.infrastructure.spark_io import is_spark_session
from holdfast.infrastructure.step_telemetry import ExpectedRows


def view(con: duckdb.DuckDBPyConnection, relation: Any, name: str) -> str:
    """Expose a relation (or a dbt `this` name) to SQL as temp view `name`.

    Temporary, so it lives in this connection only: a relation's own
    `create_view` writes a persistent view into the warehouse file, where it
    would outlive the step and reach the published snapshot."""
    query = f"select * from {relation}" if isinstance(relation, str) else relation.sql_query()
    con.execute(f"create or replace temp view {name} as {query}")
    return name


def run_context(con: duckdb.DuckDBPyConnection, runs: Any) -> RunContext:
    """This run's id and start time, from the ops_runs model."""
    view(con, runs, "hf_runs")
    rows = con.execute(
        "select run_id, run_started_at from hf_runs order by run_started_at desc, run_id limit 1"
    ).fetchall()
    if not rows:
        raise RuntimeError("ops_runs is empty: build it with the pipeline (dbt build)")
    return RunContext(run_id=rows[0][0], run_started_at=rows[0][1])


# the bound of the rows' read: the oldest pending recency value, none when a
# pending row has no value (then every row group is read)
OLDEST_PENDING = "case when count(recent_at) = count(*) then min(recent_at) end"


def stream(
    con: duckdb.DuckDBPyConnection, pending: PendingRecords, batch_size: int
) -> Iterator[pa.RecordBatch]:
    """Record batches of a step's pending records, at most `batch_size` rows
    each. The rows are counted first (for progress ETAs). On an incremental
    run the join with the step's previous output runs once: the pending keys
    go to a temporary table, which gives the count and then the rows (the
    join over 2M customers took 1.5 s, and ran twice: to count, to stream).
    When there are no rows, no row query runs.

    The count, the keys and the row query's blocking part (its sort) run
    now, when `stream` is called (in the step's model function); the rows
    are fetched as the batches are taken. dbt-duckdb consumes a model's
    batches with a statement of its own, and while that statement runs,
    another query gets half the threads: the pending keys of 2 million
    scored customers took 4.7 s then, 2.3 s before it."""
    if pending.keys_sql is None:
        rows = first_row(con, f"select count(*) from ({pending.sql})", pending.params)[0]
        ExpectedRows.announce(rows)
        if rows == 0:
            return iter(())
        relation = (
            con.sql(pending.sql, params=pending.params) if pending.params else con.sql(pending.sql)
        )
        return _batches(relation.to_arrow_reader(batch_size))
    keys_sql, keys_params = pending.keys_sql, pending.params
    if pending.watermark_sql is not None:
        watermark, blockers = first_row(con, pending.watermark_sql, pending.watermark_params)
        if watermark is not None and blockers == 0:
            keys_sql = pending.keys_since_sql
            keys_params = [watermark, *pending.params, watermark, pending.params[-1]]
    con.execute(
        f"create or replace temp table {pending.keys_table} as {keys_sql}", keys_params
    ).fetchall()
    drop = f"drop table if exists {pending.keys_table}"
    try:
        rows, oldest = first_row(
            con,
            f"select count(*), {OLDEST_PENDING if pending.recency_column else 'null'} "
            f"from {pending.keys_table}",
        )
        ExpectedRows.announce(rows)
        if rows == 0:
            con.execute(drop).fetchall()
            return iter(())
        if oldest is None:  # no recency column (or no value in it): every row group
            relation = con.sql(pending.rows_sql)
        else:
            relation = con.sql(pending.rows_since_sql, params=[oldest])
        reader = relation.to_arrow_reader(batch_size)
    except BaseException:
        con.execute(drop).fetchall()
        raise
    return _batches(reader, con, drop)


def _batches(
    reader: pa.RecordBatchReader,
    con: duckdb.DuckDBPyConnection | None = None,
    cleanup: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """The reader's record batches; then `cleanup` runs on `con`."""
    try:
        yield from reader
    finally:
        if cleanup is not None and con is not None:
            con.execute(cleanup).fetchall()


def then(batches: Iterable[pa.RecordBatch], done: Callable[[], None]) -> Iterator[pa.RecordBatch]:
    """`batches`, then `done()` once they end, fail or are abandoned. When the
    batches fail, their error is the one raised: an error of `done()` then
    (DuckDB refuses a query while the failed stream's statement is open) is
    only a note on it, so the step's own message stays the headline."""
    try:
        yield from batches
    except BaseException as failure:
        try:
            done()
        except Exception as cleanup:
            failure.add_note(f"and then, cleaning up: {type(cleanup).__name__}: {cleanup}")
        raise
    done()


def count_pending(con: duckdb.DuckDBPyConnection, pending: PendingRecords) -> int:
    """How many records are pending (runs the selection once more)."""
    return first_row(con, f"select count(*) from ({pending.sql})", pending.params)[0]


def as_reader(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> pa.RecordBatchReader:
    """A RecordBatchReader dbt-duckdb streams into the model's table; the
    batches are computed by one dedicated thread (parallel.in_one_thread),
    whichever DuckDB thread asks for them."""
    return pa.RecordBatchReader.from_batches(schema, in_one_thread(batches))


def vectors_by_key(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | None, dimension: int | None = None
) -> tuple[list[str], np.ndarray]:
    """(keys, matrix) from a query returning (key, vector) rows; small tables only."""
    table = (con.sql(sql, params=params) if params else con.sql(sql)).to_arrow_table()
    keys = table.column(0).to_pylist()
    if dimension is None:
        vector_type = table.schema.field(1).type
        dimension = vector_type.list_size if hasattr(vector_type, "list_size") else 0
    matrix, _ = array_to_vectors(table.column(1), dimension)
    return keys, matrix


@dataclass(frozen=True)
class PendingRecords:
    """The records a step must (re)process, as SQL.

    `sql` (with `params`) selects them in one query: the step's columns, then
    previous_failed_runs, in order. On an incremental run (a previous output
    exists) `keys_sql` selects only the pending keys and their
    previous_failed_runs, for temp table `keys_table`, and `rows_sql` reads
    the step's columns for the keys in that table, in the same order: what
    `stream` runs, so the join with the previous output runs once. With a
    `recency_column`, the keys table also holds it (as recent_at), and
    `rows_since_sql` is `rows_sql` limited to the rows whose recency column is
    at least its one parameter (the oldest pending value).

    With `watermark_sql` (one row: the newest recency value of the previous
    output, and how many rows keep the shortcut from holding), `stream` uses
    `keys_since_sql` when that count is 0: the join with the previous output
    only for source rows written since the watermark, and for older ones only
    the failed rows to retry. Its parameters: the watermark, `params`, the
    watermark, max_failed_runs.
    """

    sql: str
    params: list
    keys_sql: str | None = None
    keys_table: str | None = None
    rows_sql: str | None = None
    rows_since_sql: str | None = None
    recency_column: str | None = None
    watermark_sql: str | None = None
    watermark_params: list | None = None
    keys_since_sql: str | None = None


def pending_records(
    con: duckdb.DuckDBPyConnection,
    source: Any,
    previous: str | None,
    *,
    key: str,
    columns: Sequence[str],
    unchanged_when: Sequence[str],
    max_failed_runs: int,
    unchanged_params: Sequence[Any] = (),
    where: str = "true",
    order_by: str | None = None,
    recency_column: str | None = None,
    settings_unchanged_when: Sequence[str] = (),
    settings_params: Sequence[Any] = (),
    previous_recency_column: str | None = None,
) -> PendingRecords:
    """The rows of `source` (alias s) a step must process.

    A row is skipped when the step's previous output (`previous`, the model's
    own table, alias p) has a row with the same key for which every
    `unchanged_when` condition holds, unless that row failed and has failed in
    fewer than `max_failed_runs` runs (then it is retried). The output carries
    `previous_failed_runs`, so the step can count failing runs. Rows come in
    `order_by` order (default: the key; it must end with the key, so the order
    is total). `key` must be unique in `source`.

    `recency_column` (optional): a column of `source` that each run stamps on
    the rows it writes (processed_at, refreshed_at). The rows are then read
    only where it is at least the oldest pending row's value, a constant
    DuckDB checks against each row group's range: on a run whose pending rows
    are the ones just written it skips the old row groups (reading 20,000
    new customers' vectors scanned all 2 million otherwise: 1.2 s).

    `settings_unchanged_when` (with `settings_params`): conditions on the
    previous row alone (the model it was made with), part of the match like
    `unchanged_when`. With both recency columns, `previous_recency_column`
    (a column of the previous output that each run stamps on the rows it
    writes, with the same clock as `recency_column`), an incremental run
    may look for changed rows only among the newest source rows
    (_watermark_queries).
    """
    source_view = view(con, source, f"hf_source_{key}")
    order = order_by or f"s.{key}"
    listed = ", ".join(f"s.{c}" for c in columns)
    if previous is None:
        sql = (
            f"select {listed}, 0 as previous_failed_runs from {source_view} as s "
            f"where {where} order by {order}"
        )
        return PendingRecords(sql=sql, params=[])
    return _pending_since_previous(
        source_view,
        view(con, previous, f"hf_previous_{key}"),
        key=key,
        listed=listed,
        order=order,
        where=where,
        matched=" and ".join([f"p.{key} = s.{key}", *unchanged_when, *settings_unchanged_when]),
        params=[*unchanged_params, *settings_params, max_failed_runs],
        recency_column=recency_column,
        previous_recency_column=previous_recency_column,
        settings_unchanged_when=settings_unchanged_when,
        settings_params=settings_params,
    )


def _pending_since_previous(
    source_view: str,
    previous_view: str,
    *,
    key: str,
    listed: str,
    order: str,
    where: str,
    matched: str,
    params: list,
    recency_column: str | None,
    previous_recency_column: str | None,
    settings_unchanged_when: Sequence[str],
    settings_params: Sequence[Any],
) -> PendingRecords:
    """pending_records when the step has a previous output: the source rows with no
    `matched` previous row, or whose previous row failed and may be retried."""
    retry = "(p.status = 'failed' and p.failed_runs < ?)"
    selection = (
        f"from {source_view} as s left join {previous_view} as p on {matched} "
        f"where ({where}) and (p.{key} is null or {retry})"
    )
    keys_table = f"hf_pending_{key}"
    recent = f", s.{recency_column} as recent_at" if recency_column else ""
    rows_from = (
        f"select {listed}, k.previous_failed_runs from {source_view} as s "
        f"inner join {keys_table} as k on s.{key} = k.{key}"
    )
    keys_columns = f"s.{key}, coalesce(p.failed_runs, 0) as previous_failed_runs{recent}"
    watermark_sql = keys_since_sql = None
    if recency_column and previous_recency_column:
        watermark_sql, keys_since_sql = _watermark_queries(
            source_view,
            previous_view,
            key=key,
            recency_column=recency_column,
            previous_recency_column=previous_recency_column,
            settings_unchanged_when=settings_unchanged_when,
            keys_columns=keys_columns,
            matched=matched,
            where=where,
            retry=retry,
        )
    return PendingRecords(
        sql=(
            f"select {listed}, coalesce(p.failed_runs, 0) as previous_failed_runs "
            f"{selection} order by {order}"
        ),
        params=params,
        keys_sql=f"select {keys_columns} {selection}",
        keys_table=keys_table,
        rows_sql=f"{rows_from} order by {order}",
        rows_since_sql=(
            f"{rows_from} where s.{recency_column} >= ? order by {order}"
            if recency_column
            else None
        ),
        recency_column=recency_column,
        watermark_sql=watermark_sql,
        watermark_params=list(settings_params),
        keys_since_sql=keys_since_sql,
    )


def _watermark_queries(
    source_view: str,
    previous_view: str,
    *,
    key: str,
    recency_column: str,
    previous_recency_column: str,
    settings_unchanged_when: Sequence[str],
    keys_columns: str,
    matched: str,
    where: str,
    retry: str,
) -> tuple[str, str]:
    """(watermark_sql, keys_since_sql) of pending_records with both recency columns.

    An incremental run whose previous rows all meet the settings conditions
    and whose source rows all have a recency value looks for changed rows
    only among the source rows written since the previous output's newest
    row: every older source row was there, unchanged, when the step last
    wrote, so the previous output holds its result (to retry if it failed).
    The full join of the two 2-million-row tables took 0.9-1.7 s; the pending
    keys are the same (tests/unit/test_warehouse.py).
    """
    settings_hold = " and ".join(settings_unchanged_when) or "true"
    watermark_sql = (
        f"select (select max(p.{previous_recency_column}) from {previous_view} as p), "
        f"(select count(*) from {previous_view} as p where ({settings_hold}) is not true) "
        f"+ (select count(*) from {source_view} as s where s.{recency_column} is null)"
    )
    keys_since_sql = (
        f"select {keys_columns} from (select * from {source_view} "
        f"where {recency_column} >= ?) as s left join {previous_view} as p on {matched} "
        f"where ({where}) and (p.{key} is null or {retry}) "
        f"union all select {keys_columns} from {source_view} as s "
        f"inner join {previous_view} as p on p.{key} = s.{key} "
        f"where s.{recency_column} < ? and ({where}) and {retry}"
    )
    return watermark_sql, keys_since_sql


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, or None."""
    rows = con.execute(sql, list(params or [])).fetchall()
    return rows[0] if rows else None


def _shown_limit(limit: str) -> str:
    """How DuckDB shows a memory limit (it rounds: '1500MB' shows '1.3 GiB')."""
    scratch = duckdb.connect()
    try:
        scratch.execute(f"set memory_limit = '{limit}'")
        return str(scratch.execute("select current_setting('memory_limit')").fetchall()[0][0])
    finally:
        scratch.close()


def lower_memory_limit(con: Any, limit: str | None) -> tuple[str | None, Any]:
    """Lower DuckDB's memory_limit to `limit` while a Python step runs.

    DuckDB's buffer pool keeps up to the profile's limit (1.5 GB) of cached
    pages from the SQL models before; a Python step's own memory (a model,
    its batches, worker processes) comes on top. Lowering the limit evicts
    those pages (they are on disk) and gives the memory back at once; the
    step's queries spill past it if they must. Returns (what was done, a
    function that puts the previous limit back). The previous limit is read
    back as DuckDB shows it, rounded; when that is how the profile's
    HOLDFAST_DUCKDB_MEMORY_LIMIT shows, the exact profile value is restored.
    No-op for a non-DuckDB session, an empty `limit`, or a limit DuckDB refuses.
    """
    # dbt-duckdb hands Python models a cursor wrapper, not a DuckDBPyConnection
    if not limit or not callable(getattr(con, "execute", None)) or is_spark_session(con):
        return None, lambda: None
    shown = str(first_row(con, "select current_setting('memory_limit')")[0])
    try:
        con.execute(f"set memory_limit = '{limit}'")
    except duckdb.Error as error:
        return f"memory_limit kept at {shown} ({type(error).__name__}: {error})", lambda: None
    profile = environment.duckdb_memory_limit()
    previous = profile if _shown_limit(profile) == shown else shown

    def restore() -> None:
        con.execute(f"set memory_limit = '{previous}'")

    return f"memory_limit {shown} -> {limit} during the step", restore
