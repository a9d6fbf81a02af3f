"""Small statistics shared by the analyses: standard errors, Mann-Whitney U, Bonferroni, bootstrap."""

from __future__ import annotations

import numpy as np
from scipy import stats


def se(x: np.ndarray) -> float:
    """Standard error of the mean (sample standard deviation / sqrt(n)); NaN below two values."""
    x = np.asarray(x, dtype=np.float64)
    return float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")


def mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sided Mann-Whitney U test of ``a`` vs ``b``: (U statistic of ``a``, p-value). NaN when undefined."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) == 0 or len(b) == 0:
        return float("nan"), float("nan")
    if np.array_equal(a, b):
        return float(len(a) * len(b) / 2), 1.0
    res = stats.mannwhitneyu(a, b, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def bonferroni(p: np.ndarray, m: int | None = None) -> np.ndarray:
    """Bonferroni-adjusted p-values, ``min(1, p * m)`` (``m`` = number of tests, default ``len(p)``)."""
    p = np.asarray(p, dtype=np.float64)
    m = len(p) if m is None else m
    return np.minimum(p * m, 1.0)


def bootstrap_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement, over rows) of ``values`` ((n,) or (n, c)): (n_boot, c)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    n = len(values)
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, values.shape[1]))
    block = max(1, min(64, 4_000_000 // max(1, n * values.shape[1])))  # bounded memory per step
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        out[start:start + b] = values[idx].mean(axis=1)
    return out


def percentile_ci(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap samples along axis 0."""
    alpha = (1.0 - level) / 2
    return np.quantile(samples, alpha, axis=0), np.quantile(samples, 1 - alpha, axis=0)
