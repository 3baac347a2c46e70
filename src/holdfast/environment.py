"""Every environment variable holdfast's Python reads or sets, in one module.

Each function below reads its variable when it is called (so a test or a parent
process can set it just before), and its docstring names the variable, its
default and what it means. Paths that are relative are relative to the dbt
project (HOLDFAST_PROJECT_DIR) unless the docstring says otherwise.
profiles.yml reads the connection's variables for dbt itself
(HOLDFAST_DUCKDB_PATH and HOLDFAST_DUCKDB_MEMORY_LIMIT, with the defaults below
for its dev target; HOLDFAST_DUCKDB_THREADS, HOLDFAST_SPARK_*, DATABRICKS_*).

The dbt vars (dbt_project.yml `vars:`) are settings of the pipeline, not of the
machine it runs on: they live in holdfast.settings.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DUCKDB_PATH = "data/warehouse/holdfast.duckdb"
DEFAULT_PUBLISHED_PATH = "data/warehouse/holdfast_published.duckdb"
DEFAULT_REPORT_PATH = "data/warehouse/holdfast_report.html"
DEFAULT_ALERTS_PATH = "data/warehouse/holdfast_alerts.jsonl"

INJECT_FAULTS = "HOLDFAST_INJECT_FAULTS"
FAULT_SEED = "HOLDFAST_FAULT_SEED"
STREAM_BATCH_ROWS = "HOLDFAST_STREAM_BATCH_ROWS"
STEP_MEMORY_LIMIT = "HOLDFAST_DUCKDB_STEP_MEMORY_LIMIT"
DUCKDB_MEMORY_LIMIT = "HOLDFAST_DUCKDB_MEMORY_LIMIT"


def _variables(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _in_project(project: Path, name: str, default: str) -> Path:
    """`name`'s path (blank: `default`), relative ones under `project`."""
    path = Path(os.environ.get(name, "").strip() or default)
    return path if path.is_absolute() else project / path


# --- where things are ------------------------------------------------------------------------


def project_dir() -> Path:
    """HOLDFAST_PROJECT_DIR: the dbt project holdfast runs (default: the current folder),
    resolved to an absolute path."""
    return Path(os.environ.get("HOLDFAST_PROJECT_DIR", ".")).resolve()


def duckdb_path(project: Path) -> Path:
    """HOLDFAST_DUCKDB_PATH: the working warehouse, the DuckDB file dbt writes (default
    data/warehouse/holdfast.duckdb), as profiles.yml resolves it: relative to the project."""
    path = Path(os.environ.get("HOLDFAST_DUCKDB_PATH", DEFAULT_DUCKDB_PATH))
    return path if path.is_absolute() else project / path


def published_path(project: Path) -> Path:
    """HOLDFAST_PUBLISHED_PATH: the analysts' snapshot, the DuckDB file no writer ever
    holds (default data/warehouse/holdfast_published.duckdb; blank means the default)."""
    return _in_project(project, "HOLDFAST_PUBLISHED_PATH", DEFAULT_PUBLISHED_PATH)


def report_path(project: Path) -> Path:
    """HOLDFAST_REPORT_PATH: the operator's HTML report that `holdfast run` and
    `holdfast report` write (default data/warehouse/holdfast_report.html)."""
    return _in_project(project, "HOLDFAST_REPORT_PATH", DEFAULT_REPORT_PATH)


def alert_jsonl_path(project: Path) -> Path:
    """HOLDFAST_ALERT_JSONL_PATH as a path under the project: the JSON-lines file alerts
    are appended to (default data/warehouse/holdfast_alerts.jsonl; see alert_sinks for
    'off')."""
    return _in_project(project, "HOLDFAST_ALERT_JSONL_PATH", DEFAULT_ALERTS_PATH)


def dbt_target_path() -> str:
    """DBT_TARGET_PATH: the folder dbt writes its artifacts to, as dbt reads it (default
    `target`, relative to the project); a --target-path argument overrides it."""
    return os.environ.get("DBT_TARGET_PATH") or "target"


def model_cache_dir() -> Path:
    """HOLDFAST_MODEL_CACHE: where ONNX exports of the encoder are cached (default
    data/models, relative to the current folder; `~` is expanded)."""
    return Path(os.environ.get("HOLDFAST_MODEL_CACHE", "data/models")).expanduser()


# --- how much memory and how many rows -------------------------------------------------------


def duckdb_memory_limit() -> str:
    """HOLDFAST_DUCKDB_MEMORY_LIMIT: DuckDB's memory_limit for dbt's connection, set by
    profiles.yml (default 1500MB); a step that lowers the limit puts this one back."""
    return os.environ.get(DUCKDB_MEMORY_LIMIT, "1500MB")


def step_memory_limit() -> str:
    """HOLDFAST_DUCKDB_STEP_MEMORY_LIMIT: DuckDB's memory_limit while a Python step runs
    (default 768MB), so the SQL models' page cache does not sit beside the step's own
    memory; empty leaves the limit as it is."""
    return os.environ.get(STEP_MEMORY_LIMIT, "768MB")


def stream_batch_rows() -> int:
    """HOLDFAST_STREAM_BATCH_ROWS: rows per record batch a step reads (default 8192, at
    least 1); tests lower it to run the worker processes on small data."""
    raw = os.environ.get(STREAM_BATCH_ROWS, "8192")
    try:
        rows = int(float(raw))
    except ValueError:
        raise ValueError(f"{STREAM_BATCH_ROWS} must be an integer, got {raw!r}") from None
    if rows < 1:
        raise ValueError(f"{STREAM_BATCH_ROWS} must be >= 1, got {rows}")
    return rows


