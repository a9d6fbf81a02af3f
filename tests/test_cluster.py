"""Dask: results on a real localhost cluster (scheduler + 2 worker processes) equal the single-machine results,
a worker killed mid-job loses nothing, reruns compute only missing partitions, and the single-machine path never
imports Dask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import distributed
import numpy as np
import pandas as pd
import pytest

from mirlens.data.examples import example_path
from mirlens.data.fasta import pairs_from_fasta, read_fasta
from mirlens.data.pairs import make_pairs
from mirlens.model.store import load_model
from mirlens.predict.scan import ScanSettings, scan

REPO = Path(__file__).resolve().parents[1]
MIRLENS = [sys.executable, "-c", "from mirlens.cli import main; main()"]


@pytest.fixture(scope="module")
def client():
    env_saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # workers inherit it
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()
    if env_saved is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = env_saved


def random_utrs(path: Path, n: int, length: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(f">utr{i}\n{''.join(rng.choice(list('ACGU'), length + int(rng.integers(0, 200))))}\n")
    return path


def random_pairs(n: int, lo: int, hi: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mirnas = [r.seq for r in read_fasta(example_path("mirnas.fa"))]
    targets = ["".join(rng.choice(list("ACGU"), int(rng.integers(lo, hi)))) for _ in range(n)]
    return make_pairs(mirna_id=[f"m{i % 5}" for i in range(n)], mirna=[mirnas[i % len(mirnas)] for i in range(n)],
                      target_id=[f"t{i}" for i in range(n)], target=targets, label=[None] * n, source="x",
                      record=range(2, n + 2))


def test_score_on_cluster_equals_score_here_and_reruns_only_missing_chunks(client, tmp_path, monkeypatch):
    from mirlens.cluster import jobs
    from mirlens.cluster.engine import ModelRef
    from mirlens.predict.score import score_pair_table

    monkeypatch.setattr(jobs, "PAIRS_PER_TASK", 40)
    n = 230
    table = random_pairs(n, 20, 90, seed=1)  # some targets longer than the 50-nt slot: scored in windows
    net = load_model("pairing")
    here = score_pair_table(net, table, batch_size=64)
    store = tmp_path / "parts"
    there = jobs.score_on_cluster(client, ModelRef.of("pairing"), table, store, model_name="pairing", batch_size=64)
    pd.testing.assert_frame_equal(there, here)  # same rows, same order, equal floats
    chunks = sorted(store.glob("chunk-*.parquet"))
    assert len(chunks) == 6
    for p in chunks[1:4]:
        p.unlink()
    kept = {p: p.stat().st_mtime_ns for p in (chunks[0], *chunks[4:])}
    counted = []
    again = jobs.score_on_cluster(client, ModelRef.of("pairing"), table, store, model_name="pairing", batch_size=64,
                                  progress=counted.append)
    pd.testing.assert_frame_equal(again, here)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # finished chunks were not recomputed
    assert sum(counted) == n and sorted(counted)[:3] == [40, 40, 40]  # 3 recomputed chunks + the rest at once

    def model_loads():
        from mirlens.cluster import engine

        return {ref.spec: n for ref, n in engine.loads.items()}

    per_worker = client.run(model_loads)
    assert all(loads == {"pairing": 1} for loads in per_worker.values() if loads)  # once per worker, 9 tasks
    assert sum(bool(loads) for loads in per_worker.values()) >= 1


def test_genes_and_mutagenesis_scan_on_cluster_equal_the_runs_here(client, tmp_path, monkeypatch):
    from mirlens.cluster import jobs
    from mirlens.cluster.engine import ModelRef, chunk_runner
    from mirlens.explain import PairSet, run_scan
    from mirlens.genes.table import gene_table

    monkeypatch.setattr(jobs, "GENE_PAIRS_PER_TASK", 2)  # several parts per miRNA: ranks over the whole table
    pairs = pairs_from_fasta(example_path("mirnas.fa"), example_path("utrs.fa"))
    for col in ("gene_id", "gene_name", "transcript_id"):  # as `--genes` pair tables carry them
        pairs[col] = pairs["target_id"] + "/" + col
    pairing, meta = load_model("pairing", with_meta=True)
    here, here_sites = gene_table(pairing, pairs, meta, sort="rank")
    there, there_sites = jobs.genes_on_cluster(client, ModelRef.of("pairing"), pairing, pairs, tmp_path / "genes",
                                               meta, sort="rank")
    pd.testing.assert_frame_equal(there, here)
    pd.testing.assert_frame_equal(there_sites, here_sites)
    assert there.columns[3:6].tolist() == ["gene_id", "gene_name", "transcript_id"]
    assert set(there["gene_name"]) == set(pairs["target_id"] + "/gene_name")

    from mirlens.predict.scan import parse_sites

    settings = ScanSettings(step=5, targets_per_chunk=2, sites=parse_sites("8mer,7mer,noncanonical"))
    mirnas = read_fasta(example_path("mirnas.fa"))
    windows_here = scan(pairing, mirnas, example_path("utrs.fa"), tmp_path / "sites-here", settings)
    windows_there = jobs.scan_on_cluster(client, ModelRef.of("pairing"), pairing, mirnas, example_path("utrs.fa"),
                                         tmp_path / "sites-there", settings)
    pd.testing.assert_frame_equal(windows_there, windows_here)
    assert windows_there.attrs["n_grid"] == windows_here.attrs["n_grid"] > len(windows_here) > 0

    pairset = PairSet.from_pairs(random_pairs(10, 30, 50, seed=2), pairing.config.input_len)
    kw = dict(ks="1-3", sides="both", chunk_pairs=3)
    ref = run_scan(pairing, pairset, out_dir=tmp_path / "scan-here", **kw)
    runner = chunk_runner(client, ModelRef.of("pairing"))
    got = run_scan(pairing, pairset, out_dir=tmp_path / "scan-there", runner=runner, **kw)
    pd.testing.assert_frame_equal(got.summary, ref.summary)
    pd.testing.assert_frame_equal(got.read_records(), ref.read_records())
    assert got.passes == ref.passes > 0


def test_predict_cli_connects_to_a_running_scheduler_and_writes_the_same_files(client, tmp_path):
    addr = client.scheduler.address
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    base = MIRLENS + ["predict", "--example", "--step", "5"]
    here = subprocess.run(base + ["-o", str(tmp_path / "here.tsv")], capture_output=True, text=True, env=env)
    there = subprocess.run(base + ["-o", str(tmp_path / "there.tsv")], capture_output=True, text=True,
                           env={**env, "MIRLENS_CLUSTER": addr})
    assert here.returncode == 0 and there.returncode == 0, there.stderr
    assert f"scheduler {addr}, 2 worker(s)" in there.stderr
    for name in ("", ".genes"):
        assert (tmp_path / f"there{name}.tsv").read_bytes() == (tmp_path / f"here{name}.tsv").read_bytes()
    assert not (tmp_path / ".there.tsv.parts").exists()  # parts removed once the output is complete


def test_a_worker_killed_mid_job_loses_nothing(client, tmp_path):
    """SIGKILL one of the two worker processes while the scan runs on both: its tasks rerun (on the other worker
    or its restarted replacement) and the window table equals the single-machine scan's."""
    from mirlens.cluster.jobs import scan_on_cluster
    from mirlens.cluster.engine import ModelRef

    utrs = random_utrs(tmp_path / "utrs.fa", 30, 900, seed=3)
    mirnas = read_fasta(example_path("mirnas.fa"))
    settings = ScanSettings(step=3, targets_per_chunk=3)
    net = load_model("pairing")
    expected = scan(net, mirnas, utrs, tmp_path / "here", settings)
    client.wait_for_workers(2)
    pids = client.run(os.getpid)
    store = tmp_path / "there"
    killed: list[str] = []

    def kill_when_busy() -> None:
        deadline = time.time() + 60
        while time.time() < deadline and not killed:
            busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
            if busy and any(store.glob("chunk-*.parquet")):
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=kill_when_busy)
    watcher.start()
    got = scan_on_cluster(client, ModelRef.of("pairing"), net, mirnas, utrs, store, settings)
    watcher.join()
    assert killed, "no worker was busy to kill"
    n_chunks = len(mirnas) * 10
    assert len(list(store.glob("chunk-*.parquet"))) == n_chunks
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs["n_grid"] == len(expected)


