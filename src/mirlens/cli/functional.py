"""``mirlens evaluate-functional`` and ``mirlens fit-repression``: does a score rank the genes a miRNA represses?"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from mirlens.cli.app import app
from mirlens.cli.common import console, progress_bar, reports_errors
from mirlens.errors import InputError

FUNCTIONAL_LAYOUT = (
    "SOURCE is a named set (`hct116`, looked up in --data-dir / $MIRLENS_DATA_DIR) or a folder with "
    "experiments.tsv (experiment_id, mirna_id, mirna_seq[, type OE|KD]), experiments/<experiment_id>.tsv[.gz] "
    "(gene_id, logFC[, FDR]) and utrs.tsv[.gz] (gene_id, utr).")


def _load_set(source: str | None, table: Path | None, mirna_seq: str | None, mirna_id: str, utrs: Path | None,
              knockdown: bool, data_dir: Path | None):
    from mirlens.data.expression import DIRECTIONS, load_functional_set, read_utr_table, single_experiment

    if table is not None:
        if source is not None:
            raise InputError("give either SOURCE or --table (with --mirna-seq and --utrs), not both")
        if mirna_seq is None or utrs is None:
            raise InputError("--table needs --mirna-seq and --utrs")
        return single_experiment(table, mirna_id, mirna_seq, read_utr_table(utrs),
                                 direction=DIRECTIONS["KD" if knockdown else "OE"])
    return load_functional_set(source or "hct116", data_dir)


def _metrics_table(summary: pd.DataFrame, title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col, head in (("scorer", "scorer"), ("n_experiments", "experiments"), ("neg_spearman", "-Spearman"),
                      ("top100_delta", "top-100 dlogFC"), ("auroc_down", "AUROC down")):
        t.add_column(head, justify="left" if col == "scorer" else "right")
    for _, r in summary.iterrows():
        t.add_row(escape(str(r["scorer"])), str(int(r["n_experiments"])),
                  *(("-" if pd.isna(r[c]) else f"{r[c]:.3f}") for c in ("neg_spearman", "top100_delta",
                                                                        "auroc_down")))
    return t


EVALUATE_HELP = (
    "The functional check: for each expression experiment, score every measured gene's 3'UTR against the "
    "experiment's miRNA and ask whether high scores go with repression: -Spearman(score, logFC), the mean logFC of "
    "the 100 top-scored genes minus the mean of all, and (where FDRs exist) the AUROC for the genes that went down "
    "(FDR < 0.05). Rows: the weighted seed-count rule (baseline), the repression score (`predict-genes` "
    "`ranking_score`) and each --model's gene probability.\n\n" + FUNCTIONAL_LAYOUT)
FIT_HELP = (
    "Fit the repression (gene-ranking) model on expression experiments, TargetScan-style: per canonical site "
    "type, a ridge regression of the fold change of genes with exactly one canonical site on the site's context. "
    "Use it with `predict-genes --repression-model` and `evaluate-functional --repression-model`.\n\n"
    + FUNCTIONAL_LAYOUT)


@app.command("evaluate-functional", help=EVALUATE_HELP)
@reports_errors
def evaluate_functional_cmd(
    source: Annotated[str | None, typer.Argument(help="Functional set: name or folder (default: hct116).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder: per_experiment.tsv, "
                                         "summary.tsv and functional.png/.pdf.")] = Path("functional"),
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Also score with this model's "
                                                    "`predict-genes` gene probability (repeatable).")] = None,
    repression_model: Annotated[Path | None, typer.Option(help="A repression model saved by `mirlens "
                                                          "fit-repression` (default: the shipped one).")] = None,
    cross_validate: Annotated[bool, typer.Option(help="Add a `repression (leave-one-out)` row: each experiment "
                                                 "scored by a repression model fitted on the set's other "
                                                 "experiments -- the honest figure on experiments a model was "
                                                 "fitted on.")] = False,
    table: Annotated[Path | None, typer.Option(help="Instead of SOURCE: one experiment's table (gene_id, "
                                               "logFC[, FDR]).")] = None,
    mirna_seq: Annotated[str | None, typer.Option(help="With --table: the miRNA (5'->3').")] = None,
    mirna_id: Annotated[str, typer.Option(help="With --table: the miRNA's name.")] = "miRNA",
    utrs: Annotated[Path | None, typer.Option(help="With --table: 3'UTR table (gene_id, utr).")] = None,
    knockdown: Annotated[bool, typer.Option(help="With --table: the miRNA was inhibited (targets go up).")]
    = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where named sets are looked for (default: "
                                                  "$MIRLENS_DATA_DIR or the cache).")] = None,
) -> None:
    from mirlens.evaluation.functional import (cross_validated_repression, evaluate_functional, repression_scorer,
                                               seed_count_scores, summary)
    from mirlens.genes.repression import load_repression
    from mirlens.report.figures import plot_functional
    from mirlens.tables import write_table

    fset = _load_set(source, table, mirna_seq, mirna_id, utrs, knockdown, data_dir)
    rep = load_repression(repression_model)
    scorers = {"seed-count": seed_count_scores, "repression": repression_scorer(rep)}
    fitted_on = set(rep.info.get("fitted_on", []))
    in_sample = [e.experiment_id for e in fset.experiments if e.experiment_id in fitted_on]
    if cross_validate:
        scorers["repression (leave-one-out)"] = cross_validated_repression(fset)
    for name in model or []:
        scorers[f"model {name}"] = _model_scorer(name)
    n_tasks = len(scorers) * len(fset.experiments)
    with progress_bar("scoring experiments", n_tasks) as advance:
        per = evaluate_functional(fset, scorers, progress=advance)
    summ = summary(per)
    output.mkdir(parents=True, exist_ok=True)
    write_table(per, output / "per_experiment.tsv")
    write_table(summ, output / "summary.tsv")
    figures = plot_functional(per, output / "functional")
    console.print(_metrics_table(summ, f"functional check: {escape(fset.name)}, {len(fset.experiments)} "
                                       "experiment(s), mean over experiments"))
    if in_sample:
        console.print(f"note: the repression model was fitted on {len(in_sample)} of these experiments (its "
                      "`repression` row is in-sample); the leave-one-out row (--cross-validate) is the figure for "
                      "new miRNAs.", highlight=False, soft_wrap=True)
    console.print(f"-> {output / 'per_experiment.tsv'}, {output / 'summary.tsv'}, "
                  f"{', '.join(str(f) for f in figures)}", highlight=False, soft_wrap=True)


def _model_scorer(name: str):
    import numpy as np

    from mirlens.genes.predict import GeneSettings, predict_genes
    from mirlens.model.store import load_model

    net, meta = load_model(name, with_meta=True)

    def score(mirna: str, utr_list) -> np.ndarray:
        pairs = pd.DataFrame({"mirna_id": "miRNA", "mirna": mirna, "target_id": [f"gene {i + 1}" for i in
                                                                                 range(len(utr_list))],
                              "target": list(utr_list)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return predict_genes(net, pairs, GeneSettings(), model_name=meta.get("name"))["probability"].to_numpy()

    return score


@app.command("fit-repression", help=FIT_HELP)
@reports_errors
def fit_repression_cmd(
    source: Annotated[str | None, typer.Argument(help="Functional set: name or folder (default: hct116).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Model file (JSON).")] = Path("repression.json"),
    features: Annotated[str, typer.Option(help="Comma-separated site features: local_au, log_min_dist, "
                                          "log_utr_length, supp3, n_coop.")]
    = "local_au,log_min_dist,log_utr_length",
    l2: Annotated[float, typer.Option(help="Ridge penalty on the feature coefficients.")] = 1.0,
    data_dir: Annotated[Path | None, typer.Option(help="Where named sets are looked for.")] = None,
) -> None:
    from mirlens.data.expression import load_functional_set
    from mirlens.evaluation.functional import fit_on_experiments
    from mirlens.genes.repression import ALL_FEATURES, save_repression

    names = tuple(f.strip() for f in features.split(",") if f.strip())
    unknown = [f for f in names if f not in ALL_FEATURES]
    if unknown:
        raise InputError(f"unknown feature(s) {', '.join(unknown)}; choose from {', '.join(ALL_FEATURES)}")
    if l2 < 0:
        raise InputError(f"--l2 must not be negative (got {l2})")
    fset = load_functional_set(source or "hct116", data_dir)
    try:
        model = fit_on_experiments(fset, features=names, l2=l2)
    except ValueError as exc:
        raise InputError(f"cannot fit on {fset.name}: {exc}") from None
    save_repression(model, output)
    counts = ", ".join(f"{k} {v}" for k, v in model.info["n_single_site_genes"].items())
    console.print(f"repression model fitted on {len(fset.experiments)} experiment(s) of {escape(fset.name)} "
                  f"(single-site genes: {counts}) -> {escape(str(output))}", highlight=False, soft_wrap=True)
