"""End to end: the fit models keep every fit's row, but only the newest
`model_blobs_kept` pickled models (real dbt, real fits).

Loading the newest model reads the blob column of every row (DuckDB), so
keeping every model made each scheduled run read more; older rows keep
their record with the model emptied, and the pipeline still builds.
"""

from __future__ import annotations

import hashlib

import pytest
from tests.conftest import Warehouse, make_warehouse

from holdfast.datagen.synthetic import generate_landing

pytestmark = pytest.mark.e2e

KEPT = 2
REFITS = 3  # forced refits after the first build, each with other settings
FIT_MODELS = {
    "inference.int_segment_models": "segment_model_id",
    "inference.int_recommender_models": "recommender_model_id",
}


@pytest.fixture(scope="module")
def refitted(tmp_path_factory) -> tuple[Warehouse, list[str]]:
    warehouse = make_warehouse(tmp_path_factory.mktemp("blobs"))
    generate_landing(warehouse.landing_dir, customers=120, seed=4, products=80, batches=1)
    warehouse.dbt("build", vars={"model_blobs_kept": KEPT})
    for refit in range(REFITS):
        warehouse.dbt(
            "run",
            "--select",
            "ops_runs",
            "int_segment_models",
            "int_recommender_models",
            vars={
                "model_blobs_kept": KEPT,
                "segment_refit": True,
                "recommender_refit": True,
                # other settings, so every refit is a new model (ids are content hashes)
                "random_seed": 100 + refit,
                "recommender_pool_size": 41 + refit,
            },
        )
    runs = [
        r for (r,) in warehouse.query("select run_id from ops.ops_runs order by run_started_at")
    ]
    return warehouse, runs


@pytest.mark.parametrize("table", sorted(FIT_MODELS))
def test_every_fit_keeps_its_row_and_only_the_newest_keep_their_model(refitted, table):
    warehouse, runs = refitted
    assert len(runs) == 1 + REFITS
    rows = warehouse.query(f"select run_id, model_blob is not null from {table}")
    assert sorted(run for run, _ in rows) == sorted(runs)  # one fit per run, none lost
    with_model = {run for run, kept in rows if kept}
    assert with_model == set(runs[-KEPT:])


@pytest.mark.parametrize("table", sorted(FIT_MODELS))
def test_the_newest_model_is_whole(refitted, table):
    warehouse, runs = refitted
    key = FIT_MODELS[table]
    [(blob, checksum, run)] = warehouse.query(
        f"select model_blob, model_checksum, run_id from {table} "
        f"order by fitted_at desc, {key} desc limit 1"
    )
    assert run == runs[-1]
    assert hashlib.sha256(blob).hexdigest() == checksum


def test_the_pipeline_builds_on_the_newest_models(refitted):
    warehouse, _ = refitted
    warehouse.dbt("build", vars={"model_blobs_kept": KEPT})  # raises if anything fails
    [(newest,)] = warehouse.query(
        "select recommender_model_id from inference.int_recommender_models "
        "order by fitted_at desc, recommender_model_id desc limit 1"
    )
    versions = {
        v for (v,) in warehouse.query("select recommender_version from marts.fct_recommendations")
    }
    assert versions, "nothing was recommended"
    assert all(newest in version for version in versions), (newest, versions)
