"""Accumulative single-nucleotide impact (paper Methods, formulas 1-3; Fig. 3 and Fig. 5).

From a scan summary, ``e^k_p`` is the mean change of the k-nt window stopping at position p: mutated - raw (so a
nucleotide the model relies on has a *negative* e). Positions are per side (miRNA L, target LT); ``e^k_0 = 0``
(an empty window changes nothing).

* 1-nt effect: ``e^1_p``.
* Context of c nucleotides on the left (formula 1): ``e^{c,l}_p = e^{c+1}_p - e^c_{p-1}`` -- the (c+1)-nt window
  ending at p minus the c-nt window ending just before it: what p adds to its c left neighbours.
* Context of c nucleotides on the right (formula 2): ``e^{c,r}_p = e^{c+1}_{p+c} - e^c_{p+c}`` -- the (c+1)-nt
  window starting at p minus the c-nt window starting just after it. Undefined (NaN) where ``p + c`` is beyond the
  side's last position (there is no right context there).
* Combined context impact (formula 3): **the mean** ``(e^{c,l}_p + e^{c,r}_p) / 2`` (the mean of whichever is
  defined). The printed formula 3 reads ``(e^{3l} - e^{3r}) / 2``; with a minus, a nucleotide that matters equally
  in both contexts would score zero and the text ("we summed the differences ... and used the average") describes
  a sum, so the minus is taken as an extraction error of the typeset formula.
* Overall impact of p: the mean of the 1-nt effect and the combined impacts for every context size
  ``c = 1 .. K-1`` (K = largest window scanned). ``importance = -impact`` is the drop in probability
  (positive = the nucleotide matters), which the figures and the feature caller use.

e^k_p is, by default (``over="all"``), the mean change over *all* pairs, a pair without position p counting as
unchanged (the scan summary's ``change_all`` = coverage x the mean over the pairs that have p): a position held by
few pairs (L25 exists in 16 of the 32,660 miRAW positives) weighs by its coverage, so its noisy mean cannot become
a feature (with the unweighted mean, ``over="present"`` / ``mean_change``, L25 is miRAW's strongest miRNA "peak").
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mirlens.data.coordinates import MIRNA, TARGET
from mirlens.errors import InputError
from mirlens.explain.mutagenesis.scan import position_label

SIDES = (MIRNA, TARGET)


def _effect_matrix(summary: pd.DataFrame, side: str, ks: list[int], col: str) -> np.ndarray:
    """``E[k, p]`` for k in 0..K, p in 0..P (NaN where not scanned or no pair has p; E[k, 0] = 0)."""
    sub = summary[(summary["side"] == side) & (summary["position"] > 0)]
    n_pos = int(sub["position"].max()) if len(sub) else 0
    e = np.full((max(ks) + 1, n_pos + 1), np.nan)
    e[:, 0] = 0.0
    vals = sub[col].to_numpy(np.float64)
    if "n" in sub:
        vals = np.where(sub["n"].to_numpy() > 0, vals, np.nan)
    e[sub["k"].to_numpy(), sub["position"].to_numpy()] = vals
    return e


def accumulative_impact(summary: pd.DataFrame, *, over: str = "all") -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(impact, contexts)`` from a scan summary.

    ``impact``: one row per (side, position): ``impact`` (mean over the 1-nt effect and every context size; negative
    = drop), ``importance`` (= -impact), ``effect_1nt`` and ``n_terms``. ``contexts``: one row per (side,
    position, context size c) with ``left``, ``right`` and ``combined`` (c = 0 holds the 1-nt effect).
    """
    needed = {"side", "k", "position", "mean_change"}
    if not needed <= set(summary.columns):
        raise InputError(f"not a scan summary: needs columns {sorted(needed)}")
    if over not in ("all", "present"):
        raise InputError(f"over must be 'all' (coverage-weighted) or 'present', not {over!r}")
    col = "change_all" if over == "all" else "mean_change"
    ks = sorted(int(k) for k in summary["k"].unique())
    if ks[0] != 1 or ks != list(range(1, ks[-1] + 1)):
        raise InputError(f"the accumulative impact needs window sizes 1..K without gaps; the scan has {ks}")
    rows, ctx_rows = [], []
    for side in SIDES:
        if not (summary["side"] == side).any() or not ((summary["side"] == side) & (summary["position"] > 0)).any():
            continue
        e = _effect_matrix(summary, side, ks, col)
        n_pos = e.shape[1] - 1
        p = np.arange(1, n_pos + 1)
        terms = [e[1, p]]
        ctx_rows.append(pd.DataFrame({"side": side, "position": p, "context": 0, "left": e[1, p],
                                      "right": e[1, p], "combined": e[1, p]}))
        for c in range(1, ks[-1]):
            left = e[c + 1, p] - e[c, p - 1]
            right = np.full(n_pos, np.nan)
            ok = p + c <= n_pos
            right[ok] = e[c + 1, p[ok] + c] - e[c, p[ok] + c]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                combined = np.nanmean(np.vstack([left, right]), axis=0)
            terms.append(combined)
            ctx_rows.append(pd.DataFrame({"side": side, "position": p, "context": c, "left": left, "right": right,
                                          "combined": combined}))
        stack = np.vstack(terms)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            impact = np.nanmean(stack, axis=0)
        rows.append(pd.DataFrame({"side": side, "position": p,
                                  "label": [position_label(side, int(q)) for q in p],
                                  "impact": impact, "importance": -impact, "effect_1nt": e[1, p],
                                  "n_terms": np.isfinite(stack).sum(axis=0)}))
    if not rows:
        raise InputError("the scan summary holds no positions")
    impact = pd.concat(rows, ignore_index=True)
    impact.attrs["kind"] = "impact"
    contexts = pd.concat(ctx_rows, ignore_index=True)
    contexts.insert(2, "label", [position_label(s, int(q)) for s, q in zip(contexts["side"], contexts["position"])])
    return impact, contexts
