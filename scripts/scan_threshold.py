"""Fit a model's scan threshold and store it in its model card (``card["scan_threshold"]``).

    python scripts/scan_threshold.py MODEL_DIR UTRS [--mirnas GENE_LEVEL_TSV] [--half first]
        [--windows padded|context] [--print-only]

`mirlens predict` calls a window a site when its probability passes the model's scan threshold (0.5 for models
without one): the smallest of 0.5, 0.6, ..., 0.99 at which at most 1 in 2,000 site-free 3'UTR windows of the model's
target length is called (mirlens.evaluation.specificity.scan_threshold). The windows come from the half of the UTR
collection that the model's `utr` negatives were drawn from (`--half first`, as the bundled `pairing` was
trained), never from the half the specificity benchmark probes: 200 windows for each of 100 miRNAs (seed 1) of the
gene-level table, and the same windows with the miRNA's 8mer planted.

`--windows context` scores the same probe windows as `mirlens predict` does by default for the pairing family:
each with its real UTR flanks (mirlens.predict.utr_pass; the 8mer planted into the UTR itself). The window's
anchors then read up to 27 nt before it and 6 nt after it, where a canonical site of the miRNA may lie; the fit
uses the windows whose whole reach is site-free, and the fractions of all windows are printed too. The card's
value was fitted with `padded` windows (each cut out and padded with N, the default here); `--print-only` leaves
the card as it is.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.data.alphabet import tokenize
from mirlens.data.negatives import has_canonical_site
from mirlens.data.utrs import read_utrs
from mirlens.evaluation.specificity import eight_mer, plant_8mers, scan_threshold, site_free_windows, split_utrs
from mirlens.model.store import META, load_model
from mirlens.predict.score import score_pair_table

FLANK = 64
"""UTR nucleotides kept on either side of a probe window for its context score (more than its anchors read)."""


def reach(model) -> tuple[int, int]:
    """Nucleotides before and after a window that its anchors read with real flanks: the diagonal layer reads
    K - 1 nt 5' of an anchor and the combine layer h anchors either side; the window pools slot + overhang
    anchors."""
    cfg = model.config
    h = cfg.combine_width // 2
    return cfg.mirna_positions - 1 + h, cfg.overhang + h


def context_probabilities(model, probes: pd.DataFrame, utrs: dict[str, str], planted: pd.DataFrame | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Probability of each probe window scored with its real UTR flanks (the planted 8mer, when given, written
    into the UTR at the window's offset), and whether the window's whole reach is free of canonical sites."""
    from mirlens.predict.utr_pass import UtrPass

    before, after = reach(model)
    slot = model.config.target_slot
    logits = np.empty(len(probes), np.float32)
    site_free = np.empty(len(probes), bool)
    regions, starts = [], []
    for i, (tid, m) in enumerate(zip(probes["target_id"], probes["mirna"])):
        uid, span = tid.rsplit(":", 1)
        s = int(span.split("-")[0]) - 1
        utr = utrs[uid]
        if planted is not None:
            o = int(planted["offset"].iat[i])
            utr = utr[:s + o] + eight_mer(m) + utr[s + o + 8:]
        lo = max(s - FLANK, 0)
        regions.append(utr[lo:s + slot + FLANK])
        starts.append(s - lo)
        site_free[i] = not has_canonical_site(m, utr[max(s - before, 0):s + slot + after])
    mirnas = probes["mirna"].to_numpy()
    for m in pd.unique(mirnas):
        rows = np.flatnonzero(mirnas == m)
        got = UtrPass(model, m).window_logits([tokenize(regions[i]) for i in rows],
                                              [np.array([starts[i]]) for i in rows])
        logits[rows] = np.concatenate(got)
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64))), site_free


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("utrs", type=Path)
    ap.add_argument("--mirnas", type=Path, help="table with mirna_id, mirna_seq (default: the UTR table itself)")
    ap.add_argument("--half", choices=("first", "second", "all"), default="first")
    ap.add_argument("--windows", choices=("padded", "context"), default="padded",
                    help="probe windows cut out and padded with N (as the card was fitted), or with real flanks")
    ap.add_argument("--print-only", action="store_true", help="print the fit; leave the model card as it is")
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
    if args.windows == "context":
        sf_prob, clean = context_probabilities(model, site_free, utrs)
        pl_prob, _ = context_probabilities(model, site_free, utrs, planted=planted)
        every = scan_threshold(sf_prob, pl_prob)
        print(f"context windows: {clean.mean():.2%} of {len(clean):,} probe windows have no canonical site within "
              f"their reach ({reach(model)[0]} nt before, {reach(model)[1]} after); all probe windows:")
        for row in every["grid"]:
            print(f"  p > {row['threshold']:.2f}: site-free {row['site_free_called']:.4%}, planted 8mer "
                  f"{row['planted_called']:.4f}")
        fit = scan_threshold(sf_prob[clean], pl_prob[clean])
        fit["windows"] = "context"
        fit["n_site_free_any_flank"] = int(len(clean))
        print("windows whose reach is site-free (the fit):")
    else:
        fit = scan_threshold(score_pair_table(model, site_free)["probability"],
                             score_pair_table(model, planted)["probability"])
    fit.update({"utrs": str(args.utrs), "utrs_half": args.half, "n_mirnas": len(mirnas),
                "rule": "smallest threshold of the grid calling at most max_false_rate of site-free UTR windows"})
    if args.print_only:
        for row in fit["grid"]:
            print(f"p > {row['threshold']:.2f}: site-free {row['site_free_called']:.4%}, planted 8mer "
                  f"{row['planted_called']:.4f}")
        print(f"scan threshold {fit['value']} (not written: --print-only)")
        return 0
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
