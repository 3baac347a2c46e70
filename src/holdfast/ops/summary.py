"""A short, human summary of the published snapshot (or, with --live, the warehouse):
rows per table, alerts, a query to try; and the read-only query command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from holdfast.ops import reading
from holdfast.ops.reading import Source

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


def _as_source(target: Source | Path) -> Source:
    return target if isinstance(target, Source) else Source(Path(target), live=True)


def run_query(target: Source | Path, sql: str, max_rows: int = 50) -> None:
    """Print the result of `sql` on `target`, opened read-only; ReadError when it cannot."""
    source = _as_source(target)
    con = reading.connect(source)
    try:
        relation = con.sql(sql)
        if relation is None:
            print("(the statement returns no rows)")
        else:
            relation.show(max_rows=max_rows)
    except duckdb.Error as error:
        raise reading.explain(error, source) from None
    finally:
        con.close()


def _heading(source: Source) -> str:
    if source.live:
        return f"holdfast warehouse (live): {source.path}"
    published = datetime.fromtimestamp(source.path.stat().st_mtime, UTC)
    return (
        f"holdfast published snapshot: {source.path}\n"
        f"  published {published:%Y-%m-%d %H:%M:%S} UTC, after the last build whose tests passed"
    )


def print_summary(target: Source | Path) -> None:
    """Print the summary of `target` (opened read-only); ReadError when it cannot be read."""
    source = _as_source(target)
    con = reading.connect(source)
    try:
        counts = table_counts(con)
        alerts = (
            con.execute(
                "select severity, check_name, message from ops.ops_alerts "
                "order by raised_at desc, severity, alert_id limit 10"
            ).fetchall()
            if counts["ops.ops_alerts"] is not None
            else None
        )
    except duckdb.Error as error:
        raise reading.explain(error, source) from None
    finally:
        con.close()
    print(f"\n{_heading(source)}")
    print("\nrows per table:")
    for name, count in counts.items():
        print(f"  {name:<40} {'missing' if count is None else count:>10}")
    if alerts is None:
        print("\nalerts raised: ops.ops_alerts is not built yet")
    else:
        print(f"\nalerts raised ({len(alerts)} shown, newest first):")
        for severity, check, message in alerts:
            print(f"  [{severity}] {check}: {message}")
        if not alerts:
            print("  none")
    flag = " --live" if source.live else ""
    print(f"\nquery to try (opens {source.label} read-only):\n")
    print(f'  .venv/bin/holdfast query{flag} "' + QUERY_TO_TRY.replace("\n", "\n    ") + '"')
