"""Scale benchmark: a full build, a 1%-new-batch run and a nothing-new run.

Generates N synthetic customers (about 10 purchases each, long-tailed) over a
20,000-product catalog, then times three `dbt build` runs on one DuckDB file:

1. full: from an empty database;
2. one_percent: after one new batch of 1% more (new) customers lands;
3. nothing_new: again, with nothing new.

For each run it reports wall time and the peak resident memory of the whole
process tree (dbt and anything it starts), sampled from /proc, and per dbt
node the time and the tree's peak memory while that node ran. It also times a
bare encode loop of the embedding backend over the same product texts and
compares it with the pipeline's product-embedding step. One JSON document on
stdout. Usage:

    .venv/bin/python bench/scale.py --customers 100000 [--repeats 3]
    make bench CUSTOMERS=2000000

`--repeats` repeats the three runs on fresh databases and reports medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from holdfast import environment
from holdfast.infrastructure.step_telemetry import process_tree, tree_rss_bytes

PROJECT = Path(__file__).resolve().parents[1]
CATALOG_SIZE = 20_000
EMBED_NODE = "model.holdfast.int_products_embedded"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def tree_cpu_ticks(root: int) -> int:
    """CPU ticks used by `root` and its descendants, the reaped ones included
    (utime + stime + cutime + cstime of each live process)."""
    total = 0
    for pid in process_tree(root):
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
            fields = text[text.rindex(")") + 2 :].split()
            total += sum(int(f) for f in fields[11:15])
        except (OSError, ValueError):
            pass
    return total


def machine_ticks() -> tuple[int, ...]:
    """The machine's CPU ticks so far, from /proc/stat: user, nice, system,
    idle, iowait, irq, softirq, steal."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
        return tuple(int(f) for f in fields)
    except (OSError, IndexError, ValueError):
        return (0,) * 8


def dirty_bytes() -> int:
    """Page-cache bytes waiting to be written to disk (Dirty + Writeback)."""
    total = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in {"Dirty", "Writeback"}:
                total += int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return total


class TreeSampler(threading.Thread):
    """Samples every `interval` seconds the process tree's RSS and CPU ticks,
    the machine's CPU ticks and the page cache's dirty bytes."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self.cpu_samples: list[tuple[float, int, tuple[int, ...], int]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            now = time.time()
            self.samples.append((now, tree_rss_bytes(self.pid)))
            self.cpu_samples.append((now, tree_cpu_ticks(self.pid), machine_ticks(), dirty_bytes()))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def peak(self, start: float | None = None, end: float | None = None) -> int:
        """The highest RSS sampled in [start - interval, end]. A step shorter
        than the gap between two samples (the sampler is late on a busy
        machine) gets the RSS of the sample nearest to it instead of none."""
        window = [
            rss
            for t, rss in self.samples
            if (start is None or t >= start - self.interval) and (end is None or t <= end)
        ]
        if window or not self.samples:
            return max(window, default=0)
        middle = ((start or 0.0) + (end if end is not None else time.time())) / 2
        return min(self.samples, key=lambda sample: abs(sample[0] - middle))[1]

    def cpu(self, start: float, end: float) -> dict | None:
        """Where the machine's CPUs went while [start, end] ran, in cores: the
        process tree, everything else that ran (other processes, the kernel's
        writeback), waiting for the disk, idle; and the most dirty page-cache
        MiB seen. None for a window shorter than two samples."""
        window = [s for s in self.cpu_samples if start - self.interval <= s[0] <= end]
        if len(window) < 2:
            return None
        (t0, tree0, m0, _), (t1, tree1, m1, _) = window[0], window[-1]
        seconds = t1 - t0
        if seconds <= 0:
            return None
        delta = [b - a for a, b in zip(m0, m1, strict=True)]
        hz = os.sysconf("SC_CLK_TCK")
        busy = delta[0] + delta[1] + delta[2] + delta[5] + delta[6]

        def cores(ticks: float) -> float:
            return round(ticks / hz / seconds, 2)

        return {
            "tree": cores(tree1 - tree0),
            "others": cores(max(busy - (tree1 - tree0), 0)),
            "iowait": cores(delta[4]),
            "idle": cores(delta[3]),
            "steal": cores(delta[7]),
            "dirty_mib_max": round(max(s[3] for s in window) / 2**20),
        }


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the machine so far, from /proc/stat: on a
    virtual machine, `steal` is time the hypervisor gave the CPUs to others."""
    ticks = machine_ticks()  # user .. steal (guest time is inside user)
    return ticks[7], sum(ticks)


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Share of the CPUs' time taken by the hypervisor between two readings."""
    total = after[1] - before[1]
    return round((after[0] - before[0]) / total, 3) if total > 0 else 0.0