def test_single_machine_commands_never_import_dask(tmp_path):
    code = (
        "import sys\n"
        "from mirlens.cli.app import main\n"
        f"for args in (['score', {str(example_path('pairs.tsv'))!r}, '-o', {str(tmp_path / 's.tsv')!r}],\n"
        f"             ['predict', '--example', '-o', {str(tmp_path / 'p.tsv')!r}, '--sites', '7mer']):\n"
        "    sys.argv = ['mirlens'] + args\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as e:\n"
        "        assert not e.code, e.code\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "print('DASK', bad)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    env.pop("MIRLENS_CLUSTER", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "DASK []" in out.stdout
    assert (tmp_path / "s.tsv").exists() and (tmp_path / "p.tsv").exists()


def test_bad_cluster_specs_are_one_line_errors(tmp_path):
    from mirlens.cluster.engine import parse_spec
    from mirlens.errors import InputError

    assert parse_spec("local:3") == ("local", 3)
    assert parse_spec(" tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    for spec, message in [("local:0", "positive number of workers"), ("local:x", "positive number"),
                          ("lokal:2", "write local:N")]:
        with pytest.raises(InputError, match=message):
            parse_spec(spec)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1", "MIRLENS_CLUSTER": "lokal:2"}
    out = subprocess.run(MIRLENS + ["score", str(example_path("pairs.tsv")), "-o", str(tmp_path / "s.tsv")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1
    assert "write local:N" in out.stderr and "Traceback" not in out.stderr
