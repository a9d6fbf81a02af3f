"""Ranking one miRNA's genes: the functional check per experiment, what each feature adds, and its sign per study.

1. Functional check on both shared sets (7 HCT116 transfections, 13 HeLa overexpressions with FDRs), leave one
   seed family out (a family held out in both sets; see mirlens.evaluation.functional): per experiment
   -Spearman(score, logFC), and per set the means of AUROC (down genes, FDR < 0.05), -Spearman and the top-100
   logFC shift, for the weighted seed-count rule, the repression model of each kind (`pairing`: the default site
   model's logits and its own sites; `canonical`: model-free) and the shipped `pairing` model (in-sample).
2. What each feature adds: the `canonical` kind refitted (leave one family out) with the site features added one at
   a time, then the `pairing` kind with and without the model's own (non-canonical) sites.
3. Each feature's coefficient fitted on each study alone (per canonical site type): the sign and size that hold in
   both studies are the ones the shipped models use.
4. The miRAW gene-level development pairs: AUROC overall / within one miRNA / across miRNAs of the seed-count rule,
   the ranking score and the probability, and of the paper-protocol models' miRAW-benchmark probability.

    python benchmarks/bench_functional.py                   # everything (~15 min on 2 cores)
    python benchmarks/bench_functional.py --models ''       # without the paper-protocol models
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mirlens.data.expression import load_functional_sets  # noqa: E402
from mirlens.data.readers import read_pairs  # noqa: E402
from mirlens.evaluation.functional import (SEED_WEIGHTS, cross_validate, experiment_sites,  # noqa: E402
                                           fit_ranking, scored_metrics)
from mirlens.evaluation.metrics import auroc, grouped_auroc  # noqa: E402
from mirlens.genes.repression import load_repression  # noqa: E402
from mirlens.genes.sites import SITE_TYPES  # noqa: E402
from mirlens.genes.table import gene_table, paper_gene_table  # noqa: E402
from mirlens.model.store import load_model  # noqa: E402

ABLATION = [
    ("site type only", ()),
    ("+ local AU", ("local_au",)),
    ("+ UTR length", ("local_au", "log_utr_length")),
    ("+ distance from the stop codon (shipped `canonical`)", ("local_au", "log_utr_length", "log_dist5")),
    ("+ distance to the nearer UTR end", ("local_au", "log_utr_length", "log_dist5", "log_min_dist")),
    ("+ 3' supplementary pairing", ("local_au", "log_utr_length", "log_dist5", "supp3")),
    ("previous recipe (local AU, nearer end, UTR length)", ("local_au", "log_min_dist", "log_utr_length")),
]
PER_STUDY = ("local_au", "log_utr_length", "log_dist5", "log_min_dist", "supp3", "site_logit")


def fmt(v) -> str:
    return "-" if pd.isna(v) else f"{v:.3f}"


def set_means(per: pd.DataFrame) -> str:
    per = per.assign(set=["hct116" if e.startswith("HCT116") else "hela" for e in per["experiment_id"]])
    rows = ["| scorer | HeLa AUROC down | HeLa -Spearman | HeLa top-100 | HCT116 -Spearman | HCT116 top-100 |",
            "|---|---|---|---|---|---|"]
    for name, g in per.groupby("scorer", sort=False):
        m = g.groupby("set")[["auroc_down", "neg_spearman", "top100_delta"]].mean()
        rows.append(f"| {name} | {fmt(m.loc['hela', 'auroc_down'])} | {fmt(m.loc['hela', 'neg_spearman'])} | "
                    f"{fmt(m.loc['hela', 'top100_delta'])} | {fmt(m.loc['hct116', 'neg_spearman'])} | "
                    f"{fmt(m.loc['hct116', 'top100_delta'])} |")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="miraw,combined", help="paper-protocol models for section 4 ('' none)")
    ap.add_argument("--data-dir", default=str(SHARED / "data"))
    ap.add_argument("--gene-level", default=str(SHARED / "data" / "miraw_gene_level" / "dev_gene_level.tsv"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    net, meta = load_model("pairing", with_meta=True)
    fset = load_functional_sets(["hct116", "hela"], args.data_dir)
    canonical = experiment_sites(fset, None)
    pairing = experiment_sites(fset, net)
    seed = {d.experiment.experiment_id: np.bincount(d.sites["pair"].to_numpy(np.int64),
                                                    weights=SEED_WEIGHTS[d.sites["type"].to_numpy(np.int64)],
                                                    minlength=d.n) for d in canonical}
    shipped = load_repression()

    print(f"## 1. Functional check, leave one seed family out: {len(fset.experiments)} experiments, "
          f"{len({d.family for d in pairing})} seed families (sites found in {time.perf_counter() - t0:.0f} s)\n")
    scores = {"seed-count rule": seed,
              "repression `pairing` (default)": cross_validate(pairing, kind="pairing").scores,
              "repression `canonical`": cross_validate(canonical, kind="canonical").scores,
              "repression `pairing`, shipped (in-sample)":
                  {d.experiment.experiment_id: shipped.gene_scores(d.sites, d.n) for d in pairing}}
    per = scored_metrics(canonical, scores)
    print(set_means(per))
    exps = list(dict.fromkeys(per["experiment_id"]))
    print("\n-Spearman per experiment:\n")
    print("| scorer | " + " | ".join(e.replace("GSE124530_OE_", "").replace("HCT116_", "HCT116 ") for e in exps)
          + " |")
    print("|---|" + "---|" * len(exps))
    for name, g in per.groupby("scorer", sort=False):
        print(f"| {name} | " + " | ".join(fmt(v) for v in g.set_index("experiment_id")["neg_spearman"]
                                         .reindex(exps)) + " |")

    print("\n## 2. What each feature adds (leave one seed family out)\n")
    ablation = {label: cross_validate(canonical, kind="canonical", features=feats).scores
                for label, feats in ABLATION}
    ablation["`pairing`: + the model's site logit, no own sites"] = cross_validate(
        [d.__class__(d.experiment, d.table, d.sites[d.sites["type"] < 5].reset_index(drop=True), d.y, d.down,
                     d.utr_length) for d in pairing], kind="canonical",
        features=("local_au", "log_utr_length", "log_dist5", "site_logit")).scores
    ablation["`pairing` (shipped recipe): + the model's own sites (tie-free)"] = scores[
        "repression `pairing` (default)"]
    print(set_means(scored_metrics(canonical, ablation)))

    print("\n## 3. Coefficients per study (canonical site types; log2 fold change per unit; negative = more "
          "repression)\n")
    print("| feature | type | HCT116 | HeLa | same sign |")
    print("|---|---|---|---|---|")
    fits = {s: fit_ranking([d for d in pairing if (d.experiment.experiment_id.startswith("HCT116")) == (s == "hct116")],
                           kind="pairing", features=PER_STUDY) for s in ("hct116", "hela")}
    for k, f in enumerate(PER_STUDY):
        for t in range(5):
            a, b = fits["hct116"].coef[t, k], fits["hela"].coef[t, k]
            print(f"| {f} | {SITE_TYPES[t]} | {a:+.3f} | {b:+.3f} | {'yes' if np.sign(a) == np.sign(b) else 'no'} |")
    for s, m in fits.items():
        nc = m.info["noncanonical_fit"]
        print(f"\n{s}: the model's own sites, beta {nc['beta_unconstrained']:+.4f} (log2 per softplus unit), "
              f"UTR length covariate {nc['log10_length_covariate']:+.4f} per log10 nt, {nc['n_genes']:,} genes")

    print("\n## 4. Gene-level development pairs: AUROC overall / within one miRNA / across miRNAs\n")
    pairs = read_pairs(args.gene_level)
    y = pairs["label"].astype(int).to_numpy()
    groups = pairs["mirna_id"].astype(str).to_numpy()
    genes, _ = gene_table(net, pairs, meta)
    rows = {"seed-count rule": None, "ranking_score (pairing)": genes["ranking_score"].to_numpy(),
            "probability (pairing)": genes["probability"].to_numpy(),
            "best_site_logit (pairing)": genes["best_site_logit"].fillna(-10).to_numpy()}
    from mirlens.genes.predict import site_table

    sites = site_table(pairs["mirna"].tolist(), pairs["target"].tolist())
    rows["seed-count rule"] = np.bincount(sites["pair"], weights=SEED_WEIGHTS[sites["type"].to_numpy()],
                                          minlength=len(pairs))
    for name in [m for m in args.models.split(",") if m]:
        pnet, pmeta = load_model(name, with_meta=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows[f"{name}: miraw_probability (in-sample calibrator)"] = paper_gene_table(
                pnet, pairs, pmeta)[0]["miraw_probability"].to_numpy()
    print("| score | AUROC | within one miRNA | across miRNAs |")
    print("|---|---|---|---|")
    split = None
    for name, s in rows.items():
        split = grouped_auroc(y, s, groups)
        print(f"| {name} | {auroc(y, s):.3f} | {split['within']:.3f} | {split['between']:.3f} |")
    print(f"\nwithin-miRNA comparisons: {split['n_within']:,} ({split['within_share']:.2%} of all); is_target of "
          f"`pairing`: {genes['is_target'][y == 1].mean():.1%} of positives, {genes['is_target'][y == 0].mean():.1%} "
          "of negatives")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
