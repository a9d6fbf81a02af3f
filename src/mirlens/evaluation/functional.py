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

Scorers: ``seed-count`` (a weighted canonical seed-match count: 8mer 3, 7mer-m8 2, 7mer-A1 1.5, 6mer 0.5 -- the
baseline), the repression model's ``ranking_score`` (:mod:`mirlens.genes.repression`, the score of
``predict-genes``) and any model's gene probability.

Fitting and cross-validation work on :class:`ExperimentSites`: every experiment's measured genes with their sites
(canonical only, or the site model's calls with their logits, :mod:`mirlens.genes.calls`), normalised fold changes
and "down" labels. :func:`cross_validate` holds out one **seed family** (miRNA nucleotides 2-8) at a time -- every
experiment of the family, in every set -- and scores it with a model fitted on the other families, whose
probability calibration is itself fitted on out-of-family scores (nested), so no figure is in-sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from mirlens.data.expression import Experiment, FunctionalSet
from mirlens.evaluation.metrics import auroc
from mirlens.genes.predict import site_table
from mirlens.genes.repression import (CANONICAL_FEATURES, DEFAULT_FEATURES, DEFAULT_L2, DOWN_FDR,
                                      PAIRING_KEY, RepressionModel, fit_calibration, fit_repression,
                                      normalised_log2fc)
from mirlens.genes.sites import N_CANONICAL

SEED_WEIGHTS = np.array([3.0, 2.0, 1.5, 0.5, 0.0, 0.0])
"""Weighted seed-count baseline: weight of each site type (:data:`mirlens.genes.sites.SITE_TYPES`)."""
TOP_N = 100
FDR_DOWN = DOWN_FDR
METRIC_COLUMNS = ("neg_spearman", "top100_delta", "auroc_down")
RELIABILITY_BINS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)

Scorer = Callable[[str, Sequence[str]], np.ndarray]
"""``scorer(mirna, utrs) -> one score per UTR`` (higher: more repression expected)."""


def seed_count_scores(mirna: str, utrs: Sequence[str]) -> np.ndarray:
    sites = site_table([mirna] * len(utrs), list(utrs))
    return np.bincount(sites["pair"].to_numpy(np.int64), weights=SEED_WEIGHTS[sites["type"].to_numpy(np.int64)],
                       minlength=len(utrs))


def repression_scorer(model: RepressionModel, site_model=None) -> Scorer:
    """``ranking_score`` of a repression model as a scorer; a model that reads site logits needs the site model
    (:func:`mirlens.genes.calls.site_calls`)."""
    def score(mirna: str, utrs: Sequence[str]) -> np.ndarray:
        sites = gene_sites(mirna, list(utrs), site_model if model.needs_site_logits else None)
        return model.gene_scores(sites, len(utrs))

    if model.needs_site_logits and site_model is None:
        raise ValueError("this repression model reads site logits: give the site model")
    return score


def gene_sites(mirna: str, utrs: Sequence[str], site_model=None) -> pd.DataFrame:
    """Sites of one miRNA on UTRs with a ``pair`` column (the UTR's index): the site model's calls with their
    logits (:func:`mirlens.genes.calls.site_calls`), or without a model the canonical sites only."""
    if site_model is None:
        sites = site_table([mirna] * len(utrs), list(utrs))
        return sites[sites["type"].to_numpy() < N_CANONICAL].reset_index(drop=True)
    from mirlens.genes.calls import site_calls

    return site_calls(site_model, mirna, list(utrs)).rename(columns={"utr": "pair"})


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


def down_labels(table: pd.DataFrame, direction: float) -> np.ndarray | None:
    """Genes that changed in the target direction with FDR < 0.05 (None without FDRs)."""
    fdr = table["FDR"].to_numpy(np.float64)
    if not np.isfinite(fdr).any():
        return None
    return (fdr < FDR_DOWN) & (direction * table["logFC"].to_numpy(np.float64) > 0)


def experiment_metrics(score: np.ndarray, experiment_table: pd.DataFrame, direction: float) -> dict:
    """:data:`METRIC_COLUMNS` of one experiment's scores (aligned with the table's rows)."""
    score = np.asarray(score, dtype=np.float64)
    logfc = experiment_table["logFC"].to_numpy(np.float64)
    if len(score) < 3 or np.ptp(score) == 0:
        rho = 0.0 if len(score) >= 3 else float("nan")
    else:
        rho = float(spearmanr(score, direction * logfc).statistic)
    out = {"neg_spearman": rho, "top100_delta": top_delta(score, logfc), "auroc_down": float("nan"),
           "n_down": 0}
    down = down_labels(experiment_table, direction)
    if down is not None:
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


