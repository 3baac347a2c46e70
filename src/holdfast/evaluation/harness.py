"""`holdfast evaluate`: every method on the same split, with the same rules and metrics.

Methods: global popularity, popularity within the customer's segment (the
segments the pipeline assigned), item-kNN on co-purchases, EASE^R, RP3beta, and
holdfast itself,
whose figures come from a real `dbt build` on the split's train landing files
(`fct_recommendations`), with the caller's `--vars` passed through so settings
can be swept. Choose settings on the `validation` split, report `test`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from holdfast.evaluation import baselines, blend, metrics, pipeline
from holdfast.evaluation.segment_quality import segment_quality
from holdfast.evaluation.split import Split, SplitData, prepare_split

CALIBRATION_EDGES = tuple(round(x * 0.05, 2) for x in range(21))
CALIBRATION_CANDIDATES = 30  # per customer, as many as the pipeline's scorer proposes


@dataclass
class EvaluationSettings:
    """Knobs of one evaluation run."""

    split: Split
    k: int = 10
    knn_neighbours: int = 100
    ease_l2: float = 250.0  # EASE's λ; sweep it on the validation split
    rp3beta: tuple[float, float, int] = (0.8, 0.5, 100)  # alpha, beta, top-k per row
    item_model_max_items: int = 20_000  # EASE and RP3beta see the most-bought products only
    dbt_vars: dict[str, Any] = field(default_factory=dict)
    # None: the precision@k of the global-popularity list on the same split
    calibration_min_hit_rate: float | None = None
    run_pipeline: bool = True
    reuse_build: bool = False  # use the warehouse a previous run left in the work folder
    blend_weights: blend.BlendWeights = field(default_factory=blend.BlendWeights)


def evaluate(
    parquet: Path,
    settings: EvaluationSettings,
    *,
    project: Path,
    dbt_executable: str,
    env: dict[str, str],
    workdir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every method on the split and return the report (JSON-ready)."""
    owned = workdir is None
    work = Path(tempfile.mkdtemp(prefix="holdfast-evaluate-")) if owned else Path(workdir)
    try:
        return _evaluate(parquet, settings, project, dbt_executable, env, work, log)
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)


def _evaluate(
    parquet: Path,
    settings: EvaluationSettings,
    project: Path,
    dbt_executable: str,
    env: dict[str, str],
    work: Path,
    log: Callable[[str], None],
) -> dict[str, Any]:
    started = time.monotonic()
    data = prepare_split(parquet, settings.split, work)
    interactions = baselines.Interactions.from_pairs(data.train_pairs, data.catalog)
    in_stock = np.array([p in data.in_stock for p in interactions.product_ids], dtype=bool)
    truth = {c: items for c, items in data.truth.items() if c in set(interactions.customer_ids)}
    log(
        f"split {settings.split.name}: {len(interactions.customer_ids)} customers, "
        f"{len(data.catalog)} products ({int(in_stock.sum())} in stock), "
        f"{sum(1 for t in truth.values() if t)} customers with new purchases to predict"
    )
    k = settings.k
    n_recommendable = int(in_stock.sum())
    results: dict[str, dict[str, Any]] = {}

    def score(name: str, recommended: dict[str, list[str]], **details: Any) -> None:
        figures = metrics.ranking_metrics(recommended, truth, k=k, n_recommendable=n_recommendable)
        results[name] = {**figures.as_dict(), **details}
        log(f"{name}: hit rate@{k} {figures.hit_rate:.3f}")

    _score_baselines(interactions, in_stock, settings, score)
    report: dict[str, Any] = {
        "split": settings.split.as_dict(),
        "k": k,
        "train_customers": len(interactions.customer_ids),
        "evaluated_customers": results["popularity"]["n_customers"],
        "catalog_products": len(data.catalog),
        "in_stock_products": n_recommendable,
        "methods": results,
    }
    if settings.run_pipeline:
        _evaluate_pipeline(
            data,
            interactions,
            in_stock,
            truth,
            settings,
            report,
            score,
            project=project,
            dbt_executable=dbt_executable,
            env=env,
            work=work,
            log=log,
        )
    report["seconds"] = round(time.monotonic() - started, 1)
    return report


