"""Mutagenesis throughput: incremental (LSTM-aware) vs full engine, measured side by side in one run.

    python benchmarks/bench_mutagenesis.py [--pairs 2000] [--ks 1-8] [--repeats 1]

Scores every k-nt window (k in --ks) on both sides of --pairs miRAW positives with the original miTAR2 weights
(../shared/models/mitar_keras) and prints forward-pass equivalents per second for each engine, the ratio, the
largest difference between the two, the nominal GFLOP/s (7.0 MFLOP per forward pass) and the machine's GEMM rate
measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from common import DATA_DIR, MITAR2_H5, gemm_gflops, header
from mirlens.data.datasets import load_dataset
from mirlens.explain import PairSet, mutated_probabilities, select_label
from mirlens.explain.mutagenesis.mutants import window_grid
from mirlens.model.keras_import import import_keras

MFLOP_PER_PASS = {40: 7.0, 53: 9.1}  # conv + BiLSTM of miTAR2 (66 tokens) / miTAR1 (79 tokens)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--ks", default="1-8")
    ap.add_argument("--repeats", type=int, default=1, help="alternate full / incremental this many times")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    lo, _, hi = args.ks.partition("-")
    ks = range(int(lo), int(hi or lo) + 1)

    header("mutagenesis: incremental vs full")
    model = import_keras(MITAR2_H5)[0]
    pairs = PairSet.from_pairs(load_dataset("miraw", "all", data_dir=DATA_DIR), model.config.input_len)
    pairs = select_label(pairs, "positives").sample(args.pairs, seed=args.seed)
    grid = window_grid(np.arange(len(pairs)), pairs.mirna_lens, pairs.target_lens, pairs.width, ks, base=0)
    n = len(grid.mutants)
    print(f"{len(pairs)} miRAW positives, k = {args.ks}: {len(grid.record_row):,} records, {n:,} distinct mutants")
    gemm = gemm_gflops()
    times = {"full": [], "incremental": []}
    results = {}
    for _ in range(args.repeats):
        for engine in times:
            t = time.perf_counter()
            results[engine] = mutated_probabilities(model, pairs.tokens, grid.mutants, engine=engine)
            times[engine].append(time.perf_counter() - t)
    diff = float(np.abs(results["full"] - results["incremental"]).max())
    mflop = MFLOP_PER_PASS[model.config.target_slot]
    for engine, ts in times.items():
        t = float(np.median(ts))
        rate = n / t
        print(f"{engine:12s} {t:8.2f} s  {rate:10,.0f} forward-pass equivalents/s  "
              f"nominal {rate * mflop / 1e3:6.1f} GFLOP/s")
    ratio = np.median(times["full"]) / np.median(times["incremental"])
    print(f"GEMM yardstick (torch.mm 2048^2 fp32, same run): {gemm:.1f} GFLOP/s")
    print(f"ratio incremental / full: {ratio:.2f}x   max |difference|: {diff:.2e}")


if __name__ == "__main__":
    main()