def _gib(n: int) -> float:
    return round(n / 2**30, 3)


def _timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def generate(landing: Path, customers: int, seed: int, products: int = CATALOG_SIZE) -> dict:
    """The base landing zone plus, aside, one batch of 1% new customers."""
    from holdfast.datagen.synthetic import generate_landing

    started = time.perf_counter()
    base = generate_landing(landing, customers=customers, products=products, seed=seed)
    extra_dir = landing.parent / "increment"
    increment = generate_landing(
        extra_dir,
        customers=max(1, customers // 100),
        products=products,
        seed=seed + 1,
        batches=1,
    )
    return {
        "customers": customers,
        "customer_lines": base.customer_lines,
        "batches": len(base.customer_batches),
        "products": base.products,
        "increment_customers": increment.customers,
        "increment_lines": increment.customer_lines,
        "landing_bytes": sum(p.stat().st_size for p in landing.rglob("*.jsonl")),
        "generate_seconds": round(time.perf_counter() - started, 1),
        "increment_file": str(extra_dir / "customers" / increment.customer_batches[0]) + ".jsonl",
        "next_batch_id": f"customers_{len(base.customer_batches) + 1:04d}",
    }


def dbt_build(workdir: Path, name: str, landing: Path, database: Path) -> dict:
    """One `dbt build`, timed and sampled; per-node figures from run_results.
    The runs of one repeat share a target folder, as a scheduled job's runs
    share the project's `target/`: dbt parses the project again only when it
    changed (partial parsing), so the later runs do not pay a full parse.
    dbt gets the environment `holdfast run` gives it (offline, no unit tests)."""
    target = workdir / "target"
    env = dict(environment.pipeline_environment(), HOLDFAST_DUCKDB_PATH=str(database))
    command = [
        str(Path(sys.executable).parent / "dbt"),
        "build",
        "--target-path",
        str(target),
        "--log-path",
        str(workdir / f"logs-{name}"),
        "--vars",
        json.dumps({"landing_dir": str(landing)}),
    ]
    started, ticks = time.time(), cpu_ticks()
    with open(workdir / f"dbt-{name}.out", "w") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        sampler = TreeSampler(process.pid)
        sampler.start()
        returncode = process.wait()
        sampler.stop()
    wall, steal = time.time() - started, steal_share(ticks, cpu_ticks())
    kept = workdir / f"run_results-{name}.json"
    shutil.copyfile(target / "run_results.json", kept)
    results = json.loads(kept.read_text())["results"]
    nodes = {}
    for result in results:
        timings = {t["name"]: t for t in result.get("timing", [])}
        execute = timings.get("execute") or {}
        compile_ = timings.get("compile") or execute
        if not execute.get("started_at"):
            continue
        start, end = _timestamp(compile_["started_at"]), _timestamp(execute["completed_at"])
        nodes[result["unique_id"]] = {
            "status": result["status"],
            "seconds": round(result["execution_time"], 2),
            "peak_rss_gib": _gib(sampler.peak(start, end)),
        }
        if end - start >= 5:  # where the CPUs went, for the steps that matter
            nodes[result["unique_id"]]["cpu_cores"] = sampler.cpu(start, end)
    failures = [k for k, v in nodes.items() if v["status"] in {"error", "fail"}]
    return {
        "returncode": returncode,
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "wall_seconds": round(wall, 1),
        "peak_rss_gib": _gib(sampler.peak()),
        "cpu_steal_share": steal,
        "failures": failures,
        "nodes": nodes,
    }


def bare_encode(database: Path, batch_size: int = 256) -> dict:
    """Texts per second of a bare encode loop over the catalog's product texts,
    in the batches the pipeline's step uses (`inference_batch_size` texts per
    call, shortest texts first): the same model work without the pipeline
    around it, so the ratio shows the pipeline's own overhead."""
    import duckdb

    from holdfast.infrastructure.encoder import load_encoder

    with duckdb.connect(str(database), read_only=True) as con:
        texts = [
            row[0]
            for row in con.execute(
                "select product_text from intermediate.int_products_current "
                "order by length(product_text), product_id"
            ).fetchall()
        ]
    started = time.perf_counter()
    encoder = load_encoder()
    load_seconds = time.perf_counter() - started
    started, ticks, cpu = time.perf_counter(), cpu_ticks(), time.process_time()
    for offset in range(0, len(texts), batch_size):
        encoder.encode(texts[offset : offset + batch_size])
    seconds, steal = time.perf_counter() - started, steal_share(ticks, cpu_ticks())
    cpu = time.process_time() - cpu
    return {
        "texts": len(texts),
        "batch_size": batch_size,
        "load_seconds": round(load_seconds, 1),
        "encode_seconds": round(seconds, 1),
        "texts_per_second": round(len(texts) / seconds, 1),
        "backend": encoder.version,
        "cpu_steal_share": steal,
        "cpu_cores": round(cpu / seconds, 2),
    }


def one_repeat(workdir: Path, data: dict, landing: Path) -> dict:
    database = workdir / "bench.duckdb"
    for stale in workdir.glob("bench.duckdb*"):
        stale.unlink()
    shutil.rmtree(workdir / "target", ignore_errors=True)  # each repeat parses from scratch
    increment_target = landing / "customers" / f"{data['next_batch_id']}.jsonl"
    increment_target.unlink(missing_ok=True)
    runs = {"full": dbt_build(workdir, "full", landing, database)}
    shutil.copyfile(data["increment_file"], increment_target)
    runs["one_percent"] = dbt_build(workdir, "one_percent", landing, database)
    runs["nothing_new"] = dbt_build(workdir, "nothing_new", landing, database)
    increment_target.unlink()
    runs["database_bytes"] = database.stat().st_size
    return runs


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def summarise(repeats: list[dict], bare: dict) -> dict:
    summary = {}
    for run in ("full", "one_percent", "nothing_new"):
        summary[run] = {
            "wall_seconds_median": _median([r[run]["wall_seconds"] for r in repeats]),
            "peak_rss_gib_median": _median([r[run]["peak_rss_gib"] for r in repeats]),
            "cpu_steal_share_median": _median([r[run]["cpu_steal_share"] for r in repeats]),
        }
    full = summary["full"]["wall_seconds_median"]
    summary["one_percent"]["share_of_full"] = round(
        summary["one_percent"]["wall_seconds_median"] / full, 4
    )
    embed_seconds = _median([r["full"]["nodes"][EMBED_NODE]["seconds"] for r in repeats])
    pipeline_rate = bare["texts"] / embed_seconds if embed_seconds else 0.0
    bare_with_load = bare["texts"] / (bare["load_seconds"] + bare["encode_seconds"])
    summary["embedding"] = {
        "bare_texts_per_second": bare["texts_per_second"],
        "bare_load_seconds": bare["load_seconds"],
        "pipeline_step_seconds": embed_seconds,
        "pipeline_texts_per_second": round(pipeline_rate, 1),
        "pipeline_to_bare_ratio": round(pipeline_rate / bare["texts_per_second"], 3),
        # the step's time includes loading the model; the bare rate above does
        # not. The same comparison with the bare loop's load counted too:
        "bare_texts_per_second_with_load": round(bare_with_load, 1),
        "pipeline_to_bare_ratio_with_load": round(pipeline_rate / bare_with_load, 3),
        # cores used by the bare loop, and where the CPUs went during the step
        "bare_cpu_cores": bare.get("cpu_cores"),
        "pipeline_step_cpu_cores": repeats[0]["full"]["nodes"][EMBED_NODE].get("cpu_cores"),
    }
    slowest = sorted(
        repeats[0]["full"]["nodes"].items(), key=lambda item: item[1]["seconds"], reverse=True
    )
    summary["full_slowest_nodes"] = {k: v for k, v in slowest[:10]}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--products", type=int, default=CATALOG_SIZE, help="catalog size (smoke runs only)"
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    workdir = (args.workdir or Path(f"/tmp/holdfast-bench-{args.customers}")).resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    landing = workdir / "landing"
    data = generate(landing, args.customers, args.seed, args.products)
    repeats = [one_repeat(workdir, data, landing) for _ in range(args.repeats)]
    bare = bare_encode(workdir / "bench.duckdb")
    document = {
        "benchmark": "holdfast scale",
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": _gib(os.sysconf("SC_PHYS_PAGES") * PAGE_SIZE),
            "python": platform.python_version(),
            "duckdb_memory_limit": environment.duckdb_memory_limit(),
        },
        "data": {k: v for k, v in data.items() if k != "increment_file"},
        "repeats": args.repeats,
        "summary": summarise(repeats, bare),
        "bare_encode": bare,
        "runs": repeats,
    }
    print(json.dumps(document, indent=2))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
