"""The analysts' snapshot: a copy of the `marts` and `ops` schemas in its own DuckDB file.

Analysts open it read-only, so their queries never wait for (or block) the
writer's lock on the warehouse. It is written to a temporary file beside the
target and swapped in with `os.replace`, so a reader sees the old snapshot or
the new one, never half of one. Views are materialised as tables (their SQL
names the warehouse's catalog, which the snapshot does not have). Table and
column comments (the model descriptions dbt's persist_docs writes) are copied
too, so analysts' tools show them. Only the analyst and operator schemas are
copied: staging and inference hold raw input lines and model internals.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS = ("marts", "ops")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _copy_comments(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, name: str) -> None:
    """Give the copy of `schema.name` the source relation's table and column comments."""
    qualified = f"{_ident(schema)}.{_ident(name)}"
    relation = con.execute(
        "select comment from duckdb_tables() "
        "where database_name = ? and schema_name = ? and table_name = ? "
        "union all "
        "select comment from duckdb_views() "
        "where database_name = ? and schema_name = ? and view_name = ?",
        [catalog, schema, name] * 2,
    ).fetchall()
    for (comment,) in relation:
        if comment:
            con.execute(f"comment on table {qualified} is {_literal(comment)}")
    columns = con.execute(
        "select column_name, comment from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? and comment is not null",
        [catalog, schema, name],
    ).fetchall()
    for column, comment in columns:
        con.execute(f"comment on column {qualified}.{_ident(column)} is {_literal(comment)}")


def _temporary_files(target: Path) -> list[Path]:
    """The files of publishers' temporary snapshots beside `target` (DuckDB
    files and their write-ahead logs), whichever process wrote them."""
    return sorted(target.parent.glob(f".{glob.escape(target.stem)}-publishing-*.duckdb*"))


def publish_snapshot(source: Path, target: Path) -> dict[str, int]:
    """Copy the published schemas of `source` into `target` atomically; rows per table.

    Runs under the run lock, so one publisher at a time: a temporary snapshot
    left beside the target by a publisher that was killed is deleted first
    (its name carries that publisher's pid, so nothing else would ever
    remove it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in _temporary_files(target):
        leftover.unlink(missing_ok=True)
    temp = target.with_name(f".{target.stem}-publishing-{os.getpid()}.duckdb")
    catalog = source.stem
    counts: dict[str, int] = {}
    con = duckdb.connect(str(temp))
    try:
        path_literal = str(source.resolve()).replace("'", "''")
        con.execute(f"attach '{path_literal}' as {_ident(catalog)} (read_only)")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = ? and table_schema in (select unnest(?)) "
            "order by table_schema, table_name",
            [catalog, list(PUBLISHED_SCHEMAS)],
        ).fetchall()
        for schema in sorted({s for s, _ in tables}):
            con.execute(f"create schema if not exists {_ident(schema)}")
        for schema, name in tables:
            qualified = f"{_ident(schema)}.{_ident(name)}"
            con.execute(f"create table {qualified} as select * from {_ident(catalog)}.{qualified}")
            _copy_comments(con, catalog, schema, name)
            counts[f"{schema}.{name}"] = con.execute(
                f"select count(*) from {qualified}"
            ).fetchall()[0][0]
        con.execute(f"detach {_ident(catalog)}")
        con.execute("checkpoint")
    except BaseException:
        con.close()
        for partial in _temporary_files(target):
            partial.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(temp, target)
    return counts
