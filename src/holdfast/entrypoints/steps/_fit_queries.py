"""How the two fits read their inputs, on either engine.

A fit (segment_fit, recommender_fit) reads a population count, the newest
fitted model, a deterministic sample of customers and the catalog with SQL
over temporary views, then fits on one machine. The SQL is written once; the
engines differ in three spellings only (`FitDialect`): the sample rank
(DuckDB `sha256`, Spark `sha2(..., 256)`: the same lowercase hex digest, so
the same order), the length of a list, and an ordered string aggregate.

`FitQueries` is what a fit needs from an engine: temp views, the first row
of a query, and a (small) query result as Arrow on this machine. The DuckDB
queries are here; the Spark ones are in `entrypoints.spark_fits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from holdfast.domain.segmentation import SAMPLE_RANK_SQL
from holdfast.infrastructure import warehouse


@dataclass(frozen=True)
class FitDialect:
    """The spellings the fits' SQL needs that differ between engines."""

    # sha256 hex of `seed:customer_id`, the seed as the one `?` parameter
    sample_rank: str
    # the number of items of a list
    list_length: str
    # texts joined by a separator in a fixed order: {expr}, {separator}, {order}
    ordered_string_agg: str

    def string_agg(self, expr: str, separator: str, order: str) -> str:
        return self.ordered_string_agg.format(expr=expr, separator=separator, order=order)


DUCKDB_DIALECT = FitDialect(
    sample_rank=SAMPLE_RANK_SQL,
    list_length="len",
    ordered_string_agg="string_agg({expr}, {separator} order by {order})",
)

SPARK_DIALECT = FitDialect(
    sample_rank="sha2(? || ':' || customer_id, 256)",
    list_length="size",
    ordered_string_agg="string_agg({expr}, {separator}) within group (order by {order})",
)


class FitQueries(Protocol):
    """One engine's way to run the fits' SQL."""

    dialect: FitDialect

    def view(self, relation: Any, name: str) -> str:
        """Expose a relation (or a table name, dbt's `this`) as temp view `name`."""
        ...

    def first_row(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        """The first row of a query (positional `?` parameters), or None."""
        ...

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """A query's whole (small) result on this machine, in its order."""
        ...


class DuckDBFitQueries:
    """The fits' SQL on the DuckDB connection dbt-duckdb hands a Python model."""

    dialect = DUCKDB_DIALECT

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def view(self, relation: Any, name: str) -> str:
        return warehouse.view(self.con, relation, name)

    def first_row(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return warehouse.first_row(self.con, sql, list(params))

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self.con.sql(sql, params=list(params) or None).to_arrow_table()
