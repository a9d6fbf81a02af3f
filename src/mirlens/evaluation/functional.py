"""The functional check: do a miRNA's top-scored genes go down when the miRNA is put into cells?

For each expression experiment (:mod:`mirlens.data.expression`) every measured gene with a 3'UTR is scored against
the experiment's miRNA, and the scores are compared with the measured fold changes -- the genes of **one** miRNA
are ranked, so a score cannot win by recognising which miRNA it is. Metrics per experiment (then their mean):

``neg_spearman``
    -Spearman(score, logFC) for an overexpression (+Spearman for a knock-down): > 0 is good, 0 random.
``top100_delta``
    mean logFC of the 100 top-scored genes minus the mean of all genes (ties at the cut shared in proportion);
    < 0 is good for an overexpression (> 0 for a knock-down).
``auroc_down``
    where the experiment has FDRs: AUROC of the score for the genes that changed in the target direction with
    FDR < 0.05 against all others (NaN without FDRs or without such genes).

Scorers (:func:`scorers`): ``seed-count`` (a weighted canonical seed-match count: 8mer 3, 7mer-m8 2, 7mer-A1 1.5,
6mer 0.5 -- the baseline), ``repression`` (the TargetScan-style context model of :mod:`mirlens.genes.repression`,
the ranking score of ``predict-genes``) and any model by name (its ``predict-genes`` gene probability).
:func:`cross_validated_repression` scores each experiment with a repression model fitted without it (leave one
experiment out), the honest figure on the experiments the shipped model was fitted on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from mirlens.data.expression import Experiment, FunctionalSet
from mirlens.evaluation.metrics import auroc
from mirlens.genes.predict import site_table
from mirlens.genes.repression import (DEFAULT_FEATURES, DEFAULT_L2, RepressionModel, fit_repression,
                                      normalised_log2fc)
from mirlens.genes.sites import N_CANONICAL

SEED_WEIGHTS = np.array([3.0, 2.0, 1.5, 0.5, 0.0, 0.0])
"""Weighted seed-count baseline: weight of each site type (:data:`mirlens.genes.sites.SITE_TYPES`)."""
TOP_N = 100
FDR_DOWN = 0.05
METRIC_COLUMNS = ("neg_spearman", "top100_delta", "auroc_down")

Scorer = Callable[[str, Sequence[str]], np.ndarray]
"""``scorer(mirna, utrs) -> one score per UTR`` (higher: more repression expected)."""


def seed_count_scores(mirna: str, utrs: Sequence[str]) -> np.ndarray:
    sites = site_table([mirna] * len(utrs), list(utrs))
    return np.bincount(sites["pair"].to_numpy(np.int64), weights=SEED_WEIGHTS[sites["type"].to_numpy(np.int64)],
                       minlength=len(utrs))


def repression_scorer(model: RepressionModel) -> Scorer:
    def score(mirna: str, utrs: Sequence[str]) -> np.ndarray:
        return model.gene_scores(site_table([mirna] * len(utrs), list(utrs)), len(utrs))

    return score


def top_delta(score: np.ndarray, values: np.ndarray, n: int = TOP_N) -> float:
    """Mean of ``values`` over the ``n`` top-scored items minus the mean of all; items tied at the cut count in
    proportion (the expectation over random tie-breaking)."""
    score = np.asarray(score, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if len(score) == 0:
        return float("nan")
    n = min(n, len(score))
    cut = np.sort(score)[::-1][n - 1]
    above = score > cut
    tied = score == cut
    share = (n - above.sum()) / tied.sum()
    top_mean = (values[above].sum() + share * values[tied].sum()) / n
    return float(top_mean - values.mean())


def experiment_metrics(score: np.ndarray, experiment_table: pd.DataFrame, direction: float) -> dict:
    """:data:`METRIC_COLUMNS` of one experiment's scores (aligned with the table's rows)."""
    score = np.asarray(score, dtype=np.float64)
    logfc = experiment_table["logFC"].to_numpy(np.float64)
    fdr = experiment_table["FDR"].to_numpy(np.float64)
    if len(score) < 3 or np.ptp(score) == 0:
        rho = 0.0 if len(score) >= 3 else float("nan")
    else:
        rho = float(spearmanr(score, direction * logfc).statistic)
    out = {"neg_spearman": rho, "top100_delta": top_delta(score, logfc), "auroc_down": float("nan"),
           "n_down": 0}
    if np.isfinite(fdr).any():
        down = (fdr < FDR_DOWN) & (direction * logfc > 0)
        out["n_down"] = int(down.sum())
        if 0 < down.sum() < len(down):
            out["auroc_down"] = float(auroc(down.astype(int), score))
    return out


def measured_genes(experiment: Experiment, utrs: pd.Series) -> tuple[pd.DataFrame, int]:
    """The experiment's rows whose gene has a UTR (in table order), and how many have none."""
    has = experiment.table["gene_id"].isin(utrs.index).to_numpy()
    return experiment.table[has].reset_index(drop=True), int((~has).sum())


