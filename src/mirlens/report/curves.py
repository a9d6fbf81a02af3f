"""ROC and precision-recall figures from the curve tables of :mod:`mirlens.evaluation.curves`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _label(keys: tuple, names: list[str], metrics: pd.DataFrame | None, column: str) -> str:
    text = " / ".join(str(k) for k in keys)
    if metrics is not None and column in metrics:
        sel = metrics
        for n, k in zip(names, keys):
            sel = sel[sel[n] == k]
        if len(sel):
            text += f" ({column.upper()} {float(sel[column].iloc[0]):.4f})"
    return text


def _plot(points: pd.DataFrame, x: str, y: str, path: str | Path, *, title: str, xlabel: str, ylabel: str,
          by: list[str], metrics: pd.DataFrame | None, metric: str, diagonal: bool) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    by = [b for b in by if b in points]
    groups = points.groupby(by, sort=False) if by else [((), points)]
    for keys, df in groups:
        keys = keys if isinstance(keys, tuple) else (keys,)
        label = _label(keys, by, metrics, metric) or None
        if x == "recall":  # average precision integrates this step function
            ax.step(df[x], df[y], where="pre", lw=1.5, label=label)
        else:
            ax.plot(df[x], df[y], lw=1.5, label=label)
    if diagonal:
        ax.plot([0, 1], [0, 1], ls="--", lw=0.8, color="grey")
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel=xlabel, ylabel=ylabel, title=title)
    if by:
        ax.legend(loc="lower right" if diagonal else "lower left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def plot_roc(roc: pd.DataFrame, path: str | Path, *, by=("model", "data"), metrics: pd.DataFrame | None = None,
             title: str = "ROC curve") -> Path:
    """Draw ROC curves (one per ``by`` group) to ``path`` (format by extension, e.g. .png or .pdf)."""
    return _plot(roc, "fpr", "tpr", path, title=title, xlabel="False positive rate", ylabel="True positive rate",
                 by=list(by), metrics=metrics, metric="auroc", diagonal=True)


def plot_pr(pr: pd.DataFrame, path: str | Path, *, by=("model", "data"), metrics: pd.DataFrame | None = None,
            title: str = "Precision-recall curve") -> Path:
    """Draw precision-recall curves (one per ``by`` group) to ``path``."""
    return _plot(pr, "recall", "precision", path, title=title, xlabel="Recall", ylabel="Precision",
                 by=list(by), metrics=metrics, metric="auprc", diagonal=False)
