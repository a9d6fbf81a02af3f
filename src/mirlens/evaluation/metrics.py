"""Binary classification metrics, computed with numpy/scipy (no scikit-learn at run time).

A pair is *predicted positive* when its probability is **greater than** the threshold (0.5 by default): Keras'
``accuracy`` rounds probabilities half-to-even, so a probability of exactly 0.5 counts as negative there too.

Undefined ratios (e.g. PPV when nothing is predicted positive, AUROC when only one class is present) are ``nan``,
never silently 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mirlens.errors import MirlensError

METRICS: tuple[str, ...] = (
    "accuracy", "sensitivity", "specificity", "f1", "ppv", "npv", "brier", "auroc", "auprc",
)
"""Scalar metrics reported by :func:`binary_metrics`, in report order (followed by n and the confusion matrix)."""
CONFUSION: tuple[str, ...] = ("tn", "fp", "fn", "tp")
DEFAULT_THRESHOLD = 0.5


def _check(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s):
        raise MirlensError(f"labels and scores must be 1-d and of equal length (got {y.shape} and {s.shape})")
    if len(y) and pd.isna(y).any():
        raise MirlensError("labels must be known (0 or 1) for every pair to compute metrics")
    y = y.astype(np.int64)
    if len(y) and not np.isin(y, (0, 1)).all():
        raise MirlensError("labels must be 0 or 1")
    if len(s) and not np.isfinite(s).all():
        raise MirlensError("scores must be finite numbers")
    return y, s


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else math.nan


def confusion_matrix(y_true, scores, threshold: float = DEFAULT_THRESHOLD) -> dict[str, int]:
    """Counts ``tn``, ``fp``, ``fn``, ``tp`` with positive prediction meaning ``score > threshold``."""
    y, s = _check(y_true, scores)
    pred = s > threshold
    pos = y == 1
    return {"tn": int((~pred & ~pos).sum()), "fp": int((pred & ~pos).sum()),
            "fn": int((~pred & pos).sum()), "tp": int((pred & pos).sum())}


def auroc(y_true, scores) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); ``nan`` with one class only."""
    y, s = _check(y_true, scores)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    return _mann_whitney_u(y, s) / (n_pos * n_neg)


def _mann_whitney_u(y: np.ndarray, s: np.ndarray, groups: np.ndarray | None = None) -> float:
    """Sum over positive-negative pairs of 1 (positive scored higher) or 1/2 (tie); with ``groups``, only pairs
    inside one group count (ranks are taken within each group)."""
    if groups is None:
        ranks = stats.rankdata(s)
        n_pos = y.sum()
        return float(ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0)
    ranks = pd.Series(s).groupby(groups).rank(method="average").to_numpy()
    n_pos = np.bincount(groups, weights=y).astype(np.float64)
    return float(ranks[y == 1].sum() - (n_pos * (n_pos + 1) / 2.0).sum())


def grouped_auroc(y_true, scores, groups) -> dict[str, float]:
    """AUROC split into comparisons inside one group and across groups (e.g. groups = the miRNA of each pair).

    AUROC is the fraction of (positive, negative) pairs that the scores order correctly. Returns ``auroc`` (all
    pairs), ``within`` (only pairs of one group: how well a score ranks the targets *of one miRNA*), ``between``
    (pairs of different groups), ``within_share`` (the fraction of all pairs that lie within a group) and
    ``n_within`` (their number); exactly ``auroc = within_share * within + (1 - within_share) * between``.
    When few comparisons lie within groups, AUROC mostly measures how well the score ranks the groups themselves.
    ``nan`` where a part has no pairs."""
    y, s = _check(y_true, scores)
    g = pd.factorize(np.asarray(groups).ravel())[0]
    if len(g) != len(y):
        raise MirlensError(f"groups must have one entry per score (got {len(g)} for {len(y)})")
    n_pos_g = np.bincount(g, weights=y)
    n_neg_g = np.bincount(g, weights=1 - y)
    n_all = float(y.sum()) * float(len(y) - y.sum())
    n_within = float((n_pos_g * n_neg_g).sum())
    u_all = _mann_whitney_u(y, s) if n_all else math.nan
    u_within = _mann_whitney_u(y, s, g) if n_within else 0.0
    return {"auroc": _ratio(u_all, n_all), "within": _ratio(u_within, n_within),
            "between": _ratio(u_all - u_within, n_all - n_within), "within_share": _ratio(n_within, n_all),
            "n_within": int(n_within)}


def _descending_counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative true/false positives at each distinct score, scores taken from high to low."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    last_of_value = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s_sorted) - 1]
    tps = np.cumsum(y_sorted)[last_of_value]
    fps = 1 + last_of_value - tps
    return tps.astype(np.float64), fps.astype(np.float64), s_sorted[last_of_value]


def auprc(y_true, scores) -> float:
    """Area under the precision-recall curve as *average precision*: sum over thresholds of
    (recall step) x precision; ``nan`` without positives."""
    y, s = _check(y_true, scores)
    if y.sum() == 0:
        return math.nan
    tps, fps, _ = _descending_counts(y, s)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier(y_true, scores) -> float:
    """Mean squared difference between probability and label."""
    y, s = _check(y_true, scores)
    return float(np.mean((s - y) ** 2)) if len(y) else math.nan


def binary_metrics(y_true, scores, threshold: float = DEFAULT_THRESHOLD, *, ranking=None) -> dict[str, float | int]:
    """Every metric of :data:`METRICS`, plus ``n`` and the confusion matrix counts, in one dict. ``ranking``
    (e.g. logits) replaces ``scores`` for AUROC and AUPRC: float32 probabilities of strong pairs round to exactly
    1.0 and tie, logits keep their order."""
    y, s = _check(y_true, scores)
    r = s if ranking is None else _check(y_true, ranking)[1]
    cm = confusion_matrix(y, s, threshold)
    tn, fp, fn, tp = cm["tn"], cm["fp"], cm["fn"], cm["tp"]
    ppv = _ratio(tp, tp + fp)
    sens = _ratio(tp, tp + fn)
    out: dict[str, float | int] = {
        "n": len(y),
        "accuracy": _ratio(tp + tn, len(y)),
        "sensitivity": sens,
        "specificity": _ratio(tn, tn + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "ppv": ppv,
        "npv": _ratio(tn, tn + fn),
        "brier": brier(y, s),
        "auroc": auroc(y, r),
        "auprc": auprc(y, r),
    }
    out.update(cm)
    return out


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided ``level`` confidence interval of the mean (Student's t; ``nan`` bounds for n < 2).
    ``nan`` values are left out."""
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=np.float64)
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if len(v) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2.0, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, mean - half, mean + half


def summarize(per_repeat: pd.DataFrame, metrics: Sequence[str] = METRICS, level: float = 0.95,
              by: Sequence[str] = ()) -> pd.DataFrame:
    """Mean and CI of each metric over repeats: one row per (``by`` group, metric) with columns ``metric``,
    ``n``, ``mean``, ``sd``, ``ci_low``, ``ci_high``."""
    rows = []
    groups = per_repeat.groupby(list(by), sort=False) if by else [((), per_repeat)]
    for key, df in groups:
        key = key if isinstance(key, tuple) else (key,)
        for m in metrics:
            if m not in df:
                continue
            vals = df[m].astype(float).dropna()
            mean, lo, hi = mean_ci(vals, level)
            rows.append({**dict(zip(by, key)), "metric": m, "n": len(vals), "mean": mean,
                         "sd": float(vals.std(ddof=1)) if len(vals) > 1 else math.nan,
                         "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=[*by, "metric", "n", "mean", "sd", "ci_low", "ci_high"])
