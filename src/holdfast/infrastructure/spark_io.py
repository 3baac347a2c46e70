"""Spark side of the Python models: what needs work, as Spark DataFrames.

The Spark twin of `warehouse.py`. dbt-databricks hands a Python model Spark
DataFrames; these helpers name them as temporary views, select the records a
step must (re)process with the same rules as on DuckDB, and run an
application step over each partition with `mapInArrow`: the step receives the
partition as Arrow record batches, exactly as it does on DuckDB, so one
application function serves both engines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC
from typing import Any

import pyarrow as pa

from holdfast.application.records import RunContext

PartitionStep = Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]


def is_spark_session(session: Any) -> bool:
    """True when dbt handed the model a SparkSession (Databricks), not DuckDB."""
    module = type(session).__module__
    return module.startswith("pyspark.")


def view(session: Any, relation: Any, name: str) -> str:
    """Expose a DataFrame (or a table name, dbt's `this`) as temp view `name`."""
    frame = session.table(relation) if isinstance(relation, str) else relation
    frame.createOrReplaceTempView(name)
    return name


def run_context(session: Any, runs: Any) -> RunContext:
    """This run's id and start time, from the ops_runs model."""
    view(session, runs, "hf_runs")
    rows = session.sql(
        "select run_id, run_started_at from hf_runs order by run_started_at desc, run_id limit 1"
    ).collect()
    if not rows:
        raise RuntimeError("ops_runs is empty: build it with the pipeline (dbt build)")
    # pyspark collects timestamps as naive local times of the Python process
    started = rows[0][1]
    started = started.astimezone(UTC) if started.tzinfo is None else started
    return RunContext(run_id=rows[0][0], run_started_at=started)


def first_row(session: Any, sql: str, params: Sequence[Any] | None = None) -> tuple | None:
    """The first row of a Spark SQL query (positional `?` parameters), or None."""
    rows = session.sql(sql, args=list(params)).take(1) if params else session.sql(sql).take(1)
    return tuple(rows[0]) if rows else None


def pending_records(
    session: Any,
    source: Any,
    previous: str | None,
    *,
    key: str,
    columns: Sequence[str],
    unchanged_when: Sequence[str],
    max_failed_runs: int,
    unchanged_params: Sequence[Any] = (),
    where: str = "true",
) -> Any:
    """The rows of `source` (alias s) a step must process, as a DataFrame.

    Same rule as `warehouse.pending_records`: a row is skipped when the step's
    previous output (alias p) has a row with the same key for which every
    `unchanged_when` condition holds, unless that row failed in fewer than
    `max_failed_runs` runs. Adds `previous_failed_runs`.
    """
    source_view = view(session, source, f"hf_source_{key}")
    listed = ", ".join(f"s.{c}" for c in columns)
    if previous is None:
        return session.sql(
            f"select {listed}, 0 as previous_failed_runs from {source_view} as s where {where}"
        )
    previous_view = view(session, previous, f"hf_previous_{key}")
    matched = " and ".join([f"p.{key} = s.{key}", *unchanged_when])
    return session.sql(
        f"select {listed}, coalesce(p.failed_runs, 0) as previous_failed_runs "
        f"from {source_view} as s left join {previous_view} as p on {matched} "
        f"where ({where}) and (p.{key} is null or (p.status = 'failed' and p.failed_runs < ?))",
        args=[*unchanged_params, max_failed_runs],
    )


def spark_compatible(schema: pa.Schema) -> pa.Schema:
    """The Arrow schema Spark exchanges: variable-size lists, nullable fields."""

    def plain(data_type: pa.DataType) -> pa.DataType:
        if pa.types.is_fixed_size_list(data_type) or pa.types.is_list(data_type):
            return pa.list_(plain(data_type.value_type))
        if pa.types.is_struct(data_type):
            return pa.struct([pa.field(f.name, plain(f.type)) for f in data_type])
        return data_type

    return pa.schema([pa.field(f.name, plain(f.type)) for f in schema])


def spark_type(data_type: pa.DataType) -> str:
    """Spark SQL type (DDL) of an Arrow type used by the steps."""
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "string"
    if pa.types.is_int32(data_type):
        return "int"
    if pa.types.is_int64(data_type):
        return "bigint"
    if pa.types.is_float32(data_type):
        return "float"
    if pa.types.is_float64(data_type):
        return "double"
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_binary(data_type):
        return "binary"
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_list(data_type) or pa.types.is_fixed_size_list(data_type):
        return f"array<{spark_type(data_type.value_type)}>"
    if pa.types.is_struct(data_type):
        return "struct<" + ", ".join(f"{f.name}: {spark_type(f.type)}" for f in data_type) + ">"
    raise TypeError(f"no Spark type for Arrow {data_type}")


def spark_ddl(schema: pa.Schema) -> str:
    """A DDL schema string (`a string, b array<float>`) for mapInArrow."""
    return ", ".join(f"{f.name} {spark_type(f.type)}" for f in schema)


def map_partitions(frame: Any, step: PartitionStep, output_schema: pa.Schema) -> Any:
    """Run `step` over every partition of `frame` with mapInArrow.

    `step` is called once per partition (so a model it loads is loaded once
    per partition) with the partition's record batches, and yields batches of
    `output_schema`; they are handed to Spark in its exchange types.
    """
    exchanged = spark_compatible(output_schema)

    def run_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in step(batches):
            yield pa.RecordBatch.from_arrays(
                [
                    column.cast(field.type)
                    for column, field in zip(batch.columns, exchanged, strict=True)
                ],
                schema=exchanged,
            )

    return frame.mapInArrow(run_partition, spark_ddl(output_schema))


def collect_arrow(frame: Any) -> pa.Table:
    """A small DataFrame (one model row, a catalog) on the driver, as Arrow."""
    return frame.toArrow()


def from_arrow(session: Any, table: pa.Table) -> Any:
    """A small Arrow table made on the driver (a fitted model's row) as a
    Spark DataFrame with the columns of `spark_ddl(table.schema)`."""
    if table.num_rows == 0:
        return session.createDataFrame([], spark_ddl(table.schema))
    return session.createDataFrame(table.cast(spark_compatible(table.schema)))
