"""Why gradient attributions and the 1-nt N-scan disagree on a pair: measured per pair, summarised by bins.

Integrated Gradients and DeepLIFT share out the whole difference ``logit - logit(all-N)`` among the nucleotides;
the N-scan measures what removing *one* nucleotide costs while the others stay. The two rank a pair's nucleotides
alike when the model adds up its evidence. They part when the evidence is **redundant** (saturation): if several
nucleotides each suffice -- a seed with seven pairs where six already carry the score -- no single N costs much,
all N-scan drops are small and their order is noise, while the attributions still hand each of them its share.
The per-pair measures (:func:`pair_measures`):

* ``single_share`` -- the N-scan drops summed over the pair's nucleotides divided by ``logit - logit(all-N)``:
  about 1 for an additive pair, near 0 for a saturated one (each nucleotide is redundant), above 1 when each
  nucleotide is necessary (an AND-like pair);
* ``logit`` -- the wild-type logit: strong sites sit deeper in the flat parts of the relus and gates;
* ``seed_pairs`` -- Watson-Crick pairs at L2-L8 in the pair's duplex (when duplexes are given): a full seed is
  the most redundant evidence.

:func:`disagreement_table` bins the pairs by each measure (terciles; ``seed_pairs`` by count) and gives the mean
Spearman's rho with the N-scan per bin, and Spearman's rho between the measure and the per-pair rho.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

SEED = tuple(range(2, 9))
MEASURES = ("single_share", "logit", "seed_pairs")


def pair_measures(summary: pd.DataFrame, drops: pd.DataFrame, duplexes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per pair (``summary``: an attribution's per-pair table against the all-N reference; ``drops``: the N-scan,
    :func:`mirlens.explain.attribution.attribute.n_scan_drops`): ``single_share``, ``logit`` and, with duplexes (same
    row order as the pairs), ``seed_pairs``. See the module doc."""
    total = drops.groupby("pair")["drop"].sum()
    out = summary[["pair", "logit"]].copy()
    span = (summary["logit"] - summary["reference_logit"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["single_share"] = total.reindex(summary["pair"]).to_numpy() / span
    if duplexes is not None:
        out["seed_pairs"] = [sum(1 for p in SEED if isinstance(s, str) and len(s) >= p and s[p - 1] == "|")
                             for s in duplexes["mirna_pairing"].iloc[summary["pair"].to_numpy()]]
    return out


def disagreement_table(measures: pd.DataFrame, rho: dict[str, pd.DataFrame], *, bins: int = 3) -> pd.DataFrame:
    """One row per (measure, bin): ``measure``, ``bin`` (range of the measure), ``n`` and, per attribution method
    in ``rho`` (name -> per-pair table with ``pair``, ``spearman``), ``rho_<name>`` = mean Spearman's rho with the
    N-scan in the bin; then one row per measure with ``bin`` = "rank correlation" holding Spearman's rho between
    the measure and the per-pair rho (how strongly the measure predicts agreement)."""
    table = measures.copy()
    for name, r in rho.items():
        table = table.merge(r[["pair", "spearman"]].rename(columns={"spearman": f"rho_{name}"}), on="pair",
                            how="left")
    cols = [f"rho_{name}" for name in rho]
    rows = []
    for m in MEASURES:
        if m not in table:
            continue
        v = table[m].replace([np.inf, -np.inf], np.nan)
        if m == "seed_pairs":
            groups = pd.cut(v, [-0.5, 5.5, 6.5, 7.5], labels=["<=5", "6", "7"])
        else:
            groups = pd.qcut(v, bins, duplicates="drop")
            groups = groups.cat.rename_categories([f"{iv.left:.3g}..{iv.right:.3g}" for iv in groups.cat.categories])
        for label, g in table.groupby(groups, observed=True):
            rows.append({"measure": m, "bin": str(label), "n": len(g), **{c: g[c].mean() for c in cols}})
        corr = {}
        for c in cols:
            ok = v.notna() & table[c].notna()
            corr[c] = stats.spearmanr(v[ok], table.loc[ok, c]).statistic if ok.sum() > 2 else np.nan
        rows.append({"measure": m, "bin": "rank correlation", "n": int(v.notna().sum()), **corr})
    return pd.DataFrame(rows)
