"""How inference uses the cores: independent batches on worker threads, one torch thread each.

The miTAR forward pass is a chain of small operations (a 32-unit recurrence over ~30 steps); splitting each
operation over cores (torch's intra-op threads) mostly adds synchronisation. Running whole batches side by side,
one per core, keeps every core busy instead (measured in benchmarks/bench_scoring.py). Torch releases the GIL
inside its operations, so plain Python threads suffice.

The number of workers is torch's thread setting when the first of the calls running at that moment began
(``torch.set_num_threads``, by default the usable cores), or what :func:`cores_per_call` says for the calling
thread (a Dask task running on a worker thread that owns one core).

Torch's thread setting is partly global: ``torch.set_num_threads`` changes the calling thread and the default that
threads started later inherit. Calls may run at the same time in several threads (several Dask tasks in one worker
process), so the setting is changed and restored under a lock, counted: the first call to begin remembers the
setting, every call that runs batches in its own thread sets that thread to one torch thread and back, and the last
call to end restores the remembered setting -- whatever the order in which concurrent calls end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_active = 0  # calls of map_batches running now, in any thread
_setting = 1  # torch's thread setting when the first of them began
_local = threading.local()


def _one_thread() -> None:
    torch.set_num_threads(1)


@contextmanager
def cores_per_call(n: int):
    """Within the block, :func:`map_batches` calls made by this thread use at most ``n`` worker threads (whatever
    torch's setting), e.g. one per Dask task on a worker whose threads each own a core."""
    if n < 1:
        raise ValueError(f"cores per call must be positive (got {n})")
    old = getattr(_local, "cores", None)
    _local.cores = n
    try:
        yield
    finally:
        _local.cores = old


def _begin() -> int:
    """Count a call in; returns the thread setting it should use."""
    global _active, _setting
    with _lock:
        if _active == 0:
            _setting = torch.get_num_threads()
        _active += 1
        return _setting


def _end() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            torch.set_num_threads(_setting)


def map_batches(fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``fn`` over ``items``, results in input order, spread over up to as many worker threads as torch's thread
    setting (see the module doc) that each run torch single-threaded. With one item or one thread it runs in the
    calling thread (also single-threaded). Results are yielded as they are ready in order, at most a few items
    ahead. Safe to call from several threads at once."""
    items = list(items)
    setting = _begin()
    try:
        cap = getattr(_local, "cores", None)
        workers = min(setting if cap is None else cap, max(len(items), 1))
        if workers <= 1:
            own = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                for item in items:
                    yield fn(item)
            finally:
                with _lock:
                    torch.set_num_threads(own)
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
        _end()
