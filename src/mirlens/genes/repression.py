"""How much a miRNA represses each of its genes: a TargetScan-style context model, and how likely a gene goes down.

**Canonical sites.** Each canonical site contributes a predicted log2 fold change: an intercept for its type (8mer,
7mer-m8, 7mer-A1, 6mer, offset-6mer) plus a type-specific linear function of its context (:mod:`mirlens.genes.
context`; with the default site model also the model's site logit), capped at 0 (a site never raises its mRNA).

**The model's own sites.** With a pairing-family site model (:mod:`mirlens.genes.calls`), a gene's best
non-canonical site adds ``beta * softplus(site_logit - shift)`` (``beta`` <= 0), fitted on the genes without a
canonical site with the UTR length as a covariate (longer UTRs reach higher logits by chance, and their fold
changes differ by study); the length covariate is used for fitting only. So every gene gets a score, and genes
without a canonical site are ordered by the model's evidence rather than tied.

A gene's predicted log2 fold change is the sum of its sites' contributions; its **repression score** is minus
that (higher = more repressed), the ``ranking_score`` of ``mirlens predict-genes``.

**Probability.** ``probability`` is the calibrated chance that the gene goes down (FDR < 0.05, log fold change
< 0) when the miRNA is raised: ``sigmoid(a + b * log1p(k * score))``, fitted on expression experiments with FDRs
on *out-of-family* repression scores (each seed family scored by a model fitted without it), so that it is
calibrated for new miRNAs, not for the ones it was fitted on.

Fitting follows TargetScan's recipe (Agarwal et al., eLife 2015) for canonical sites: in each experiment, log2 fold
changes are measured from the median of the genes without a canonical site; for each site type, a ridge regression
of those normalised fold changes on the site's features is fitted over the genes that hold exactly one canonical
site. The shipped parameters (``repression.json``: ``pairing`` for the default site model, ``canonical`` for
site models without their own site scores) come from ``mirlens fit-repression hct116 hela`` (7 HCT116 and 13 HeLa
overexpression experiments); cross-validated figures by seed family are in ``benchmarks/bench_functional.py``.
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
ALL_FEATURES: tuple[str, ...] = ("local_au", "log_min_dist", "log_dist5", "log_utr_length", "supp3", "n_coop",
                                 "site_logit")
"""Site regressors the model may use, derived from the site table by :func:`site_design` (``site_logit``: the site
model's logit of the site, :mod:`mirlens.genes.calls`)."""
CANONICAL_FEATURES: tuple[str, ...] = ("local_au", "log_utr_length", "log_dist5")
"""The regressors of the model-free fit (``canonical``): each has the same sign in both shared studies."""
DEFAULT_FEATURES: tuple[str, ...] = (*CANONICAL_FEATURES, "site_logit")
"""The regressors of the default (``pairing``) fit."""
DEFAULT_L2 = 1.0
NONCANONICAL_SHIFT = 1.0
"""Logit above which a non-canonical site's evidence starts to count (softplus(site_logit - shift))."""
CALIBRATION_SCALE = 10.0
"""``k`` of the probability's ``log1p(k * score)``."""
DOWN_FDR = 0.05


def site_design(sites: pd.DataFrame, features: tuple[str, ...]) -> np.ndarray:
    """``(n_sites, len(features))`` regressors from a site table with the context columns (a feature that is none
    of :data:`ALL_FEATURES` is read as is from the column of that name, e.g. a model's site score)."""
    derived = {
        "local_au": lambda s: s["local_au"].to_numpy(np.float64),
        "log_min_dist": lambda s: np.log10(np.maximum(s["min_dist"].to_numpy(np.float64), 1.0)),
        "log_dist5": lambda s: np.log10(np.maximum(s["anchor"].to_numpy(np.float64), 1.0)),
        "log_utr_length": lambda s: np.log10(np.maximum(s["utr_length"].to_numpy(np.float64), 1.0)),
        "supp3": lambda s: s["supp3"].to_numpy(np.float64),
        "n_coop": lambda s: np.log1p(s["n_coop"].to_numpy(np.float64)),
        "site_logit": lambda s: s["site_logit"].to_numpy(np.float64),
    }
    unknown = [f for f in features if f not in derived and f not in sites]
    if unknown:
        raise ValueError(f"unknown site features {unknown}; known: {list(derived)} or a column of the site table")
    if not features:
        return np.zeros((len(sites), 0))
    return np.column_stack([derived[f](sites) if f in derived else sites[f].to_numpy(np.float64)
                            for f in features])


def softplus(x) -> np.ndarray:
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


@dataclass(frozen=True)
class NoncanonicalTerm:
    """A gene's best non-canonical site contributes ``beta * softplus(site_logit - shift)`` log2 units."""

    beta: float
    shift: float = NONCANONICAL_SHIFT

    def log2fc(self, site_logit) -> np.ndarray:
        return self.beta * softplus(np.asarray(site_logit, dtype=np.float64) - self.shift)


@dataclass(frozen=True)
class Calibration:
    """``probability = sigmoid(intercept + slope * log1p(scale * max(score, 0)))``."""

    intercept: float
    slope: float
    scale: float = CALIBRATION_SCALE

    def transform(self, score) -> np.ndarray:
        return np.log1p(self.scale * np.maximum(np.asarray(score, dtype=np.float64), 0.0))

    def probability(self, score) -> np.ndarray:
        z = self.intercept + self.slope * self.transform(score)
        return 1.0 / (1.0 + np.exp(-z))


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
    noncanonical: NoncanonicalTerm | None = None
    calibration: Calibration | None = None

    @property
    def needs_site_logits(self) -> bool:
        """Whether the model reads the site model's logits (then sites must come from :mod:`mirlens.genes.calls`)."""
        return "site_logit" in self.features or self.noncanonical is not None

    def site_log2fc(self, sites: pd.DataFrame) -> np.ndarray:
        """Predicted log2 fold change contributed by each site (never above 0): canonical sites by type and
        context; of each pair's non-canonical sites the best (highest ``site_logit``) by :attr:`noncanonical`,
        the others 0 (and all of them 0 without that term)."""
        types = sites["type"].to_numpy(np.int64)
        out = np.zeros(len(sites))
        canon = types < N_CANONICAL
        if canon.any():
            X = site_design(sites[canon], self.features)
            t = types[canon]
            out[canon] = self.intercept[t] + ((X - self.mean[t]) * self.coef[t]).sum(axis=1)
        if self.noncanonical is not None and (~canon).any():
            nc = np.flatnonzero(~canon)
            logit = sites["site_logit"].to_numpy(np.float64)[nc]
            pair = sites["pair"].to_numpy(np.int64)[nc]
            order = np.lexsort((-logit, pair))  # by pair, best first
            first = np.ones(len(order), dtype=bool)
            first[1:] = pair[order][1:] != pair[order][:-1]
            best = nc[order[first]]
            out[best] = self.noncanonical.log2fc(sites["site_logit"].to_numpy(np.float64)[best])
        return np.minimum(out, 0.0)

    def gene_scores(self, sites: pd.DataFrame, n_pairs: int) -> np.ndarray:
        """Repression score of each pair (``sites["pair"]`` in ``0..n_pairs-1``): minus the summed site log2 fold
        changes; 0 for a pair without contributing sites."""
        pair = sites["pair"].to_numpy(np.int64)
        # 0.0 - x, not -x: a pair without sites gets 0.0, not -0.0
        return 0.0 - np.bincount(pair, weights=self.site_log2fc(sites), minlength=n_pairs).astype(np.float64)

    def probability(self, scores) -> np.ndarray:
        """Calibrated chance that each gene goes down (NaN when the model carries no calibration)."""
        if self.calibration is None:
            return np.full(np.shape(scores), np.nan)
        return self.calibration.probability(scores)

    def to_dict(self) -> dict:
        d = {"kind": "repression", "features": list(self.features), "types": list(SITE_TYPES[:N_CANONICAL]),
             "intercept": self.intercept.tolist(), "coef": self.coef.tolist(), "mean": self.mean.tolist()}
        if self.noncanonical is not None:
            d["noncanonical"] = {"beta": self.noncanonical.beta, "shift": self.noncanonical.shift}
        if self.calibration is not None:
            d["calibration"] = {"intercept": self.calibration.intercept, "slope": self.calibration.slope,
                                "scale": self.calibration.scale}
        d["info"] = self.info
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RepressionModel:
        try:
            nc = d.get("noncanonical")
            cal = d.get("calibration")
            model = cls(tuple(d["features"]), np.asarray(d["intercept"], float), np.asarray(d["coef"], float),
                        np.asarray(d["mean"], float), dict(d.get("info", {})),
                        NoncanonicalTerm(float(nc["beta"]), float(nc["shift"])) if nc is not None else None,
                        Calibration(float(cal["intercept"]), float(cal["slope"]), float(cal["scale"]))
                        if cal is not None else None)
            shape = (N_CANONICAL, len(model.features))
            if model.intercept.shape != (N_CANONICAL,) or model.coef.shape != shape or model.mean.shape != shape:
                raise ValueError("parameter shapes do not match the features")
            unknown = [f for f in model.features if f not in ALL_FEATURES]
            if unknown:
                raise ValueError(f"unknown features {unknown}")
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
                   l2: float = DEFAULT_L2, info: dict | None = None, utr_length: np.ndarray | None = None,
                   noncanonical: bool = False, shift: float = NONCANONICAL_SHIFT) -> RepressionModel:
    """Fit the per-type site model (and, with ``noncanonical``, the term of the model's own sites).

    ``sites``: canonical and other sites of every (experiment, gene) pair, with ``pair`` (row of ``log2fc``),
    ``type`` and the columns the features read; ``log2fc``: one *normalised* fold change per pair
    (:func:`normalised_log2fc`, per experiment). Each type is fitted on the pairs with exactly one canonical site,
    that site of the type; ridge penalty ``l2`` on the coefficients, not the intercept. A type with too few such
    genes for its features (fewer than ``max(10, 2 * (len(features) + 1))``) gets its mean only (listed in
    ``info["intercept_only"]``); fewer than 3 is an error.

    ``noncanonical`` (needs ``site_logit`` on the sites and ``utr_length`` per pair): least squares of the fold
    changes of the pairs without a canonical site on ``[1, log10(UTR length), softplus(best non-canonical
    site_logit - shift)]``; ``beta`` is the last coefficient, capped at 0 (a better site never predicts less
    repression)."""
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
    term = None
    if noncanonical:
        if utr_length is None or "site_logit" not in sites:
            raise ValueError("the non-canonical term needs site logits and the UTR length of every pair")
        nc = sites[sites["type"].to_numpy() >= N_CANONICAL]
        best = np.full(len(log2fc), -np.inf)
        np.maximum.at(best, nc["pair"].to_numpy(np.int64), nc["site_logit"].to_numpy(np.float64))
        free = n_sites == 0
        X = np.column_stack([np.ones(free.sum()), np.log10(np.maximum(np.asarray(utr_length, float)[free], 1.0)),
                             softplus(best[free] - shift)])
        w = np.linalg.lstsq(X, log2fc[free], rcond=None)[0]
        term = NoncanonicalTerm(float(min(w[2], 0.0)), float(shift))
        meta["noncanonical_fit"] = {"n_genes": int(free.sum()), "beta_unconstrained": float(w[2]),
                                    "log10_length_covariate": float(w[1])}
    meta.update(info or {})
    return RepressionModel(tuple(features), intercept, coef, mean, meta, term)


