"""How inference uses the cores: independent batches on worker threads, one torch thread each.

The miTAR forward pass is a chain of small operations (a 32-unit recurrence over ~30 steps); splitting each
operation over cores (torch's intra-op threads) mostly adds synchronisation. Running whole batches side by side,
one per core, keeps every core busy instead (measured in benchmarks/bench_scoring.py). Torch releases the GIL
inside its operations, so plain Python threads suffice.

The number of workers is torch's thread setting at the time of the call (``torch.set_num_threads``, by default
the usable cores); it is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


def _one_thread() -> None:
    torch.set_num_threads(1)


def map_batches(fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``fn`` over ``items``, results in input order, spread over up to ``torch.get_num_threads()`` worker
    threads that each run torch single-threaded. With one item or one thread it runs in the calling thread (also
    single-threaded). Results are yielded as they are ready in order, at most a few items ahead."""
    items = list(items)
    workers = min(torch.get_num_threads(), max(len(items), 1))
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if workers <= 1:
            for item in items:
                yield fn(item)
            return
        with ThreadPoolExecutor(workers, initializer=_one_thread) as pool:
            pending = []
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) > 2 * workers:
                    yield pending.pop(0).result()
            for fut in pending:
                yield fut.result()
    finally:
        torch.set_num_threads(saved)
