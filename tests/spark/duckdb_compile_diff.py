"""DuckDB's compiled SQL is the same before and after a change to the portable layer.

The dispatch macros that make models portable must render, on DuckDB, exactly
the SQL DuckDB ran before. This script compiles every model and test for the
`ci` target twice, once from a git revision (default `main`, exported with
`git archive`) and once from the working tree, each into its own target path
and on its own empty DuckDB file, and diffs the compiled files byte by byte
after masking what differs between two invocations (the run's timestamp and
invocation id, the tree's own path).

    python tests/spark/duckdb_compile_diff.py [--base main]

Exit status 0 and "identical" when every compiled file matches; 1 and a
unified diff of each differing file otherwise. Run it with a venv holding
dbt-duckdb (`.venv` or `.venv-spark`).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _export(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "archive", "--format=tar", revision],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _compile(tree: Path, scratch: Path) -> dict[str, str]:
    target = scratch / "target"
    env = dict(
        os.environ,
        HOLDFAST_DUCKDB_PATH=str(scratch / "compile.duckdb"),
        PYTHONPATH=str(tree / "src"),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [
            str(dbt),
            "compile",
            "--target",
            "ci",
            "--project-dir",
            str(tree),
            "--profiles-dir",
            str(tree),
            "--target-path",
            str(target),
            "--log-path",
            str(scratch / "logs"),
        ],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"dbt compile failed in {tree}:\n{result.stdout[-4000:]}")
    compiled = target / "compiled"
    out = {}
    for path in sorted(compiled.rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8").replace(str(tree), "<tree>")
            text = UUID.sub("<uuid>", TIMESTAMP.sub("<timestamp>", text))
            out[str(path.relative_to(compiled))] = text
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git revision to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="holdfast-compile-") as tmp:
        root = Path(tmp)
        base_tree = _export(args.base, root / "base")
        (root / "base-run").mkdir()
        (root / "head-run").mkdir()
        base = _compile(base_tree, root / "base-run")
        head = _compile(PROJECT_ROOT, root / "head-run")
    differing = sorted(
        name for name in base.keys() | head.keys() if base.get(name) != head.get(name)
    )
    for name in differing:
        sys.stdout.writelines(
            difflib.unified_diff(
                base.get(name, "").splitlines(keepends=True),
                head.get(name, "").splitlines(keepends=True),
                f"{args.base}/{name}",
                f"working-tree/{name}",
            )
        )
    print(f"{len(base)} compiled files at {args.base}, {len(head)} in the working tree, ", end="")
    print(f"{len(differing)} differ" if differing else "identical")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
