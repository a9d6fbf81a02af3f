"""ROC and precision-recall curves as tables (drawing them is the report layer's job:
:mod:`mirlens.report.curves`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mirlens.evaluation.metrics import _check, _descending_counts


def roc_points(y_true, scores) -> pd.DataFrame:
    """Every ROC point, one per distinct score from high to low, after a first point (0, 0) at threshold
    ``inf``. Columns ``threshold``, ``fpr``, ``tpr``; a pair is positive at a point when ``score >= threshold``."""
    y, s = _check(y_true, scores)
    tps, fps, thr = _descending_counts(y, s)
    n_pos, n_neg = tps[-1] if len(tps) else 0.0, fps[-1] if len(fps) else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.r_[0.0, tps / n_pos] if n_pos else np.full(len(tps) + 1, np.nan)
        fpr = np.r_[0.0, fps / n_neg] if n_neg else np.full(len(fps) + 1, np.nan)
    return pd.DataFrame({"threshold": np.r_[np.inf, thr], "fpr": fpr, "tpr": tpr})


def pr_points(y_true, scores) -> pd.DataFrame:
    """Every precision-recall point, one per distinct score from high to low, after a first point
    (recall 0, precision 1) at threshold ``inf``. Columns ``threshold``, ``recall``, ``precision``."""
    y, s = _check(y_true, scores)
    tps, fps, thr = _descending_counts(y, s)
    n_pos = tps[-1] if len(tps) else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tps / (tps + fps)
        recall = tps / n_pos if n_pos else np.full(len(tps), np.nan)
    return pd.DataFrame({"threshold": np.r_[np.inf, thr], "recall": np.r_[0.0, recall],
                         "precision": np.r_[1.0, precision]})


def curve_tables(y_true, scores, **labels) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(roc, pr)`` tables with constant columns ``labels`` (e.g. ``model=..., data=...``) put first."""
    roc, pr = roc_points(y_true, scores), pr_points(y_true, scores)
    for i, (k, v) in enumerate(labels.items()):
        roc.insert(i, k, v)
        pr.insert(i, k, v)
    return roc, pr
