"""publish_snapshot: marts and ops in their own file, views as tables, swapped in atomically."""

from __future__ import annotations

import duckdb

from holdfast.ops.publish import publish_snapshot


def test_snapshot_holds_marts_and_ops_only_and_views_still_read(tmp_path):
    source = tmp_path / "holdfast.duckdb"
    con = duckdb.connect(str(source))
    for schema in ("marts", "ops", "staging"):
        con.execute(f"create schema {schema}")
    con.execute("create table marts.fct_recommendations as select 1 as rank, 'c1' as customer_id")
    con.execute("create table ops.ops_step_runs as select 'r1' as run_id")
    # dbt-duckdb names the catalog (the file stem) in a view's SQL
    con.execute("create view ops.mon_pipeline_health as select * from holdfast.ops.ops_step_runs")
    con.execute("create table staging.raw_lines as select 'x@example.com' as raw_line")
    con.close()
    target = tmp_path / "published" / "holdfast_published.duckdb"
    target.parent.mkdir()
    target.write_bytes(b"old snapshot")  # replaced, not appended to

    counts = publish_snapshot(source, target)

    assert counts == {
        "marts.fct_recommendations": 1,
        "ops.mon_pipeline_health": 1,
        "ops.ops_step_runs": 1,
    }
    reader = duckdb.connect(str(target), read_only=True)
    try:
        assert reader.execute("select run_id from ops.mon_pipeline_health").fetchall() == [("r1",)]
        schemas = {
            r[0] for r in reader.execute("select schema_name from duckdb_schemas()").fetchall()
        }
        assert "staging" not in schemas
    finally:
        reader.close()
    assert [p.name for p in target.parent.iterdir()] == ["holdfast_published.duckdb"]


def test_snapshot_keeps_table_and_column_comments_of_tables_and_views(tmp_path):
    source = tmp_path / "holdfast.duckdb"
    con = duckdb.connect(str(source))
    con.execute("create schema marts")
    con.execute("create table marts.dim_products as select 'p1' as product_id, 2.5 as price")
    con.execute("comment on table marts.dim_products is 'One row per product.'")
    con.execute(
        "comment on column marts.dim_products.product_id is 'The product''s id; \"quoted\".'"
    )
    con.execute("create view marts.fct_purchases as select * from holdfast.marts.dim_products")
    con.execute("comment on view marts.fct_purchases is 'One row per purchase.'")
    con.execute("comment on column marts.fct_purchases.price is 'Money spent.'")
    con.close()
    target = tmp_path / "holdfast_published.duckdb"

    publish_snapshot(source, target)

    reader = duckdb.connect(str(target), read_only=True)
    try:
        relations = reader.execute(
            "select table_name, comment from duckdb_tables() where schema_name = 'marts' "
            "order by table_name"
        ).fetchall()
        columns = reader.execute(
            "select table_name, column_name, comment from duckdb_columns() "
            "where schema_name = 'marts' order by table_name, column_index"
        ).fetchall()
    finally:
        reader.close()
    assert relations == [
        ("dim_products", "One row per product."),
        ("fct_purchases", "One row per purchase."),
    ]
    assert columns == [
        ("dim_products", "product_id", 'The product\'s id; "quoted".'),
        ("dim_products", "price", None),
        ("fct_purchases", "product_id", None),
        ("fct_purchases", "price", "Money spent."),
    ]


def test_a_killed_publishers_temporary_snapshot_is_removed_by_the_next(tmp_path):
    source = tmp_path / "holdfast.duckdb"
    con = duckdb.connect(str(source))
    con.execute("create schema marts")
    con.execute("create table marts.dim_products as select 'p1' as product_id")
    con.close()
    folder = tmp_path / "published"
    folder.mkdir()
    # what a publisher killed mid-copy leaves: its pid-named file and log
    for name in (
        ".holdfast_published-publishing-4242.duckdb",
        ".holdfast_published-publishing-4242.duckdb.wal",
    ):
        (folder / name).write_bytes(b"half a snapshot")
    (folder / "notes.txt").write_text("an analyst's file stays")

    publish_snapshot(source, folder / "holdfast_published.duckdb")

    assert sorted(p.name for p in folder.iterdir()) == ["holdfast_published.duckdb", "notes.txt"]
