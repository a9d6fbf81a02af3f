"""Fit a pairing model's UTR-level call rule and store it in its model card (``card["utr_call"]``).

    python scripts/utr_call_threshold.py MODEL_DIR GENE_LEVEL_TSV [--write-card]

`mirlens predict-genes` and `mirlens predict` call a whole 3'UTR a target when one of its sites passes the UTR
threshold (mirlens.genes.calls.CallRule): the card's scan threshold for short UTRs, rising with log10(UTR length)
so that a site-free UTR of any length is called about 1% of the time (mirlens.evaluation.specificity.utr_call_rule).
Fitted on whole site-free UTRs of the collection's first half (the half the model's `utr` negatives came from; 30
for each of 60 miRNAs of distinct seeds, seed 1), checked on the second half, with the same UTRs carrying a planted
8mer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.data.utrs import read_utrs
from mirlens.evaluation.specificity import plant_8mer_utrs, site_free_utrs, split_utrs, utr_call_rule
from mirlens.genes.calls import CallRule, site_calls
from mirlens.model.store import META, load_model


def probe(model, pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Every candidate site logit, the best site logit of each UTR, and the nucleotides scanned."""
    logits, best = [], np.full(len(pairs), -np.inf)
    for mirna, rows in pairs.groupby("mirna", sort=False).indices.items():
        sites = site_calls(model, mirna, pairs["target"].iloc[rows].tolist())
        logits.append(sites["site_logit"].to_numpy())
        np.maximum.at(best, rows[sites["utr"].to_numpy()], sites["site_logit"].to_numpy())
    return np.concatenate(logits), best, int(pairs["target"].str.len().sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("table", type=Path, help="gene-level table (mirna_id, mirna_seq, mrna_id, mrna_seq)")
    ap.add_argument("--false-rate", type=float, default=0.01)
    ap.add_argument("--write-card", action="store_true")
    args = ap.parse_args()
    model, meta = load_model(args.model, with_meta=True)
    first, second = split_utrs(read_utrs(args.table))
    table = pd.read_csv(args.table, sep="\t", usecols=["mirna_id", "mirna_seq"])
    table = table.assign(mirna_seq=table["mirna_seq"].str.upper().str.replace("T", "U"))
    table = table.drop_duplicates("mirna_seq").assign(seed=lambda t: t["mirna_seq"].str[1:8])
    table = table.drop_duplicates("seed").sample(60, random_state=1)
    mirnas = dict(zip(table["mirna_id"], table["mirna_seq"]))
    site = CallRule.from_card(meta).site_logit
    free = site_free_utrs(mirnas, first, per_mirna=30, seed=1)
    logits, _, n_nt = probe(model, free)
    fit = utr_call_rule(logits, n_nt, site, false_rate=args.false_rate)
    rule = CallRule(site, fit["intercept"], fit["per_log10_nt"])
    print(f"fitted on {len(free):,} site-free UTRs of the first half ({n_nt:,} nt): t(L) = max({site:.3f}, "
          f"{fit['intercept']:.3f} + {fit['per_log10_nt']:.3f} log10 L)")
    for name, utrs in (("first", first), ("second", second)):
        probe_free = site_free_utrs(mirnas, utrs, per_mirna=30, seed=2)
        _, best_free, _ = probe(model, probe_free)
        _, best_planted, _ = probe(model, plant_8mer_utrs(probe_free, seed=2))
        lengths = probe_free["target"].str.len().to_numpy()
        t = rule.utr_threshold(lengths)
        flat = np.full(len(lengths), site)
        for label, thr in (("UTR rule", t), ("site threshold only", flat)):
            print(f"{name} half, {label}: site-free UTRs called {np.mean(best_free > thr):.2%} "
                  f"(> 2,000 nt: {np.mean((best_free > thr)[lengths > 2000]):.2%}), planted 8mer "
                  f"{np.mean(best_planted > thr):.2%} of {len(lengths)}")
    if args.write_card:
        fit.update({"table": str(args.table), "utrs_half": "first", "n_mirnas": len(mirnas),
                    "rule": "t(L) = max(site threshold, intercept + per_log10_nt * log10(UTR length)), logits"})
        meta_path = args.model / META
        data = json.loads(meta_path.read_text())
        data["card"]["utr_call"] = fit
        meta_path.write_text(json.dumps(data, indent=2) + "\n")
        print(f"-> {meta_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
