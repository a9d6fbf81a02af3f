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
