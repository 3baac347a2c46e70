"""map_in_order: the same results in the same order, in this process or in workers."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from tests.conftest import run_as_main_module

from holdfast.application.parallel import in_one_thread, map_in_order


def scaled_with_pid(factor: int, item: int) -> tuple[int, int]:
    return item * factor, os.getpid()


def fails_on_seven(_state: None, item: int) -> int:
    if item == 7:
        raise ValueError(f"cannot take {item}")
    return item


def test_results_keep_the_input_order_in_worker_processes():
    out = list(map_in_order(scaled_with_pid, 3, range(40), processes=2, window=3))
    assert [value for value, _ in out] == [3 * i for i in range(40)]
    pids = {pid for _, pid in out}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


@pytest.mark.parametrize("items", [[], [5]])
def test_a_stream_of_at_most_one_item_runs_here(items):
    out = list(map_in_order(scaled_with_pid, 2, items, processes=2))
    assert out == [(2 * i, os.getpid()) for i in items]


@pytest.mark.parametrize(("n_items", "pooled"), [(3, False), (4, True), (9, True)])
def test_a_pool_starts_only_from_min_items(n_items, pooled):
    started: list[int] = []
    out = list(
        map_in_order(
            scaled_with_pid, 5, range(n_items), processes=2, min_items=4, on_start=started.append
        )
    )
    assert [value for value, _ in out] == [5 * i for i in range(n_items)]
    assert started == ([2] if pooled else [])
    assert any(pid != os.getpid() for _, pid in out) == pooled


def test_one_process_runs_everything_here():
    out = list(map_in_order(scaled_with_pid, 1, range(5), processes=1))
    assert out == [(i, os.getpid()) for i in range(5)]


def test_an_error_in_a_worker_is_raised_here_after_the_results_before_it():
    seen = []
    with pytest.raises(ValueError, match="cannot take 7"):
        for value in map_in_order(fails_on_seven, None, range(20), processes=2):
            seen.append(value)
    assert seen == list(range(7))


def blas_threads_in_worker(_state: None, _item: int) -> list[int]:
    import numpy  # noqa: F401  (loads OpenBLAS)
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.mark.parametrize("numpy_in_state", [False, True])
def test_workers_limit_their_blas_threads(numpy_in_state):
    """Whether OpenBLAS was loaded before the limit (a model in the state) or after."""
    import numpy

    state = numpy.zeros(3) if numpy_in_state else None
    out = list(map_in_order(blas_threads_in_worker, state, range(4), processes=2))
    assert all(threads and set(threads) == {1} for threads in out), out


def _produced_by() -> Iterator[tuple[int, int]]:
    for i in range(5):
        yield i, threading.get_ident()


def test_one_thread_produces_every_item_whichever_thread_asks():
    stream = in_one_thread(_produced_by())
    seen: list[tuple[int, int]] = []
    askers = [threading.Thread(target=lambda: seen.append(next(stream))) for _ in range(5)]
    for asker in askers:  # each item is asked for by a different thread
        asker.start()
        asker.join()
    assert [i for i, _ in seen] == [0, 1, 2, 3, 4]
    producers = {thread for _, thread in seen}
    assert len(producers) == 1
    assert producers.isdisjoint({threading.get_ident(), *(a.ident for a in askers)})


def test_one_thread_raises_the_error_of_the_stream_here():
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("bad batch")

    stream = in_one_thread(failing())
    assert next(stream) == 1
    with pytest.raises(ValueError, match="bad batch"):
        next(stream)


def test_closing_the_one_thread_stream_closes_the_source_in_its_thread():
    closed_in: list[int] = []

    def source() -> Iterator[int]:
        try:
            yield from range(10)
        finally:
            closed_in.append(threading.get_ident())

    stream = in_one_thread(source(), name="holdfast-test")
    assert next(stream) == 0
    stream.close()
    assert len(closed_in) == 1 and closed_in[0] != threading.get_ident()


def test_workers_do_not_run_the_host_programs_main_module(tmp_path):
    """In a step the host is dbt's console script: a worker that ran it again
    would import all of dbt-core for nothing it calls."""
    printed, runs = run_as_main_module(
        tmp_path,
        """
        import operator
        from holdfast.application.parallel import map_in_order
        print(list(map_in_order(operator.add, 10, range(6), processes=2)))
        """,
    )
    assert printed == str([10 + i for i in range(6)])
    assert runs == ["__main__"]  # the host only, not its two workers
