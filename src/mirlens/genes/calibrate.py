"""A small gene-level aggregator: L2-regularised logistic regression on :func:`mirlens.genes.aggregate.features`,
optionally with non-negative coefficients on site-evidence features (the shipped ones use
:data:`mirlens.genes.aggregate.EVIDENCE_FEATURES`).

Fitted with scipy's L-BFGS (no scikit-learn). Classes are weighted to equal total weight, so the output is the
probability under a 50:50 prior: 0.5 is the balanced-accuracy threshold whatever the class mix of the fitting data.
:func:`cross_val_predict` gives out-of-fold scores (stratified folds) for honest figures; the shipped parameters
(``calibration.json`` in this package, one entry per model name and site mode, each tied to the weights it was
fitted on by :func:`weights_key`) are fitted on the development data only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from mirlens.errors import ModelFileError

CALIBRATION_FILE = "calibration.json"


@dataclass
class LogisticCalibrator:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    info: dict = field(default_factory=dict)

    def decision(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"expected {len(self.features)} feature columns, got shape {X.shape}")
        return ((X - self.mean) / self.scale) @ self.coef + self.intercept

    def predict(self, X: np.ndarray) -> np.ndarray:
        return expit(self.decision(X))

    def to_dict(self) -> dict:
        return {"kind": "logistic", "features": list(self.features), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": float(self.intercept),
                "info": self.info}

    @classmethod
    def from_dict(cls, d: dict) -> LogisticCalibrator:
        try:
            return cls(tuple(d["features"]), np.asarray(d["mean"], float), np.asarray(d["scale"], float),
                       np.asarray(d["coef"], float), float(d["intercept"]), dict(d.get("info", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"gene-level calibrator: malformed parameters ({exc})") from None


def fit_logistic(X: np.ndarray, y: np.ndarray, features: tuple[str, ...], *, l2: float = 1.0,
                 balanced: bool = True, nonnegative: tuple[str, ...] = ()) -> LogisticCalibrator:
    """Fit on standardised features; ``l2`` is the ridge penalty on the coefficients (not the intercept), in units
    of the total sample weight (which is ``len(y)``). Features named in ``nonnegative`` get coefficients >= 0
    (monotone: more or better site evidence never lowers the probability)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(np.unique(y)) != 2:
        raise ValueError("fitting needs both classes")
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    Z = (X - mean) / scale
    if balanced:
        w = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    else:
        w = np.ones_like(y)
    n = len(y)

    def loss(theta):
        coef, b = theta[:-1], theta[-1]
        z = Z @ coef + b
        # log(1 + e^z) - y z, stably
        nll = np.logaddexp(0.0, z) - y * z
        f = (w * nll).sum() / n + 0.5 * l2 * coef @ coef / n
        r = w * (expit(z) - y) / n
        grad = np.append(Z.T @ r + l2 * coef / n, r.sum())
        return f, grad

    unknown = set(nonnegative) - set(features)
    if unknown:
        raise ValueError(f"nonnegative names unknown features: {sorted(unknown)}")
    bounds = [(0.0, None) if f in nonnegative else (None, None) for f in features] + [(None, None)]
    res = minimize(loss, np.zeros(Z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return LogisticCalibrator(tuple(features), mean, scale, res.x[:-1], float(res.x[-1]),
                              {"l2": l2, "balanced": balanced, "nonnegative": list(nonnegative), "n": int(n),
                               "n_positive": int(y.sum()), "converged": bool(res.success)})


def stratified_folds(y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Fold number (0..k-1) of each sample, each class spread evenly over the folds."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % k
    return fold


def cross_val_predict(X: np.ndarray, y: np.ndarray, features: tuple[str, ...], *, k: int = 5, seed: int = 0,
                      **fit_kwargs) -> np.ndarray:
    """Out-of-fold probabilities: each sample scored by a calibrator fitted without its fold."""
    y = np.asarray(y)
    fold = stratified_folds(y, k, seed)
    out = np.empty(len(y), dtype=np.float64)
    for f in range(k):
        test = fold == f
        cal = fit_logistic(X[~test], y[~test], features, **fit_kwargs)
        out[test] = cal.predict(X[test])
    return out


def weights_key(model) -> str:
    """Short hash of a model's weights: ties a shipped calibrator to the exact weights it was fitted on."""
    import hashlib

    h = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def calibrator_key(model_name: str, noncanonical: bool) -> str:
    """Entry name in the calibration file: the model name, ``/canonical`` appended for canonical-only sites."""
    return model_name if noncanonical else f"{model_name}/canonical"


def calibration_path() -> Path:
    return Path(str(resources.files("mirlens.genes") / CALIBRATION_FILE))


def load_calibrators(path: str | Path | None = None) -> dict[str, LogisticCalibrator]:
    """Shipped calibrators by model name (empty when the file is absent)."""
    path = Path(path) if path is not None else calibration_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: unreadable gene-level calibration ({exc})") from None
    return {name: LogisticCalibrator.from_dict(d) for name, d in data.get("models", {}).items()}


def save_calibrators(calibrators: dict[str, LogisticCalibrator], path: str | Path, *, note: str = "") -> Path:
    path = Path(path)
    data = {"format": "mirlens-gene-calibration", "note": note,
            "models": {name: c.to_dict() for name, c in sorted(calibrators.items())}}
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path
