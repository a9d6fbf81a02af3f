"""Batches on worker threads: results in input order, torch's thread setting restored, errors propagated."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from mirlens.predict.threads import map_batches


@pytest.fixture
def two_threads():
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(saved)


def test_results_come_back_in_input_order_from_several_threads(two_threads):
    seen_threads, inner = set(), set()

    def work(i: int) -> int:
        seen_threads.add(threading.get_ident())
        inner.add(torch.get_num_threads())
        time.sleep(0.005)  # busy long enough that the pool starts its second worker
        x = torch.full((200, 200), float(i))
        return int((x @ x)[0, 0].item() // 200)

    out = list(map_batches(work, range(40)))
    assert out == [i * i for i in range(40)]
    assert len(seen_threads) == 2  # two workers
    assert inner == {1}  # each runs torch single-threaded
    assert torch.get_num_threads() == 2  # restored


def test_one_thread_runs_in_the_caller_and_errors_propagate(two_threads):
    torch.set_num_threads(1)
    caller = threading.get_ident()
    assert list(map_batches(lambda i: threading.get_ident() == caller, range(3))) == [True] * 3
    torch.set_num_threads(2)

    def fail(i: int) -> int:
        if i == 5:
            raise ValueError("batch 5 is bad")
        return i

    with pytest.raises(ValueError, match="batch 5"):
        list(map_batches(fail, range(10)))
    assert torch.get_num_threads() == 2


def test_concurrent_callers_keep_the_setting_whatever_order_they_end(two_threads):
    """Two calls in two threads overlap (as Dask tasks in one worker process); the first to begin ends first. Each
    sees torch's setting from before both (two workers), and the setting is back afterwards in every thread,
    including threads started later (they inherit torch's global default)."""
    first_in, second_in, first_done = threading.Event(), threading.Event(), threading.Event()
    inner: dict[str, set] = {"a": set(), "b": set()}
    results: dict[str, list] = {}

    def work(name: str, i: int) -> int:
        inner[name].add((threading.get_ident(), torch.get_num_threads()))
        if name == "a" and i == 0:
            first_in.set()
            assert second_in.wait(10)
        time.sleep(0.003)
        return i * 2

    def call_a() -> None:
        results["a"] = list(map_batches(lambda i: work("a", i), range(8)))
        first_done.set()

    def call_b() -> None:
        assert first_in.wait(10)
        gen = map_batches(lambda i: work("b", i), range(8))
        results["b"] = [next(gen)]
        second_in.set()
        assert first_done.wait(10)  # a ends while b is still running
        results["b"] += list(gen)

    threads = [threading.Thread(target=call_a), threading.Thread(target=call_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == {"a": [i * 2 for i in range(8)], "b": [i * 2 for i in range(8)]}
    for name in "ab":
        assert {n for _, n in inner[name]} == {1}  # single-threaded inside
        assert len({ident for ident, _ in inner[name]}) == 2  # both calls used two workers
    assert torch.get_num_threads() == 2
    later: list[int] = []
    t = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert later == [2]


def test_cores_per_call_caps_the_workers_of_this_thread(two_threads):
    from mirlens.predict.threads import cores_per_call

    caller = threading.get_ident()
    with cores_per_call(1):
        assert list(map_batches(lambda i: threading.get_ident() == caller, range(5))) == [True] * 5
    assert torch.get_num_threads() == 2
    seen = set()

    def note(i):
        seen.add(threading.get_ident())
        time.sleep(0.005)

    list(map_batches(note, range(20)))
    assert len(seen) == 2
