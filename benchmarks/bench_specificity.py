"""Does a model tell a site from no site? Every bundled model, the authors' three and the seed-class rule, side by side.

    python benchmarks/bench_specificity.py [--models NAME ...] [--per-mirna 100] [--out table.tsv] [--write-card]

Columns (one row per model):

(a) miRBench Hejret 2023 test split (965 CLASH pairs, negatives balanced per miRNA, so the miRNA's identity says
    nothing): average precision, AUROC, and AUROC *within one miRNA* (only positive-negative comparisons of the same
    miRNA; :func:`mirlens.evaluation.metrics.grouped_auroc`), ranked by the logit; published figures beside them.
(b) site-free windows: 40-nt windows of real 3'UTRs (the development gene-level UTRs, the half that training never
    cut negatives from: :func:`mirlens.evaluation.specificity.split_utrs`) without any canonical site of the miRNA,
    ``--per-mirna`` per miRNA for 60 miRNAs drawn from the gene-level miRNAs (seed 0) plus the five example
    miRNAs: fraction called targets (p > 0.5), mean over miRNAs and the worst miRNA.
(c) the same windows with the miRNA's 8mer written at a random offset: fraction called, and the miRNA with the
    fewest called.
(d) miRAW independent-test positives with their target k=2-shuffled (site-free): fraction called.
(e) the original independent test sets: miRAW (2,000) and DeepMirTar (96) accuracy and AUROC.
Models whose target slot is shorter than a target score it by its best window (``score_pair_table``). Scoring
speed is measured in ``benchmarks/bench_scoring.py``. ``--write-card`` stores each mirlens model's row in its model
card (``card["benchmarks"]["specificity"]``, with the command and date), so ``mirlens models info`` shows it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from common import DATA_DIR, KERAS_DIR, SHARED, header
from mirlens.data.datasets import load_dataset
from mirlens.data.mirbench import load_mirbench
from mirlens.data.utrs import read_utrs
from mirlens.evaluation.metrics import auprc, auroc, grouped_auroc
from mirlens.evaluation.specificity import (called_fractions, plant_8mers, seed_class_scores, shuffled_positives,
                                            site_free_windows, split_utrs)
from mirlens.model.store import META, list_models, load_model, resolve_model
from mirlens.predict.score import score_pair_table

MIRBENCH_DIR = SHARED / "data" / "mirbench"
GENE_LEVEL = SHARED / "data" / "miraw_gene_level" / "dev_gene_level.tsv"
KERAS = {"keras-miTAR1": "miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5", "keras-miTAR2": "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5",
         "keras-miTAR": "miTAR_CNN_BiRNN_b100_lr0.005_dout0.2.h5"}
EXAMPLE_MIRNAS = ("hsa-let-7a-5p", "hsa-miR-21-5p", "hsa-miR-155-5p", "hsa-miR-122-5p", "hsa-miR-1-3p")
PUBLISHED = ("published on the Hejret test split (AP / AUROC): miRBind 0.796 / 0.765, miRNA_CNN 0.773 / 0.761, "
             "InteractionAwareModel 0.741 / 0.751, RNAcofold 0.739 / 0.746; a CNN trained on Manakov 2022: AP 0.842")


def probe_sets(per_mirna: int, n_mirnas: int = 60) -> dict[str, pd.DataFrame]:
    dev = pd.read_csv(GENE_LEVEL, sep="\t", usecols=["mirna_id", "mirna_seq"]).drop_duplicates("mirna_id")
    ids = sorted(dev["mirna_id"])
    pick = set(np.random.default_rng(0).choice(ids, n_mirnas, replace=False).tolist()) | (set(EXAMPLE_MIRNAS) & set(ids))
    mirnas = {r.mirna_id: r.mirna_seq.replace("T", "U") for r in dev.itertuples() if r.mirna_id in pick}
    _, probe_utrs = split_utrs(read_utrs(GENE_LEVEL))
    site_free = site_free_windows(mirnas, probe_utrs, per_mirna=per_mirna, seed=0)
    miraw_test = load_dataset("miraw", "test", data_dir=DATA_DIR)
    return {"hejret": load_mirbench("hejret2023", "test", data_dir=MIRBENCH_DIR), "site_free": site_free,
            "planted": plant_8mers(site_free, seed=0), "shuffled": shuffled_positives(miraw_test, seed=0),
            "miraw": miraw_test, "deepmirtar": load_dataset("deepmirtar", "test", data_dir=DATA_DIR)}


def evaluate(score, probes: dict[str, pd.DataFrame]) -> dict:
    """One row of the table; ``score(pairs) -> (logit-like score, probability)``."""
    row = {}
    h = probes["hejret"]
    s, _ = score(h)
    y = h["label"].to_numpy(dtype=int)
    row.update(hejret_ap=auprc(y, s), hejret_auroc=auroc(y, s),
               hejret_auroc_within=grouped_auroc(y, s, h["mirna"].to_numpy())["within"])
    _, p = score(probes["site_free"])
    f = called_fractions(probes["site_free"], p)
    row.update(site_free_called=f["mean_over_mirnas"], site_free_worst=f["worst_mirna"],
               site_free_worst_id=f["worst_mirna_id"])
    _, p = score(probes["planted"])
    per = pd.Series(p > 0.5, index=probes["planted"].index).groupby(probes["planted"]["mirna_id"]).mean()
    row.update(planted_called=float(per.mean()), planted_fewest=float(per.min()), planted_fewest_id=str(per.idxmin()))
    _, p = score(probes["shuffled"])
    row["shuffled_called"] = float(np.mean(p > 0.5))
    for name in ("miraw", "deepmirtar"):
        d = probes[name]
        s, p = score(d)
        yy = d["label"].to_numpy(dtype=int)
        row[f"{name}_accuracy"] = float(np.mean((p > 0.5) == (yy == 1)))
        row[f"{name}_auroc"] = auroc(yy, s)
    return row


def model_scorer(model):
    def score(pairs):
        t = score_pair_table(model, pairs)
        return t["logit"].to_numpy(), t["probability"].to_numpy()
    return score


def seed_rule(pairs):
    s = seed_class_scores(pairs)
    return s, (s > 0).astype(float)  # "called" = any canonical site


def write_card(model_dir: Path, row: dict) -> None:
    meta_path = model_dir / META
    meta = json.loads(meta_path.read_text())
    clean = {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v) for k, v in row.items()
             if k not in ("model",)}
    meta["card"].setdefault("benchmarks", {})["specificity"] = {
        **clean, "command": "python benchmarks/" + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "date": datetime.date.today().isoformat(), "columns": "see benchmarks/bench_specificity.py"}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"card updated: {meta_path}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", help="model names or directories (default: every bundled model and the "
                    "authors' three from ../shared/models/mitar_keras)")
    ap.add_argument("--per-mirna", type=int, default=100, help="site-free windows per miRNA")
    ap.add_argument("--out", type=Path, help="write the table here (TSV)")
    ap.add_argument("--write-card", action="store_true", help="store each mirlens model's row in its model card")
    args = ap.parse_args()
    header("specificity")
    probes = probe_sets(args.per_mirna)
    print(f"probes: Hejret test {len(probes['hejret'])}, site-free windows {len(probes['site_free'])} "
          f"({probes['site_free']['mirna_id'].nunique()} miRNAs), planted {len(probes['planted'])}, shuffled miRAW "
          f"positives {len(probes['shuffled'])}")
    if args.models:
        models = {m: m for m in args.models}
    else:
        models = {m.name: m.path for m in list_models() if m.origin == "bundled"}
        models.update({k: KERAS_DIR / v for k, v in KERAS.items() if (KERAS_DIR / v).is_file()})
    rows = []
    for name, spec in models.items():
        model = load_model(spec)
        rows.append({"model": name, "slot": model.config.target_slot, **evaluate(model_scorer(model), probes)})
        if args.write_card and not str(spec).endswith(".h5"):
            write_card(resolve_model(spec), rows[-1])
    rows.append({"model": "seed-class rule", **evaluate(seed_rule, probes)})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.4f}".format):
        print(table.drop(columns=[c for c in table if c.endswith("_id")]).to_string(index=False))
    print(PUBLISHED)
    if args.out:
        table.to_csv(args.out, sep="\t", index=False)
        print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
