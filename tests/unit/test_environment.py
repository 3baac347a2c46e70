"""holdfast.environment is the one module that reads environment variables, and its
functions read them when called, with the documented defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from holdfast import environment

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "holdfast"
# os.environ / os.environb in any form, os.getenv / putenv / unsetenv, a bare getenv
# (`from os import getenv`, or DuckDB's getenv() in SQL text)
READS_ENVIRONMENT = re.compile(r"\benviron\b|\bgetenv\b|\bputenv\b|\bunsetenv\b|\benvironb\b")


def _readers(package: Path = PACKAGE) -> dict[str, list[str]]:
    """The lines of each module (other than environment.py) that touch the environment."""
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        if name == "environment.py":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        hits = [
            f"{number}: {line.strip()}"
            for number, line in enumerate(lines, 1)
            if READS_ENVIRONMENT.search(line)
        ]
        if hits:
            found[name] = hits
    return found


def test_only_the_environment_module_reads_environment_variables():
    assert _readers() == {}


def test_the_scan_sees_a_read(tmp_path):
    package = tmp_path / "holdfast"
    (package / "ops").mkdir(parents=True)
    (package / "environment.py").write_text("import os\nos.environ\n")
    (package / "ops" / "sneaky.py").write_text('import os\nTOKEN = os.environ.get("TOKEN")\n')
    (package / "ops" / "quiet.py").write_text("from os import getenv\n")
    (package / "ops" / "fine.py").write_text("from holdfast import environment\n")
    assert _readers(package) == {
        "ops/quiet.py": ["1: from os import getenv"],
        "ops/sneaky.py": ['2: TOKEN = os.environ.get("TOKEN")'],
    }


def test_paths_default_under_the_project_and_follow_their_variables(tmp_path, monkeypatch):
    for name in ("HOLDFAST_DUCKDB_PATH", "HOLDFAST_PUBLISHED_PATH", "HOLDFAST_REPORT_PATH"):
        monkeypatch.delenv(name, raising=False)
    warehouse = tmp_path / "data" / "warehouse"
    assert environment.duckdb_path(tmp_path) == warehouse / "holdfast.duckdb"
    assert environment.published_path(tmp_path) == warehouse / "holdfast_published.duckdb"
    assert environment.report_path(tmp_path) == warehouse / "holdfast_report.html"
    monkeypatch.setenv("HOLDFAST_PUBLISHED_PATH", "elsewhere/snap.duckdb")
    monkeypatch.setenv("HOLDFAST_REPORT_PATH", "/abs/report.html")
    assert environment.published_path(tmp_path) == tmp_path / "elsewhere" / "snap.duckdb"
    assert environment.report_path(tmp_path) == Path("/abs/report.html")
    monkeypatch.setenv("HOLDFAST_PUBLISHED_PATH", "  ")  # blank: the default
    assert environment.published_path(tmp_path) == warehouse / "holdfast_published.duckdb"


def test_numbers_and_limits_have_their_defaults(monkeypatch):
    for name in (
        environment.STREAM_BATCH_ROWS,
        environment.STEP_MEMORY_LIMIT,
        environment.DUCKDB_MEMORY_LIMIT,
        "DBT_TARGET_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    assert environment.stream_batch_rows() == 8192
    assert environment.step_memory_limit() == "768MB"
    assert environment.duckdb_memory_limit() == "1500MB"
    assert environment.dbt_target_path() == "target"
    monkeypatch.setenv(environment.STREAM_BATCH_ROWS, "25")
    assert environment.stream_batch_rows() == 25
    for bad in ("0", "many"):
        monkeypatch.setenv(environment.STREAM_BATCH_ROWS, bad)
        with pytest.raises(ValueError, match=environment.STREAM_BATCH_ROWS):
            environment.stream_batch_rows()


def test_fault_injection_is_off_unless_asked_for():
    assert environment.fault_injection({}) is None
    assert environment.fault_injection({environment.INJECT_FAULTS: " "}) is None
    injection = environment.fault_injection({environment.INJECT_FAULTS: "embed.transient=0.1"})
    assert injection == environment.FaultInjection("embed.transient=0.1", "0")


def test_the_alert_webhook_numbers_are_read_only_with_a_url():
    assert environment.alert_sinks({"HOLDFAST_ALERT_WEBHOOK_BUDGET": "soon"}).webhook is None
    sinks = environment.alert_sinks({"HOLDFAST_ALERT_JSONL_PATH": "OFF"})
    assert (sinks.jsonl_enabled, sinks.jsonl_path) == (False, None)
    webhook = environment.alert_sinks({"HOLDFAST_ALERT_WEBHOOK_URL": "https://h.example/x"})
    assert webhook.webhook == environment.Webhook("https://h.example/x", 5.0, 3, 0.5, 30.0)


def test_dbt_runs_offline_without_telemetry_unless_told_otherwise(monkeypatch):
    monkeypatch.setenv("DO_NOT_TRACK", "0")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    env = environment.pipeline_environment()
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["DO_NOT_TRACK"] == "0"


def test_the_job_leaves_out_dbt_unit_tests_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("DBT_EXCLUDE_RESOURCE_TYPES", raising=False)
    assert environment.pipeline_environment()["DBT_EXCLUDE_RESOURCE_TYPES"] == "unit_test"
    monkeypatch.setenv("DBT_EXCLUDE_RESOURCE_TYPES", "")
    assert environment.pipeline_environment()["DBT_EXCLUDE_RESOURCE_TYPES"] == ""
