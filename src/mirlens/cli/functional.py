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
    "SOURCE (one or more) is a named set (`hct116`, `hela`; default both, looked up in --data-dir / "
    "$MIRLENS_DATA_DIR) or a folder with "
    "experiments.tsv (experiment_id, mirna_id, mirna_seq[, type OE|KD]), experiments/<experiment_id>.tsv[.gz] "
    "(gene_id, logFC[, FDR]) and utrs.tsv[.gz] (gene_id, utr).")


def _load_set(sources: list[str] | None, table: Path | None, mirna_seq: str | None, mirna_id: str,
              utrs: Path | None, knockdown: bool, data_dir: Path | None):
    from mirlens.data.expression import DIRECTIONS, load_functional_sets, read_utr_table, single_experiment

    if table is not None:
        if sources:
            raise InputError("give either SOURCE or --table (with --mirna-seq and --utrs), not both")
        if mirna_seq is None or utrs is None:
            raise InputError("--table needs --mirna-seq and --utrs")
        return single_experiment(table, mirna_id, mirna_seq, read_utr_table(utrs),
                                 direction=DIRECTIONS["KD" if knockdown else "OE"])
    return load_functional_sets(list(sources or DEFAULT_SETS), data_dir)


DEFAULT_SETS = ("hct116", "hela")


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
    "(FDR < 0.05). Rows: the weighted seed-count rule (baseline), the shipped repression model's `ranking_score` "
    "(the `predict-genes` ranking), with --cross-validate the same model refitted leaving out each seed family "
    "(miRNA nt 2-8, in every set) -- plus the Brier score and a reliability diagram of its probability -- and "
    "each --model's gene probability.\n\n" + FUNCTIONAL_LAYOUT)
FIT_HELP = (
    "Fit the repression (gene-ranking) model on expression experiments. Canonical sites TargetScan-style: per site "
    "type, a ridge regression of the fold change of genes with exactly one canonical site on the site's context "
    "(and the site model's logit). With a pairing site model also the term of the model's own non-canonical sites, "
    "and, on experiments with FDRs, the probability that a gene goes down (calibrated on out-of-family scores). "
    "Writes both kinds, `pairing` (default site model) and `canonical` (model-free, used with paper-protocol "
    "models). Use the file with `predict-genes --repression-model` and `evaluate-functional --repression-model`."
    "\n\n" + FUNCTIONAL_LAYOUT)


def _experiment_data(fset, site_model_name: str | None):
    """The set's experiments with canonical sites, and with the site model's calls when one is named."""
    from mirlens.evaluation.functional import experiment_sites

    n = len(dict.fromkeys(e.mirna_seq for e in fset.experiments))
    net = None
    if site_model_name:
        from mirlens.model.store import load_model
        from mirlens.predict.utr_pass import is_pairing

        net = load_model(site_model_name)
        if not is_pairing(net):
            raise InputError(f"--site-model {site_model_name!r} is not a pairing-family model: the repression "
                             "model reads the site calls of the whole-UTR pass")
    with progress_bar("finding sites (miRNAs)", n * (2 if net is not None else 1)) as advance:
        canonical = experiment_sites(fset, None, progress=advance)
        pairing = experiment_sites(fset, net, progress=advance) if net is not None else None
    return canonical, pairing


