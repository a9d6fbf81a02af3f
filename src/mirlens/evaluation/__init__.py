"""Evaluating classifiers: metrics with confidence intervals, and ROC/PR curves as tables."""

from mirlens.evaluation.curves import curve_tables, pr_points, roc_points
from mirlens.evaluation.metrics import (
    METRICS,
    auprc,
    auroc,
    binary_metrics,
    brier,
    confusion_matrix,
    grouped_auroc,
    mean_ci,
    summarize,
)

__all__ = [
    "METRICS", "auprc", "auroc", "binary_metrics", "brier", "confusion_matrix", "curve_tables", "grouped_auroc",
    "mean_ci", "pr_points", "roc_points", "summarize",
]
