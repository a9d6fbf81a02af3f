"""Metrics and curves agree with scikit-learn (a test-only dependency) on random data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mirlens.errors import MirlensError
from mirlens.evaluation import (
    auprc,
    auroc,
    binary_metrics,
    confusion_matrix,
    curve_tables,
    grouped_auroc,
    mean_ci,
    pr_points,
    roc_points,
    summarize,
)

import sklearn.metrics as sk  # noqa: E402  (test-only cross-check)


def _random_case(seed: int, n: int = 300, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.25), 0, 1)
    if ties:
        s = np.round(s, 1)
    return y, s


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
def test_metrics_agree_with_sklearn(seed, ties):
    y, s = _random_case(seed, ties=ties)
    m = binary_metrics(y, s, threshold=0.5)
    pred = (s > 0.5).astype(int)
    tn, fp, fn, tp = sk.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (tn, fp, fn, tp)
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert m["sensitivity"] == pytest.approx(sk.recall_score(y, pred))
    assert m["specificity"] == pytest.approx(sk.recall_score(y, pred, pos_label=0))
    assert m["ppv"] == pytest.approx(sk.precision_score(y, pred))
    assert m["npv"] == pytest.approx(sk.precision_score(y, pred, pos_label=0))
    assert m["f1"] == pytest.approx(sk.f1_score(y, pred))
    assert m["brier"] == pytest.approx(sk.brier_score_loss(y, s))
    assert m["auroc"] == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)
    assert m["auprc"] == pytest.approx(sk.average_precision_score(y, s), abs=1e-12)
    assert m["n"] == len(y)


@pytest.mark.parametrize("seed", range(4))
def test_curves_agree_with_sklearn(seed):
    y, s = _random_case(seed, n=120, ties=seed % 2 == 1)
    roc = roc_points(y, s)
    fpr, tpr, thr = sk.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(roc["fpr"], fpr)
    np.testing.assert_allclose(roc["tpr"], tpr)
    np.testing.assert_allclose(roc["threshold"].iloc[1:], thr[1:])
    pr = pr_points(y, s)
    precision, recall, pthr = sk.precision_recall_curve(y, s)
    # scikit-learn lists thresholds ascending and stops at full recall; ours run from high to low
    k = len(pthr)
    np.testing.assert_allclose(pr["precision"].iloc[1 : k + 1].to_numpy()[::-1], precision[:-1])
    np.testing.assert_allclose(pr["recall"].iloc[1 : k + 1].to_numpy()[::-1], recall[:-1])
    assert pr.iloc[0].tolist() == [math.inf, 0.0, 1.0]


def test_curve_tables_labels_and_perfect_scores():
    y = np.array([0, 0, 1, 1])
    roc, pr = curve_tables(y, np.array([0.1, 0.2, 0.8, 0.9]), model="m", data="d")
    assert list(roc.columns[:2]) == ["model", "data"] and list(pr.columns[:2]) == ["model", "data"]
    assert auroc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auprc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auroc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5


def test_undefined_metrics_are_nan():
    m = binary_metrics([1, 1, 1], [0.1, 0.2, 0.3])
    assert math.isnan(m["auroc"]) and math.isnan(m["specificity"]) and math.isnan(m["ppv"])
    assert m["sensitivity"] == 0.0 and m["accuracy"] == 0.0
    assert math.isnan(auprc([0, 0], [0.2, 0.3]))


def test_threshold_is_strict_like_keras_rounding():
    assert confusion_matrix([1, 0], [0.5, 0.5]) == {"tn": 1, "fp": 0, "fn": 1, "tp": 0}


@pytest.mark.parametrize("labels,scores", [([0, 1], [0.1]), ([0, 2], [0.1, 0.2]), ([0, 1], [0.1, float("nan")]),
                                           ([0, None], [0.1, 0.2])])
def test_bad_input_raises_mirlens_error(labels, scores):
    with pytest.raises(MirlensError):
        binary_metrics(np.array(labels, dtype=object), scores)


def test_mean_ci_matches_t_interval():
    v = np.random.default_rng(3).normal(0.9, 0.02, 30)
    mean, lo, hi = mean_ci(v)
    elo, ehi = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
    assert mean == pytest.approx(v.mean()) and lo == pytest.approx(elo) and hi == pytest.approx(ehi)
    assert math.isnan(mean_ci([0.5])[1]) and mean_ci([0.5])[0] == 0.5


def test_summarize_per_group():
    df = pd.DataFrame({"part": ["a", "a", "b", "b"], "accuracy": [0.8, 0.9, 0.7, 0.7], "auroc": [0.9] * 4})
    out = summarize(df, ["accuracy", "auroc"], by=["part"])
    assert len(out) == 4
    row = out[(out.part == "a") & (out.metric == "accuracy")].iloc[0]
    assert row["mean"] == pytest.approx(0.85) and row["n"] == 2 and row["ci_low"] < 0.85 < row["ci_high"]


def _brute_grouped(y, s, g):
    within = [0.0, 0]
    between = [0.0, 0]
    for i in np.flatnonzero(y == 1):
        for j in np.flatnonzero(y == 0):
            win = 1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0
            part = within if g[i] == g[j] else between
            part[0] += win
            part[1] += 1
    return within[0] / within[1], between[0] / between[1], within[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_auroc_matches_brute_force_and_decomposes(seed):
    rng = np.random.default_rng(seed)
    n = 120
    y = rng.integers(0, 2, n)
    s = np.round(rng.random(n), 1)  # many ties
    g = np.array([f"miR-{k}" for k in rng.integers(0, 9, n)])
    out = grouped_auroc(y, s, g)
    within, between, n_within = _brute_grouped(y, s, g)
    assert out["within"] == pytest.approx(within, abs=1e-12)
    assert out["between"] == pytest.approx(between, abs=1e-12)
    assert out["n_within"] == n_within
    assert out["auroc"] == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)
    share = out["within_share"]
    assert share == pytest.approx(n_within / (y.sum() * (n - y.sum())))
    assert out["auroc"] == pytest.approx(share * out["within"] + (1 - share) * out["between"], abs=1e-12)


def test_grouped_auroc_separates_group_ranking_from_ranking_inside_groups():
    # the score ranks the groups perfectly (group b is all negative) but inside group a it is reversed
    y = np.array([1, 1, 0, 0, 0])
    s = np.array([0.6, 0.7, 0.8, 0.1, 0.2])
    g = ["a", "a", "a", "b", "b"]
    out = grouped_auroc(y, s, g)
    assert out["within"] == 0.0 and out["between"] == 1.0
    assert out["within_share"] == pytest.approx(2 / 6)
    assert out["auroc"] == pytest.approx(4 / 6)
    # no group holds both classes: nothing to compare within
    alone = grouped_auroc([1, 0], [0.9, 0.1], ["a", "b"])
    assert math.isnan(alone["within"]) and alone["within_share"] == 0.0 and alone["between"] == 1.0
    with pytest.raises(MirlensError, match="one entry per score"):
        grouped_auroc([1, 0], [0.9, 0.1], ["a"])
