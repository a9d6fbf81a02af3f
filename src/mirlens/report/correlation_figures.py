"""Figure of the layer-energy correlations (Table 1 / Supp. Table 1): the distribution of Spearman rho of the units
per layer and aggregation level, with the minimum and maximum marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mirlens.errors import InputError  # noqa: E402
from mirlens.report.figures import save_figure  # noqa: E402


def plot_unit_correlations(units: pd.DataFrame, base: str | Path, *, title: str | None = None,
                           formats=("png",)) -> list[Path]:
    """One strip per (layer, level): every tested unit's rho (jittered points, or a histogram-like violin for
    many units), min and max marked. ``units`` is the per-unit table of ``layer_energy_correlations``."""
    if not {"layer", "level", "rho"} <= set(units):
        raise InputError("not a per-unit correlation table (columns layer, level, rho expected)")
    groups = [(f"{layer}\n{level}", g["rho"].dropna().to_numpy())
              for (layer, level), g in units.groupby(["layer", "level"], sort=False)]
    groups = [(name, v) for name, v in groups if len(v)]
    if not groups:
        raise InputError("no tested units to draw")
    fig, ax = plt.subplots(figsize=(1.0 + 1.1 * len(groups), 3.8))
    rng = np.random.default_rng(0)
    for k, (name, v) in enumerate(groups):
        if len(v) > 50:
            parts = ax.violinplot([v], positions=[k], widths=0.8, showextrema=False)
            for body in parts["bodies"]:
                body.set_alpha(0.5)
        else:
            ax.scatter(k + rng.uniform(-0.15, 0.15, len(v)), v, s=10, alpha=0.7)
        for val, col in ((v.min(), "#3b6fb6"), (v.max(), "#c0504d")):
            ax.hlines(val, k - 0.3, k + 0.3, color=col, lw=1.5)
            ax.annotate(f"{val:.2f}", (k + 0.32, val), fontsize=7, va="center")
    ax.axhline(0, color="#7f7f7f", lw=0.6)
    ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
    ax.set_ylabel("Spearman rho with energy")
    ax.set_ylim(-1, 1)
    ax.set_title(title or "Unit activations vs duplex energy", fontsize=10)
    return save_figure(fig, base, formats)