# ---- fitting and cross-validating the repression model ---------------------------------------------------------

def seed_family(mirna: str) -> str:
    """A miRNA's seed family: its nucleotides 2-8."""
    return mirna[1:8]


@dataclass
class ExperimentSites:
    """One experiment's measured genes (those with a UTR) with their sites, fold changes and labels."""

    experiment: Experiment
    table: pd.DataFrame
    """The experiment's rows of the measured genes with a UTR (``gene_id``, ``logFC``, ``FDR``)."""
    sites: pd.DataFrame
    """Sites with ``pair`` = row of ``table`` (see :func:`gene_sites`)."""
    y: np.ndarray
    """Fold changes as after an overexpression (a knock-down's sign-flipped), measured from the median of the genes
    without a canonical site (:func:`mirlens.genes.repression.normalised_log2fc`)."""
    down: np.ndarray | None
    utr_length: np.ndarray

    @property
    def n(self) -> int:
        return len(self.table)

    @property
    def family(self) -> str:
        return seed_family(self.experiment.mirna_seq)

    @property
    def has_fdr(self) -> bool:
        return self.down is not None


def experiment_sites(fset: FunctionalSet, site_model=None, *,
                     progress: Callable[[int], None] | None = None) -> list[ExperimentSites]:
    """Every experiment of the set with its genes' sites (``site_model``: a pairing-family model whose calls and
    logits are used, or None for canonical sites only). Sites are found once per distinct miRNA on all the set's
    UTRs; ``progress(1)`` after each miRNA."""
    utr_ids = fset.utrs.index
    position = pd.Series(np.arange(len(utr_ids)), index=utr_ids)
    by_mirna: dict[str, pd.DataFrame] = {}
    for ex in fset.experiments:
        if ex.mirna_seq not in by_mirna:
            by_mirna[ex.mirna_seq] = gene_sites(ex.mirna_seq, fset.utrs.tolist(), site_model)
            if progress is not None:
                progress(1)
    lengths = fset.utrs.str.len().to_numpy()
    out = []
    for ex in fset.experiments:
        table, _ = measured_genes(ex, fset.utrs)
        rows = position.loc[table["gene_id"]].to_numpy()
        row_of = np.full(len(utr_ids), -1)
        row_of[rows] = np.arange(len(rows))
        all_sites = by_mirna[ex.mirna_seq]
        mapped = row_of[all_sites["pair"].to_numpy(np.int64)]
        sites = all_sites[mapped >= 0].assign(pair=mapped[mapped >= 0])
        sites = sites.sort_values(["pair", "anchor"], kind="stable", ignore_index=True)
        has = np.bincount(sites["pair"].to_numpy(np.int64)[sites["type"].to_numpy() < N_CANONICAL],
                          minlength=len(table)) > 0
        y = normalised_log2fc(-ex.direction * table["logFC"].to_numpy(np.float64), has)
        out.append(ExperimentSites(ex, table, sites, y, down_labels(table, ex.direction), lengths[rows]))
    return out


