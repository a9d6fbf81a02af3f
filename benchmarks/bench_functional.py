"""Ranking one miRNA's genes: the functional check and the gene-level development pairs, every scorer side by side.

1. Functional check on the HCT116 transfections (``../shared/data/functional``; see mirlens.evaluation.functional):
   mean over experiments of -Spearman(score, logFC), the top-100 logFC shift and (where FDRs exist) the AUROC for
   down-regulated genes, for the weighted seed-count rule, the shipped repression model (fitted on these very
   experiments: in-sample), the repression model scored leave-one-experiment-out (the figure for new miRNAs), and
   the gene probability of every bundled model (``predict-genes``).
2. What each context feature adds: the repression model refitted leave-one-experiment-out with the site features
   added one at a time (site type only, + local AU, + distance to the nearer UTR end, + UTR length, + 3'
   supplementary pairing, + cooperative neighbours), and with each model's logit of the site as one more feature.
3. Gene-level development pairs (``../shared/data/miraw_gene_level/dev_gene_level.tsv``): AUROC overall, within one
   miRNA and across miRNAs (mirlens.evaluation.grouped_auroc) of the ranking score, the seed-count rule and the
   shipped gene probability of each bundled model (the calibrated probabilities are in-sample there: their
   calibrators were fitted on these pairs; benchmarks/bench_miraw_gene_level.py gives their cross-validated figures).

    python benchmarks/bench_functional.py                   # everything (~10 min on 2 cores)
    python benchmarks/bench_functional.py --models ''       # without the neural models (~1 min)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import mirlens  # noqa: F401  (first: passive OpenMP waiting, see mirlens/__init__.py)
import numpy as np
import pandas as pd

from mirlens.data.expression import load_functional_set
from mirlens.data.readers import read_pairs
from mirlens.evaluation.functional import (SEED_WEIGHTS, cross_validated_repression, evaluate_functional,
                                           repression_scorer, seed_count_scores, summary)
from mirlens.evaluation.metrics import auroc, grouped_auroc
from mirlens.genes.predict import GeneSettings, predict_genes, site_logits, site_table
from mirlens.genes.repression import DEFAULT_FEATURES
from mirlens.genes.repression import load_repression
from mirlens.model.store import load_model

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIRLENS_SHARED", REPO.parent / "shared"))
ABLATION = [
    ("site type only", ()),
    ("+ local AU", ("local_au",)),
    ("+ distance to UTR end", ("local_au", "log_min_dist")),
    ("+ UTR length (shipped)", ("local_au", "log_min_dist", "log_utr_length")),
    ("+ 3' supplementary pairing", ("local_au", "log_min_dist", "log_utr_length", "supp3")),
    ("+ cooperative neighbours", ("local_au", "log_min_dist", "log_utr_length", "n_coop")),
]


def model_scorer(name: str, noncanonical: bool):
    net, meta = load_model(name, with_meta=True)

    def score(mirna, utrs):
        pairs = pd.DataFrame({"mirna_id": "m", "mirna": mirna, "target_id": [str(i) for i in range(len(utrs))],
                              "target": list(utrs)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return predict_genes(net, pairs, GeneSettings(noncanonical=noncanonical), model_name=meta["name"],
                                 repression=None)["probability"].to_numpy()

    return score


def fmt(v) -> str:
    return "-" if pd.isna(v) else f"{v:.3f}"


def print_summary(summ: pd.DataFrame, per: pd.DataFrame) -> None:
    exps = list(dict.fromkeys(per["experiment_id"]))
    short = [e.replace("HCT116_", "") for e in exps]
    print(f"| scorer | mean -Spearman | top-100 dlogFC | AUROC down | {' | '.join(short)} |")
    print("|---|---|---|---|" + "---|" * len(exps))
    for _, r in summ.iterrows():
        each = per[per["scorer"] == r["scorer"]].set_index("experiment_id")["neg_spearman"].reindex(exps)
        print(f"| {r['scorer']} | {fmt(r['neg_spearman'])} | {fmt(r['top100_delta'])} | {fmt(r['auroc_down'])} | "
              + " | ".join(fmt(v) for v in each) + " |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="pairing,miraw,combined,deepmirtar",
                    help="bundled (or any) models whose gene probability is checked; '' for none")
    ap.add_argument("--data-dir", default=str(SHARED / "data"))
    ap.add_argument("--gene-level", default=str(SHARED / "data" / "miraw_gene_level" / "dev_gene_level.tsv"))
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    t0 = time.perf_counter()
    fset = load_functional_set("hct116", args.data_dir)
    rep = load_repression()

    print(f"## 1. Functional check: {fset.name}, {len(fset.experiments)} transfections, "
          f"{sum(len(e.table) for e in fset.experiments):,} measured (experiment, gene) pairs\n")
    scorers = {"seed-count rule": seed_count_scores, "repression (shipped, in-sample)": repression_scorer(rep),
               "repression (leave-one-experiment-out)": cross_validated_repression(fset)}
    for name in models:
        scorers[f"{name}: gene probability"] = model_scorer(name, True)
        scorers[f"{name}: gene probability, canonical sites only"] = model_scorer(name, False)
    per = evaluate_functional(fset, scorers)
    print_summary(summary(per), per)

    print("\n## 2. What each site feature adds (repression model, leave-one-experiment-out)\n")
    rows = [evaluate_functional(fset, {label: cross_validated_repression(fset, features=feats)})
            for label, feats in ABLATION]
    per_ab = pd.concat(rows, ignore_index=True)
    print_summary(summary(per_ab), per_ab)

    if models:
        print("\n## 2b. A model's site score as one more site feature (leave-one-experiment-out)\n")
        rows = []
        for name in models:
            net = load_model(name)

            def annotate(mirna, utrs, sites, net=net):
                return sites.assign(site_logit=site_logits(net, mirna, utrs, sites))

            feats = (*DEFAULT_FEATURES, "site_logit")
            rows.append(evaluate_functional(fset, {f"shipped features + {name} site logit":
                                                   cross_validated_repression(fset, features=feats,
                                                                              annotate=annotate)}))
        per_m = pd.concat(rows, ignore_index=True)
        print_summary(summary(per_m), per_m)

    print("\n## 3. Gene-level development pairs: AUROC overall / within one miRNA / across miRNAs\n")
    pairs = read_pairs(args.gene_level)
    y = pairs["label"].astype(int).to_numpy()
    groups = pairs["mirna_id"].astype(str).to_numpy()
    sites = site_table(pairs["mirna"].tolist(), pairs["target"].tolist())
    scores = {
        "seed-count rule": np.bincount(sites["pair"], weights=SEED_WEIGHTS[sites["type"].to_numpy()],
                                       minlength=len(pairs)),
        "ranking_score (repression)": rep.gene_scores(sites, len(pairs)),
    }
    for name in models:
        net, meta = load_model(name, with_meta=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores[f"{name}: gene probability (in-sample calibrator)"] = predict_genes(
                net, pairs, GeneSettings(), model_name=meta["name"], repression=None)["probability"].to_numpy()
    split = None
    print("| score | AUROC | within one miRNA | across miRNAs |")
    print("|---|---|---|---|")
    for name, s in scores.items():
        split = grouped_auroc(y, s, groups)
        print(f"| {name} | {auroc(y, s):.3f} | {split['within']:.3f} | {split['between']:.3f} |")
    if split is not None:
        n_miRNAs = int((pd.Series(y).groupby(groups).nunique() == 2).sum())
        print(f"\nwithin-miRNA comparisons: {split['n_within']:,} positive-negative pairs "
              f"({split['within_share']:.2%} of all), from the {n_miRNAs} miRNAs with both labels")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
