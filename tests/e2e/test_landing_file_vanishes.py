"""End to end: a landing file removed between the listing and its reading.

An operator archiving files, or an uploader that moves a file away again, can
take a file out of the landing folder after a run has listed it and before it
reads it. The defined outcome: the file is not staged, and that run's
accounting check (`assert_every_input_line_accounted_for`, error severity)
fails, naming the file as listed but never staged, so the run exits 1 (and
`holdfast run` keeps the last good snapshot); the ledger is what the run
before left. The next run reads what the folder then holds, and a file put
back is read then, so the warehouse equals a rebuild on the same files.

The race is made deterministic: a `sitecustomize` module on the dbt process's
path wraps the landing folder's listing so that, once the folder is listed, it
moves the chosen file out of the folder.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest
from tests.conftest import Warehouse, make_warehouse

pytestmark = pytest.mark.e2e

UUID = "7c0de000-1b2c-4d5e-8f90-1234567890{:02x}"
PRODUCT = json.dumps(
    {"productId": "P1", "name": "Mug", "category": "Kitchen", "price": 4.5, "stockQuantity": 10}
)
# the ledger and what it is built from; no Python step is needed for them
SELECT = ("--select", "+ops_batch_ledger")

VANISH_SHIM = textwrap.dedent(
    """
    import os
    from holdfast.infrastructure import landing_folder

    _list_folder = landing_folder.list_folder

    def list_folder(folder):
        listed = _list_folder(folder)
        victim = os.path.join(folder, os.environ["HOLDFAST_VANISH_NAME"])
        if os.path.exists(victim):
            os.rename(victim, os.environ["HOLDFAST_VANISH_TO"])
        return listed

    landing_folder.list_folder = list_folder
    """
)


def batch(first: int, count: int) -> str:
    return "".join(
        json.dumps(
            {
                "id": UUID.format(first + n),
                "email": f"vanish{first + n}@example.com",
                "purchaseHistory": [
                    {"productId": "P1", "amount": 3.0 + n, "date": "2025-04-01T10:00:00Z"}
                ],
                "createdAt": "2025-01-01T00:00:00Z",
            }
        )
        + "\n"
        for n in range(count)
    )


def ledger(warehouse: Warehouse) -> list[tuple]:
    return warehouse.query(
        "select file_name, status, rows_in, rows_valid, rows_invalid "
        "from ops.ops_batch_ledger where source = 'customers' order by file_name"
    )


def staged_lines(warehouse: Warehouse) -> dict[str, int]:
    return dict(
        warehouse.query(
            "select file_name, count(line_number) from staging.stg_landing__customer_lines "
            "group by file_name"
        )
    )


def lines_on_disk(folder: Path) -> dict[str, int]:
    return {path.name: path.read_text().count("\n") for path in sorted(folder.iterdir())}


def test_a_file_removed_after_listing_fails_the_run_cleanly_and_is_read_later(tmp_path: Path):
    warehouse = make_warehouse(tmp_path / "incremental")
    customers = warehouse.landing_dir / "customers"
    (warehouse.landing_dir / "products" / "catalog_0001.jsonl").write_text(PRODUCT + "\n")
    (customers / "b_0001.jsonl").write_text(batch(0, 3))
    (customers / "b_0002.jsonl").write_text(batch(10, 2))
    warehouse.dbt("build", *SELECT)
    before = ledger(warehouse)
    assert [row[0] for row in before] == ["b_0001.jsonl", "b_0002.jsonl"]

    # a new batch arrives and is moved away once the run has listed the folder
    (customers / "b_0003.jsonl").write_text(batch(20, 4))
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(VANISH_SHIM)
    parked = tmp_path / "parked.jsonl"
    raced = warehouse.dbt(
        "build",
        *SELECT,
        check=False,
        env={
            "PYTHONPATH": os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")]),
            "HOLDFAST_VANISH_NAME": "b_0003.jsonl",
            "HOLDFAST_VANISH_TO": str(parked),
        },
    )
    assert parked.exists(), "the shim did not run: the race was not reproduced"
    assert raced.returncode == 1, raced.stdout[-4000:]
    assert "Failure in test assert_every_input_line_accounted_for" in raced.stdout
    assert "Traceback" not in raced.stdout
    # the check's failing rows name the file and why
    check = warehouse.target_dir / "compiled" / "holdfast" / "tests" / "dbt"
    failures = warehouse.query((check / "assert_every_input_line_accounted_for.sql").read_text())
    assert [(row[2], row[-1]) for row in failures] == [
        ("b_0003.jsonl", "listed in the landing folder but never staged")
    ]
    # nothing of the failed run was written
    assert ledger(warehouse) == before
    assert staged_lines(warehouse) == {"b_0001.jsonl": 3, "b_0002.jsonl": 2}

    # the next run reads the folder as it is, without the file
    warehouse.dbt("build", *SELECT)
    assert ledger(warehouse) == before

    # put back, the file is read by the run after, with every one of its lines
    shutil.move(parked, customers / "b_0003.jsonl")
    warehouse.dbt("build", *SELECT)
    assert staged_lines(warehouse) == lines_on_disk(customers)
    assert {row[0]: row[2] for row in ledger(warehouse)} == lines_on_disk(customers)

    # and the warehouse is what a rebuild on the same files gives
    rebuilt = make_warehouse(tmp_path / "rebuilt")
    rebuilt.dbt("build", *SELECT, vars={"landing_dir": str(warehouse.landing_dir)})
    assert ledger(rebuilt) == ledger(warehouse)
