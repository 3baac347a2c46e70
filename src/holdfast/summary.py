"""A short, human summary of a warehouse: rows per table, alerts, a query to try."""

from __future__ import annotations

from pathlib import Path

import duckdb

ANALYST_TABLES = (
    "marts.dim_customers",
    "marts.dim_products",
    "marts.fct_purchases",
    "marts.dim_segments",
    "marts.fct_customer_segments",
    "marts.fct_recommendations",
    "marts.fct_rejected_recommendations",
)
OPERATOR_TABLES = (
    "ops.ops_batch_ledger",
    "ops.ops_schema_errors",
    "ops.ops_dead_letter_queue",
    "ops.ops_step_runs",
    "ops.ops_inference_batches",
    "ops.ops_alerts",
    "ops.mon_input_quality",
    "ops.mon_model_performance",
    "ops.mon_pipeline_health",
)
QUERY_TO_TRY = """select c.customer_id, s.segment_label, r.rank, p.product_name,
       round(r.confidence, 3) as confidence, r.predicted_value
from marts.fct_recommendations r
join marts.dim_customers c using (customer_id)
join marts.dim_segments s on s.segment_id = r.segment_id
join marts.dim_products p using (product_id)
order by c.customer_id, r.rank
limit 10"""


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int | None]:
    """Row count of every contract table (None when it does not exist yet)."""
    existing = {
        f"{s}.{t}"
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
    counts: dict[str, int | None] = {}
    for name in (*ANALYST_TABLES, *OPERATOR_TABLES):
        counts[name] = (
            con.execute(f"select count(*) from {name}").fetchall()[0][0]
            if name in existing
            else None
        )
    return counts


def run_query(path: Path, sql: str, max_rows: int = 50) -> None:
    """Print the result of `sql` on the warehouse at `path`, opened read-only."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.sql(sql).show(max_rows=max_rows)
    finally:
        con.close()


def print_summary(path: Path) -> None:
    """Print the summary of the warehouse at `path` (opened read-only)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        print(f"\nholdfast warehouse: {path}")
        print("\nrows per table:")
        for name, count in table_counts(con).items():
            print(f"  {name:<40} {'missing' if count is None else count:>10}")
        alerts = con.execute(
            "select severity, check_name, message from ops.ops_alerts "
            "order by raised_at desc, severity, alert_id limit 10"
        ).fetchall()
        print(f"\nalerts raised ({len(alerts)} shown, newest first):")
        for severity, check, message in alerts:
            print(f"  [{severity}] {check}: {message}")
        if not alerts:
            print("  none")
        print("\nquery to try (opens the file read-only):\n")
        print('  .venv/bin/holdfast query "' + QUERY_TO_TRY.replace("\n", "\n    ") + '"')
    finally:
        con.close()
