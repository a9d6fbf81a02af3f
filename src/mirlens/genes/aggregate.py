"""From site scores to one gene-level summary per (miRNA, UTR) pair: group reductions and the feature matrix.

Every function takes flat per-site arrays plus ``groups`` (the pair index of each site, ``0 <= g < n_groups``) and
returns one value per group; a group without sites gets the neutral value (0 probability, 0 count).
"""

from __future__ import annotations

import numpy as np

from mirlens.genes.sites import N_CANONICAL, SITE_TYPES

EPS = 1e-4
"""Probabilities are clipped to [EPS, 1 - EPS] before logits / logs."""


def _check(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    if values.shape != groups.shape:
        raise ValueError(f"values {values.shape} and groups {groups.shape} differ in shape")
    if len(groups) and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"group index outside 0..{n_groups - 1}")
    return values, groups


def group_max(p, groups, n_groups: int, empty: float = 0.0) -> np.ndarray:
    """Largest value of each group (``empty`` where a group has none)."""
    p, groups = _check(p, groups, n_groups)
    out = np.full(n_groups, -np.inf)
    np.maximum.at(out, groups, p)
    out[np.isinf(out)] = empty
    return out


def group_sum(v, groups, n_groups: int) -> np.ndarray:
    v, groups = _check(v, groups, n_groups)
    return np.bincount(groups, weights=v, minlength=n_groups).astype(np.float64)


def group_count(groups, n_groups: int, mask=None) -> np.ndarray:
    """Number of sites of each group (only those where ``mask`` is true, when given)."""
    groups = np.asarray(groups, dtype=np.int64)
    if mask is not None:
        groups = groups[np.asarray(mask, dtype=bool)]
    return np.bincount(groups, minlength=n_groups).astype(np.float64)


def noisy_or(p, groups, n_groups: int) -> np.ndarray:
    """``1 - prod(1 - p)`` per group: the chance that at least one site works if sites act independently."""
    return -np.expm1(-hazard(p, groups, n_groups))


def hazard(p, groups, n_groups: int) -> np.ndarray:
    """``-sum(log(1 - p))`` per group (the noisy-OR on a log scale, which does not saturate at 1)."""
    p, groups = _check(p, groups, n_groups)
    return group_sum(-np.log1p(-np.clip(p, 0.0, 1 - EPS)), groups, n_groups)


def topk_mean(p, groups, n_groups: int, k: int) -> np.ndarray:
    """Mean of the ``k`` largest values of each group; a group with fewer than ``k`` sites is padded with 0."""
    if k < 1:
        raise ValueError("k must be at least 1")
    p, groups = _check(p, groups, n_groups)
    order = np.lexsort((-p, groups))  # by group, then descending value
    g_sorted = groups[order]
    first = np.searchsorted(g_sorted, g_sorted, side="left")
    rank = np.arange(len(g_sorted)) - first
    top = rank < k
    return group_sum(p[order][top], g_sorted[top], n_groups) / k


def type_counts(types, groups, n_groups: int) -> np.ndarray:
    """``(n_groups, len(SITE_TYPES))`` site counts per type."""
    types = np.asarray(types, dtype=np.int64)
    groups = np.asarray(groups, dtype=np.int64)
    out = np.zeros((n_groups, len(SITE_TYPES)))
    np.add.at(out, (groups, types), 1.0)
    return out


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def mean_logit(p, groups, n_groups: int, empty) -> np.ndarray:
    """Mean logit of each group's values; ``empty`` (scalar or per group) where a group has none."""
    p, groups = _check(p, groups, n_groups)
    n = group_count(groups, n_groups)
    total = group_sum(logit(p), groups, n_groups)
    return np.where(n > 0, total / np.maximum(n, 1), empty)


FEATURES: tuple[str, ...] = (
    "logit_max", "logit_max_canonical", "logit_top3_mean", "log_hazard", "log_hazard_canonical",
    "noisy_or", "log_n_above_half", "log_n_canonical", "log_n_noncanonical",
    *(f"log_n_{t}" for t in SITE_TYPES[:N_CANONICAL]), "log_utr_length",
    "mean_logit", "background_mean_logit", "background_q90_logit",
)
"""Names of the columns of :func:`features`, in order."""

CONTEXT_FEATURES: tuple[str, ...] = ("log_utr_length", "background_mean_logit", "background_q90_logit")
"""Features that describe the UTR or the miRNA rather than evidence of sites; every other feature is site evidence
and gets a non-negative coefficient in the calibrator (more or better sites never lower the probability)."""
EVIDENCE_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f not in CONTEXT_FEATURES)


def background_stats(probabilities) -> np.ndarray:
    """``(n, 2)`` mean and 90th percentile of the logits of each row of background-window probabilities."""
    lg = logit(np.atleast_2d(probabilities))
    return np.column_stack([lg.mean(axis=1), np.quantile(lg, 0.9, axis=1)])


def features(prob, types, groups, n_groups: int, utr_lengths, background) -> np.ndarray:
    """The gene-level feature matrix ``(n_groups, len(FEATURES))`` of site probabilities and types.

    ``background``: ``(n_groups, 2)`` :func:`background_stats` of each pair's miRNA. A pair without sites gets the
    least evidence: 0 counts, probability 0, and the lowest logit (of :data:`EPS`) as its mean site logit."""
    background = np.asarray(background, dtype=np.float64).reshape(n_groups, 2)
    prob = np.asarray(prob, dtype=np.float64)
    types = np.asarray(types, dtype=np.int64)
    groups = np.asarray(groups, dtype=np.int64)
    canon = types < N_CANONICAL
    counts = type_counts(types, groups, n_groups)
    cols = [
        logit(group_max(prob, groups, n_groups)),
        logit(group_max(prob[canon], groups[canon], n_groups)),
        logit(topk_mean(prob, groups, n_groups, 3)),
        np.log1p(hazard(prob, groups, n_groups)),
        np.log1p(hazard(prob[canon], groups[canon], n_groups)),
        noisy_or(prob, groups, n_groups),
        np.log1p(group_count(groups, n_groups, prob > 0.5)),
        np.log1p(counts[:, :N_CANONICAL].sum(axis=1)),
        np.log1p(counts[:, N_CANONICAL:].sum(axis=1)),
        *(np.log1p(counts[:, t]) for t in range(N_CANONICAL)),
        np.log(np.maximum(np.asarray(utr_lengths, dtype=np.float64), 1.0)),
        mean_logit(prob, groups, n_groups, float(logit(EPS))),
        background[:, 0],
        background[:, 1],
    ]
    return np.column_stack(cols)
