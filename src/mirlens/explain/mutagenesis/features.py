"""Peak -> feature calling on a single-nucleotide impact profile (paper Results 3 and 4).

The paper looked at the impact bars (Fig. 3, 5), took the strongest peaks and named the contiguous high-impact
stretch around each one: ``L4-4`` (L4..L7, summit L7), ``L13-4`` (summit L14), ``LT7-5`` (summit LT9), ``L10-4``.
Here that is a rule with parameters, per side (miRNA L, target LT):

1. Peaks are local maxima of ``importance`` (the drop in probability, = -impact) that are positive and at least
   ``min_peak`` x the largest importance of both sides. The strongest ``peaks_per_side`` are kept, strongest first,
   skipping peaks inside (or within ``min_gap`` positions of) a stretch already called.
2. The stretch around a summit is either
   * ``length=None``: every contiguous position whose importance is at least ``extend`` x the summit's
     (then cut to ``max_length`` around the summit, keeping the higher side), or
   * ``length=w``: the w consecutive positions containing the summit with the largest summed importance
     (the paper's features have fixed sizes: 4 nt on the miRNA, 5 on the target).
3. Stretches shorter than ``min_length`` are dropped.

Names follow the paper: start position and length (``L13-4``); a 1-nt feature is named by its position (``L7``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mirlens.data.coordinates import MIRNA, TARGET, Region
from mirlens.errors import InputError

SIDES = (MIRNA, TARGET)


def _stretch_threshold(v: np.ndarray, s: int, extend: float, max_length: int | None) -> tuple[int, int]:
    cut = extend * v[s]
    lo = s
    while lo - 1 >= 0 and np.isfinite(v[lo - 1]) and v[lo - 1] >= cut:
        lo -= 1
    hi = s
    while hi + 1 < len(v) and np.isfinite(v[hi + 1]) and v[hi + 1] >= cut:
        hi += 1
    if max_length is not None:
        while hi - lo + 1 > max_length:  # drop the weaker end, never the summit
            if lo == s or (hi != s and v[hi] < v[lo]):
                hi -= 1
            else:
                lo += 1
    return lo, hi


def _stretch_fixed(v: np.ndarray, s: int, length: int) -> tuple[int, int]:
    w = np.nan_to_num(v, nan=-np.inf)
    best, best_lo = -np.inf, s
    for lo in range(max(0, s - length + 1), min(s, len(v) - length) + 1):
        total = w[lo:lo + length].sum()
        if total > best:
            best, best_lo = total, lo
    lo = best_lo
    return lo, min(lo + length - 1, len(v) - 1)


def call_features(
    impact: pd.DataFrame,
    *,
    peaks_per_side: int | dict[str, int] = 2,
    min_peak: float = 0.2,
    extend: float = 0.5,
    length: int | dict[str, int] | None = None,
    max_length: int | None = None,
    min_length: int = 1,
    min_gap: int = 1,
    sides: tuple[str, ...] = SIDES,
) -> pd.DataFrame:
    """Features of an impact table (from :func:`~mirlens.explain.mutagenesis.impact.accumulative_impact`); see the
    module doc.

    ``peaks_per_side`` and ``length`` may be given per side as ``{"mirna": .., "target": ..}``. Returns one row per
    feature: ``side, feature, start, stop, length, summit, summit_importance, mean_importance, rank`` (rank 1 =
    strongest summit over both sides).
    """
    needed = {"side", "position", "importance"}
    if not needed <= set(impact.columns):
        raise InputError(f"not an impact table: needs columns {sorted(needed)}")
    if not 0 <= extend <= 1 or min_peak < 0 or min_length < 1:
        raise InputError("need 0 <= extend <= 1, min_peak >= 0 and min_length >= 1")
    top = np.nanmax(impact["importance"].to_numpy(np.float64)) if len(impact) else np.nan
    rows = []
    for side in sides:
        sub = impact[impact["side"] == side].sort_values("position")
        if sub.empty or not np.isfinite(top) or top <= 0:
            continue
        pos = sub["position"].to_numpy()
        v = sub["importance"].to_numpy(np.float64)
        vv = np.nan_to_num(v, nan=-np.inf)
        left = np.concatenate([[-np.inf], vv[:-1]])
        right = np.concatenate([vv[1:], [-np.inf]])
        is_peak = (vv >= left) & (vv >= right) & (vv > 0) & (vv >= min_peak * top)
        order = [i for i in np.argsort(-vv, kind="stable") if is_peak[i]]
        n_want = peaks_per_side.get(side, 0) if isinstance(peaks_per_side, dict) else peaks_per_side
        w = length.get(side) if isinstance(length, dict) else length
        taken: list[tuple[int, int]] = []
        for s in order:
            if len(taken) >= n_want:
                break
            if any(lo - min_gap <= s <= hi + min_gap for lo, hi in taken):
                continue
            lo, hi = _stretch_fixed(v, s, w) if w else _stretch_threshold(v, s, extend, max_length)
            if hi - lo + 1 < min_length:
                continue
            taken.append((lo, hi))
            region = Region(side, int(pos[lo]), int(hi - lo + 1))
            rows.append({"side": side, "feature": str(region), "start": region.start, "stop": region.stop,
                         "length": region.length, "summit": str(Region(side, int(pos[s]), 1)),
                         "summit_importance": float(v[s]), "mean_importance": float(np.nanmean(v[lo:hi + 1]))})
    cols = ["side", "feature", "start", "stop", "length", "summit", "summit_importance", "mean_importance"]
    table = pd.DataFrame(rows, columns=cols)
    table = table.sort_values("summit_importance", ascending=False, ignore_index=True)
    table["rank"] = np.arange(1, len(table) + 1)
    table.attrs["kind"] = "features"
    return table


def impact_peaks(impact: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The ``n`` strongest local maxima of importance per side (label, importance), strongest first."""
    out = []
    for side in SIDES:
        sub = impact[impact["side"] == side].sort_values("position")
        v = np.nan_to_num(sub["importance"].to_numpy(np.float64), nan=-np.inf)
        left = np.concatenate([[-np.inf], v[:-1]])
        right = np.concatenate([v[1:], [-np.inf]])
        idx = [i for i in np.argsort(-v, kind="stable") if v[i] >= left[i] and v[i] >= right[i]][:n]
        out.append(sub.iloc[idx][["side", "position", "label", "importance"]])
    return pd.concat(out, ignore_index=True)
