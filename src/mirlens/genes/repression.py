"""How much a miRNA represses each of its genes: a TargetScan-style context model of canonical sites.

Each canonical site contributes a predicted log2 fold change: an intercept for its type (8mer, 7mer-m8, 7mer-A1,
6mer, offset-6mer) plus a type-specific linear function of its context (:mod:`mirlens.genes.context`), capped at 0
(a site never raises its mRNA). A gene's predicted log2 fold change is the sum over its canonical sites (sites act
multiplicatively on the mRNA); its **repression score** is minus that (higher = more repressed, 0 = no canonical
site), the ranking score of ``mirlens predict-genes``.

Fitting follows TargetScan's recipe (Agarwal et al., eLife 2015): in each experiment, log2 fold changes are
measured from the median of the genes without a canonical site; for each site type, a ridge regression of those
normalised fold changes on the site's features is fitted over the genes that hold exactly one canonical site
(one site: its effect is the gene's change, with no other site to share it). Non-canonical sites are left out
(measured: they add nothing to the ranking; see the README, "Ranking one miRNA's genes").

The shipped parameters (``repression.json`` here) were fitted on the development expression experiments in
``../shared/data/functional`` (7 HCT116 transfections); figures for miRNAs not used in fitting come from
leave-one-experiment-out cross-validation (:func:`cross_validated_scores`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.errors import ModelFileError
from mirlens.genes.sites import N_CANONICAL, SITE_TYPES

REPRESSION_FILE = "repression.json"
ALL_FEATURES: tuple[str, ...] = ("local_au", "log_min_dist", "log_utr_length", "supp3", "n_coop")
"""Site regressors the model may use, derived from the context columns by :func:`site_design`."""
DEFAULT_FEATURES: tuple[str, ...] = ("local_au", "log_min_dist", "log_utr_length")
"""The regressors of the shipped model (chosen by leave-one-experiment-out cross-validation)."""
DEFAULT_L2 = 1.0


def site_design(sites: pd.DataFrame, features: tuple[str, ...]) -> np.ndarray:
    """``(n_sites, len(features))`` regressors from a site table with the context columns (a feature that is none
    of :data:`ALL_FEATURES` is read as is from the column of that name, e.g. a model's site score)."""
    derived = {
        "local_au": lambda s: s["local_au"].to_numpy(np.float64),
        "log_min_dist": lambda s: np.log10(np.maximum(s["min_dist"].to_numpy(np.float64), 1.0)),
        "log_utr_length": lambda s: np.log10(np.maximum(s["utr_length"].to_numpy(np.float64), 1.0)),
        "supp3": lambda s: s["supp3"].to_numpy(np.float64),
        "n_coop": lambda s: np.log1p(s["n_coop"].to_numpy(np.float64)),
    }
    unknown = [f for f in features if f not in derived and f not in sites]
    if unknown:
        raise ValueError(f"unknown site features {unknown}; known: {list(derived)} or a column of the site table")
    if not features:
        return np.zeros((len(sites), 0))
    return np.column_stack([derived[f](sites) if f in derived else sites[f].to_numpy(np.float64)
                            for f in features])


@dataclass
class RepressionModel:
    features: tuple[str, ...]
    intercept: np.ndarray
    """``(N_CANONICAL,)`` log2 fold change of a site of each type with average features."""
    coef: np.ndarray
    """``(N_CANONICAL, len(features))``."""
    mean: np.ndarray
    """``(N_CANONICAL, len(features))`` feature means the coefficients are centred on."""
    info: dict = field(default_factory=dict)

    def site_log2fc(self, sites: pd.DataFrame) -> np.ndarray:
        """Predicted log2 fold change contributed by each site (0 for non-canonical sites; never above 0)."""
        types = sites["type"].to_numpy(np.int64)
        X = site_design(sites, self.features)
        out = np.zeros(len(sites))
        canon = types < N_CANONICAL
        t = types[canon]
        out[canon] = self.intercept[t] + ((X[canon] - self.mean[t]) * self.coef[t]).sum(axis=1)
        return np.minimum(out, 0.0)

    def gene_scores(self, sites: pd.DataFrame, n_pairs: int) -> np.ndarray:
        """Repression score of each pair (``sites["pair"]`` in ``0..n_pairs-1``): minus the summed site log2 fold
        changes; 0 for a pair without canonical sites."""
        pair = sites["pair"].to_numpy(np.int64)
        # 0.0 - x, not -x: a pair without sites gets 0.0, not -0.0
        return 0.0 - np.bincount(pair, weights=self.site_log2fc(sites), minlength=n_pairs).astype(np.float64)

    def to_dict(self) -> dict:
        return {"kind": "repression", "features": list(self.features), "types": list(SITE_TYPES[:N_CANONICAL]),
                "intercept": self.intercept.tolist(), "coef": self.coef.tolist(), "mean": self.mean.tolist(),
                "info": self.info}

    @classmethod
    def from_dict(cls, d: dict) -> RepressionModel:
        try:
            model = cls(tuple(d["features"]), np.asarray(d["intercept"], float), np.asarray(d["coef"], float),
                        np.asarray(d["mean"], float), dict(d.get("info", {})))
            shape = (N_CANONICAL, len(model.features))
            if model.intercept.shape != (N_CANONICAL,) or model.coef.shape != shape or model.mean.shape != shape:
                raise ValueError("parameter shapes do not match the features")
            site_design(pd.DataFrame(columns=["local_au", "min_dist", "utr_length", "supp3", "n_coop"]),
                        model.features)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"repression model: malformed parameters ({exc})") from None
        return model


