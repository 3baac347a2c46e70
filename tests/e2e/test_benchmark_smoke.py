"""The scale benchmark (bench/scale.py, `make bench`) on a tiny landing zone:
its three builds succeed, the 1% run really ingests the new batch, and its
JSON document carries the figures docs/performance.md reports. Checks the
benchmark works, not how fast anything is (the figures come from `make bench`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from holdfast.infrastructure.warehouse import first_row

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parents[2]
CUSTOMERS, PRODUCTS = 400, 300
EMBED_NODE = "model.holdfast.int_products_embedded"


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    workdir = tmp_path_factory.mktemp("bench") / "work"
    completed = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "bench" / "scale.py"),
            "--customers",
            str(CUSTOMERS),
            "--products",
            str(PRODUCTS),
            "--workdir",
            str(workdir),
            "--keep",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout), workdir


def test_the_three_builds_succeed_and_are_measured_per_run_and_per_node(
    benchmark: tuple[dict, Path],
):
    document, _ = benchmark
    assert document["data"]["customers"] == CUSTOMERS
    assert document["data"]["products"] == PRODUCTS
    assert document["data"]["increment_customers"] == CUSTOMERS // 100
    [repeat] = document["runs"]
    for name in ("full", "one_percent", "nothing_new"):
        run = repeat[name]
        assert run["returncode"] == 0, (name, run["failures"])
        assert run["failures"] == []
        assert run["wall_seconds"] > 0
        assert run["peak_rss_gib"] > 0
        assert EMBED_NODE in run["nodes"]
        for node in run["nodes"].values():
            assert node["seconds"] >= 0
            assert 0 < node["peak_rss_gib"] <= run["peak_rss_gib"]
    summary = document["summary"]
    assert summary["one_percent"]["share_of_full"] == round(
        repeat["one_percent"]["wall_seconds"] / repeat["full"]["wall_seconds"], 4
    )


def test_the_one_percent_run_ingests_the_new_customers_and_the_nothing_new_run_embeds_nothing(
    benchmark: tuple[dict, Path],
):
    _, workdir = benchmark
    with duckdb.connect(str(workdir / "bench.duckdb"), read_only=True) as con:
        (customers,) = first_row(con, "select count(*) from intermediate.int_customers_current")
        (recommended,) = first_row(
            con, "select count(distinct customer_id) from marts.fct_recommendations"
        )
        (embedded_runs,) = first_row(
            con, "select count(distinct run_id) from inference.int_products_embedded"
        )
    assert customers == CUSTOMERS + CUSTOMERS // 100
    assert recommended > CUSTOMERS // 2
    assert embedded_runs == 1  # the catalog did not change after the full build


def test_the_embedding_is_compared_with_a_bare_loop_and_its_model_memory_is_counted(
    benchmark: tuple[dict, Path],
):
    document, _ = benchmark
    bare, embedding = document["bare_encode"], document["summary"]["embedding"]
    assert bare["texts"] == PRODUCTS
    assert bare["texts_per_second"] > 0
    assert embedding["pipeline_step_seconds"] > 0
    assert embedding["pipeline_to_bare_ratio"] == round(
        PRODUCTS / embedding["pipeline_step_seconds"] / bare["texts_per_second"], 3
    )
    # the model (torch and its weights, in the step's child process) is in
    # the full build's figure: the nothing-new run loads no model
    [repeat] = document["runs"]
    with_model = repeat["full"]["nodes"][EMBED_NODE]["peak_rss_gib"]
    assert with_model > repeat["nothing_new"]["peak_rss_gib"] + 0.2
