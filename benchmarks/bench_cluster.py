"""Scaling out on Dask: the same genome-like window scan here, on 1 and on 2 local workers, side by side in one run,
and what the full human job needs.

    python benchmarks/bench_cluster.py [--mirnas 20] [--utrs 2000] [--step 15] [--model pairing]

The job is `mirlens predict` (every window of every 3'UTR, step 15, the default `pairing` model): the first
``--mirnas`` distinct miRNAs of the miRAW gene-level development pairs against the first ``--utrs`` human 3'UTRs of
../shared/data/functional/utrs.tsv.gz. Timed, in this order, in one run:

* here, one core (torch single-threaded, in this process): the per-core rate with no Dask at all;
* ``local:1`` and ``local:2`` (:class:`distributed.LocalCluster`, single-threaded worker processes), the cluster's
  start-up timed apart from the job; each job starts from an empty chunk directory;

and checks that both cluster results equal the single-machine table. Overhead per task = (1-worker job time -
single-core time) / tasks. The candidate-site prefilter (``predict --sites``) is measured on the same windows
(share skipped). The projection: all ~2,600 human miRNAs x ~30,000 3'UTRs x 1,500 nt at the rate of one
single-threaded Dask worker (the local:1 job, Dask's costs included) -- the cores needed for one hour, without and
with the prefilter, and divided by the measured 2-worker efficiency (t1 / (2 t2)) for a pessimistic figure.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # worker processes inherit it: one core each

import mirlens  # noqa: F401,E402  (first: passive OpenMP waiting, see mirlens/__init__.py)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from common import SHARED, gemm_gflops, header  # noqa: E402
from mirlens.data.fasta import read_fasta  # noqa: E402
from mirlens.model.store import load_model  # noqa: E402
from mirlens.predict.scan import ScanSettings, parse_sites, scan, windows_with_sites  # noqa: E402
from mirlens.predict.windows import window_starts  # noqa: E402
from mirlens.data.alphabet import tokenize  # noqa: E402

HUMAN = {"mirnas": 2_600, "utrs": 30_000, "utr_nt": 1_500}
ALL_SITES = "8mer,7mer,6mer,offset6mer,noncanonical"


def write_inputs(tmp: Path, n_mirnas: int, n_utrs: int) -> tuple[Path, Path]:
    dev = pd.read_csv(SHARED / "data" / "miraw_gene_level" / "dev_gene_level.tsv", sep="\t",
                      usecols=["mirna_id", "mirna_seq"]).drop_duplicates("mirna_id").head(n_mirnas)
    mirnas = tmp / "mirnas.fa"
    mirnas.write_text("".join(f">{i}\n{s}\n" for i, s in zip(dev["mirna_id"], dev["mirna_seq"])))
    utrs = tmp / "utrs.fa"
    with gzip.open(SHARED / "data" / "functional" / "utrs.tsv.gz", "rt") as fh, open(utrs, "w") as out:
        next(fh)
        for i, line in zip(range(n_utrs), fh):
            gene, seq = line.rstrip("\n").split("\t")
            out.write(f">{gene}\n{seq}\n")
    return mirnas, utrs


def timed_cluster(n_workers: int, job) -> tuple[float, float, object]:
    from distributed import Client, LocalCluster

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.wait_for_workers(n_workers)
    client.run(lambda: __import__("mirlens.predict.scan"))  # workers import torch + mirlens before the clock
    start = time.perf_counter() - t
    try:
        t = time.perf_counter()
        result = job(client)
        return start, time.perf_counter() - t, result
    finally:
        client.close()
        cluster.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirnas", type=int, default=20)
    ap.add_argument("--utrs", type=int, default=2000)
    ap.add_argument("--step", type=int, default=15)
    ap.add_argument("--model", default="pairing")
    ap.add_argument("--targets-per-chunk", type=int, default=ScanSettings.targets_per_chunk)
    args = ap.parse_args()

    from mirlens.cluster.engine import ModelRef
    from mirlens.cluster.jobs import scan_on_cluster

    torch.set_num_threads(1)
    header(f"Dask scale-out: {args.mirnas} miRNAs x {args.utrs} 3'UTRs, step {args.step}, model {args.model}")
    gemm = gemm_gflops()
    tmp = Path(tempfile.mkdtemp(prefix="mirlens-bench-cluster-"))
    mirna_fa, utr_fa = write_inputs(tmp, args.mirnas, args.utrs)
    mirnas, utrs = read_fasta(mirna_fa), read_fasta(utr_fa)
    model = load_model(args.model)
    settings = ScanSettings(step=args.step, targets_per_chunk=args.targets_per_chunk)
    window = model.config.target_slot
    n_windows = len(mirnas) * sum(len(window_starts(len(u.seq), window, args.step)) for u in utrs)
    mean_nt = np.mean([len(u.seq) for u in utrs])
    print(f"{n_windows:,} windows ({mean_nt:,.0f} nt per UTR on average); torch.mm {gemm:.0f} GFLOP/s fp32 now "
          f"(1 thread)")

    t = time.perf_counter()
    here = scan(model, mirnas, utr_fa, tmp / "here", settings)
    t_here = time.perf_counter() - t

    def job(client):
        store = tmp / f"cluster-{len(client.scheduler_info()['workers'])}"
        shutil.rmtree(store, ignore_errors=True)
        return scan_on_cluster(client, ModelRef.of(args.model), model, mirnas, utr_fa, store, settings)

    tiny_utrs = utrs[:40]
    tiny_fa = tmp / "tiny.fa"
    tiny_fa.write_text("".join(f">{u.id}\n{u.seq[:200]}\n" for u in tiny_utrs))
    tiny_settings = ScanSettings(step=args.step, targets_per_chunk=1)
    t = time.perf_counter()
    tiny_here = scan(model, mirnas[:1], tiny_fa, tmp / "tiny-here", tiny_settings)
    t_tiny_here = time.perf_counter() - t

    def tiny_job(client):  # 40 tasks of one miRNA on one 200-nt UTR: almost nothing but the per-task cost
        return scan_on_cluster(client, ModelRef.of(args.model), model, mirnas[:1], tiny_fa, tmp / "tiny-there",
                               tiny_settings)

    def both_jobs(client):
        t = time.perf_counter()
        tiny = tiny_job(client)
        return time.perf_counter() - t, tiny, job(client)

    start1, t1, (t_tiny, tiny_there, r1) = timed_cluster(1, both_jobs)
    t1 -= t_tiny
    pd.testing.assert_frame_equal(tiny_there, tiny_here)
    start2, t2, r2 = timed_cluster(2, job)
    n_tasks = len(list((tmp / "cluster-1").glob("chunk-*.parquet")))
    for r in (r1, r2):
        pd.testing.assert_frame_equal(r, here)
    n_blocks = -(-len(utrs) // settings.targets_per_chunk)
    tasks = _n_tasks(len(mirnas), n_blocks, utrs, window, settings)
    rate = n_windows / t_here
    print(f"{'run':<22}{'job s':>9}{'start s':>9}{'windows/s':>12}{'speed-up':>10}")
    print(f"{'here, 1 core':<22}{t_here:9.1f}{'':>9}{n_windows / t_here:12,.0f}{1.0:10.2f}")
    print(f"{'Dask local:1':<22}{t1:9.1f}{start1:9.1f}{n_windows / t1:12,.0f}{t_here / t1:10.2f}")
    print(f"{'Dask local:2':<22}{t2:9.1f}{start2:9.1f}{n_windows / t2:12,.0f}{t_here / t2:10.2f}")
    eff = t_here / t2 / 2
    print(f"2 workers vs 1: {t1 / t2:.2f}x; efficiency vs 2 x one core {eff:.0%}; {tasks} tasks ({n_tasks} chunks); "
          "results identical to the single-machine table")
    print(f"overhead per task: {(t_tiny - t_tiny_here) / 40 * 1e3:,.1f} ms (40 tasks of one miRNA x one 200-nt UTR "
          f"on local:1: {t_tiny:.2f} s; the same work here: {t_tiny_here:.2f} s)")

    types = parse_sites(ALL_SITES)
    kept = 0
    for m in mirnas:
        mt = tokenize(m.seq)
        for u in utrs:
            st = window_starts(len(u.seq), window, args.step)
            kept += int(windows_with_sites(mt, tokenize(u.seq), st, window, types).sum())
    skip = 1 - kept / n_windows
    print(f"--sites {ALL_SITES}: {kept:,} of {n_windows:,} windows hold a candidate site ({skip:.1%} skipped)")

    per_utr = len(window_starts(HUMAN["utr_nt"], window, args.step))
    total = HUMAN["mirnas"] * HUMAN["utrs"] * per_utr
    worker_rate = n_windows / t1
    print(f"\nfull human job: {HUMAN['mirnas']:,} miRNAs x {HUMAN['utrs']:,} UTRs x {HUMAN['utr_nt']:,} nt = "
          f"{total / 1e9:.2f} G windows (step {args.step}); one single-threaded Dask worker: {worker_rate:,.0f} "
          f"windows/s (the local:1 job); tasks are independent, so cores = core-hours (a 1-h run):")
    print(f"{'':<34}{'core-hours':>11}{'cores for 1 h':>15}{'at 2-worker efficiency':>24}")
    for name, frac in (("all windows", 1.0), (f"--sites (skip {skip:.0%})", 1 - skip)):
        core_h = total * frac / worker_rate / 3600
        print(f"{name:<34}{core_h:11,.0f}{int(np.ceil(core_h)):15,}{int(np.ceil(core_h / min(t1 / t2 / 2, 1))):24,}")
    shutil.rmtree(tmp, ignore_errors=True)


def _n_tasks(n_mirnas, n_blocks, utrs, window, settings, n_workers=1) -> int:
    """Tasks of the 1-worker run (as :func:`mirlens.cluster.jobs.scan_on_cluster` cuts them)."""
    from mirlens.cluster.jobs import WINDOWS_PER_TASK

    tasks = 0
    for b in range(n_blocks):
        block = utrs[b * settings.targets_per_chunk:(b + 1) * settings.targets_per_chunk]
        grid = sum(len(window_starts(len(u.seq), window, settings.step)) for u in block)
        per_task = max(1, min(WINDOWS_PER_TASK // max(grid, 1), -(-n_mirnas * n_blocks // (4 * n_workers))))
        tasks += -(-n_mirnas // per_task)
    return tasks


if __name__ == "__main__":
    main()
