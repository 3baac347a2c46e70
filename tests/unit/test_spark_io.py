"""The Spark exchange schema of the steps' outputs (no Spark needed)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from holdfast.application import customer_vectors, embedding, recommend, segments
from holdfast.infrastructure.spark_io import is_spark_session, spark_compatible, spark_ddl


def test_vectors_become_variable_size_float_arrays_and_every_field_nullable():
    schema = spark_compatible(embedding.output_schema(384))
    assert schema.field("embedding").type == pa.list_(pa.float32())
    assert all(field.nullable for field in schema)


def test_every_step_output_has_a_spark_ddl_schema():
    ddl = spark_ddl(recommend.output_schema())
    assert ddl.startswith("customer_id string, scoring_fingerprint string, segment_id int")
    assert "candidates array<struct<" in ddl
    assert "processed_at timestamp" in ddl
    for schema in (
        embedding.output_schema(384),
        customer_vectors.output_schema(384),
        segments.assignment_schema(),
    ):
        ddl = spark_ddl(schema)
        assert ddl.startswith(f"{schema.field(0).name} string, ")
        assert ddl.endswith("run_id string, processed_at timestamp")


def test_a_type_spark_cannot_hold_is_refused_by_name():
    with pytest.raises(TypeError, match="no Spark type"):
        spark_ddl(pa.schema([pa.field("d", pa.duration("s"))]))


def test_a_duckdb_connection_is_not_a_spark_session():
    con = duckdb.connect()
    try:
        assert not is_spark_session(con)
    finally:
        con.close()
