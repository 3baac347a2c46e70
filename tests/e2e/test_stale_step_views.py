"""End to end: a warehouse whose steps named their inputs with persistent
views (DuckDB's relation.create_view) holds `main.hf_*` views; the next run
drops them and leaves a person's own views."""

from __future__ import annotations

import duckdb
import pytest
from tests.conftest import make_warehouse

pytestmark = pytest.mark.e2e

# as DuckDB's relation.create_view wrote them (the relation's SQL, wrapped)
STALE = {
    "hf_runs": "select * from (select 1 as run_id) as unnamed_relation_82d28aec94c08e2d",
    "hf_models": "select * from (select 2 as model_id) as unnamed_relation_9404ffa8edd9a5f8",
}
# an analyst's views: one with a name like the steps', one of their own
KEPT = {
    "hf_mine": "select 42 as answer",
    "weekly_revenue": "select 1 as week",
}


def test_the_next_run_drops_the_steps_old_views_and_keeps_everyone_elses(tmp_path):
    warehouse = make_warehouse(tmp_path)
    with duckdb.connect(str(warehouse.db_path)) as con:
        for name, sql in {**STALE, **KEPT}.items():
            con.execute(f"create view main.{name} as {sql}")
    warehouse.dbt("run", "--select", "ops_runs")
    views = {
        name
        for (name,) in warehouse.query(
            "select view_name from duckdb_views() where schema_name = 'main' and not internal"
        )
    }
    assert views == set(KEPT)
    assert warehouse.query("select answer from main.hf_mine") == [(42,)]