@app.command("evaluate-functional", help=EVALUATE_HELP)
@reports_errors
def evaluate_functional_cmd(
    source: Annotated[list[str] | None, typer.Argument(help="Functional set(s): names or folders (default: hct116 "
                                                            "hela).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder: per_experiment.tsv, summary.tsv, "
                                         "functional.png/.pdf, and with --cross-validate calibration.tsv and "
                                         "reliability.png/.pdf.")] = Path("functional"),
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Also score with this model's "
                                                    "`predict-genes` gene probability (repeatable).")] = None,
    repression_model: Annotated[Path | None, typer.Option(help="A repression model file from `mirlens "
                                                          "fit-repression` (default: the shipped one).")] = None,
    site_model: Annotated[str, typer.Option(help="Site model whose calls and logits the repression model reads "
                                            "(a pairing-family model).")] = "pairing",
    cross_validate: Annotated[bool, typer.Option(help="Add the leave-one-seed-family-out rows (the honest figure "
                                                 "on experiments a model was fitted on), the Brier score and the "
                                                 "reliability diagram of the probability.")] = False,
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
    import numpy as np

    from mirlens.evaluation.functional import SEED_WEIGHTS, calibration_summary, scored_metrics, summary
    from mirlens.evaluation.functional import cross_validate as leave_family_out
    from mirlens.genes.repression import CANONICAL_KEY, PAIRING_KEY, load_repression
    from mirlens.report.figures import plot_functional, plot_reliability
    from mirlens.tables import write_table

    fset = _load_set(source, table, mirna_seq, mirna_id, utrs, knockdown, data_dir)
    rep = load_repression(repression_model, kind=PAIRING_KEY)
    canonical, pairing = _experiment_data(fset, site_model)
    scores: dict[str, dict] = {
        "seed-count": {d.experiment.experiment_id: np.bincount(
            d.sites["pair"].to_numpy(np.int64), weights=SEED_WEIGHTS[d.sites["type"].to_numpy(np.int64)],
            minlength=d.n) for d in canonical},
        "repression": {d.experiment.experiment_id: rep.gene_scores(d.sites, d.n) for d in pairing},
    }
    fitted_on = set(rep.info.get("fitted_on", []))
    in_sample = [e.experiment_id for e in fset.experiments if e.experiment_id in fitted_on]
    calibration = None
    if cross_validate:
        families = {d.family for d in pairing}
        if len(families) < 2:
            raise InputError("--cross-validate needs experiments of at least two seed families")
        cv = leave_family_out(pairing, kind=PAIRING_KEY)
        scores["repression (leave-one-family-out)"] = cv.scores
        scores["canonical (leave-one-family-out)"] = leave_family_out(canonical, kind=CANONICAL_KEY).scores
        calibration = calibration_summary(pairing, cv.probability)
    per = scored_metrics(canonical, {k: v for k, v in scores.items()})
    for name in model or []:
        per = pd.concat([per, _model_rows(name, fset)], ignore_index=True)
    summ = summary(per)
    output.mkdir(parents=True, exist_ok=True)
    write_table(per, output / "per_experiment.tsv")
    write_table(summ, output / "summary.tsv")
    figures = plot_functional(per, output / "functional")
    console.print(_metrics_table(summ, f"functional check: {escape(fset.name)}, {len(fset.experiments)} "
                                       "experiment(s), mean over experiments"))
    if calibration is not None and calibration[0]:
        stats, rel = calibration
        write_table(rel, output / "calibration.tsv")
        figures += plot_reliability(rel, output / "reliability")
        console.print(f"probability (leave-one-family-out, {stats['n_experiments']} experiments with FDRs, "
                      f"{stats['n_genes']:,} genes, {stats['n_down']:,} down): Brier score {stats['brier']:.5f} "
                      f"(constant forecast at the pooled fraction down: {stats['brier_base_rate']:.5f})",
                      highlight=False, soft_wrap=True)
    if in_sample:
        console.print(f"note: the repression model was fitted on {len(in_sample)} of these experiments (its "
                      "`repression` row is in-sample); the leave-one-family-out rows (--cross-validate) are the "
                      "figures for new miRNAs.", highlight=False, soft_wrap=True)
    console.print(f"-> {escape(str(output / 'per_experiment.tsv'))}, {escape(str(output / 'summary.tsv'))}, "
                  f"{escape(', '.join(str(f) for f in figures))}", highlight=False, soft_wrap=True)


