"""The gene-level answer, measured: specific, agreeing with `predict`, ranking what goes down, fast.

For the default model (`pairing`) and each bundled paper-protocol model (`combined`, `miraw`, `deepmirtar`):

(a) whole 3'UTRs without any canonical site of the miRNA (no Watson-Crick match to nt 2-7 or 3-8): the second half
    of the gene-level development UTRs (mirlens.evaluation.specificity.split_utrs; the half no training negative
    and no threshold fit came from), 20 for each of 40 miRNAs of distinct seeds (seed 3) -- fraction called
    (`is_target`) -- and the same UTRs with the miRNA's 8mer written at a random position (seed 3);
(b) the shipped example (5 miRNAs x 5 synthetic UTRs): the pairs `predict-genes` calls, and for `pairing` whether
    `predict` calls the same ones;
(c) the functional check, leave-one-seed-family-out over both shared sets (HCT116 transfections, HeLa
    overexpressions; a family held out in both): AUROC for the down genes (HeLa: FDR < 0.05), -Spearman and
    top-100 dlogFC per set, and the Brier score of the probability, for the repression model of each kind
    (`pairing`: the default model's site logits and its own sites, tie-free; `canonical`: model-free), beside the
    weighted seed-count rule, the same rule with its ties broken at random (a tie-free baseline), and the previous
    repression recipe (HCT116-era features local_au, log_min_dist, log_utr_length; canonical sites; refitted the
    same way) and the previous shipped parameters (fitted on the 7 HCT116 experiments: in-sample there);
(d) UTR nt/s of the gene-level answer per model (one miRNA against real UTRs), with torch.mm's rate now.

    python benchmarks/bench_gene_level.py                 # all of it (~15 min on 2 cores)
    python benchmarks/bench_gene_level.py --skip-functional --models pairing
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED, gemm_gflops  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mirlens.data.examples import example_path  # noqa: E402
from mirlens.data.expression import load_functional_sets  # noqa: E402
from mirlens.data.fasta import pairs_from_fasta, read_fasta  # noqa: E402
from mirlens.data.utrs import read_utrs  # noqa: E402
from mirlens.evaluation.functional import (SEED_WEIGHTS, calibration_summary, cross_validate,  # noqa: E402
                                           experiment_sites, scored_metrics)
from mirlens.evaluation.specificity import plant_8mer_utrs, site_free_utrs, split_utrs  # noqa: E402
from mirlens.genes.repression import RepressionModel  # noqa: E402
from mirlens.genes.table import gene_table, paper_gene_table  # noqa: E402
from mirlens.model.store import load_model  # noqa: E402
from mirlens.predict.utr_pass import is_pairing  # noqa: E402

GENE_LEVEL = SHARED / "data" / "miraw_gene_level" / "dev_gene_level.tsv"
PREVIOUS = Path(__file__).resolve().parent / "previous_repression.json"


def answer(net, meta, pairs: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if is_pairing(net):
            return gene_table(net, pairs, meta)[0]
        return paper_gene_table(net, pairs, meta)[0]


def probes(n_mirnas: int, per_mirna: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = pd.read_csv(GENE_LEVEL, sep="\t", usecols=["mirna_id", "mirna_seq"])
    table = table.assign(mirna_seq=table["mirna_seq"].str.upper().str.replace("T", "U"))
    table = table.drop_duplicates("mirna_seq").assign(seed=lambda t: t["mirna_seq"].str[1:8])
    table = table.drop_duplicates("seed").sample(n_mirnas, random_state=3)
    second = split_utrs(read_utrs(GENE_LEVEL))[1]
    free = site_free_utrs(dict(zip(table["mirna_id"], table["mirna_seq"])), second, per_mirna=per_mirna, seed=3)
    return free, plant_8mer_utrs(free, seed=3)


def section_a(models, n_mirnas: int, per_mirna: int) -> None:
    free, planted = probes(n_mirnas, per_mirna)
    long = free["target"].str.len().to_numpy() > 2000
    print(f"\n## (a) whole 3'UTRs: {len(free):,} site-free UTRs ({free['mirna_id'].nunique()} miRNAs, median "
          f"{int(free['target'].str.len().median())} nt, {long.sum()} longer than 2,000 nt), and the same with one "
          "planted 8mer\n")
    print("| model | site-free UTRs called | of them > 2,000 nt | worst miRNA | planted 8mer called | fewest (miRNA) |")
    print("|---|---|---|---|---|---|")
    for name, (net, meta) in models.items():
        a = answer(net, meta, free)
        b = answer(net, meta, planted)
        per_free = a.groupby(free["mirna_id"].to_numpy())["is_target"].mean()
        per_planted = b.groupby(free["mirna_id"].to_numpy())["is_target"].mean()
        print(f"| `{name}` | {a['is_target'].mean():.1%} | {a['is_target'][long].mean():.1%} | "
              f"{per_free.max():.0%} | {b['is_target'].mean():.1%} | {per_planted.min():.0%} |")


def section_b(models) -> None:
    print("\n## (b) the example: 5 miRNAs x 5 synthetic UTRs (5 planted pairs)\n")
    mirnas_path, utrs_path = example_path("mirnas.fa"), example_path("utrs.fa")
    pairs = pairs_from_fasta(mirnas_path, utrs_path)
    planted = {("hsa-let-7a-5p", "UTR_let7_two_sites"), ("hsa-let-7a-5p", "UTR_short"),
               ("hsa-miR-21-5p", "UTR_miR21_one_site"), ("hsa-miR-21-5p", "UTR_miR155_miR21"),
               ("hsa-miR-155-5p", "UTR_miR155_miR21")}
    for name, (net, meta) in models.items():
        t = answer(net, meta, pairs)
        called = {(m, u) for m, u, c in zip(t["mirna_id"], t["target_id"], t["is_target"]) if c}
        line = (f"`{name}`: {len(called)} of 25 called, {len(called & planted)} of the 5 planted, "
                f"{len(called - planted)} others")
        if is_pairing(net):
            import tempfile

            from mirlens.predict.scan import ScanSettings, gene_summary, scan
            from mirlens.predict.site_calls import CallRule

            rule = CallRule.from_card(meta)
            settings = ScanSettings(threshold=0.9, call_rule=(rule.site_logit, rule.utr_intercept,
                                                              rule.utr_per_log10_nt))
            with tempfile.TemporaryDirectory() as work:
                windows = scan(net, read_fasta(mirnas_path), utrs_path, Path(work), settings)
            summary = gene_summary(windows, 0.9, 1).merge(windows.attrs["calls"], on=["mirna_id", "target_id"])
            by_predict = {(m, u) for m, u, c in zip(summary["mirna_id"], summary["target_id"], summary["site_call"])
                          if c}
            line += f"; `predict` calls the same pairs: {by_predict == called}"
        print(line)


def section_c(site_model) -> None:
    fset = load_functional_sets(["hct116", "hela"], SHARED / "data")
    t0 = time.perf_counter()
    canonical = experiment_sites(fset, None)
    pairing = experiment_sites(fset, site_model)
    print(f"\n## (c) functional check, leave one seed family out ({len(fset.experiments)} experiments, "
          f"{len({d.family for d in pairing})} seed families; sites found in {time.perf_counter() - t0:.0f} s)\n")
    rng = np.random.default_rng(0)
    seed = {d.experiment.experiment_id: np.bincount(d.sites["pair"].to_numpy(np.int64),
                                                    weights=SEED_WEIGHTS[d.sites["type"].to_numpy(np.int64)],
                                                    minlength=d.n) for d in canonical}
    seed_tiefree = {k: v + 1e-9 * rng.random(len(v)) for k, v in seed.items()}
    cv_pairing = cross_validate(pairing, kind="pairing")
    cv_canonical = cross_validate(canonical, kind="canonical")
    previous_recipe = cross_validate(canonical, kind="canonical",
                                     features=("local_au", "log_min_dist", "log_utr_length"))
    previous = RepressionModel.from_dict(json.loads(PREVIOUS.read_text()))
    scores = {"seed-count rule": seed, "seed-count rule, ties broken at random": seed_tiefree,
              "previous repression parameters (HCT116-fitted; in-sample on HCT116)":
                  {d.experiment.experiment_id: previous.gene_scores(d.sites, d.n) for d in canonical},
              "previous repression recipe, refitted": previous_recipe.scores,
              "repression `canonical` (model-free; ties)": cv_canonical.scores,
              "repression `pairing` (default; tie-free)": cv_pairing.scores}
    per = scored_metrics(canonical, scores)
    per["set"] = ["hct116" if e.startswith("HCT116") else "hela" for e in per["experiment_id"]]
    briers = {"repression `pairing` (default; tie-free)": calibration_summary(pairing, cv_pairing.probability),
              "repression `canonical` (model-free; ties)": calibration_summary(canonical, cv_canonical.probability)}
    print("| scorer | HeLa AUROC down | HeLa -Spearman | HeLa top-100 dlogFC | HCT116 -Spearman | HCT116 top-100 "
          "dlogFC | Brier (HeLa) |")
    print("|---|---|---|---|---|---|---|")
    for name in scores:
        m = per[per["scorer"] == name].groupby("set")[["auroc_down", "neg_spearman", "top100_delta"]].mean()
        b = briers.get(name)
        brier = f"{b[0]['brier']:.5f} (base rate {b[0]['brier_base_rate']:.5f})" if b and b[0] else "-"
        print(f"| {name} | {m.loc['hela', 'auroc_down']:.3f} | {m.loc['hela', 'neg_spearman']:.3f} | "
              f"{m.loc['hela', 'top100_delta']:.3f} | {m.loc['hct116', 'neg_spearman']:.3f} | "
              f"{m.loc['hct116', 'top100_delta']:.3f} | {brier} |")
    stats, rel = briers["repression `pairing` (default; tie-free)"]
    print("\nReliability of the `pairing` probability (held-out families, HeLa):\n")
    print("| probability bin | genes | mean predicted | observed down |")
    print("|---|---|---|---|")
    for r in rel.itertuples():
        print(f"| {r.bin_low:g}-{r.bin_high:g} | {r.n_genes:,} | {r.predicted:.4f} | {r.observed:.4f} |")


def section_d(models, n_utrs: int) -> None:
    gflops = gemm_gflops()
    utrs = pd.read_csv(SHARED / "data" / "functional" / "utrs.tsv.gz", sep="\t")["utr"].str.replace("T", "U")
    utrs = utrs.sample(n_utrs, random_state=0).tolist()
    pairs = pd.DataFrame({"mirna_id": "hsa-miR-16-5p", "mirna": "UAGCAGCACGUAAAUAUUGGCG",
                          "target_id": [f"u{i}" for i in range(len(utrs))], "target": utrs})
    n_nt = sum(len(u) for u in utrs)
    print(f"\n## (d) UTR nt/s: one miRNA against {len(utrs):,} real 3'UTRs ({n_nt:,} nt); torch.mm {gflops:.0f} "
          "GFLOP/s now\n")
    print("| model | seconds | UTR nt/s | a 30,000 x 1,500-nt transcriptome per miRNA |")
    print("|---|---|---|---|")
    from mirlens.genes.predict import GeneSettings, predict_genes

    runs = {f"`{name}`": (lambda net=net, meta=meta: answer(net, meta, pairs)) for name, (net, meta) in models.items()}
    if "pairing" in models:  # the gene-level pipeline before this answer (candidate-site windows), same model
        def previous(net=models["pairing"][0]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                predict_genes(net, pairs, GeneSettings(), repression=None)

        runs["`pairing`, previous pipeline (site windows, miRAW calibrator)"] = previous
    best = {k: float("inf") for k in runs}
    for _ in range(2):  # alternating rounds, best of each
        for name, run in runs.items():
            t = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t)
    for name, dt in best.items():
        print(f"| {name} | {dt:.1f} | {n_nt / dt:,.0f} | {45e6 / (n_nt / dt):.0f} s |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="pairing,combined,miraw,deepmirtar")
    ap.add_argument("--mirnas", type=int, default=40)
    ap.add_argument("--per-mirna", type=int, default=20)
    ap.add_argument("--throughput-utrs", type=int, default=1000)
    ap.add_argument("--skip-functional", action="store_true")
    args = ap.parse_args(argv)
    models = {name: load_model(name, with_meta=True) for name in args.models.split(",")}
    section_a(models, args.mirnas, args.per_mirna)
    section_b(models)
    if not args.skip_functional:
        section_c(models.get("pairing", (load_model("pairing"), None))[0])
    section_d(models, args.throughput_utrs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