def _score_baselines(
    interactions: baselines.Interactions,
    in_stock: np.ndarray,
    settings: EvaluationSettings,
    score: Callable[..., None],
) -> None:
    """Score the baselines every pipeline run is compared with: popularity,
    item-kNN, EASE^R and RP3beta, with the settings chosen on validation."""
    k = settings.k
    score(
        "popularity",
        baselines.recommend_top_k(
            baselines.popularity_scores(interactions), interactions, in_stock, k
        ),
    )
    knn = baselines.item_knn_scores(interactions, settings.knn_neighbours)
    score(
        "item_knn",
        baselines.recommend_top_k(knn, interactions, in_stock, k, require_positive=True),
        neighbours=settings.knn_neighbours,
    )
    score(
        "ease",
        baselines.recommend_top_k(
            baselines.ease_scores(interactions, settings.ease_l2, settings.item_model_max_items),
            interactions,
            in_stock,
            k,
        ),
        l2=settings.ease_l2,
        max_items=settings.item_model_max_items,
    )
    alpha, beta, topk = settings.rp3beta
    score(
        "rp3beta",
        baselines.recommend_top_k(
            baselines.rp3beta_scores(
                interactions, alpha, beta, topk, settings.item_model_max_items
            ),
            interactions,
            in_stock,
            k,
            require_positive=True,
        ),
        alpha=alpha,
        beta=beta,
        topk=topk,
        max_items=settings.item_model_max_items,
    )


def _evaluate_pipeline(
    data: SplitData,
    interactions: baselines.Interactions,
    in_stock: np.ndarray,
    truth: dict[str, set[str]],
    settings: EvaluationSettings,
    report: dict[str, Any],
    score: Callable[..., None],
    *,
    project: Path,
    dbt_executable: str,
    env: dict[str, str],
    work: Path,
    log: Callable[[str], None],
) -> None:
    built = time.monotonic()
    db_path = _built_warehouse(
        data, settings, project=project, dbt_executable=dbt_executable, env=env, work=work, log=log
    )
    output = pipeline.read_output(db_path)
    build_seconds = round(time.monotonic() - built, 1)
    segments = [output.segment_of.get(c, -1) for c in interactions.customer_ids]
    segmented = [s for s in segments if s >= 0]
    score(
        "segment_popularity",
        baselines.recommend_top_k(
            baselines.segment_popularity_scores(interactions, segments),
            interactions,
            in_stock,
            settings.k,
        ),
        n_segments=len(set(segmented)),
        unsegmented_share=round(1 - len(segmented) / max(len(segments), 1), 4),
    )
    score(
        "holdfast", output.recommendations, dbt_vars=settings.dbt_vars, build_seconds=build_seconds
    )
    column = {p: j for j, p in enumerate(interactions.product_ids)}
    recent = np.zeros(len(column))
    for _, product in data.recent_pairs:
        if product in column:
            recent[column[product]] += 1
    blended = blend.blend_scores(
        interactions,
        pipeline.read_embeddings(db_path, interactions.product_ids),
        recent,
        settings.blend_weights,
        knn_neighbours=settings.knn_neighbours,
    )
    score(
        "prototype_blend",
        baselines.recommend_top_k(blended, interactions, in_stock, settings.k),
        weights=settings.blend_weights.normalised(),
    )
    report["segments"] = segment_quality(db_path)
    popularity = report["methods"]["popularity"]["hit_rate_at_k"]
    report["segments"]["popularity_lift"] = (
        round(report["methods"]["segment_popularity"]["hit_rate_at_k"] / popularity, 3)
        if popularity
        else None
    )
    report["calibration"] = {
        "holdfast": _calibration(output.candidates, truth, settings, report),
        "prototype_blend": _calibration(
            baselines.top_candidates(blended, interactions, in_stock, CALIBRATION_CANDIDATES),
            truth,
            settings,
            report,
        ),
    }
    report["target"] = _target(report["methods"])


def _built_warehouse(
    data: SplitData,
    settings: EvaluationSettings,
    *,
    project: Path,
    dbt_executable: str,
    env: dict[str, str],
    work: Path,
    log: Callable[[str], None],
) -> Path:
    """The warehouse of the pipeline built on the train files: `dbt build` into `work`,
    or the one already there when the settings say to reuse it."""
    db_path = work / pipeline.WAREHOUSE_FILE
    if settings.reuse_build and db_path.exists():
        log(f"scoring the warehouse already built at {db_path}")
        return db_path
    log("building the pipeline on the train files (dbt build)...")
    return pipeline.build(
        project,
        data.landing_dir,
        work,
        settings.dbt_vars,
        dbt_executable=dbt_executable,
        env=env,
    )


def _target(methods: dict[str, Any]) -> dict[str, float | None]:
    """holdfast's hit rate against popularity's (a ratio) and item-kNN's (a difference)."""
    popularity = methods["popularity"]["hit_rate_at_k"]
    return {
        "holdfast_vs_popularity": round(methods["holdfast"]["hit_rate_at_k"] / popularity, 3)
        if popularity
        else None,
        "holdfast_minus_item_knn": round(
            methods["holdfast"]["hit_rate_at_k"] - methods["item_knn"]["hit_rate_at_k"], 4
        ),
    }


