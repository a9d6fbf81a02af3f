"""Matplotlib figures in the paper's layout, drawn from the tidy tables of :mod:`mirlens.explain`.

* :func:`plot_region_effects` -- Fig. 1 / Supp. Fig. 1 / Fig. 6: bars of the mean probability (with SE) of the raw
  pairs and of each mutated region set.
* :func:`plot_scan` -- Fig. 2 / 4 / Supp. Fig. 3: one panel per window size, mean probability with SE at every stop
  position, L0 (raw), L1..Ln, then LT1..LTm.
* :func:`plot_impact` -- Fig. 3 / 5: the single-nucleotide impact (drop in probability) per position.
* :func:`plot_joint` -- Fig. 6 as grouped bars: reduction of each single region and each pair (with the bootstrap CI)
  next to the sum of the singles.
* :func:`plot_saturation_logos` -- beyond the paper: sequence logos (logomaker) of saturation-mutagenesis importance,
  miRNA side L1.. and target side LT1...
* :func:`plot_compensation` -- beyond the paper: per miRNA position, the logit drops of breaking a Watson-Crick pair
  on either side and of swapping it (both sides), and the recovery of the swap (1 = pairing, <= 0 = motifs), one
  line per model.

Each function writes ``<base>.png`` and ``<base>.svg`` and returns the paths. :func:`plot_table` recognises a table
by its columns (as written by ``mirlens explain ...``) and draws the right figure.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mirlens.errors import InputError  # noqa: E402

FORMATS = ("png", "svg")
L_COLOR, LT_COLOR, RAW_COLOR = "#3b6fb6", "#c0504d", "#7f7f7f"


def save_figure(fig, base: str | Path, formats=FORMATS) -> list[Path]:
    """Write ``fig`` as ``base.png`` and ``base.svg`` (atomic per file); closes the figure."""
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = base.with_name(base.name + "." + fmt)
        tmp = path.with_name("." + path.name + ".tmp")
        fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
        tmp.replace(path)
        paths.append(path)
    plt.close(fig)
    return paths


def _axis_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted L0, L1.., then LT1.. (the paper's x axis)."""
    key = np.where(df["side"] == "target", 1000, 0) + df["position"]
    return df.assign(_key=key).sort_values("_key").drop(columns="_key")


def plot_region_effects(table: pd.DataFrame, base: str | Path, *, title: str | None = None) -> list[Path]:
    labels = ["Ori"] + list(table["region_set"])
    means = [table["raw_mean"].iloc[0]] + list(table["mutated_mean"])
    errs = [table["raw_se"].iloc[0]] + list(table["mutated_se"])
    fig, ax = plt.subplots(figsize=(1.2 + 0.8 * len(labels), 3.6))
    colors = [RAW_COLOR] + ["#4f81bd"] * len(table)
    ax.bar(range(len(labels)), means, yerr=errs, color=colors, capsize=3)
    sig = table["significant"] if "significant" in table else [False] * len(table)
    for i, (m, e, s) in enumerate(zip(means[1:], errs[1:], sig), start=1):
        ax.text(i, m + (0 if np.isnan(e) else e) + 0.01, "*" if s else "", ha="center")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean prediction probability (± SE)")
    to = table["to"].iloc[0] if "to" in table else "N"
    ax.set_title(title or f"regions mutated to {to}, n = {int(table['n'].iloc[0])}")
    return save_figure(fig, base)


