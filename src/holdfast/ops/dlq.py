"""`holdfast dlq`: list, requeue and purge dead letters.

The dead-letter queue (`ops.ops_dead_letter_queue`) is derived by dbt from the
failed rows of the inference step tables; the next run retries a failed row
while its `failed_runs` is below `dead_letter_max_attempts`. So:

- requeue resets `failed_runs` to 0 on the matching failed rows of the step
  tables (the pending selection then picks them up again, for another
  `dead_letter_max_attempts` runs), marks their queue rows `pending`, and
  writes one audit row per record to `ops.dead_letter_requeues` (when, which
  filter, the attempts and status before);
- purge --resolved deletes the `resolved` rows of the queue (history of
  records that recovered); pending and exhausted rows are never purged.

Both write under the run lock, so they never race a `holdfast run`. Filters
are bound as query parameters; table names come from a fixed list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from holdfast.application.faults import canonical_step

QUEUE = "ops.ops_dead_letter_queue"
REQUEUES = "ops.dead_letter_requeues"
STATUSES = ("pending", "exhausted", "resolved")
# step -> (step table, key column); the same list as macro inference_step_rows
STEP_TABLES = {
    "embed_products": ("inference.int_products_embedded", "product_id"),
    "vectorize_customers": ("inference.int_customer_vectors", "customer_id"),
    "assign_segments": ("inference.int_customers_segmented", "customer_id"),
    "recommend": ("inference.int_recommendations_scored", "customer_id"),
}
LIST_COLUMNS = (
    "step",
    "record_key",
    "batch_id",
    "reason",
    "attempts",
    "status",
    "first_failed_at",
    "last_failed_at",
    "error",
)


class NoQueue(RuntimeError):
    """The warehouse has no dead-letter queue yet (the pipeline never ran)."""


@dataclass(frozen=True)
class DeadLetter:
    """One row of the queue, as `dlq list` shows it."""

    step: str
    record_key: str
    batch_id: str | None
    reason: str
    attempts: int
    status: str
    first_failed_at: datetime
    last_failed_at: datetime
    error: str | None


def _filters(
    step: str | None, reason: str | None, statuses: Sequence[str]
) -> tuple[str, list[object]]:
    clauses, params = [], []
    if step is not None:
        clauses.append("step = ?")
        params.append(canonical_step(step))
    if reason is not None:
        clauses.append("reason = ?")
        params.append(reason)
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r} (known: {', '.join(STATUSES)})")
    clauses.append("status in (" + ", ".join("?" for _ in statuses) + ")")
    params.extend(statuses)
    return " and ".join(clauses), params


def _require_queue(con: duckdb.DuckDBPyConnection) -> None:
    found = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'ops_dead_letter_queue'"
    ).fetchall()[0][0]
    if not found:
        raise NoQueue("no ops.ops_dead_letter_queue in this warehouse: run `holdfast run` first")


def list_dead_letters(
    con: duckdb.DuckDBPyConnection,
    *,
    step: str | None = None,
    reason: str | None = None,
    statuses: Sequence[str] = ("pending", "exhausted"),
) -> list[DeadLetter]:
    """Queue rows matching the filters, by step, status and record key."""
    _require_queue(con)
    where, params = _filters(step, reason, statuses)
    rows = con.execute(
        f"select {', '.join(LIST_COLUMNS)} from {QUEUE} where {where} "
        "order by step, status, record_key",
        params,
    ).fetchall()
    return [DeadLetter(*row) for row in rows]


def requeue(
    con: duckdb.DuckDBPyConnection, *, step: str | None = None, reason: str | None = None
) -> dict[str, int]:
    """Give the matching pending and exhausted dead letters a fresh set of
    attempts; returns the number requeued per step. One transaction."""
    _require_queue(con)
    where, params = _filters(step, reason, ("pending", "exhausted"))
    con.execute(
        f"""
        create table if not exists {REQUEUES} (
            dead_letter_id varchar not null,
            step varchar not null,
            record_key varchar not null,
            reason varchar,
            attempts_before integer,
            status_before varchar not null,
            filter_step varchar,
            filter_reason varchar,
            requeued_at timestamptz not null
        )
        """
    )
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        con.execute(
            "create or replace temp table hf_requeue as "
            f"select dead_letter_id, step, record_key, reason, attempts, status "
            f"from {QUEUE} where {where}",
            params,
        )
        for step_name, (table, key) in STEP_TABLES.items():
            n = con.execute(
                "select count(*) from hf_requeue where step = ?", [step_name]
            ).fetchall()[0][0]
            if n == 0:
                continue
            con.execute(
                f"update {table} set failed_runs = 0 "
                f"where status = 'failed' and {key} in "
                "(select record_key from hf_requeue where step = ?)",
                [step_name],
            ).fetchall()
            counts[step_name] = n
        con.execute(
            f"insert into {REQUEUES} "
            "select dead_letter_id, step, record_key, reason, attempts, status, ?, ?, "
            "now() from hf_requeue",
            [None if step is None else canonical_step(step), reason],
        )
        con.execute(
            f"update {QUEUE} set status = 'pending' "
            "where dead_letter_id in (select dead_letter_id from hf_requeue)"
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop table if exists hf_requeue")
    return counts


def purge_resolved(con: duckdb.DuckDBPyConnection) -> int:
    """Delete the resolved rows of the queue; returns how many."""
    _require_queue(con)
    n = con.execute(f"select count(*) from {QUEUE} where status = 'resolved'").fetchall()[0][0]
    con.execute(f"delete from {QUEUE} where status = 'resolved'")
    return int(n)


def format_table(rows: Sequence[DeadLetter], max_error: int = 80) -> str:
    """A plain-text table of dead letters for the terminal."""
    if not rows:
        return "no dead letters match"
    cells = [list(LIST_COLUMNS)]
    for row in rows:
        error = (row.error or "").replace("\n", " ")
        cells.append(
            [
                row.step,
                row.record_key,
                row.batch_id or "",
                row.reason,
                str(row.attempts),
                row.status,
                f"{row.first_failed_at:%Y-%m-%d %H:%M:%S}",
                f"{row.last_failed_at:%Y-%m-%d %H:%M:%S}",
                error if len(error) <= max_error else error[: max_error - 1] + "…",
            ]
        )
    widths = [max(len(r[i]) for r in cells) for i in range(len(LIST_COLUMNS) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
        for r in cells
    ]
    return "\n".join(lines)
