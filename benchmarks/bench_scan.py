"""Whole-UTR scanning of the pairing family: the pass vs the window path, vs the combine convolution alone and
torch.mm, `mirlens predict` end to end, and the projection for all human miRNAs.

    python benchmarks/bench_scan.py [--utrs 4025] [--mirnas 3] [--rounds 3] [--old-utrs 40] [--source functional]

UTRs: the first --utrs real 3'UTRs of $MIRLENS_SHARED/data/functional/utrs.tsv.gz (4,025; --source gene-level:
the distinct UTRs of data/miraw_gene_level/dev_gene_level.tsv); miRNAs: the first --mirnas distinct miRNAs of the
gene-level table, one per round in turn; model: the bundled default `pairing`. Each round measures, one after the
other (A B A B ...):

* torch.mm fp32 (2048^2, torch's threads) -- the machine's GEMM yardstick now;
* the combine convolution alone (conv1d 64 -> 64, width 9, fp32) on --conv-anchors anchors, in tiles of 8,192
  anchors side by side on the cores (as the pass runs it; also one call per 262,144 anchors on torch's intra-op
  threads, once per round, for comparison) -- measured again between the timings below, so that every rate is set
  against the convolution's rate right around it (the machine is shared: its speed changes within seconds);
* the whole-UTR pass (:func:`mirlens.predict.scan.scan_pass`, context windows) over every UTR at step 15 and at
  step 1, on both cores, and at step 15 on one core (one torch thread: a single-threaded Dask worker);
* the window path (`--windows padded`: every window cut out, padded and scored row by row) on the first
  --old-utrs UTRs at step 15 and step 1, and the pass on the same UTRs;
* `mirlens predict` as a command (a fresh process) on all UTRs with the round's miRNA, step 15, writing .parquet
  (window table, chunk store, gene summary included), and the same command on one 60-nt UTR: its start-up
  (imports, model, files), reported apart and subtracted.

Every ratio is computed within its round (against the mean of the convolution's rates measured just before and
just after) and the median over rounds is printed, by wall time and by CPU time (seconds of CPU this process or
the command used: less sensitive to other jobs on the machine than wall time).

Projection: a human transcriptome (30,000 3'UTRs x 1,500 nt = 45 M nt) per miRNA, and all 2,656 human miRNAs
(miRBase 22) on this 2-core machine and per single-threaded Dask worker.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mirlens  # noqa: F401  (first: passive OpenMP waiting, see mirlens/__init__.py)
import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from common import SHARED, gemm_gflops, header
from mirlens.data.alphabet import clean_sequence, tokenize
from mirlens.data.fasta import FastaRecord
from mirlens.model.store import load_model
from mirlens.predict.scan import ScanSettings, _scan_block, mirna_prefix, scan_pass
from mirlens.predict.threads import map_batches
from mirlens.predict.utr_pass import TILE
from mirlens.predict.windows import window_starts

HUMAN = {"mirnas": 2_656, "utrs": 30_000, "utr_nt": 1_500}
BIG_CALL = 262_144


def read_inputs(source: str, n_utrs: int, n_mirnas: int) -> tuple[list[FastaRecord], list[tuple[str, str]]]:
    dev = pd.read_csv(SHARED / "data" / "miraw_gene_level" / "dev_gene_level.tsv", sep="\t")
    mirnas = dev[["mirna_id", "mirna_seq"]].drop_duplicates("mirna_id").head(n_mirnas)
    mirnas = [(i, s.upper().replace("T", "U")) for i, s in zip(mirnas["mirna_id"], mirnas["mirna_seq"])]
    if source == "gene-level":
        rows = dev[["mrna_id", "mrna_seq"]].drop_duplicates("mrna_id").head(n_utrs).itertuples(index=False)
    else:
        with gzip.open(SHARED / "data" / "functional" / "utrs.tsv.gz", "rt") as fh:
            next(fh)
            rows = [tuple(line.rstrip("\n").split("\t")) for _, line in zip(range(n_utrs), fh)]
    utrs = [FastaRecord(str(g), "", clean_sequence(str(s))[0], 0, 0) for g, s in rows]
    return utrs, mirnas


def timed(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn()``: CPU of this process's threads and of the commands it ran."""
    def cpu() -> float:
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + ch.ru_utime + ch.ru_stime

    c, t = cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - t, cpu() - c


