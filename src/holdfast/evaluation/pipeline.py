"""Run the real holdfast pipeline (`dbt build`) on a split's train landing files and
read back what it recommends: the final list, the scored candidates (for the
calibration table) and the segments (for the segment-popularity baseline)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from holdfast.application.records import array_to_vectors

EMBEDDING_DIMENSION = 384
WAREHOUSE_FILE = "warehouse.duckdb"


@dataclass
class PipelineOutput:
    """What one pipeline build produced, keyed by customer uuid."""

    recommendations: dict[str, list[str]]  # best first, after every business rule
    candidates: list[tuple[str, str, float]]  # passing every rule but the threshold
    segment_of: dict[str, int]
    db_path: Path


def build(
    project: Path,
    landing_dir: Path,
    workdir: Path,
    dbt_vars: dict[str, Any],
    *,
    dbt_executable: str,
    env: dict[str, str],
) -> Path:
    """`dbt build` into a fresh DuckDB file under `workdir`; returns its path."""
    if "landing_dir" in dbt_vars:
        raise ValueError("landing_dir is set by the evaluation (the split's train files)")
    db_path = workdir / WAREHOUSE_FILE
    db_path.unlink(missing_ok=True)
    command = [
        dbt_executable,
        "build",
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
        "--vars",
        json.dumps({**dbt_vars, "landing_dir": str(landing_dir)}),
    ]
    completed = subprocess.run(
        command,
        cwd=project,
        env={**env, "HOLDFAST_DUCKDB_PATH": str(db_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    (workdir / "dbt_build.log").write_text(completed.stdout + completed.stderr, encoding="utf-8")
    if completed.returncode != 0 or not db_path.exists():
        tail = "\n".join(completed.stdout.splitlines()[-25:])
        raise RuntimeError(
            f"dbt build failed (exit {completed.returncode}); "
            f"log: {workdir / 'dbt_build.log'}\n{tail}"
        )
    return db_path


def read_output(db_path: Path) -> PipelineOutput:
    """Read the marts (and the checked candidates) of a built warehouse."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        recommendations: dict[str, list[str]] = {}
        for customer, product in con.execute(
            "select customer_id, product_id from marts.fct_recommendations "
            "order by customer_id, rank"
        ).fetchall():
            recommendations.setdefault(customer, []).append(product)
        # every rule except the confidence threshold: the population it decides on
        candidates = con.execute(
            "select customer_id, product_id, confidence "
            "from intermediate.int_recommendation_candidates_checked "
            "where list_filter(failed_rules, lambda r: r <> 'confidence_threshold') = [] "
            "order by customer_id, candidate_rank"
        ).fetchall()
        segment_of = dict(
            con.execute(
                "select customer_id, segment_id from marts.fct_customer_segments"
            ).fetchall()
        )
    finally:
        con.close()
    return PipelineOutput(recommendations, candidates, segment_of, db_path)


def read_embeddings(db_path: Path, product_ids: list[str]) -> np.ndarray:
    """The pipeline's product embeddings in `product_ids` order (zeros where none)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        table = con.sql(
            "select product_id, embedding from inference.int_products_embedded "
            "where status = 'ok' order by product_id"
        ).to_arrow_table()
    finally:
        con.close()
    vectors, present = array_to_vectors(table.column("embedding"), EMBEDDING_DIMENSION)
    row = {p: i for i, p in enumerate(table.column("product_id").to_pylist())}
    out = np.zeros((len(product_ids), EMBEDDING_DIMENSION), dtype=np.float64)
    for j, product in enumerate(product_ids):
        i = row.get(product)
        if i is not None and present[i]:
            out[j] = vectors[i]
    return out
