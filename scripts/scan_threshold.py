"""Fit a model's scan threshold and store it in its model card (``card["scan_threshold"]``).

    python scripts/scan_threshold.py MODEL_DIR UTRS [--mirnas GENE_LEVEL_TSV] [--half first]

`mirlens predict` calls a window a site when its probability passes the model's scan threshold (0.5 for models
without one): the smallest of 0.5, 0.6, ..., 0.99 at which at most 1 in 2,000 site-free 3'UTR windows of the model's
target length is called (mirlens.evaluation.specificity.scan_threshold). The windows come from the half of the UTR
collection that the model's `utr` negatives were drawn from (`--half first`, as the bundled `pairing` was
trained), never from the half the specificity benchmark probes: 200 windows for each of 100 miRNAs (seed 1) of the
gene-level table, and the same windows with the miRNA's 8mer planted.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.data.utrs import read_utrs
from mirlens.evaluation.specificity import plant_8mers, scan_threshold, site_free_windows, split_utrs
from mirlens.model.store import META, load_model
from mirlens.predict.score import score_pair_table


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("utrs", type=Path)
    ap.add_argument("--mirnas", type=Path, help="table with mirna_id, mirna_seq (default: the UTR table itself)")
    ap.add_argument("--half", choices=("first", "second", "all"), default="first")
    args = ap.parse_args()
    utrs = read_utrs(args.utrs)
    if args.half != "all":
        utrs = split_utrs(utrs)[0 if args.half == "first" else 1]
    table = pd.read_csv(args.mirnas or args.utrs, sep="\t", usecols=["mirna_id", "mirna_seq"]).drop_duplicates("mirna_id")
    ids = sorted(table["mirna_id"])
    pick = set(np.random.default_rng(1).choice(ids, min(100, len(ids)), replace=False))
    mirnas = {r.mirna_id: r.mirna_seq.upper().replace("T", "U") for r in table.itertuples() if r.mirna_id in pick}
    model = load_model(args.model)
    site_free = site_free_windows(mirnas, utrs, per_mirna=200, length=model.config.target_slot, seed=1)
    planted = plant_8mers(site_free, seed=1)
    fit = scan_threshold(score_pair_table(model, site_free)["probability"],
                         score_pair_table(model, planted)["probability"])
    fit.update({"utrs": str(args.utrs), "utrs_half": args.half, "n_mirnas": len(mirnas),
                "rule": "smallest threshold of the grid calling at most max_false_rate of site-free UTR windows"})
    meta_path = args.model / META
    meta = json.loads(meta_path.read_text())
    meta["card"]["scan_threshold"] = fit
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    for row in fit["grid"]:
        print(f"p > {row['threshold']:.2f}: site-free {row['site_free_called']:.4%}, planted 8mer "
              f"{row['planted_called']:.4f}")
    print(f"scan threshold {fit['value']} -> {meta_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