def plot_scan(summary: pd.DataFrame, base: str | Path, *, title: str | None = None) -> list[Path]:
    ks = sorted(int(k) for k in summary["k"].unique())
    fig, axes = plt.subplots(len(ks), 1, figsize=(14, 2.2 * len(ks)), sharex=True, squeeze=False)
    for ax, k in zip(axes[:, 0], ks):
        sub = _axis_order(summary[summary["k"] == k])
        x = np.arange(len(sub))
        colors = np.where(sub["position"] == 0, RAW_COLOR, np.where(sub["side"] == "target", LT_COLOR, L_COLOR))
        ax.errorbar(x, sub["mean_prob"], yerr=sub["se_prob"], fmt="none", ecolor="#999999", lw=0.8)
        ax.scatter(x, sub["mean_prob"], c=colors, s=10, zorder=3)
        ax.plot(x, sub["mean_prob"], color="#444444", lw=0.6)
        ax.set_ylabel(f"{k}-nt")
        ax.set_xticks(x, sub["label"], rotation=90, fontsize=6)
    axes[0, 0].set_title(title or "mean probability after mutating a k-nt window (recorded at its stop position)")
    fig.supylabel("mean prediction probability (± SE)")
    return save_figure(fig, base)


def plot_impact(impact: pd.DataFrame, base: str | Path, *, title: str | None = None,
                features: pd.DataFrame | None = None) -> list[Path]:
    sub = _axis_order(impact)
    x = np.arange(len(sub))
    fig, ax = plt.subplots(figsize=(14, 3.4))
    colors = np.where(sub["side"] == "target", LT_COLOR, L_COLOR)
    ax.bar(x, sub["importance"].fillna(0), color=colors)
    if features is not None:
        for f in features.itertuples():
            in_f = (sub["side"] == f.side) & (sub["position"] >= f.start) & (sub["position"] <= f.stop)
            xs = x[in_f.to_numpy()]
            if len(xs):
                ax.axvspan(xs.min() - 0.5, xs.max() + 0.5, color="#f2d16b", alpha=0.35, zorder=0)
                ax.text(xs.mean(), ax.get_ylim()[1] * 0.95, f.feature, ha="center", va="top", fontsize=8)
    ax.set_xticks(x, sub["label"], rotation=90, fontsize=6)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel("mean drop in probability")
    ax.set_title(title or "single-nucleotide impact (accumulated over window sizes)")
    return save_figure(fig, base)


def plot_joint(table: pd.DataFrame, base: str | Path, *, title: str | None = None) -> list[Path]:
    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(1.5 + 1.0 * len(table), 3.8))
    red = table["reduction"].to_numpy()
    err = np.vstack([red - table["reduction_lo"].to_numpy(), table["reduction_hi"].to_numpy() - red])
    joint = (table["kind"] == "joint").to_numpy()
    ax.bar(x - 0.2, red, width=0.4, yerr=err, capsize=3, color=np.where(joint, "#c0504d", "#4f81bd"),
           label="measured (bootstrap CI)")
    sums = table["sum_of_singles"].to_numpy()
    ax.bar(x[joint] + 0.2, sums[joint], width=0.4, color="#bfbfbf", label="sum of the single effects")
    ax.set_xticks(x, table["region_set"], rotation=45, ha="right")
    ax.set_ylabel("reduction in mean probability")
    ax.axhline(0, color="black", lw=0.5)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title or f"independent and joint effects, n = {int(table['n'].iloc[0])}")
    return save_figure(fig, base)


def plot_saturation_logos(mirna: pd.DataFrame, target: pd.DataFrame, base: str | Path, *,
                          title: str | None = None) -> list[Path]:
    """Two logos from :func:`mirlens.explain.attribution.saturation.importance` matrices (index = position, columns
    A C G U): the miRNA side L1.. (5'->3') and the target side drawn 5'->3' (LTm .. LT1, so that the site reads as in
    the UTR)."""
    import logomaker

    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 0.28 * max(len(mirna), len(target)) + 2), 5.5))
    for ax, matrix, label, flip in ((axes[0], mirna, "miRNA position L (5'->3')", False),
                                    (axes[1], target, "target position LT (drawn 5'->3': LT1 = the 3' end)", True)):
        m = matrix.iloc[::-1] if flip else matrix
        df = m.reset_index(drop=True)
        logomaker.Logo(df, ax=ax, color_scheme={"A": "#2a9d3a", "C": "#1f5fbf", "G": "#f2a900", "U": "#d62728"})
        ax.set_xticks(range(len(m)))
        ax.set_xticklabels([str(p) for p in m.index], fontsize=6)
        ax.set_xlabel(label)
        ax.set_ylabel("importance (logit)")
        ax.axhline(0, color="grey", lw=0.5)
    fig.suptitle(title or "saturation mutagenesis: mean loss of the logit when the nucleotide is changed", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, base)