def normalised_log2fc(log2fc: np.ndarray, has_site: np.ndarray) -> np.ndarray:
    """Fold changes of one experiment measured from the median of the genes without a canonical site."""
    log2fc = np.asarray(log2fc, dtype=np.float64)
    has_site = np.asarray(has_site, dtype=bool)
    ref = log2fc[~has_site] if (~has_site).any() else log2fc
    return log2fc - np.median(ref)


def fit_repression(sites: pd.DataFrame, log2fc: np.ndarray, *, features: tuple[str, ...] = DEFAULT_FEATURES,
                   l2: float = DEFAULT_L2, info: dict | None = None) -> RepressionModel:
    """Fit the per-type site model.

    ``sites``: canonical and other sites of every (experiment, gene) pair, with ``pair`` (row of ``log2fc``),
    ``type`` and the context columns; ``log2fc``: one *normalised* fold change per pair
    (:func:`normalised_log2fc`, per experiment). Each type is fitted on the pairs with exactly one canonical site,
    that site of the type; ridge penalty ``l2`` on the coefficients, not the intercept. A type with too few such
    genes for its features (fewer than ``max(10, 2 * (len(features) + 1))``) gets its mean only (listed in
    ``info["intercept_only"]``); fewer than 3 is an error."""
    log2fc = np.asarray(log2fc, dtype=np.float64)
    canon = sites[sites["type"].to_numpy() < N_CANONICAL]
    n_sites = np.bincount(canon["pair"].to_numpy(np.int64), minlength=len(log2fc))
    single = canon[n_sites[canon["pair"].to_numpy(np.int64)] == 1]
    k = len(features)
    intercept = np.zeros(N_CANONICAL)
    coef = np.zeros((N_CANONICAL, k))
    mean = np.zeros((N_CANONICAL, k))
    counts, intercept_only = [], []
    for t in range(N_CANONICAL):
        rows = single[single["type"].to_numpy() == t]
        y = log2fc[rows["pair"].to_numpy(np.int64)]
        counts.append(len(y))
        if len(y) < 3:
            raise ValueError(f"too few genes with a single {SITE_TYPES[t]} site to fit ({len(y)}; need 3)")
        X = site_design(rows, features)
        if len(y) < max(10, 2 * (k + 1)):
            intercept[t], mean[t] = y.mean(), X.mean(axis=0)
            intercept_only.append(SITE_TYPES[t])
            continue
        mu = X.mean(axis=0)
        Z = np.column_stack([np.ones(len(y)), X - mu])
        penalty = l2 * np.eye(k + 1)
        penalty[0, 0] = 0.0
        w = np.linalg.solve(Z.T @ Z + penalty, Z.T @ y)
        intercept[t], coef[t], mean[t] = w[0], w[1:], mu
    meta = {"l2": l2, "n_single_site_genes": dict(zip(SITE_TYPES[:N_CANONICAL], counts)),
            "intercept_only": intercept_only}
    meta.update(info or {})
    return RepressionModel(tuple(features), intercept, coef, mean, meta)


def repression_path() -> Path:
    return Path(str(resources.files("mirlens.genes") / REPRESSION_FILE))


def load_repression(path: str | Path | None = None) -> RepressionModel:
    """The shipped repression model (or the one saved at ``path``)."""
    path = Path(path) if path is not None else repression_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: unreadable repression model ({exc})") from None
    return RepressionModel.from_dict(data)


def save_repression(model: RepressionModel, path: str | Path) -> Path:
    from mirlens.tables import write_text

    path = Path(path)
    write_text(json.dumps(model.to_dict(), indent=1) + "\n", path)
    return path