def fit_calibration(scores: np.ndarray, down: np.ndarray, *, scale: float = CALIBRATION_SCALE) -> Calibration:
    """Logistic regression of ``down`` (0/1) on ``log1p(scale * score)`` (maximum likelihood, unweighted: the
    probability keeps the base rate of the experiments it was fitted on)."""
    from scipy.special import expit

    down = np.asarray(down, dtype=np.float64)
    if len(np.unique(down)) != 2:
        raise ValueError("calibration needs genes that went down and genes that did not")
    x = np.log1p(scale * np.maximum(np.asarray(scores, dtype=np.float64), 0.0))
    X = np.column_stack([np.ones_like(x), x])
    base = down.mean()
    w = np.array([np.log(base / (1 - base)), 0.0])
    for _ in range(100):  # Newton's method (iteratively reweighted least squares): two parameters, exact
        p = expit(X @ w)
        step = np.linalg.solve((X * (p * (1 - p))[:, None]).T @ X + 1e-12 * np.eye(2), X.T @ (down - p))
        w += step
        if np.abs(step).max() < 1e-10:
            break
    return Calibration(float(w[0]), float(w[1]), float(scale))


def repression_path() -> Path:
    return Path(str(resources.files("mirlens.genes") / REPRESSION_FILE))


PAIRING_KEY = "pairing"
CANONICAL_KEY = "canonical"


def load_repression(path: str | Path | None = None, kind: str = PAIRING_KEY) -> RepressionModel:
    """The shipped repression model of ``kind`` (``pairing``: for the default site model, with site logits;
    ``canonical``: context only), or the one saved at ``path`` (a file of one model, or of several by kind)."""
    path = Path(path) if path is not None else repression_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: unreadable repression model ({exc})") from None
    if isinstance(data, dict) and "models" in data:
        if kind not in data["models"]:
            raise ModelFileError(f"{path}: no repression model {kind!r} (has {', '.join(data['models'])})")
        data = data["models"][kind]
    return RepressionModel.from_dict(data)


def save_repression(model: RepressionModel | dict[str, RepressionModel], path: str | Path) -> Path:
    """Write one model, or several by kind (``{"pairing": ..., "canonical": ...}``)."""
    from mirlens.tables import write_text

    path = Path(path)
    if isinstance(model, dict):
        data = {"format": "mirlens-repression", "models": {k: m.to_dict() for k, m in model.items()}}
    else:
        data = model.to_dict()
    write_text(json.dumps(data, indent=1) + "\n", path)
    return path
