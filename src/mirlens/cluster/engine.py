"""Opening a Dask cluster, the per-worker model, and running a job's partitions with progress and resume.

A job is a list of :class:`~mirlens.tables.Task` s. Each task runs ``fn(model, *args)`` on a worker, which returns
``{chunk index: DataFrame}``; the worker writes every frame atomically as that chunk of the job's
:class:`~mirlens.tables.ChunkStore` (a directory all workers and the driver see: a shared file system on a real
cluster) and hands back only the row counts. The driver created the store (its manifest names the job), submits only
tasks whose chunks are not all written yet, and follows completions with :func:`distributed.as_completed` to feed
the progress bar. A worker that dies mid-task (killed, pre-empted) loses nothing: the scheduler reruns its tasks
elsewhere, and since chunks are written whole or not at all, a task that runs twice writes the same chunks twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from distributed import Client, LocalCluster, as_completed

from mirlens.errors import InputError, MirlensError
from mirlens.tables import ChunkRunner, ChunkStore, Task, write_table


def parse_spec(spec: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, ``("address", "tcp://...")`` for a scheduler address."""
    text = spec.strip()
    if text.startswith("local:"):
        try:
            n = int(text[len("local:"):])
        except ValueError:
            n = 0
        if n < 1:
            raise InputError(f"--cluster {spec!r}: local:N needs a positive number of workers, e.g. local:4")
        return "local", n
    if "://" in text:
        return "address", text
    raise InputError(f"--cluster {spec!r}: write local:N (N local single-threaded workers) or the scheduler "
                     "address tcp://HOST:PORT")


@contextmanager
def connect(spec: str, *, say: Callable[[str], None] = print) -> Iterator[Client]:
    """A :class:`distributed.Client` for ``spec``: ``local:N`` starts a :class:`distributed.LocalCluster` with N
    single-threaded worker processes (closed afterwards); an address connects to a running scheduler. ``say`` gets
    one line naming the cluster and its dashboard, when it has one."""
    kind, value = parse_spec(spec)
    if kind == "local":
        cluster = LocalCluster(n_workers=int(value), threads_per_worker=1, processes=True, dashboard_address=":0")
        try:
            with Client(cluster) as client:
                _announce(client, f"local cluster, {value} worker(s)", say)
                yield client
        finally:
            cluster.close()
    else:
        try:
            client = Client(str(value), timeout="30s")
        except OSError as exc:
            raise MirlensError(f"cannot reach the Dask scheduler at {value} ({exc})") from None
        with client:
            _announce(client, f"scheduler {value}, {len(client.scheduler_info()['workers'])} worker(s)", say)
            yield client


def _announce(client: Client, what: str, say: Callable[[str], None]) -> None:
    services = client.scheduler_info().get("services", {})
    link = f"; dashboard {client.dashboard_link}" if "dashboard" in services else ""
    say(f"Dask: {what}{link}")


@dataclass(frozen=True)
class ModelRef:
    """How a worker gets its model: ``spec`` as :func:`mirlens.model.store.load_model` takes it (a name, or an
    absolute path every worker can read), and for pairing models a target slot to fit
    (:func:`mirlens.model.families.fit_target_slot`)."""

    spec: str
    fit_target: int | None = None

    @classmethod
    def of(cls, spec: str, fit_target: int | None = None) -> ModelRef:
        path = Path(spec).expanduser()
        return cls(str(path.resolve()) if path.exists() else spec, fit_target)


_models: dict[ModelRef, object] = {}
_models_lock = threading.Lock()
loads: dict[ModelRef, int] = {}
"""How many times this process loaded each model (once; tests/test_cluster.py reads it on the workers)."""


def worker_model(ref: ModelRef):
    """The model of ``ref``, loaded once per worker process (every task of the process shares it; inference does
    not change it)."""
    with _models_lock:
        model = _models.get(ref)
        if model is None:
            from mirlens.model.families import fit_target_slot
            from mirlens.model.store import load_model

            model = load_model(ref.spec)
            if ref.fit_target is not None:
                model = fit_target_slot(model, ref.fit_target)
            model.eval()
            _models[ref] = model
            loads[ref] = loads.get(ref, 0) + 1
        return model


def _run_task(fn: Callable, ref: ModelRef, store_dir: str, args: tuple) -> dict[int, int]:
    """Worker side: one core per task (:func:`mirlens.predict.threads.cores_per_call`), the cached model, each
    chunk written atomically; returns the row counts."""
    from mirlens.predict.threads import cores_per_call

    with cores_per_call(1):
        frames = fn(worker_model(ref), *args)
    directory = Path(store_dir)
    for chunk, df in frames.items():
        write_table(df, directory / f"chunk-{chunk:06d}.parquet", "parquet")
    return {chunk: len(df) for chunk, df in frames.items()}


def run_tasks(client: Client, ref: ModelRef, store: ChunkStore, tasks: Sequence[Task],
              progress: Callable[[int], None] | None = None) -> int:
    """Run the tasks whose chunks are not all in ``store`` yet; returns how many ran. ``progress(weight)`` is
    called as each task completes (skipped tasks count at once)."""
    done = store.done()
    todo = [t for t in tasks if not set(t.chunks) <= done]
    if progress is not None:
        skipped = sum(t.weight for t in tasks if set(t.chunks) <= done)
        if skipped:
            progress(skipped)
    if not todo:
        return 0
    weight = {}
    futures = []
    directory = str(store.directory.resolve())
    for task in todo:
        fut = client.submit(_run_task, task.fn, ref, directory, task.args, pure=False)
        weight[fut.key] = task.weight
        futures.append(fut)
    try:
        for fut in as_completed(futures):
            fut.result()  # a task's error (bad input found on a worker) is raised here, on the driver
            if progress is not None:
                progress(weight[fut.key])
    finally:
        client.cancel(futures)
    return len(todo)


def chunk_runner(client: Client, ref: ModelRef) -> ChunkRunner:
    """A :data:`~mirlens.tables.ChunkRunner` on ``client`` with the model of ``ref``: what an analysis that cuts
    its own work into tasks (:func:`mirlens.explain.mutagenesis.scan.run_scan`) is handed to run them here."""
    return partial(run_tasks, client, ref)
