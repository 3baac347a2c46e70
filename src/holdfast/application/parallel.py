"""Where a step's work runs: an order-preserving map in worker processes, and
a stream produced by one dedicated thread.

The per-customer steps are single-threaded numpy/scipy work (scipy's sparse
kernels hold the GIL, so threads do not help); on a two-core machine a second
process doubles them. Workers are spawned (not forked: the dbt process runs
DuckDB's threads, and a fork copies their locks mid-flight), receive the
step's shared state (a fitted model) once, and then map items in order. A
stream of a single item, the common incremental case, never starts a pool.

A spawned child normally runs the parent's main module first (as
`__mp_main__`). In a step the parent's main module is dbt's console script,
which imports all of dbt-core: 66 MiB and about a second in every worker, for
nothing a worker calls. `WORKER_CONTEXT` starts children without it; what they
run must live in an importable module (never `__main__`).
"""

from __future__ import annotations

import sys
import types
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import chain, islice
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any, TypeVar

from holdfast import environment

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

_worker_state: Any = None


@contextmanager
def _host_main_hidden() -> Iterator[None]:
    """While a child is started, `__main__` is an empty module, so the child's
    preparation data names no main module to run. Only the start itself (a few
    milliseconds) sees the swap."""
    host_main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = host_main


class _WorkerProcess(SpawnProcess):
    def start(self) -> None:
        with _host_main_hidden():
            super().start()


class _WorkerContext(SpawnContext):
    Process = _WorkerProcess


# spawn, without the host's main module (the module docstring says why)
WORKER_CONTEXT = _WorkerContext()


def _start_worker(state: Any, blas_threads: int | None) -> None:
    global _worker_state
    _worker_state = state
    if blas_threads is not None:
        # each worker already takes a core: BLAS threads on top of the workers
        # oversubscribe the cores, and OpenBLAS threads spin while they wait.
        # Libraries loaded already are limited now, those loaded later by env.
        environment.limit_blas_threads(blas_threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=blas_threads)


def _call_with_worker_state(fn: Callable[[Any, Any], Any], item: Any) -> Any:
    return fn(_worker_state, item)


def map_in_order(
    fn: Callable[[S, T], R],
    state: S,
    items: Iterable[T],
    *,
    processes: int,
    window: int | None = None,
    on_start: Callable[[int], None] | None = None,
    blas_threads: int | None = 1,
    min_items: int = 2,
) -> Iterator[R]:
    """Yield fn(state, item) for each item, in the items' order.

    With `processes` > 1 and at least `min_items` (at least two) items, the calls run in that many
    spawned processes, at most `window` (default 2 x processes) in flight; `fn`
    must be a module-level function and `state`, items and results picklable.
    Otherwise they run here. An exception in a call is raised here, and the
    pool is shut down without running the calls still queued. `on_start` is
    told the number of processes when a pool starts. Each worker limits its
    BLAS and OpenMP thread pools to `blas_threads` (None: leave them).
    """
    iterator = iter(items)
    enough = max(min_items, 2)
    head = list(islice(iterator, enough))
    if processes <= 1 or len(head) < enough:
        for item in chain(head, iterator):
            yield fn(state, item)
        return
    in_flight = window or 2 * processes
    if on_start is not None:
        on_start(processes)
    pool = ProcessPoolExecutor(
        processes,
        mp_context=WORKER_CONTEXT,
        initializer=_start_worker,
        initargs=(state, blas_threads),
    )
    try:
        pending: deque[Future] = deque()
        for item in chain(head, iterator):
            pending.append(pool.submit(_call_with_worker_state, fn, item))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def in_one_thread(items: Iterable[T], name: str = "holdfast-step") -> Iterator[T]:
    """Yield `items` unchanged, each one computed by the same dedicated thread.

    dbt-duckdb writes a step's table from its Arrow reader, and DuckDB pulls
    the reader's batches from whichever of its worker threads is free. A
    step that calls torch (or any OpenMP library) from a different thread each
    time gets an OpenMP thread team per calling thread, and the idle teams'
    threads spin beside the working one: on two cores the embedding step ran
    about 25% slower than the same encode loop outside dbt. Here one thread
    produces every item and the caller only waits for it. Exceptions are
    raised here; closing this generator closes `items` in that thread.
    """
    iterator = iter(items)
    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as producer:
        try:
            while (item := producer.submit(next, iterator, done).result()) is not done:
                yield item
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                producer.submit(close).result()