def _model_rows(name: str, fset) -> pd.DataFrame:
    """Per-experiment metrics of a model's `predict-genes` gene probability."""
    from mirlens.evaluation.functional import evaluate_functional
    from mirlens.genes.table import gene_table, paper_gene_table
    from mirlens.model.store import load_model
    from mirlens.predict.utr_pass import is_pairing

    net, meta = load_model(name, with_meta=True)

    def score(mirna: str, utr_list):
        pairs = pd.DataFrame({"mirna_id": "miRNA", "mirna": mirna,
                              "target_id": [f"gene {i + 1}" for i in range(len(utr_list))],
                              "target": list(utr_list)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if is_pairing(net):
                return gene_table(net, pairs, meta)[0]["probability"].to_numpy()
            return paper_gene_table(net, pairs, meta)[0]["miraw_probability"].to_numpy()

    with progress_bar(f"model {name}", len(fset.experiments)) as advance:
        return evaluate_functional(fset, {f"model {name}": score}, progress=advance)


@app.command("fit-repression", help=FIT_HELP)
@reports_errors
def fit_repression_cmd(
    source: Annotated[list[str] | None, typer.Argument(help="Functional set(s): names or folders (default: hct116 "
                                                            "hela).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Model file (JSON).")] = Path("repression.json"),
    features: Annotated[str | None, typer.Option(help="Comma-separated canonical-site features (default: "
                                                 "local_au,log_utr_length,log_dist5 and, for `pairing`, "
                                                 "site_logit); known: local_au, log_min_dist, log_dist5, "
                                                 "log_utr_length, supp3, n_coop, site_logit.")] = None,
    site_model: Annotated[str, typer.Option(help="Pairing-family site model whose calls the `pairing` kind "
                                            "reads.")] = "pairing",
    l2: Annotated[float, typer.Option(help="Ridge penalty on the feature coefficients.")] = 1.0,
    data_dir: Annotated[Path | None, typer.Option(help="Where named sets are looked for.")] = None,
) -> None:
    from mirlens.data.expression import load_functional_sets
    from mirlens.evaluation.functional import fit_model
    from mirlens.genes.repression import ALL_FEATURES, CANONICAL_KEY, PAIRING_KEY, save_repression

    names = None
    if features is not None:
        names = tuple(f.strip() for f in features.split(",") if f.strip())
        unknown = [f for f in names if f not in ALL_FEATURES]
        if unknown:
            raise InputError(f"unknown feature(s) {', '.join(unknown)}; choose from {', '.join(ALL_FEATURES)}")
    if l2 < 0:
        raise InputError(f"--l2 must not be negative (got {l2})")
    fset = load_functional_sets(list(source or DEFAULT_SETS), data_dir)
    canonical, pairing = _experiment_data(fset, site_model)
    models = {}
    try:
        models[PAIRING_KEY] = fit_model(pairing, kind=PAIRING_KEY, features=names, l2=l2)
        canon_names = tuple(f for f in names if f != "site_logit") if names is not None else None
        models[CANONICAL_KEY] = fit_model(canonical, kind=CANONICAL_KEY, features=canon_names, l2=l2)
    except ValueError as exc:
        raise InputError(f"cannot fit on {fset.name}: {exc}") from None
    for m in models.values():
        m.info["functional_sets"] = fset.name
        m.info["site_model"] = site_model if m.needs_site_logits else None
    save_repression(models, output)
    p = models[PAIRING_KEY]
    counts = ", ".join(f"{k} {v}" for k, v in p.info["n_single_site_genes"].items())
    cal = "no FDRs: no probability" if p.calibration is None else (
        f"probability calibrated on {p.info['calibration']['n_genes']:,} genes of "
        f"{len(p.info['calibration']['fitted_on'])} experiment(s) with FDRs")
    console.print(f"repression models `pairing` and `canonical` fitted on {len(fset.experiments)} experiment(s) "
                  f"of {escape(fset.name)} (single-site genes: {counts}; {cal}) -> {escape(str(output))}",
                  highlight=False, soft_wrap=True)