def _stack(data: Sequence[ExperimentSites]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    parts, offset = [], 0
    for d in data:
        parts.append(d.sites.assign(pair=d.sites["pair"].to_numpy() + offset))
        offset += d.n
    return (pd.concat(parts, ignore_index=True), np.concatenate([d.y for d in data]),
            np.concatenate([d.utr_length for d in data]))


def fit_ranking(data: Sequence[ExperimentSites], *, kind: str = PAIRING_KEY,
                features: tuple[str, ...] | None = None, l2: float = DEFAULT_L2) -> RepressionModel:
    """The repression model's ranking part fitted on the experiments: ``kind`` ``pairing`` (site logits and the
    non-canonical term; the data must come from a site model) or ``canonical``."""
    sites, y, lengths = _stack(data)
    if features is None:
        features = DEFAULT_FEATURES if kind == PAIRING_KEY else CANONICAL_FEATURES
    info = {"kind": kind, "fitted_on": [d.experiment.experiment_id for d in data],
            "families": sorted({d.family for d in data})}
    return fit_repression(sites, y, features=features, l2=l2, info=info, utr_length=lengths,
                          noncanonical=kind == PAIRING_KEY)


def out_of_family_scores(data: Sequence[ExperimentSites], **fit_kwargs) -> list[np.ndarray]:
    """Each experiment's ranking scores from a model fitted on the experiments of the *other* seed families."""
    out: list[np.ndarray | None] = [None] * len(data)
    for family in dict.fromkeys(d.family for d in data):
        train = [d for d in data if d.family != family]
        model = fit_ranking(train, **fit_kwargs)
        for i, d in enumerate(data):
            if d.family == family:
                out[i] = model.gene_scores(d.sites, d.n)
    return out  # type: ignore[return-value]


def fit_model(data: Sequence[ExperimentSites], **fit_kwargs) -> RepressionModel:
    """The ranking part fitted on all ``data``, and its probability calibration fitted on the out-of-family
    scores (:func:`out_of_family_scores`) of the experiments with FDRs (none: no calibration)."""
    model = fit_ranking(data, **fit_kwargs)
    labelled = [i for i, d in enumerate(data) if d.has_fdr]
    if labelled and len({data[i].family for i in labelled} | {d.family for d in data}) > 1:
        scores = out_of_family_scores(data, **fit_kwargs)
        x = np.concatenate([scores[i] for i in labelled])
        down = np.concatenate([data[i].down for i in labelled])
        if 0 < down.sum() < len(down):
            model.calibration = fit_calibration(x, down)
            model.info["calibration"] = {"fitted_on": [data[i].experiment.experiment_id for i in labelled],
                                         "n_genes": int(len(down)), "n_down": int(down.sum()),
                                         "scores": "out-of-family (each seed family scored by a model fitted "
                                                   "without it)"}
    return model


@dataclass
class CrossValidation:
    scores: dict[str, np.ndarray]
    """Out-of-family ranking scores by experiment id."""
    probability: dict[str, np.ndarray]
    """Out-of-family probabilities by experiment id (experiments with FDRs only)."""


def cross_validate(data: Sequence[ExperimentSites], **fit_kwargs) -> CrossValidation:
    """Leave one seed family out: each family's experiments scored by :func:`fit_model` on the others (whose
    calibration is nested: fitted on their own out-of-family scores)."""
    scores: dict[str, np.ndarray] = {}
    prob: dict[str, np.ndarray] = {}
    for family in dict.fromkeys(d.family for d in data):
        train = [d for d in data if d.family != family]
        model = fit_model(train, **fit_kwargs)
        for d in data:
            if d.family == family:
                s = model.gene_scores(d.sites, d.n)
                scores[d.experiment.experiment_id] = s
                if d.has_fdr and model.calibration is not None:
                    prob[d.experiment.experiment_id] = model.probability(s)
    return CrossValidation(scores, prob)


def scored_metrics(data: Sequence[ExperimentSites], scores: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Per (scorer, experiment) metrics of precomputed scores (``scores[scorer][experiment_id]``)."""
    rows = []
    for name, by_exp in scores.items():
        for d in data:
            ex = d.experiment
            rows.append({"scorer": name, "experiment_id": ex.experiment_id, "mirna_id": ex.mirna_id,
                         "n_genes": d.n, "n_no_utr": len(ex.table) - d.n,
                         **experiment_metrics(by_exp[ex.experiment_id], d.table, ex.direction)})
    return pd.DataFrame(rows)


def brier(probability: np.ndarray, down: np.ndarray) -> float:
    return float(np.mean((np.asarray(probability, float) - np.asarray(down, float)) ** 2))


def reliability(probability: np.ndarray, down: np.ndarray, bins: Sequence[float] = RELIABILITY_BINS
                ) -> pd.DataFrame:
    """Reliability table: per probability bin, genes, mean predicted probability and observed fraction down."""
    p = np.asarray(probability, float)
    y = np.asarray(down, float)
    which = np.clip(np.searchsorted(bins, p, side="right") - 1, 0, len(bins) - 2)
    rows = []
    for b in range(len(bins) - 1):
        m = which == b
        rows.append({"bin_low": bins[b], "bin_high": bins[b + 1], "n_genes": int(m.sum()),
                     "predicted": float(p[m].mean()) if m.any() else np.nan,
                     "observed": float(y[m].mean()) if m.any() else np.nan})
    return pd.DataFrame(rows)


def calibration_summary(data: Sequence[ExperimentSites], probability: dict[str, np.ndarray]
                        ) -> tuple[dict, pd.DataFrame]:
    """Brier score of the probabilities pooled over the experiments with FDRs, beside the Brier score of a constant
    forecast at the pooled fraction of down genes (a reference that knows the answer's base rate), and the
    reliability table."""
    ids = [d.experiment.experiment_id for d in data if d.has_fdr and d.experiment.experiment_id in probability]
    if not ids:
        return {}, reliability(np.zeros(0), np.zeros(0))
    lookup = {d.experiment.experiment_id: d for d in data}
    p = np.concatenate([probability[i] for i in ids])
    y = np.concatenate([lookup[i].down for i in ids]).astype(float)
    base = np.full(len(y), y.mean())
    return ({"n_experiments": len(ids), "n_genes": int(len(y)), "n_down": int(y.sum()), "brier": brier(p, y),
             "brier_base_rate": brier(base, y)}, reliability(p, y))
