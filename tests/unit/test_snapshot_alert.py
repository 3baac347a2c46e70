"""scheduled: where dbt's run_results.json is, and the snapshot_not_published alert it feeds."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from holdfast.ops import scheduled


def _run_results(path: Path, statuses: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "metadata": {"invocation_id": "inv-1"},
                "results": [
                    {"unique_id": f"test.holdfast.{name}.abc123", "status": status}
                    for name, status in statuses.items()
                ],
            }
        )
    )
    return path


def test_run_results_path_follows_the_target_path_argument(tmp_path, monkeypatch):
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    assert scheduled.run_results_path(tmp_path, []) == tmp_path / "target" / "run_results.json"
    assert (
        scheduled.run_results_path(tmp_path, ["--target-path", "t2"])
        == tmp_path / "t2" / "run_results.json"
    )
    assert scheduled.run_results_path(tmp_path, ["--target-path=/abs/t"]) == Path(
        "/abs/t/run_results.json"
    )
    monkeypatch.setenv("DBT_TARGET_PATH", "from_env")
    assert scheduled.run_results_path(tmp_path, []) == tmp_path / "from_env" / "run_results.json"


def test_the_alert_names_the_failed_nodes_of_this_build_only(tmp_path):
    results = _run_results(
        tmp_path / "target" / "run_results.json",
        {"unique_dim_customers_customer_id": "fail", "not_null_x": "pass", "my_model": "error"},
    )
    started = time.time() - 5
    build = scheduled.Build(1, started, results)
    alert = scheduled.snapshot_not_published_alert(build, tmp_path / "none.duckdb")
    assert alert.severity == "critical" and alert.check_name == "snapshot_not_published"
    assert alert.message == (
        "dbt build failed (exit 1); failed: unique_dim_customers_customer_id, my_model: "
        "the analysts' snapshot was not replaced; no snapshot has been published yet"
    )
    assert json.loads(alert.details)["failed_nodes"] == [
        "unique_dim_customers_customer_id",
        "my_model",
    ]
    assert alert.run_id == "inv-1"

    # a run_results.json older than the build is a previous build's: not named
    old = started - 3600
    os.utime(results, (old, old))
    stale = scheduled.snapshot_not_published_alert(build, tmp_path / "none.duckdb")
    assert stale.message.startswith("dbt build failed (exit 1): the analysts'")
    assert stale.run_id is None and stale.alert_id != alert.alert_id