def conv_alone(model, n_anchors: int, tiled: bool) -> None:
    """The combine convolution over ``n_anchors`` anchors (relu'd random input), in tiles on the cores or in
    262k-anchor calls on torch's intra-op threads."""
    w, b = model.combine.weight.detach(), model.combine.bias.detach()
    size = TILE if tiled else BIG_CALL
    x = torch.relu(torch.randn(1, w.shape[1], size + w.shape[2] - 1))

    def one(_):
        with torch.inference_mode():
            return F.conv1d(x, w, b).shape[-1]

    if tiled:
        sum(map_batches(one, range(max(n_anchors // size, 1))))
    else:
        with torch.inference_mode():
            for _ in range(max(n_anchors // size, 1)):
                one(0)


def pass_run(model, mirna: str, toks: list[np.ndarray], step: int, threads: int | None = None) -> None:
    starts = [window_starts(len(u), model.config.target_slot, step) for u in toks]
    saved = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        scan_pass(model, mirna).window_logits(toks, starts)
    finally:
        torch.set_num_threads(saved)


def window_path(model, mirna: tuple[str, str], utrs: list[FastaRecord], step: int) -> None:
    rec = FastaRecord(mirna[0], "", mirna[1], 0, 0)
    _scan_block(model, rec, mirna_prefix(mirna[1]), None, utrs, ScanSettings(step=step, windows="padded"))


def run_predict(mirna_fa: Path, utr_fa: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    cmd = [sys.executable, "-c", "from mirlens.cli import main; main()", "predict", "--mirna", str(mirna_fa),
           "--targets", str(utr_fa), "-o", str(out), "--step", "15"]
    subprocess.run(cmd, check=True, env=env, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utrs", type=int, default=4025)
    ap.add_argument("--mirnas", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--old-utrs", type=int, default=40, help="UTRs scored by the (slow) window path")
    ap.add_argument("--conv-anchors", type=int, default=2_097_152, help="anchors of each conv-alone timing")
    ap.add_argument("--source", choices=("functional", "gene-level"), default="functional")
    args = ap.parse_args()
    header("whole-UTR scan (pairing)")
    load0 = os.getloadavg()
    model = load_model("pairing")
    utrs, mirnas = read_inputs(args.source, args.utrs, args.mirnas)
    toks = [tokenize(r.seq) for r in utrs]
    nt = int(sum(len(t) for t in toks))
    old = utrs[:args.old_utrs]
    old_toks = toks[:args.old_utrs]
    old_nt = int(sum(len(t) for t in old_toks))
    n_conv = args.conv_anchors // TILE * TILE
    tmp = Path(tempfile.mkdtemp(prefix="mirlens-bench-scan-"))
    utr_fa, tiny_fa = tmp / "utrs.fa", tmp / "tiny.fa"
    utr_fa.write_text("".join(f">{r.id}\n{r.seq}\n" for r in utrs))
    tiny_fa.write_text(">tiny\n" + utrs[0].seq[:60].ljust(60, "A") + "\n")
    print(f"{len(utrs):,} UTRs ({args.source}), {nt:,} nt (mean {nt / len(utrs):,.0f}); miRNAs "
          f"{', '.join(m for m, _ in mirnas)} (one per round); window path on the first {len(old)} UTRs "
          f"({old_nt:,} nt); load average {load0[0]:.1f} at the start", flush=True)
    pass_run(model, mirnas[0][1], toks[:200], 15)  # warm-up
    window_path(model, mirnas[0], old[:2], 15)
    conv_alone(model, n_conv, True)
    rates: dict[str, list[float]] = {}
    ratios: dict[str, list[tuple[float, float]]] = {}

    def note(key: str, amount: float, t: tuple[float, float]) -> tuple[float, float]:
        # nan where a time is not positive (start-up subtracted from a run of a few UTRs: too few to tell)
        rate = tuple(amount / x if x > 0 else float("nan") for x in t)
        rates.setdefault(key, []).append(rate[0])
        rates.setdefault(key + "_cpu", []).append(rate[1])
        return rate

    def conv() -> tuple[float, float]:
        return note("conv", n_conv, timed(lambda: conv_alone(model, n_conv, True)))

    def against(key: str, rate: tuple[float, float], c0: tuple[float, float], c1: tuple[float, float]) -> None:
        ratios.setdefault(key, []).append((rate[0] / ((c0[0] + c1[0]) / 2), rate[1] / ((c0[1] + c1[1]) / 2)))

    for i in range(args.rounds):
        mid, mseq = mirnas[i % len(mirnas)]
        mirna_fa = tmp / "mirna.fa"
        mirna_fa.write_text(f">{mid}\n{mseq}\n")
        rates.setdefault("gemm", []).append(gemm_gflops())
        note("conv_big", max(n_conv // BIG_CALL, 1) * BIG_CALL, timed(lambda: conv_alone(model, n_conv, False)))
        c0 = conv()
        against("pass15", note("pass15", nt, timed(lambda: pass_run(model, mseq, toks, 15))), c0, c1 := conv())
        against("pass1", note("pass1", nt, timed(lambda: pass_run(model, mseq, toks, 1))), c1, conv())
        note("pass15_1core", nt, timed(lambda: pass_run(model, mseq, toks, 15, threads=1)))
        for step in (15, 1):
            note(f"old{step}", old_nt, timed(lambda: window_path(model, (mid, mseq), old, step)))
            note(f"pass{step}_sub", old_nt, timed(lambda: pass_run(model, mseq, old_toks, step)))
        start = timed(lambda: run_predict(mirna_fa, tiny_fa, tmp / "tiny.parquet"))
        rates.setdefault("startup", []).append(start[0])
        c3 = conv()
        whole = timed(lambda: run_predict(mirna_fa, utr_fa, tmp / "out.parquet"))
        rates.setdefault("e2e_whole", []).append(whole[0])
        against("e2e", note("e2e", nt, (whole[0] - start[0], whole[1] - start[1])), c3, conv())
        print(f"  round {i + 1}: pass step 15 {rates['pass15'][-1] / 1e6:.3f} M nt/s = {ratios['pass15'][-1][0]:.2f}x "
              f"conv alone; predict {whole[0]:.1f} s (start-up {start[0]:.1f} s) = {ratios['e2e'][-1][0]:.2f}x conv "
              f"alone; load {os.getloadavg()[0]:.1f}", flush=True)
    load1 = os.getloadavg()
    med = {k: float(np.median(v)) for k, v in rates.items()}
    rmed = {k: (float(np.median([r[0] for r in v])), float(np.median([r[1] for r in v]))) for k, v in ratios.items()}
    conv_flops = 2 * 64 * 64 * 9
    print(f"\nload average {load0[0]:.1f} -> {load1[0]:.1f} (2 cores, shared); medians of {args.rounds} rounds; "
          "ratios within each round (wall / CPU time)\n")

    def per(key: str, scale: float = 1e6, fmt: str = "{:.3f}") -> str:
        return ", ".join(fmt.format(v / scale) for v in rates[key])

    def ratio(key: str) -> str:
        return f"{rmed[key][0]:.2f}x / {rmed[key][1]:.2f}x conv alone"

    rows = [
        ("torch.mm fp32 2048^2", f"{med['gemm']:.0f} GFLOP/s", "", per("gemm", 1, "{:.0f}")),
        ("combine conv alone, 8k-anchor tiles on the cores", f"{med['conv'] / 1e6:.3f} M anchors/s",
         f"{med['conv'] * conv_flops / 1e9 / med['gemm']:.2f}x torch.mm; CPU {med['conv_cpu'] / 1e6:.3f} M/cpu-s",
         per("conv")),
        ("combine conv alone, 262k-anchor calls", f"{med['conv_big'] / 1e6:.3f} M anchors/s",
         f"{med['conv_big'] * conv_flops / 1e9 / med['gemm']:.2f}x torch.mm", per("conv_big")),
        ("whole-UTR pass, step 15", f"{med['pass15'] / 1e6:.3f} M nt/s", ratio("pass15"), per("pass15")),
        ("whole-UTR pass, step 1", f"{med['pass1'] / 1e6:.3f} M nt/s",
         f"{ratio('pass1')}; step 1 costs {rmed['pass15'][0] / rmed['pass1'][0]:.2f}x / "
         f"{rmed['pass15'][1] / rmed['pass1'][1]:.2f}x step 15", per("pass1")),
        ("whole-UTR pass, step 15, one core", f"{med['pass15_1core'] / 1e6:.3f} M nt/s",
         f"CPU {med['pass15_1core_cpu'] / 1e6:.3f} M nt/cpu-s", per("pass15_1core")),
        (f"window path (padded), step 15, {len(old)} UTRs", f"{med['old15'] / 1e6:.4f} M nt/s",
         f"pass on the same UTRs {med['pass15_sub'] / 1e6:.3f} M nt/s = {med['pass15_sub'] / med['old15']:.1f}x",
         per("old15", fmt="{:.4f}")),
        (f"window path (padded), step 1, {len(old)} UTRs", f"{med['old1'] / 1e6:.4f} M nt/s",
         f"pass on the same UTRs {med['pass1_sub'] / 1e6:.3f} M nt/s = {med['pass1_sub'] / med['old1']:.0f}x",
         per("old1", fmt="{:.4f}")),
        ("`mirlens predict` end to end, step 15", f"{med['e2e'] / 1e6:.3f} M nt/s",
         f"{ratio('e2e')} (start-up aside; whole command {med['e2e_whole']:.1f} s)", per("e2e")),
        ("`mirlens predict` start-up (one 60-nt UTR)", f"{med['startup']:.2f} s", "", per("startup", 1, "{:.2f}")),
    ]
    print(f"| {'what':<50} | {'rate':<18} | {'ratio':<72} | per round |")
    print(f"|{'-' * 52}|{'-' * 20}|{'-' * 74}|-----------|")
    for name, rate, rat, each in rows:
        print(f"| {name:<50} | {rate:<18} | {rat:<72} | {each} |")
    human_nt = HUMAN["utrs"] * HUMAN["utr_nt"]
    per_mirna = human_nt / med["pass15"]
    per_mirna_e2e = human_nt / med["e2e"]
    per_worker = human_nt / med["pass15_1core"]
    print(f"\nprojection, step 15: a human transcriptome ({HUMAN['utrs']:,} x {HUMAN['utr_nt']:,} nt = "
          f"{human_nt / 1e6:.0f} M nt) per miRNA {per_mirna:.0f} s (pass, 2 cores), {per_mirna_e2e:.0f} s (`predict` "
          f"end to end); all {HUMAN['mirnas']:,} human miRNAs {HUMAN['mirnas'] * per_mirna / 3600:.1f} h "
          f"({HUMAN['mirnas'] * per_mirna_e2e / 3600:.1f} h end to end) on this machine as measured; per "
          f"single-threaded Dask worker {per_worker:.0f} s per miRNA, {HUMAN['mirnas'] * per_worker / 3600:.0f} "
          f"core-hours (= workers for one hour)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