# --- alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    """HOLDFAST_ALERT_WEBHOOK_*: where and how hard alerts are posted."""

    url: str
    timeout_seconds: float
    max_retries: int
    initial_backoff_seconds: float
    budget_seconds: float


@dataclass(frozen=True)
class AlertSinks:
    """Which alert sinks are on besides the log, and their settings."""

    jsonl_enabled: bool
    jsonl_path: Path | None  # None: the caller's default file
    webhook: Webhook | None


def _positive(env: Mapping[str, str], name: str, default: float, *, zero: bool = False) -> float:
    """A finite number > 0 (>= 0 with `zero`) from `env[name]`, else `default`."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if not (value >= 0 if zero else value > 0) or value == math.inf:
        raise ValueError(f"{name} must be a finite number {'>=' if zero else '>'} 0")
    return value


def alert_sinks(env: Mapping[str, str] | None = None) -> AlertSinks:
    """The alert sinks' variables (of the process, or of `env`):

    - HOLDFAST_ALERT_JSONL_PATH: the JSON-lines file (unset or blank: the caller's
      default; a relative path is relative to the current folder); 'off' disables it.
    - HOLDFAST_ALERT_WEBHOOK_URL: an http(s) URL alerts are posted to (unset: no webhook).
    - HOLDFAST_ALERT_WEBHOOK_TIMEOUT: seconds per attempt (default 5, > 0).
    - HOLDFAST_ALERT_WEBHOOK_RETRIES: retries after a failed attempt (default 3, >= 0).
    - HOLDFAST_ALERT_WEBHOOK_BACKOFF: seconds before the first retry (default 0.5, >= 0).
    - HOLDFAST_ALERT_WEBHOOK_BUDGET: seconds the webhook may take per run in all
      (default 30, > 0).

    The webhook's numbers are read only when its URL is set; a value that is not a
    number in range raises ValueError naming the variable.
    """
    variables = _variables(env)
    jsonl = variables.get("HOLDFAST_ALERT_JSONL_PATH", "").strip()
    url = variables.get("HOLDFAST_ALERT_WEBHOOK_URL", "").strip()
    webhook = None
    if url:
        if not url.startswith(("http://", "https://")):
            raise ValueError("HOLDFAST_ALERT_WEBHOOK_URL must be an http(s) URL")
        webhook = Webhook(
            url,
            timeout_seconds=_positive(variables, "HOLDFAST_ALERT_WEBHOOK_TIMEOUT", 5.0),
            max_retries=int(_positive(variables, "HOLDFAST_ALERT_WEBHOOK_RETRIES", 3, zero=True)),
            initial_backoff_seconds=_positive(
                variables, "HOLDFAST_ALERT_WEBHOOK_BACKOFF", 0.5, zero=True
            ),
            budget_seconds=_positive(variables, "HOLDFAST_ALERT_WEBHOOK_BUDGET", 30.0),
        )
    return AlertSinks(
        jsonl_enabled=jsonl.lower() != "off",
        jsonl_path=Path(jsonl) if jsonl and jsonl.lower() != "off" else None,
        webhook=webhook,
    )


# --- fault injection -------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultInjection:
    """HOLDFAST_INJECT_FAULTS and HOLDFAST_FAULT_SEED, as given."""

    spec: str  # e.g. "embed.transient=0.3,recommend.permanent=0.01" (application.faults)
    seed: str


def fault_injection(env: Mapping[str, str] | None = None) -> FaultInjection | None:
    """HOLDFAST_INJECT_FAULTS: the faults to inject into the steps, for testing their
    resilience (unset or blank: none, the default); HOLDFAST_FAULT_SEED: the seed that
    picks which records fail (default 0). Of the process, or of `env`."""
    variables = _variables(env)
    spec = variables.get(INJECT_FAULTS, "").strip()
    if not spec:
        return None
    return FaultInjection(spec, variables.get(FAULT_SEED, "0").strip() or "0")


# --- what child processes and libraries are told ---------------------------------------------


def pipeline_environment() -> dict[str, str]:
    """The environment dbt runs in (a copy of this process's): the encoder loads its model
    offline (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE), nothing reports usage
    (DO_NOT_TRACK, DBT_SEND_ANONYMOUS_USAGE_STATS) and the job's build leaves out dbt's
    unit tests (DBT_EXCLUDE_RESOURCE_TYPES=unit_test), unless the caller set them.

    Unit tests check the models' logic on fixed inputs, not the data a run
    brings: they run in `make test` and CI, where the SQL changes, and dbt
    advises leaving them out of production builds. Data tests still run on
    every build. An `--exclude-resource-type` flag passed to `holdfast run`
    replaces the variable, and `DBT_EXCLUDE_RESOURCE_TYPES=` (empty) brings
    the unit tests back."""
    env = dict(os.environ)
    env.setdefault("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return env


def load_models_offline(*, quiet: bool = True) -> None:
    """Tell Hugging Face libraries in this process never to reach the network
    (HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1): the model is packaged. `quiet` also
    turns off their progress bars and info logging, unless the caller set those."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    if quiet:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def limit_blas_threads(threads: int) -> None:
    """OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS = `threads`, for the BLAS
    libraries this process loads from now on."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
