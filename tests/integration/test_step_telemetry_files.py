"""ops_step_telemetry reads only complete step reports, whatever a kill or a full disk left.

The reports are written by the real writer (`step_telemetry.write_report`);
beside them lie what an interrupted write leaves: a partial `.tmp-*.json`
(killed between write and rename, or out of space) and, after a power loss
without the data reaching the disk, a truncated or empty final file. The
model is built by dbt on a throwaway warehouse.
"""

from __future__ import annotations

import json
import os
import time

from tests.conftest import make_warehouse

from holdfast.application.telemetry import StepReport
from holdfast.infrastructure import step_telemetry


def _report(run_id: str, step: str, rows: int) -> StepReport:
    return StepReport(
        run_id=run_id,
        step=step,
        status="ok",
        rows=rows,
        batches=1,
        expected_rows=rows,
        wall_seconds=1.5,
        cpu_seconds=1.0,
        start_rss_mb=100.0,
        peak_rss_mb=150.0,
        started_at="2025-01-01T00:00:00+00:00",
        ended_at="2025-01-01T00:00:01.5+00:00",
    )


def test_partial_and_truncated_report_files_do_not_fail_the_build(tmp_path):
    warehouse = make_warehouse(tmp_path / "w")
    directory = step_telemetry.telemetry_dir(warehouse.db_path)
    complete = {
        ("run_a", "embed_products"): 11,
        ("run_a", "recommend"): 22,
        ("run_b", "embed_products"): 33,
    }
    for (run_id, step), rows in complete.items():
        step_telemetry.write_report(directory, _report(run_id, step, rows))
    whole = json.dumps(_report("run_c", "recommend", 44).as_dict())
    # a write killed before its rename, and one that ran out of space
    (directory / ".tmp-k1ll3d.json").write_text(whole[: len(whole) // 2])
    (directory / ".tmp-n0sp4c.json").write_text("")
    # final names whose data never reached the disk
    (directory / "run_d__recommend.json").write_text(whole[:40])
    (directory / "run_e__recommend.json").write_text("")

    expected = set()
    for path in directory.iterdir():  # an independent reading of the folder
        try:
            document = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        if not path.name.startswith("."):
            expected.add((document["run_id"], document["step"], document["rows"]))
    assert expected == {(r, s, n) for (r, s), n in complete.items()}

    result = warehouse.dbt("build", "--select", "ops_step_telemetry", check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    rows = warehouse.query("select run_id, step, rows from ops.ops_step_telemetry")
    assert set(rows) == expected and len(rows) == len(expected)


def test_the_writer_leaves_no_temp_file_and_clears_stale_ones(tmp_path):
    directory = tmp_path / "w.telemetry"
    directory.mkdir()
    stale = directory / ".tmp-stale.json"
    stale.write_text('{"run_id": ')
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    fresh = directory / ".tmp-fresh.json"  # another step may be writing it right now
    fresh.write_text('{"run_id": ')

    target = step_telemetry.write_report(directory, _report("run_a", "recommend", 5))

    assert json.loads(target.read_text())["rows"] == 5
    assert sorted(p.name for p in directory.iterdir()) == [".tmp-fresh.json", target.name]


def test_a_report_that_cannot_be_written_leaves_no_temp_file(tmp_path, monkeypatch):
    directory = tmp_path / "w.telemetry"

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(step_telemetry.json, "dump", full_disk)
    try:
        step_telemetry.write_report(directory, _report("run_a", "recommend", 5))
    except OSError as error:
        assert error.errno == 28
    else:
        raise AssertionError("the write should have failed")
    assert list(directory.iterdir()) == []
