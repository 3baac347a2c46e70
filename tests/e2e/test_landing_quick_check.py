"""The landing quick check: an unchanged file (name, size, modification time)
is not read again; a changed one always is; `landing_quick_check: false`
hashes every file. Runs only the customer staging model on tiny files."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from tests.conftest import Warehouse, make_warehouse

pytestmark = pytest.mark.e2e

STAGING = "stg_landing__customer_lines"
LONG_AGO = 1_600_000_000  # 2020-09-13: long before any run


def _write(path: Path, text: str, mtime: float) -> str:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return hashlib.sha256(text.encode()).hexdigest()


def _checksums(warehouse: Warehouse) -> dict[str, str]:
    return dict(
        warehouse.query(
            "select distinct batch_id, file_checksum from staging.stg_landing__customer_lines"
        )
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return make_warehouse(tmp_path)


def test_a_file_rewritten_with_its_size_and_time_kept_is_read_only_without_the_quick_check(
    warehouse: Warehouse,
):
    path = warehouse.landing_dir / "customers" / "batch_0001.jsonl"
    first = _write(path, '{"id": "aaaa"}\n', LONG_AGO)
    warehouse.dbt("run", "--select", STAGING)
    assert _checksums(warehouse) == {"batch_0001": first}

    # same size, same modification time, other bytes: the quick check trusts the stamp
    second = _write(path, '{"id": "bbbb"}\n', LONG_AGO)
    assert second != first
    warehouse.dbt("run", "--select", STAGING)
    assert _checksums(warehouse) == {"batch_0001": first}

    # without it every file is hashed, and the new bytes replace the batch
    warehouse.dbt("run", "--select", STAGING, vars={"landing_quick_check": False})
    assert _checksums(warehouse) == {"batch_0001": second}
    lines = warehouse.query("select raw_line from staging.stg_landing__customer_lines")
    assert lines == [('{"id": "bbbb"}',)]


def test_a_changed_size_or_time_is_always_read_again(warehouse: Warehouse):
    customers = warehouse.landing_dir / "customers"
    _write(customers / "a_0001.jsonl", '{"id": "a"}\n', LONG_AGO)
    _write(customers / "b_0001.jsonl", '{"id": "b"}\n', LONG_AGO)
    warehouse.dbt("run", "--select", STAGING)

    longer = _write(customers / "a_0001.jsonl", '{"id": "a2"}\n', LONG_AGO)
    later = _write(customers / "b_0001.jsonl", '{"id": "c"}\n', LONG_AGO + 60)
    warehouse.dbt("run", "--select", STAGING)
    assert _checksums(warehouse) == {"a_0001": longer, "b_0001": later}


def test_a_file_stamped_within_a_second_of_its_reading_is_hashed_again(warehouse: Warehouse):
    # a stamp not older than the reading run (here: in the future) cannot prove
    # that the bytes did not change in the same second, so it is not trusted
    path = warehouse.landing_dir / "customers" / "batch_0001.jsonl"
    soon = time.time() + 3600
    _write(path, '{"id": "aaaa"}\n', soon)
    warehouse.dbt("run", "--select", STAGING)
    second = _write(path, '{"id": "bbbb"}\n', soon)
    warehouse.dbt("run", "--select", STAGING)
    assert _checksums(warehouse) == {"batch_0001": second}