def evaluate_functional(fset: FunctionalSet, scorers: dict[str, Scorer], *,
                        progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """One row per (scorer, experiment): ids, ``n_genes``, ``n_no_utr`` and the metrics; ``progress(1)`` after
    each experiment of each scorer."""
    rows = []
    for name, scorer in scorers.items():
        for ex in fset.experiments:
            table, n_missing = measured_genes(ex, fset.utrs)
            score = scorer(ex.mirna_seq, fset.utrs.loc[table["gene_id"]].tolist())
            rows.append({"scorer": name, "experiment_id": ex.experiment_id, "mirna_id": ex.mirna_id,
                         "n_genes": len(table), "n_no_utr": n_missing,
                         **experiment_metrics(score, table, ex.direction)})
            if progress is not None:
                progress(1)
    return pd.DataFrame(rows)


def summary(per_experiment: pd.DataFrame) -> pd.DataFrame:
    """Mean of each metric per scorer (over the experiments where it is defined), in scorer order."""
    order = list(dict.fromkeys(per_experiment["scorer"]))
    agg = per_experiment.groupby("scorer", sort=False).agg(
        n_experiments=("experiment_id", "size"), neg_spearman=("neg_spearman", "mean"),
        top100_delta=("top100_delta", "mean"), auroc_down=("auroc_down", "mean"))
    return agg.loc[order].reset_index()


# ---- fitting the repression model on experiments ------------------------------------------------------------

SiteAnnotator = Callable[[str, Sequence[str], pd.DataFrame], pd.DataFrame]
"""``annotate(mirna, utrs, sites) -> sites`` with extra columns (e.g. a model's score of each site)."""


def experiment_sites(fset: FunctionalSet, annotate: SiteAnnotator | None = None
                     ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Canonical sites of every experiment's miRNA on every measured gene, the normalised fold change of each
    (experiment, gene) pair and the experiment index of each pair: the input of
    :func:`mirlens.genes.repression.fit_repression`. ``annotate`` may add site columns to use as features."""
    parts, y, owner = [], [], []
    offset = 0
    for k, ex in enumerate(fset.experiments):
        table, _ = measured_genes(ex, fset.utrs)
        utrs = fset.utrs.loc[table["gene_id"]].tolist()
        sites = site_table([ex.mirna_seq] * len(utrs), utrs)
        sites = sites[sites["type"].to_numpy() < N_CANONICAL].reset_index(drop=True)
        if annotate is not None:
            sites = annotate(ex.mirna_seq, utrs, sites)
        sites = sites.copy()
        has = np.bincount(sites["pair"].to_numpy(np.int64), minlength=len(utrs)) > 0
        # fold changes as after an overexpression (a knock-down's sign-flipped): targets negative
        y.append(normalised_log2fc(-ex.direction * table["logFC"].to_numpy(np.float64), has))
        sites["pair"] += offset
        parts.append(sites)
        owner.append(np.full(len(utrs), k))
        offset += len(utrs)
    return pd.concat(parts, ignore_index=True), np.concatenate(y), np.concatenate(owner)


def fit_on_experiments(fset: FunctionalSet, *, features: tuple[str, ...] = DEFAULT_FEATURES,
                       l2: float = DEFAULT_L2, exclude: Sequence[int] = ()) -> RepressionModel:
    """A repression model fitted on the set's experiments (those with index in ``exclude`` left out)."""
    sites, y, owner = experiment_sites(fset)
    return _fit_subset(sites, y, owner, exclude, features, l2, fset)


def _fit_subset(sites, y, owner, exclude, features, l2, fset) -> RepressionModel:
    keep_pairs = ~np.isin(owner, list(exclude))
    # renumber the kept pairs so the fit sees a dense 0..n-1 index
    new_index = np.cumsum(keep_pairs) - 1
    kept = sites[keep_pairs[sites["pair"].to_numpy()]].copy()
    kept["pair"] = new_index[kept["pair"].to_numpy()]
    used = [ex.experiment_id for k, ex in enumerate(fset.experiments) if k not in set(exclude)]
    return fit_repression(kept, y[keep_pairs], features=features, l2=l2,
                          info={"fitted_on": used, "functional_set": fset.name})


def cross_validated_repression(fset: FunctionalSet, *, features: tuple[str, ...] = DEFAULT_FEATURES,
                               l2: float = DEFAULT_L2, annotate: SiteAnnotator | None = None) -> Scorer:
    """A scorer that scores each experiment's miRNA with a model fitted on the *other* experiments (leave one
    experiment out; experiments of the same miRNA sequence are left out together). ``annotate``: see
    :func:`experiment_sites` (applied to the scored sites too)."""
    sites, y, owner = experiment_sites(fset, annotate)
    models: dict[str, RepressionModel] = {}
    for ex in fset.experiments:
        if ex.mirna_seq in models:
            continue
        out = [k for k, other in enumerate(fset.experiments) if other.mirna_seq == ex.mirna_seq]
        models[ex.mirna_seq] = _fit_subset(sites, y, owner, out, features, l2, fset)

    def score(mirna: str, utrs: Sequence[str]) -> np.ndarray:
        if mirna not in models:
            raise ValueError(f"miRNA {mirna} is not one of the set's experiments")
        table = site_table([mirna] * len(utrs), list(utrs))
        if annotate is not None:
            table = annotate(mirna, utrs, table[table["type"].to_numpy() < N_CANONICAL].reset_index(drop=True))
        return models[mirna].gene_scores(table, len(utrs))

    return score
