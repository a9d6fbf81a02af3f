"""Grid search over batch size, learning rate and dropout, ranked by validation accuracy.

Every grid point is an ordinary training run in ``<out>/runs/b<batch>_lr<lr>_d<dropout>/`` (so an interrupted
search resumes where it stopped: finished runs are read back, an interrupted one continues from its checkpoint).
``ranking.tsv`` is rewritten after every run. Runs are ranked by best validation accuracy, then lower validation
loss at that epoch; held-out test metrics are listed for information only (the original scripts ranked by test
accuracy, which makes the reported test accuracy optimistic). Independent test sets play no part. A grid point
whose run diverges before any usable epoch (see :mod:`mirlens.training.trainer`) is listed with status
"diverged" and no rank; one that diverges later is ranked by its best epoch before that.

Unlike the original scripts (which compiled with the string ``'adam'`` and so trained every grid point with
learning rate 0.001), the learning rate given here is the one used.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from mirlens.errors import MirlensError, TrainingDiverged
from mirlens.tables import write_table
from mirlens.training.trainer import Callback, TrainSettings, default_settings, train

ORIGINAL_GRID: dict[str, tuple] = {
    "batch_size": (10, 30, 50, 100, 200),
    "lr": (0.2, 0.1, 0.05, 0.01, 0.005, 0.001),
    "dropout": (0.1, 0.2, 0.3, 0.4, 0.5),
}
RANKING_COLUMNS = ("rank", "run", "batch_size", "lr", "dropout", "best_epoch", "epochs", "val_accuracy",
                   "val_loss", "val_auroc", "test_accuracy", "test_auroc", "training_seconds", "status")


def run_name(batch_size: int, lr: float, dropout: float) -> str:
    return f"b{batch_size}_lr{lr:g}_d{dropout:g}"


def grid(batch_sizes: Sequence[int] | None = None, lrs: Sequence[float] | None = None,
         dropouts: Sequence[float] | None = None) -> list[dict]:
    """Grid points (dicts of ``batch_size``, ``lr``, ``dropout``); unspecified axes take the original values."""
    axes = {"batch_size": batch_sizes or ORIGINAL_GRID["batch_size"], "lr": lrs or ORIGINAL_GRID["lr"],
            "dropout": dropouts or ORIGINAL_GRID["dropout"]}
    points = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    for p in points:
        replace(TrainSettings(), **p).validate()
    return points


def rank_runs(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[c for c in RANKING_COLUMNS if c != "rank"])
    done = df["status"] == "done"
    ranked = df[done].sort_values(["val_accuracy", "val_loss"], ascending=[False, True], kind="mergesort")
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    rest = df[~done].copy()
    rest.insert(0, "rank", pd.NA)
    return pd.concat([ranked, rest], ignore_index=True) if len(rest) else ranked.reset_index(drop=True)


def tune(data, out_dir: str | Path, *, points: list[dict] | None = None, base: TrainSettings | None = None,
         callback: Callback | None = None, **train_kwargs) -> pd.DataFrame:
    """Train every grid point (default: the original 5 x 6 x 5 grid) and return the ranking table."""
    out_dir = Path(out_dir)
    points = points if points is not None else grid()
    if not points:
        raise MirlensError("empty grid")
    base = base or default_settings(data if isinstance(data, str) else "")
    rows = []
    for i, p in enumerate(points, 1):
        name = run_name(p["batch_size"], p["lr"], p["dropout"])
        if callback:
            callback("run", {"run": name, "index": i, "total": len(points)})
        try:
            report = train(data, out_dir / "runs" / name, settings=replace(base, **p), callback=callback,
                           name=name, **train_kwargs)
        except TrainingDiverged as exc:  # nothing to rank; the other grid points still run
            if callback:
                callback("failed", {"run": name, "reason": str(exc)})
            rows.append({"run": name, **p, "status": "diverged"})
            write_table(rank_runs(rows + _pending(points[i:])), out_dir / "ranking.tsv")
            continue
        hist = report.history
        best = hist[hist["epoch"] == report.card["best_epoch"]]
        m = report.metrics.set_index("part")
        rows.append({
            "run": name, **p, "best_epoch": report.card["best_epoch"], "epochs": report.card["epochs"],
            "val_accuracy": float(best["val_accuracy"].iloc[0]), "val_loss": float(best["val_loss"].iloc[0]),
            "val_auroc": float(m.loc["validation", "auroc"]),
            "test_accuracy": float(m.loc["test", "accuracy"]) if "test" in m.index else float("nan"),
            "test_auroc": float(m.loc["test", "auroc"]) if "test" in m.index else float("nan"),
            "training_seconds": report.card["training_seconds"], "status": "done",
        })
        write_table(rank_runs(rows + _pending(points[i:])), out_dir / "ranking.tsv")
    return rank_runs(rows)


def _pending(points: list[dict]) -> list[dict]:
    return [{"run": run_name(q["batch_size"], q["lr"], q["dropout"]), **q, "status": "pending"} for q in points]
