"""The landing files: where they go, one compact JSON record per line, written to
`<name>.tmp` and moved into place with `os.replace`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

CUSTOMERS_DIR = "customers"
PRODUCTS_DIR = "products"
PRODUCT_SNAPSHOT_ID = "catalog_0001"


def atomic_write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write lines (each + '\\n') to `path.tmp`, then move it over `path`; returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            for line in lines:
                handle.write(line)
                handle.write("\n")
                count += 1
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def compact_json(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
