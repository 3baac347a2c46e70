"""Arguments and exit codes of `holdfast evaluate` (the CLI only wires them in)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from holdfast.evaluation.blend import BlendWeights
from holdfast.evaluation.harness import EvaluationSettings, evaluate, format_report
from holdfast.evaluation.split import SPLITS, Split
from holdfast.ops.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `holdfast evaluate`."""
    parser.add_argument("parquet", help="the UCI Online Retail parquet (read where it lies)")
    parser.add_argument("--split", choices=sorted(SPLITS), default="validation")
    parser.add_argument("--cutoff", help="override the split's cutoff (YYYY-MM-DD)")
    parser.add_argument("--horizon-days", type=int, help="override the test window length")
    parser.add_argument("--k", type=int, default=10, help="list length judged (default 10)")
    parser.add_argument(
        "--knn-neighbours", type=int, default=100, help="item-kNN neighbours (0 = all)"
    )
    parser.add_argument(
        "--ease-l2", type=float, default=250.0, help="EASE's L2 weight λ (default 250)"
    )
    parser.add_argument(
        "--rp3beta",
        default="0.8,0.5,100",
        help="RP3beta: alpha,beta,top-k weights kept per product (0 = all)",
    )
    parser.add_argument(
        "--item-model-max-items",
        type=int,
        default=20_000,
        help="EASE and RP3beta use the most-bought products only (0 = all; default 20000)",
    )
    parser.add_argument(
        "--vars", default="{}", help="dbt vars for the pipeline build (YAML/JSON mapping)"
    )
    parser.add_argument(
        "--calibration-min-hit-rate",
        type=float,
        default=None,
        help="hit rate a confidence bucket must reach to be recommended (sets "
        "min_confidence); default: precision@k of the popularity baseline",
    )
    parser.add_argument(
        "--blend-weights",
        default="1.0,0.5,0.9,0.0",
        help="prototype blend: item_knn,embedding_knn,recent_popularity,popularity",
    )
    parser.add_argument("--baselines-only", action="store_true", help="skip the dbt build")
    parser.add_argument("--workdir", help="keep the train files and warehouse here")
    parser.add_argument(
        "--reuse-build",
        action="store_true",
        help="with --workdir: score the warehouse a previous run built there (same split "
        "and vars) instead of building again",
    )
    parser.add_argument("--out", help="also write the report as JSON to this file")


def parse_vars(text: str) -> dict[str, Any]:
    """The --vars mapping; anything but a mapping of plain names is refused."""
    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as error:
        raise ValueError(f"--vars is not valid YAML/JSON: {error}") from None
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError("--vars must be a mapping of var names to values")
    if "landing_dir" in value:
        raise ValueError("--vars may not set landing_dir: the evaluation sets it to the split")
    return value


def parse_blend_weights(text: str) -> BlendWeights:
    """Four comma-separated non-negative numbers."""
    try:
        parts = [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"--blend-weights must be four numbers, got {text!r}") from None
    if len(parts) != 4 or not all(math.isfinite(x) for x in parts):
        raise ValueError(f"--blend-weights must be four finite numbers, got {text!r}")
    return BlendWeights(*parts)


def parse_rp3beta(text: str) -> tuple[float, float, int]:
    """alpha,beta,top-k: alpha > 0, beta finite, top-k a whole number >= 0."""
    parts = text.split(",")
    try:
        alpha, beta, topk = float(parts[0]), float(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        raise ValueError(f"--rp3beta must be alpha,beta,top-k, got {text!r}") from None
    if len(parts) != 3 or not (math.isfinite(alpha) and alpha > 0 and math.isfinite(beta)):
        raise ValueError(f"--rp3beta must be alpha > 0, a finite beta and top-k, got {text!r}")
    if topk < 0:
        raise ValueError("--rp3beta top-k must be >= 0")
    return alpha, beta, topk


def settings_from(args: argparse.Namespace) -> EvaluationSettings:
    """Checked settings from the parsed arguments (ValueError on bad input)."""
    base = SPLITS[args.split]
    cutoff = date.fromisoformat(args.cutoff) if args.cutoff else base.cutoff
    horizon = args.horizon_days if args.horizon_days is not None else base.horizon_days
    if args.k < 1:
        raise ValueError("--k must be >= 1")
    if args.knn_neighbours < 0:
        raise ValueError("--knn-neighbours must be >= 0")
    if not (math.isfinite(args.ease_l2) and args.ease_l2 > 0):
        raise ValueError("--ease-l2 must be > 0")
    if args.item_model_max_items < 0:
        raise ValueError("--item-model-max-items must be >= 0")
    bar = args.calibration_min_hit_rate
    if bar is not None and not 0.0 <= bar <= 1.0:
        raise ValueError("--calibration-min-hit-rate must be in 0..1")
    if args.reuse_build and not args.workdir:
        raise ValueError("--reuse-build needs --workdir")
    return EvaluationSettings(
        split=Split(
            base.name if (cutoff, horizon) == (base.cutoff, base.horizon_days) else "custom",
            cutoff,
            horizon,
        ),
        k=args.k,
        knn_neighbours=args.knn_neighbours,
        ease_l2=args.ease_l2,
        rp3beta=parse_rp3beta(args.rp3beta),
        item_model_max_items=args.item_model_max_items,
        dbt_vars=parse_vars(args.vars),
        calibration_min_hit_rate=args.calibration_min_hit_rate,
        run_pipeline=not args.baselines_only,
        reuse_build=args.reuse_build,
        blend_weights=parse_blend_weights(args.blend_weights),
    )


def run_evaluate(
    args: argparse.Namespace, *, project: Path, dbt_executable: str, env: dict[str, str]
) -> int:
    """Run the evaluation, print the tables, write JSON; return an exit code:
    0 done, 2 bad arguments or missing parquet, 1 the pipeline build failed."""
    parquet = Path(args.parquet)
    if not parquet.is_file():
        print(f"holdfast evaluate: {parquet} does not exist", file=sys.stderr)
        return ExitCode.USAGE
    try:
        settings = settings_from(args)
    except ValueError as error:
        print(f"holdfast evaluate: {error}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        report = evaluate(
            parquet,
            settings,
            project=project,
            dbt_executable=dbt_executable,
            env=env,
            workdir=Path(args.workdir) if args.workdir else None,
            log=lambda line: print(line, file=sys.stderr),
        )
    except RuntimeError as error:
        print(f"holdfast evaluate: {error}", file=sys.stderr)
        return ExitCode.DBT_FAILED
    print(format_report(report))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return ExitCode.OK
