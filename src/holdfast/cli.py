"""holdfast's command line: data in, the scheduled run, and what analysts read.

    holdfast generate --customers N --out DIR [--seed S] [--invalid-share F]
    holdfast import-online-retail PARQUET [--out DIR]
    holdfast run [-- DBT_ARGS...]      lock, dbt build, deliver alerts, publish, report
    holdfast report [--out FILE] [--live]   write the operator's HTML report
    holdfast summary [--live]          rows per table, alerts, where the data is
    holdfast query "SQL" [--live]      run a query, read-only
    holdfast dlq list|requeue|purge    manage dead letters (see holdfast.ops.dlq)
    holdfast demo                      generate sample batches, run, summarise
    holdfast evaluate PARQUET [--split validation|test] [--vars YAML]
                                       quality on real data vs baselines (docs/quality.md)

`query`, `summary` and `report` read the published snapshot
(HOLDFAST_PUBLISHED_PATH, default data/warehouse/holdfast_published.duckdb),
which no writer ever holds; `--live` reads the working warehouse
(HOLDFAST_DUCKDB_PATH), which DuckDB refuses while a run writes it.
`dlq list` reads the working warehouse, the one `dlq requeue|purge` change.

Exit codes: one table (holdfast.ops.exit_codes); each subcommand's --help
lists the ones it can return. Ctrl-C stops any command with exit code 130.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from holdfast import __version__
from holdfast.environment import duckdb_path, pipeline_environment, project_dir, published_path
from holdfast.ops.exit_codes import ExitCode, epilog

DEFAULT_LANDING_DIR = "data/landing"


def dbt_executable() -> str:
    """The dbt next to this Python (the project's venv), else the one on PATH."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def run_pipeline(dbt_args: Sequence[str], *, project: Path | None = None) -> int:
    """Take the run lock, then `dbt build` with `dbt_args`, then deliver alerts and
    publish the snapshot (only if the build passed); return an exit code."""
    from holdfast.infrastructure.run_lock import RunLocked, hold_run_lock
    from holdfast.ops import scheduled

    project = project or project_dir()
    warehouse = duckdb_path(project)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        with hold_run_lock(warehouse) as lock:
            known_alerts = scheduled.alert_ids(warehouse)
            command = [dbt_executable(), "build", *dbt_args]
            started_at = time.time()
            # dbt inherits the lock's descriptor: the lock stays held while dbt
            # runs even if this process is killed (see holdfast.infrastructure.run_lock)
            with subprocess.Popen(
                command, cwd=project, env=pipeline_environment(), pass_fds=(lock.fd,)
            ) as dbt:
                lock.add_holder(dbt.pid)
                returncode = dbt.wait()
            code = ExitCode.OK if returncode == 0 else ExitCode.DBT_FAILED
            build = scheduled.Build(
                returncode, started_at, scheduled.run_results_path(project, dbt_args)
            )
            after = scheduled.after_build(project, warehouse, known_alerts, build)
    except RunLocked as error:
        print(f"holdfast run: {error}; not starting a second one.", file=sys.stderr)
        return ExitCode.LOCKED
    if code == ExitCode.OK and not after.ok:
        return ExitCode.CRASH
    if code == ExitCode.OK and after.new_critical:
        return ExitCode.CRITICAL_ALERTS
    return code


def _cmd_generate(args: argparse.Namespace) -> int:
    from holdfast.datagen.synthetic import generate_landing

    summary = generate_landing(
        Path(args.out),
        customers=args.customers,
        seed=args.seed,
        products=args.products,
        batches=args.batches,
        invalid_share=args.invalid_share,
        dirty_batch_share=args.dirty_batch_share,
    )
    print(
        f"wrote {summary.customer_lines} customer lines ({summary.invalid_lines} invalid) in "
        f"{len(summary.customer_batches)} batch(es) and {summary.products} products "
        f"({summary.product_snapshot}) under {summary.out_dir}"
    )
    return ExitCode.OK


def _cmd_import(args: argparse.Namespace) -> int:
    from holdfast.datagen.online_retail import import_online_retail

    parquet = Path(args.parquet)
    if not parquet.exists():
        print(f"holdfast import-online-retail: {parquet} does not exist", file=sys.stderr)
        return ExitCode.USAGE
    summary = import_online_retail(parquet, Path(args.out), batch_by=args.batch_by)
    excluded = ", ".join(f"{k} {v}" for k, v in summary.excluded.items() if v)
    print(
        f"read {summary.lines_read} invoice lines, used {summary.lines_used} "
        f"(excluded: {excluded}); wrote {summary.customers} customers in "
        f"{len(summary.customer_batches)} batches and {summary.products} products "
        f"under {summary.out_dir}"
    )
    return ExitCode.OK


def _cmd_run(args: argparse.Namespace) -> int:
    dbt_args = [a for a in args.dbt_args if a != "--"]
    return run_pipeline(dbt_args)


def _reader_source(args: argparse.Namespace, project: Path):
    from holdfast.ops.reading import Source

    if args.live:
        return Source(duckdb_path(project), live=True)
    return Source(published_path(project), live=False)


def _read_error_code(command: str, error) -> int:
    """Print a reader's ReadError as one line; its exit code."""
    from holdfast.ops import reading

    print(f"holdfast {command}: {error}", file=sys.stderr)
    return {
        reading.MISSING: ExitCode.NOTHING_TO_READ,
        reading.BUSY: ExitCode.BUSY,
    }.get(error.kind, ExitCode.READ_FAILED)


def _cmd_summary(args: argparse.Namespace) -> int:
    from holdfast.ops.reading import ReadError
    from holdfast.ops.summary import print_summary

    try:
        print_summary(_reader_source(args, project_dir()))
    except ReadError as error:
        return _read_error_code("summary", error)
    return ExitCode.OK


def _cmd_query(args: argparse.Namespace) -> int:
    from holdfast.ops.reading import ReadError
    from holdfast.ops.summary import run_query

    try:
        run_query(_reader_source(args, project_dir()), args.sql, max_rows=args.max_rows)
    except ReadError as error:
        return _read_error_code("query", error)
    return ExitCode.OK


def _cmd_report(args: argparse.Namespace) -> int:
    import duckdb

    from holdfast.ops import reading, scheduled

    project = project_dir()
    source = _reader_source(args, project)
    try:
        reading.require(source)
        out = scheduled.write_report(project, source.path, Path(args.out) if args.out else None)
    except reading.ReadError as error:
        return _read_error_code("report", error)
    except duckdb.Error as error:
        return _read_error_code("report", reading.explain(error, source))
    print(f"report of {source.label} written to {out}")
    return ExitCode.OK


def _cmd_dlq(args: argparse.Namespace) -> int:
    import duckdb

    from holdfast.infrastructure.run_lock import RunLocked, hold_run_lock
    from holdfast.ops import dlq, reading

    path = duckdb_path(project_dir())
    if not path.exists():
        print(f"holdfast dlq: no warehouse at {path}; run `holdfast run` first", file=sys.stderr)
        return ExitCode.USAGE
    try:
        if args.action == "list":
            statuses = dlq.STATUSES if args.status == "all" else (args.status,)
            con = duckdb.connect(str(path), read_only=True)
            try:
                rows = dlq.list_dead_letters(
                    con, step=args.step, reason=args.reason, statuses=statuses
                )
            finally:
                con.close()
            print(dlq.format_table(rows))
            return ExitCode.OK
        if args.action == "purge" and not args.resolved:
            print("holdfast dlq purge: say what to purge: --resolved", file=sys.stderr)
            return ExitCode.USAGE
        with hold_run_lock(path):
            con = duckdb.connect(str(path))
            try:
                if args.action == "requeue":
                    counts = dlq.requeue(con, step=args.step, reason=args.reason)
                    listed = ", ".join(f"{k} {v}" for k, v in counts.items()) or "none matched"
                    print(
                        f"requeued {sum(counts.values())} dead letter(s) ({listed}); "
                        "the next `holdfast run` retries them"
                    )
                else:
                    print(f"purged {dlq.purge_resolved(con)} resolved dead letter(s)")
            finally:
                con.close()
        return ExitCode.OK
    except RunLocked as error:
        print(f"holdfast dlq: {error}; try again when it has finished.", file=sys.stderr)
        return ExitCode.LOCKED
    except (dlq.NoQueue, ValueError) as error:
        print(f"holdfast dlq: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except duckdb.Error as error:
        explained = reading.explain(
            error, reading.Source(path, live=True), "try again when the run has finished"
        )
        if explained.kind != reading.BUSY and args.action != "list":
            raise
        return _read_error_code("dlq", explained)


def _cmd_demo(args: argparse.Namespace) -> int:
    from holdfast.datagen.synthetic import generate_landing

    project = project_dir()
    landing = project / DEFAULT_LANDING_DIR
    summary = generate_landing(
        landing,
        customers=args.customers,
        seed=42,
        batches=3,
        invalid_share=0.01,
        dirty_batch_share=0.08,
    )
    print(
        f"demo data: {summary.customer_lines} customer lines in "
        f"{len(summary.customer_batches)} batches (the last one deliberately dirty), "
        f"{summary.products} products, under {landing}"
    )
    code = run_pipeline([], project=project)
    path = duckdb_path(project)
    if path.exists():
        from holdfast.ops.reading import Source
        from holdfast.ops.summary import print_summary

        print_summary(Source(path, live=True))  # the run just ended: nobody writes it
    return code


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from holdfast.evaluation.command import run_evaluate

    return run_evaluate(
        args, project=project_dir(), dbt_executable=dbt_executable(), env=pipeline_environment()
    )


LIVE_HELP = (
    "read the working warehouse instead of the published snapshot "
    f"(refused, exit {int(ExitCode.BUSY)}, while a run writes it)"
)


def _command(
    commands: Any, name: str, handler: Callable[[argparse.Namespace], int], summary: str
) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with the exit codes it can return."""
    parser = commands.add_parser(
        name,
        help=summary,
        epilog=epilog(name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `holdfast` command."""
    parser = argparse.ArgumentParser(prog="holdfast", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"holdfast {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = _command(commands, "generate", _cmd_generate, "write synthetic landing batches")
    generate.add_argument("--customers", type=int, required=True)
    generate.add_argument("--out", required=True, help="landing folder to write into")
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--products", type=int, default=None)
    generate.add_argument("--batches", type=int, default=None)
    generate.add_argument("--invalid-share", type=float, default=0.0)
    generate.add_argument("--dirty-batch-share", type=float, default=None)

    imported = _command(
        commands,
        "import-online-retail",
        _cmd_import,
        "convert the UCI Online Retail parquet to landing batches",
    )
    imported.add_argument("parquet")
    imported.add_argument("--out", default=DEFAULT_LANDING_DIR)
    imported.add_argument("--batch-by", choices=["month", "day"], default="month")

    run = _command(commands, "run", _cmd_run, "lock, then dbt build (extra args after --)")
    run.add_argument("dbt_args", nargs=argparse.REMAINDER)

    report = _command(commands, "report", _cmd_report, "write the operator's HTML report")
    report.add_argument("--out", default=None, help="HTML file (default HOLDFAST_REPORT_PATH)")
    report.add_argument("--live", action="store_true", help=LIVE_HELP)

    summary = _command(
        commands, "summary", _cmd_summary, "rows per table, alerts, where the data is"
    )
    summary.add_argument("--live", action="store_true", help=LIVE_HELP)

    query = _command(commands, "query", _cmd_query, "run SQL on the published snapshot, read-only")
    query.add_argument("sql")
    query.add_argument("--max-rows", type=int, default=50)
    query.add_argument("--live", action="store_true", help=LIVE_HELP)

    _add_dlq_arguments(_command(commands, "dlq", _cmd_dlq, "list, requeue or purge dead letters"))

    demo = _command(
        commands, "demo", _cmd_demo, "generate sample data, run the pipeline, summarise"
    )
    demo.add_argument("--customers", type=int, default=3000)

    from holdfast.evaluation.command import add_arguments

    add_arguments(
        _command(
            commands,
            "evaluate",
            _cmd_evaluate,
            "hit rate, recall, NDCG of holdfast and baselines on a temporal split",
        )
    )
    return parser


def _add_dlq_arguments(dead: argparse.ArgumentParser) -> None:
    dead.add_argument("action", choices=["list", "requeue", "purge"])
    dead.add_argument(
        "--step",
        help="embed_products (embed), vectorize_customers (vectors), "
        "assign_segments (segments) or recommend",
    )
    dead.add_argument("--reason", help="e.g. permanent_error or retries_exhausted")
    dead.add_argument(
        "--status",
        choices=["pending", "exhausted", "resolved", "all"],
        default="all",
        help="list only (default all)",
    )
    dead.add_argument("--resolved", action="store_true", help="purge: the resolved rows")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `holdfast` console script: the subcommand's exit code
    (holdfast.ops.exit_codes). Ctrl-C anywhere in a command exits 130 with a
    one-line message; any other exception is a crash (4), also in one line."""
    name = "holdfast"
    try:
        args = build_parser().parse_args(argv)
        name = f"holdfast {args.command}"
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as error:
        print(f"{name}: {type(error).__name__}: {error}", file=sys.stderr)
        return ExitCode.CRASH


if __name__ == "__main__":
    sys.exit(main())