def _calibration(
    candidates: list[tuple[str, str, float]],
    truth: dict[str, set[str]],
    settings: EvaluationSettings,
    report: dict[str, Any],
) -> dict[str, Any]:
    """Observed hit rate per confidence bucket, and the min_confidence it suggests:
    the lowest confidence from which every bucket up beats the bar (by default the
    precision@k of recommending the best sellers)."""
    buckets = metrics.calibration_table(candidates, truth, CALIBRATION_EDGES)
    bar = settings.calibration_min_hit_rate
    if bar is None:
        bar = report["methods"]["popularity"]["precision_at_k"]
    return {
        "buckets": [
            {
                "confidence_from": b.lower,
                "confidence_to": b.upper,
                "candidates": b.n_candidates,
                "hits": b.n_hits,
                "hit_rate": round(b.n_hits / b.n_candidates, 4),
            }
            for b in buckets
            if b.n_candidates
        ],
        "min_hit_rate": bar,
        "suggested_min_confidence": metrics.threshold_from_calibration(buckets, min_hit_rate=bar),
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as Markdown tables (methods, then calibration)."""
    split = report["split"]
    k = report["k"]
    lines = [
        f"Split `{split['name']}`: train before {split['train_before']}, test "
        f"{split['test_from']} to {split['test_before']} (exclusive); "
        f"{report['evaluated_customers']} of {report['train_customers']} customers bought "
        f"something new; {report['in_stock_products']} of {report['catalog_products']} "
        "products in stock.",
        "",
        f"| method | hit rate@{k} | precision@{k} | recall@{k} | NDCG@{k} | catalog coverage "
        "| customers with recs |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in report["methods"].items():
        lines.append(
            f"| {name} | {m['hit_rate_at_k']:.3f} | {m['precision_at_k']:.3f} | "
            f"{m['recall_at_k']:.3f} | "
            f"{m['ndcg_at_k']:.3f} | {m['catalog_coverage']:.3f} | "
            f"{m['customers_with_recommendations']:.3f} |"
        )
    if "segments" in report:
        lines += ["", *_segment_lines(report["segments"])]
    for method, table in report.get("calibration", {}).items():
        lines += [
            "",
            f"Calibration of {method} (candidates passing every rule but the threshold):",
            "",
            "| confidence | candidates | hits | observed hit rate |",
            "|---|---|---|---|",
        ]
        for row in table["buckets"]:
            lines.append(
                f"| {row['confidence_from']:.2f}-{row['confidence_to']:.2f} | "
                f"{row['candidates']} | {row['hits']} | {row['hit_rate']:.4f} |"
            )
        lines += [
            "",
            f"suggested min_confidence for {method}: {table['suggested_min_confidence']:.2f} "
            f"(lowest bucket from which every bucket up has an observed hit rate >= "
            f"{table['min_hit_rate']:.4f})",
        ]
    if "target" in report:
        t = report["target"]
        lines.append(
            f"holdfast / popularity = {t['holdfast_vs_popularity']}; "
            f"holdfast - item_knn = {t['holdfast_minus_item_knn']:+.4f}"
        )
    return "\n".join(lines)


def _segment_lines(seg: dict[str, Any]) -> list[str]:
    stability = seg.get("stability", {})
    lines = [
        f"Segments: {seg['n_segments']}, labels distinct {seg.get('labels_distinct', 'n/a')}, "
        f"HDBSCAN noise {seg['noise_share']:.3f}, unsegmented "
        f"{seg.get('unsegmented_share', 0.0):.3f}, DBCV (sample) {seg.get('dbcv_sample', 'n/a')}, "
        f"silhouette (sample) {seg.get('silhouette_sample', 'n/a')}, ARI of two refits "
        f"{stability.get('adjusted_rand_index', 'n/a')}, same id after matching "
        f"{stability.get('same_id_share', 'n/a')}, segment popularity / popularity "
        f"{seg.get('popularity_lift', 'n/a')}",
        "",
        "| segment | label | customers | share | of them noise | profile |",
        "|---|---|---|---|---|---|",
    ]
    for s in seg["segments"]:
        lines.append(
            f"| {s['segment_id']} | {s['label']} | {s['customers']} | {s['share']:.3f} | "
            f"{s.get('noise_customers', 0)} | {s.get('profile', '')} |"
        )
    return lines