RECOVERY_LIMITS = (-2.0, 1.5)
"""Recovery axis of :func:`plot_compensation`; values beyond are drawn at the edge (open markers)."""


def plot_compensation(table: pd.DataFrame, base: str | Path, *, title: str | None = None) -> list[Path]:
    """Drops (wt - mutant logit) and recovery with its CI per miRNA position; one colour per ``model`` (if the
    table has that column)."""
    models = list(dict.fromkeys(table["model"])) if "model" in table else [None]
    fig, axes = plt.subplots(3, 1, figsize=(max(7.0, 0.42 * table["position"].nunique() + 2), 9.5), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    lo, hi = RECOVERY_LIMITS
    for i, m in enumerate(models):
        t = table if m is None else table[table["model"] == m]
        x = t["position"].str[1:].astype(int).to_numpy()
        c = colors[i % len(colors)]
        label = m or "model"
        axes[0].plot(x, t["drop_mirna"], "-o", color=c, ms=3, label=f"{label}: miRNA nt changed")
        axes[0].plot(x, t["drop_target"], "--s", color=c, ms=3, alpha=0.7, label=f"{label}: partner changed")
        axes[0].plot(x, t["drop_double"], ":^", color=c, ms=3, alpha=0.9, label=f"{label}: both (pair swapped)")
        for ax, side in ((axes[1], "mirna"), (axes[2], "target")):
            ok = t[f"recovery_{side}"].notna().to_numpy()  # empty where breaking the pair costs little
            y = t[f"recovery_{side}"].to_numpy()[ok]
            ylo, yhi = t[f"recovery_{side}_low"].to_numpy()[ok], t[f"recovery_{side}_high"].to_numpy()[ok]
            xs = x[ok]
            yc = np.clip(y, lo, hi)
            err = np.vstack([np.clip(yc - np.clip(ylo, lo, hi), 0, None), np.clip(np.clip(yhi, lo, hi) - yc, 0, None)])
            ax.errorbar(xs + 0.08 * i, yc, yerr=err, fmt="o", color=c, ms=4, capsize=2, label=label)
            out = (y < lo) | (y > hi)
            ax.plot(xs[out] + 0.08 * i, yc[out], "o", mfc="white", color=c, ms=6)
    axes[0].set_ylabel("mean logit drop")
    axes[0].axhline(0, color="grey", lw=0.6)
    axes[0].legend(fontsize=7, ncol=2)
    for ax, side in ((axes[1], "miRNA"), (axes[2], "target")):
        ax.axhline(1, color="#2a7a2a", lw=0.8, ls="--")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylim(lo - 0.1, hi + 0.1)
        ax.set_ylabel(f"recovery vs {side}\nsingle mutant")
    axes[1].legend(fontsize=7)
    axes[2].set_xlabel("miRNA position (L), with its Watson-Crick partner in the duplex")
    axes[2].set_xticks(sorted(set(table["position"].str[1:].astype(int))))
    fig.suptitle(title or "compensatory pairing: 1 = the swapped pair restores the score (pairing), "
                 "<= 0 = it does not (motifs); no point: breaking the pair costs < 0.5 logit", fontsize=9)
    return save_figure(fig, base)


def plot_functional(per_experiment: pd.DataFrame, base: str | Path, *, title: str | None = None) -> list[Path]:
    """The functional check (``mirlens evaluate-functional``): -Spearman and the top-100 logFC shift of each scorer
    in each experiment, side by side (one bar per scorer; the mean over experiments last)."""
    scorers = list(dict.fromkeys(per_experiment["scorer"]))
    experiments = list(dict.fromkeys(per_experiment["experiment_id"]))
    labels = [*experiments, "mean"]
    x = np.arange(len(labels))
    width = 0.8 / max(len(scorers), 1)
    fig, axes = plt.subplots(2, 1, figsize=(max(6.5, 0.9 * len(labels) + 2), 6.5), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, col, label in ((axes[0], "neg_spearman", "-Spearman(score, logFC)"),
                           (axes[1], "top100_delta", "top-100 mean logFC - all")):
        for i, name in enumerate(scorers):
            t = per_experiment[per_experiment["scorer"] == name].set_index("experiment_id")[col]
            values = [*t.reindex(experiments).to_numpy(), t.mean()]
            ax.bar(x + (i - (len(scorers) - 1) / 2) * width, values, width, color=colors[i % len(colors)],
                   label=name)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    axes[1].set_xticks(x, [label.replace("_", " ") for label in labels], rotation=30, ha="right", fontsize=7)
    fig.suptitle(title or "functional check: do the top-scored genes go down? (higher -Spearman, more negative "
                 "top-100 shift = better)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, base)


def plot_reliability(table: pd.DataFrame, base: str | Path, *, title: str | None = None) -> list[Path]:
    """Reliability diagram of gene-level probabilities (``mirlens evaluate-functional --cross-validate``): per bin
    (:func:`mirlens.evaluation.functional.reliability`; a ``scorer`` column draws one line each) the mean predicted
    probability against the observed fraction of genes that went down, bins sized by their genes."""
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    groups = table.groupby("scorer", sort=False) if "scorer" in table else [("probability", table)]
    top = 0.05
    for name, t in groups:
        t = t[t["n_genes"] > 0]
        ax.plot(t["predicted"], t["observed"], marker="o", lw=1, label=str(name))
        ax.scatter(t["predicted"], t["observed"], s=8 + 60 * np.sqrt(t["n_genes"] / t["n_genes"].max()),
                   alpha=0.3)
        top = max(top, float(np.nanmax([t["predicted"].max(), t["observed"].max()])))
    ax.plot([0, top], [0, top], color="grey", lw=0.6, ls="--")
    ax.set_xlabel("predicted probability of going down")
    ax.set_ylabel("observed fraction down (FDR < 0.05)")
    ax.legend(fontsize=7)
    ax.set_title(title or "reliability (held-out seed families)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, base)


def table_kind(table: pd.DataFrame) -> str:
    """``regions``, ``joint``, ``scan``, ``impact``, ``features`` or ``compensation`` from the columns of a
    table."""
    cols = set(table.columns)
    if {"recovery_mirna", "drop_double"} <= cols:
        return "compensation"
    if {"interaction", "sum_of_singles", "reduction"} <= cols:
        return "joint"
    if {"region_set", "mutated_mean", "raw_mean"} <= cols:
        return "regions"
    if {"k", "position", "mean_prob", "se_prob"} <= cols:
        return "scan"
    if {"position", "importance", "impact"} <= cols:
        return "impact"
    if {"feature", "summit"} <= cols:
        return "features"
    raise InputError("cannot tell which analysis this table comes from (expected a table written by "
                     "`mirlens explain regions|joint|scan|impact`)")


def plot_table(table: pd.DataFrame, out_dir: str | Path, *, name: str | None = None) -> list[Path]:
    """Draw the figure for any analysis table into ``out_dir``; returns the written files."""
    kind = table_kind(table)
    base = Path(out_dir) / (name or kind)
    if kind == "regions":
        return plot_region_effects(table, base)
    if kind == "joint":
        return plot_joint(table, base)
    if kind == "scan":
        return plot_scan(table, base)
    if kind == "impact":
        return plot_impact(table, base)
    if kind == "compensation":
        return plot_compensation(table, base)
    raise InputError("a feature table has no figure of its own; plot the impact table with --features")
