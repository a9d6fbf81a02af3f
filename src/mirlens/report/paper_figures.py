"""Figures of the reproduce report that set our results next to the paper's (drawn from tables, no analysis here).

* :func:`plot_seed_effects` -- Fig. 1 / Supp. Fig. 1: raw vs seed-mutated mean probability (SE) for the positive and
  negative pairs of both data sets.
* :func:`plot_reductions_vs_paper` -- Fig. 6 in numbers: our reductions (bootstrap CI) next to the paper's.
* :func:`plot_pairing_vs_paper` -- Table 2: our paired percentages next to the paper's, per region and row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.report.figures import RAW_COLOR, plt, save_figure

OURS_COLOR, PAPER_COLOR = "#4f81bd", "#e3a33b"


def plot_seed_effects(table: pd.DataFrame, base: str | Path, *, title: str | None = None) -> list[Path]:
    """``table``: rows of ``region_effects`` with ``dataset`` and ``subset`` columns (one replacement letter)."""
    groups = list(table.itertuples())
    fig, ax = plt.subplots(figsize=(1.5 + 1.6 * len(groups), 3.8))
    x = np.arange(len(groups))
    raw = [g.raw_mean for g in groups]
    mut = [g.mutated_mean for g in groups]
    ax.bar(x - 0.2, raw, 0.4, yerr=[g.raw_se for g in groups], capsize=3, color=RAW_COLOR, label="raw (Ref)")
    ax.bar(x + 0.2, mut, 0.4, yerr=[g.mutated_se for g in groups], capsize=3, color=OURS_COLOR,
           label="seed L2-6 mutated")
    for i, g in enumerate(groups):
        ax.text(i + 0.2, g.mutated_mean + 0.03, "*" if g.significant else "n.s.", ha="center", fontsize=8)
    ax.set_xticks(x, [f"{g.dataset}\n{g.subset}\nn={g.n}" for g in groups], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("mean prediction probability (± SE)")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    to = groups[0].to if groups else "N"
    ax.set_title(title or f"seed region (L2..L7) mutated to {to}", fontsize=10)
    return save_figure(fig, base)


def plot_reductions_vs_paper(table: pd.DataFrame, base: str | Path, *, title: str | None = None) -> list[Path]:
    """``table``: ``dataset, region_set, paper, ours, ci_lo, ci_hi`` (the findings' comparison)."""
    labels = [f"{r.dataset}\n{r.region_set}" for r in table.itertuples()]
    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(1.5 + 0.9 * len(table), 3.8))
    ours = table["ours"].to_numpy(np.float64)
    err = np.vstack([ours - table["ci_lo"].to_numpy(np.float64), table["ci_hi"].to_numpy(np.float64) - ours])
    ax.bar(x - 0.2, ours, 0.4, yerr=np.nan_to_num(err), capsize=3, color=OURS_COLOR, label="ours (bootstrap CI)")
    ax.bar(x + 0.2, table["paper"], 0.4, color=PAPER_COLOR, label="paper (~, read from text)")
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("reduction in mean probability")
    ax.axhline(0, color="black", lw=0.5)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title or "Fig. 6: reductions, ours vs the paper", fontsize=10)
    return save_figure(fig, base)


def plot_pairing_vs_paper(table: pd.DataFrame, regions: tuple[str, ...], base: str | Path, *,
                          title: str | None = None) -> list[Path]:
    """``table``: one row per (dataset, subset) with a column per region (ours) and ``paper_<region>``."""
    rows = table.to_dict("records")
    fig, axes = plt.subplots(1, len(rows), figsize=(2.6 * len(rows) + 1, 3.6), sharey=True, squeeze=False)
    x = np.arange(len(regions))
    for ax, d in zip(axes[0], rows):
        ours = [d.get(reg, np.nan) for reg in regions]
        ppr = [d.get(f"paper_{reg}", np.nan) for reg in regions]
        ax.bar(x - 0.2, ours, 0.4, color=OURS_COLOR, label="ours")
        ax.bar(x + 0.2, ppr, 0.4, color=PAPER_COLOR, label="paper")
        ax.set_xticks(x, regions, rotation=60, fontsize=7)
        ax.set_title(f"{d['dataset']}\n{d['subset']} (n={d['n_pairs']})", fontsize=8)
        ax.set_ylim(0, 105)
    axes[0, 0].set_ylabel("paired positions (%)")
    axes[0, 0].legend(fontsize=7, frameon=False, loc="lower left")
    fig.suptitle(title or "Table 2: base pairing per region, ours vs the paper", fontsize=10)
    return save_figure(fig, base)
