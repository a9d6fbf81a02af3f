"""Each result of a reproduce run against what the paper reports (:mod:`mirlens.reproduce.paper`): one row per
finding with the paper's value, ours, the difference and a verdict (``reproduced`` / ``differs``).

Rules (also printed in the report):

* effect sizes (Fig. 1, Fig. 6): reproduced when within :data:`~mirlens.reproduce.paper.REDUCTION_TOLERANCE`
  (0.05) of the paper's approximate value;
* peak positions (Fig. 2, 4, Supp. Fig. 3): scan profiles are the mean drop over all pairs at each stop
  position (absent positions count as unchanged); a paper position counts as found within
  :data:`~mirlens.reproduce.paper.PEAK_TOLERANCE` (1 nt);
* features (Fig. 3, 5): reproduced when the called features are exactly the paper's;
* Table 1: min and max correlation within :data:`~mirlens.reproduce.paper.CORRELATION_TOLERANCE` (0.05) of the
  paper's, in the paper's layout (:data:`~mirlens.reproduce.paper.TABLE1_OURS`: conv units, sign-split sums per
  feature map and of all units, BiLSTM units and their sign-split sums) with the paper's energies
  (:data:`~mirlens.reproduce.paper.TABLE1_ENERGY`);
* Table 2: every region of a row within :data:`~mirlens.reproduce.paper.PAIRING_TOLERANCE` (1.5 points);
* qualitative statements: reproduced when the stated ordering holds in our numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mirlens.reproduce import paper
from mirlens.reproduce.notes import WHY

COLUMNS = ["id", "section", "dataset", "claim", "paper", "ours", "difference", "verdict", "rule", "why"]
REPRODUCED, DIFFERS, MISSING = "reproduced", "differs", "not available"


class _Findings:
    def __init__(self):
        self.rows: list[dict] = []

    def add(self, fid: str, section: str, dataset: str, claim: str, paper_v, ours, ok: bool | None,
            difference: float = np.nan, rule: str = "") -> None:
        verdict = MISSING if ok is None else REPRODUCED if ok else DIFFERS
        self.rows.append({"id": fid, "section": section, "dataset": dataset, "claim": claim, "paper": str(paper_v),
                          "ours": str(ours), "difference": float(difference), "verdict": verdict, "rule": rule,
                          "why": WHY.get(fid, "") if verdict == DIFFERS else ""})

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)


def _f(x: float, nd: int = 3) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


def _pos_of(label: str) -> tuple[str, int]:
    return ("target", int(label[2:])) if label.startswith("LT") else ("mirna", int(label[1:]))


def _label(side: str, pos: int) -> str:
    return f"{'LT' if side == 'target' else 'L'}{int(pos)}"


def drop_profile(summary: pd.DataFrame, k: int, side: str) -> pd.Series:
    """Mean drop (raw - mutated, over all pairs) per stop position of one side and window size."""
    sub = summary[(summary["k"] == k) & (summary["side"] == side) & (summary["position"] > 0)]
    return pd.Series(-sub["change_all"].to_numpy(np.float64), index=sub["position"].to_numpy(int)).sort_index()


def local_peaks(v: pd.Series, n: int) -> list[int]:
    """Positions of the ``n`` highest local maxima (ties broken by position)."""
    a = np.nan_to_num(v.to_numpy(np.float64), nan=-np.inf)
    left = np.r_[-np.inf, a[:-1]]
    right = np.r_[a[1:], -np.inf]
    idx = [i for i in np.argsort(-a, kind="stable") if a[i] >= left[i] and a[i] >= right[i] and np.isfinite(a[i])]
    return [int(v.index[i]) for i in idx[:n]]


def _near(found: list[int], want: int, tol: int = paper.PEAK_TOLERANCE) -> int | None:
    hits = [p for p in found if abs(p - want) <= tol]
    return hits[0] if hits else None


def _summit(summary: pd.DataFrame, k: int, side: str, lo: int | None = None,
            hi: int | None = None) -> tuple[int, float]:
    v = drop_profile(summary, k, side)
    if lo is not None:
        v = v[(v.index >= lo) & (v.index <= hi)]
    if v.empty or not np.isfinite(v.to_numpy()).any():
        return -1, float("nan")
    p = int(v.idxmax())
    return p, float(v[p])


# --------------------------------------------------------------------------------------------------- sections
def _seed(F: _Findings, res: dict) -> None:
    tabs = {ds: r.tables.get("seed_effects") for ds, r in res.items()}
    for ds in paper.DATASETS:
        t = tabs[ds]
        want = paper.SEED_REDUCTION[ds]
        row = t[(t["to"] == "N") & (t["subset"] == "positives")]
        ours = float(row["reduction"].iloc[0]) if len(row) else np.nan
        F.add(f"fig1.{ds}.seed", "fig1", ds, f"{paper.TITLE_OF[ds]} positives: seed (L2-6) to N reduces the mean "
              f"probability by ~{want:.2f}", f"~{want:.2f}", _f(ours), abs(ours - want) <= paper.REDUCTION_TOLERANCE,
              ours - want, f"|diff| <= {paper.REDUCTION_TOLERANCE}")
    for to, section in (("N", "fig1"), ("G", "sfig1")):
        parts, ok = [], True
        for ds in paper.DATASETS:
            t = tabs[ds][tabs[ds]["to"] == to]
            for r in t.itertuples():
                parts.append(f"{paper.TITLE_OF[ds]} {r.subset[:3]} p={r.p_bonferroni:.2g}")
                ok &= bool(r.p_bonferroni < 0.05)
        F.add(f"{section}.significant", section, "both", f"seed to {to}: significant change on positive and negative "
              "pairs of both data sets (Mann-Whitney U, Bonferroni p < 0.05)", "p < 0.05 (all four)",
              "; ".join(parts), ok, rule="all four Bonferroni p < 0.05")
    # "The alteration is much larger in DeepMirTar positive pairs and miRAW negative pairs"
    alt = {}
    for ds in paper.DATASETS:
        t = tabs[ds][tabs[ds]["to"] == "N"].set_index("subset")
        for sub in ("positives", "negatives"):
            alt[(ds, sub)] = abs(float(t.loc[sub, "change_mean"])) if sub in t.index else np.nan
    ours = ", ".join(f"{paper.TITLE_OF[d]} {s[:3]} {_f(v)}" for (d, s), v in alt.items())
    ok = alt[("deepmirtar", "positives")] > alt[("miraw", "positives")] and \
        alt[("miraw", "negatives")] > alt[("miraw", "positives")]
    F.add("fig1.larger", "fig1", "both", "the seed alteration is much larger for DeepMirTar positives and miRAW "
          "negatives (than for miRAW positives)", "DM pos, MR neg > MR pos", ours, ok,
          rule="|mean change| ordering")
    # Supp. Fig. 1: "similar results" with G
    d = {}
    for ds in paper.DATASETS:
        t = tabs[ds][tabs[ds]["subset"] == "positives"].set_index("to")
        d[ds] = (float(t.loc["N", "reduction"]), float(t.loc["G", "reduction"]))
    ok = all(np.sign(n) == np.sign(g) for n, g in d.values())
    F.add("sfig1.similar", "sfig1", "both", "seed to G gives similar results (same direction of change as to N)",
          "similar", "; ".join(f"{paper.TITLE_OF[k]} N {_f(n)} / G {_f(g)}" for k, (n, g) in d.items()), ok,
          rule="same sign of the reduction on positives")


def _scans(F: _Findings, res: dict) -> None:
    sm = res["deepmirtar"].tables["scan_summary"]
    pk = paper.PEAKS["deepmirtar"]
    peaks = local_peaks(drop_profile(sm, 1, "mirna"), 3)
    found = [_near(peaks, _pos_of(x)[1]) for x in pk["k1_mirna"]]
    F.add("fig2.peaks", "fig2", "deepmirtar", "1-nt scan: two miRNA peaks, near L7 and near L14",
          " and ".join(pk["k1_mirna"]), "top miRNA peaks " + ", ".join(_label("mirna", p) for p in peaks),
          all(f is not None for f in found), rule=f"L7 and L14 (+-{paper.PEAK_TOLERANCE}) among the 3 highest "
          "miRNA local maxima")
    ks = sorted(int(k) for k in sm["k"].unique())
    tops = {k: max(_summit(sm, k, "mirna")[1], _summit(sm, k, "target")[1]) for k in ks}
    kbest = max(tops, key=tops.get)
    F.add("fig2.largest_k", "fig2", "deepmirtar", "the 5-nt mutation reaches the largest alteration",
          f"k = {pk['largest_k']}", f"k = {kbest} (max drop {_f(tops[kbest])}; k=5: {_f(tops.get(5, np.nan))})",
          kbest == pk["largest_k"], rule="k with the largest summit drop")
    p5, v5 = _summit(sm, 5, "mirna", 11, 19) if 5 in ks else (-1, np.nan)
    F.add("fig2.l14_above_half", "fig2", "deepmirtar", "5-nt: the L14 peak's summit alters the probability by more "
          "than 0.5", "> 0.5", f"{_f(v5)} at {_label('mirna', p5)}", bool(v5 > pk["largest_drop_above"]),
          v5 - pk["largest_drop_above"], rule="summit drop in L11..L19 at k = 5 > 0.5")
    kmax = max(ks)
    pm, _ = _summit(sm, kmax, "mirna", 11, 19)
    want = _pos_of(pk["l14_shift_to"])[1]
    F.add("fig2.l14_shift", "fig2", "deepmirtar", "with more nucleotides mutated the L14 summit shifts towards L16",
          pk["l14_shift_to"], f"{_label('mirna', pm)} at k = {kmax}", abs(pm - want) <= paper.PEAK_TOLERANCE,
          pm - want, rule=f"summit in L11..L19 at the largest k within +-{paper.PEAK_TOLERANCE} of L16")

    sm = res["miraw"].tables["scan_summary"]
    pk = paper.PEAKS["miraw"]
    ks = sorted(int(k) for k in sm["k"].unique())
    pt, vt = _summit(sm, 1, "target")
    pmi, vm = _summit(sm, 1, "mirna")
    top = ("target", pt) if vt >= vm else ("mirna", pmi)
    want = _pos_of(pk["k1_top"])
    F.add("fig4.k1", "fig4", "miraw", "1-nt scan: the largest drop is around LT9", pk["k1_top"],
          f"{_label(*top)} ({_f(max(vt, vm))})", top[0] == want[0] and abs(top[1] - want[1]) <= paper.PEAK_TOLERANCE,
          top[1] - want[1] if top[0] == want[0] else np.nan, rule=f"overall summit within +-{paper.PEAK_TOLERANCE}")
    p2, _ = _summit(sm, 2, "mirna")
    want = _pos_of(pk["k2_mirna"])[1]
    F.add("fig4.k2", "fig4", "miraw", "2-nt scan: a second peak appears on the miRNA, summit L11", pk["k2_mirna"],
          _label("mirna", p2), abs(p2 - want) <= paper.PEAK_TOLERANCE, p2 - want,
          rule=f"miRNA summit at k = 2 within +-{paper.PEAK_TOLERANCE}")
    k6 = 6 if 6 in ks else max(ks)
    pt6, vt6 = _summit(sm, k6, "target")
    pm6, vm6 = _summit(sm, k6, "mirna")
    for fid, side, p, claim_to in (("fig4.target_shift", "target", pt6, pk["target_shift_to"]),
                                   ("fig4.mirna_shift", "mirna", pm6, pk["mirna_shift_to"])):
        want = _pos_of(claim_to)[1]
        F.add(fid, "fig4", "miraw", f"with more nucleotides mutated the {'LT9' if side == 'target' else 'L11'} "
              f"summit shifts to {claim_to}", claim_to, f"{_label(side, p)} at k = {k6}",
              abs(p - want) <= paper.PEAK_TOLERANCE, p - want, rule=f"summit at k = {k6} within "
              f"+-{paper.PEAK_TOLERANCE}")
    F.add("fig4.l11_stronger", "fig4", "miraw", "the L11 (miRNA) peak becomes stronger than the LT9 (target) peak",
          "miRNA > target", f"miRNA {_f(vm6)} vs target {_f(vt6)} at k = {k6}", bool(vm6 > vt6), vm6 - vt6,
          rule=f"summit drops at k = {k6}")
    # Supp. Fig. 3 (k = 7, 8)
    if {6, 7, 8} <= set(ks):
        tv = {k: _summit(sm, k, "target")[1] for k in ks}
        mv = {k: _summit(sm, k, "mirna")[1] for k in ks}
        kt = max(tv, key=tv.get)
        ok = tv[7] >= max(tv.values()) - 0.01 and abs(tv[7] - tv[6]) <= 0.02
        F.add("sfig3.target_max", "sfig3", "miraw", "the LT9 peak reaches its maximum at 7-nt, almost the same as "
              "at 6-nt", "max at k = 7, ~ k = 6", f"k6 {_f(tv[6])}, k7 {_f(tv[7])}, k8 {_f(tv[8])} (max at k = {kt})",
              ok, tv[7] - tv[6], rule="k7 within 0.01 of the maximum and within 0.02 of k6")
        # "Although the L11 peak does not reach its maximum alteration, the increase on the summit slows down":
        # still growing at 7 and 8 nt, by less per added nucleotide than it grew up to 6 nt (Fig. 4)
        inc = {k: mv[k] - mv[k - 1] for k in (6, 7, 8)}
        ok = mv[8] > mv[7] > mv[6] and max(inc[7], inc[8]) < inc[6]
        F.add("sfig3.mirna_slows", "sfig3", "miraw", "the L11 peak keeps growing to 8-nt but its increase slows down",
              "growing, slower", f"k5 {_f(mv[5])}, k6 {_f(mv[6])}, k7 {_f(mv[7])}, k8 {_f(mv[8])} (increments "
              f"{_f(inc[6])}, {_f(inc[7])}, {_f(inc[8])})", ok, max(inc[7], inc[8]) - inc[6],
              rule="k8 > k7 > k6 and the 7- and 8-nt increments both below the 6-nt increment (k6 - k5)")
    else:
        F.add("sfig3.target_max", "sfig3", "miraw", "7- and 8-nt scans", "k = 7, 8", "not scanned", None)


def _features(F: _Findings, res: dict) -> None:
    for ds, section in (("deepmirtar", "fig3"), ("miraw", "fig5")):
        feats = res[ds].tables["features"]
        ours = tuple(feats["feature"])
        want = paper.FEATURES[ds]
        F.add(f"{section}.features", section, ds, f"{paper.TITLE_OF[ds]}: features from the single-nucleotide "
              f"impact: {', '.join(want)}", ", ".join(want), ", ".join(ours) or "none", set(ours) == set(want),
              rule="the same features (start and length; sizes are the paper's, 4 nt miRNA / 5 nt target, so "
              "this tests where they sit)")
        if ds == "deepmirtar":
            summits = list(feats.loc[feats["side"] == "mirna", "summit"])
            found = [_near([_pos_of(s)[1] for s in summits], _pos_of(x)[1]) for x in ("L7", "L14")]
            F.add("fig3.summits", section, ds, "L7 and L14 show the strongest impact within the two features",
                  "L7, L14", ", ".join(summits) or "none", all(f is not None for f in found),
                  rule=f"feature summits within +-{paper.PEAK_TOLERANCE}")


def _joint(F: _Findings, res: dict) -> pd.DataFrame:
    rows = []
    for ds in paper.DATASETS:
        t = res[ds].tables["joint"].set_index("region_set")
        for name, want in paper.REDUCTIONS[ds].items():
            key = name if name in t.index else "+".join(reversed(name.split("+")))
            ours = float(t.loc[key, "reduction"]) if key in t.index else np.nan
            lo = float(t.loc[key, "reduction_lo"]) if key in t.index else np.nan
            hi = float(t.loc[key, "reduction_hi"]) if key in t.index else np.nan
            ok = None if not np.isfinite(ours) else abs(ours - want) <= paper.REDUCTION_TOLERANCE
            rows.append({"dataset": ds, "region_set": name, "paper": want, "ours": ours, "ci_lo": lo, "ci_hi": hi,
                         "difference": ours - want})
            F.add(f"fig6.{ds}.{name}", "fig6", ds, f"{paper.TITLE_OF[ds]}: mutating {name} reduces the mean "
                  f"probability by ~{want:.2f}", f"~{want:.2f}", f"{_f(ours)} [{_f(lo)}, {_f(hi)}]", ok, ours - want,
                  rule=f"|diff| <= {paper.REDUCTION_TOLERANCE}")
    t = res["deepmirtar"].tables["joint"].set_index("region_set")
    if "L4-4+L13-4" in t.index:
        r = t.loc["L4-4+L13-4"]
        F.add("fig6.deepmirtar.superadditive", "fig6", "deepmirtar", "the joint effect of L4-4 and L13-4 exceeds the "
              "sum of their single effects (0.72 > 0.48 + 0.16)", "joint > sum",
              f"joint {_f(r['reduction'])} vs sum {_f(r['sum_of_singles'])}; interaction {_f(r['interaction'])} "
              f"[{_f(r['interaction_lo'])}, {_f(r['interaction_hi'])}]", bool(r["interaction_lo"] > 0),
              float(r["interaction"]), rule="bootstrap CI of the interaction above 0")
    if {"seed", "L4-4"} <= set(t.index):
        a, b = float(t.loc["seed", "reduction"]), float(t.loc["L4-4", "reduction"])
        F.add("fig6.deepmirtar.l44_like_seed", "fig6", "deepmirtar", "L4-4 and the seed have similar effects (L4-4 "
              "is the key element of the seed)", "~equal", f"seed {_f(a)}, L4-4 {_f(b)}",
              abs(a - b) <= paper.REDUCTION_TOLERANCE, b - a, rule=f"|diff| <= {paper.REDUCTION_TOLERANCE}")
    t = res["miraw"].tables["joint"].set_index("region_set")
    if {"LT7-5", "seed+LT7-5"} <= set(t.index):
        a, b = float(t.loc["LT7-5", "reduction"]), float(t.loc["seed+LT7-5", "reduction"])
        F.add("fig6.miraw.lt75_replaces_seed", "fig6", "miraw", "seed + LT7-5 is about LT7-5 alone (LT7-5 may replace "
              "the seed's role)", "~equal", f"LT7-5 {_f(a)}, seed+LT7-5 {_f(b)}",
              abs(a - b) <= paper.REDUCTION_TOLERANCE, b - a, rule=f"|diff| <= {paper.REDUCTION_TOLERANCE}")
    return pd.DataFrame(rows)


def _t1_row(t1: pd.DataFrame, subset: str, layer: str, level: str,
            energy: str = paper.TABLE1_ENERGY) -> pd.Series | None:
    sel = t1[(t1["subset"] == subset) & (t1["layer"] == layer) & (t1["level"] == level)]
    if "energy" in sel:
        sel = sel[sel["energy"] == energy]
    return None if sel.empty else sel.iloc[0]


def _other_energy(t1: pd.DataFrame, layer: str, level: str) -> dict:
    """Min / max of the same row with the miRNA read 5'->3' (our energies; the paper's are as written)."""
    r = _t1_row(t1, "positives", layer, level, energy="5to3")
    return {"UnitCount_5to3": int(r["UnitCount"]) if r is not None else 0,
            "MinCor_5to3": float(r["MinCor"]) if r is not None else np.nan,
            "MaxCor_5to3": float(r["MaxCor"]) if r is not None else np.nan}


def _maxabs(row: pd.Series | None) -> float:
    if row is None:
        return np.nan
    return float(np.nanmax(np.abs([row["MinCor"], row["MaxCor"]])))


def _table1(F: _Findings, res: dict) -> pd.DataFrame:
    rows = []
    for ds in paper.DATASETS:
        t1 = res[ds].tables["table1"]
        for (layer, level), (count, mn, mnp, mx, mxp) in paper.TABLE1[ds].items():
            our_layer, our_level = paper.TABLE1_OURS[(layer, level)]
            r = _t1_row(t1, "positives", our_layer, our_level)
            o_n = int(r["UnitCount"]) if r is not None else 0
            o_mn = float(r["MinCor"]) if r is not None else np.nan
            o_mx = float(r["MaxCor"]) if r is not None else np.nan
            diff = max(abs(o_mn - mn), abs(o_mx - mx))
            ok = diff <= paper.CORRELATION_TOLERANCE
            ours_s, paper_s = f"{_f(o_mn, 2)} / {_f(o_mx, 2)} ({o_n:,} units)", f"{mn:.2f} / {mx:.2f} ({count:,} units)"
            name = paper.TABLE1_LEVEL_NAMES[(layer, level)]
            rows.append({"dataset": ds, "paper_layer": layer, "paper_level": name, "our_layer": our_layer,
                         "our_level": our_level, "paper_UnitCount": count, "UnitCount": o_n, "paper_MinCor": mn,
                         "MinCor": o_mn, "paper_MinCor_Pval": mnp,
                         "MinCor_Pval": float(r["MinCor_Pval"]) if r is not None else np.nan,
                         "paper_MaxCor": mx, "MaxCor": o_mx, "paper_MaxCor_Pval": mxp,
                         "MaxCor_Pval": float(r["MaxCor_Pval"]) if r is not None else np.nan,
                         **_other_energy(t1, our_layer, our_level)})
            F.add(f"table1.{ds}.{layer}.{level}", "table1", ds, f"{paper.TITLE_OF[ds]} positives, {layer} {name}: "
                  "min / max Spearman correlation with energy", paper_s, ours_s,
                  None if r is None else bool(ok), diff, rule=f"within {paper.CORRELATION_TOLERANCE}")
    # qualitative: summing CNN units strengthens the correlation, summing BiRNN units weakens it
    for subset, section in (("positives", "table1"), ("negatives", "stable1")):
        for ds in paper.DATASETS:
            t1 = res[ds].tables["table1"]
            u, fm, al = (_maxabs(_t1_row(t1, subset, "conv", lv))
                         for lv in ("unit", "feature_map_signed", "all_signed"))
            F.add(f"{section}.{ds}.cnn_sum", section, ds, f"{paper.TITLE_OF[ds]} {subset}: summing CNN units "
                  "(per feature map, then all) increases the correlation", "unit < map < all",
                  f"{_f(u, 2)} < {_f(fm, 2)} < {_f(al, 2)}", bool(u < fm < al), rule="max |rho| per level")
            bu, bd = (_maxabs(_t1_row(t1, subset, "bilstm", lv)) for lv in ("unit", "all_signed"))
            F.add(f"{section}.{ds}.rnn_sum", section, ds, f"{paper.TITLE_OF[ds]} {subset}: summing BiRNN units reduces "
                  "the correlation", "summed < unit", f"{_f(bd, 2)} < {_f(bu, 2)}", bool(bd < bu),
                  rule="max |rho|: sign-split sums vs units")
    # Supp. Table 1: dense layer mostly not significant
    n, ns = 0, 0
    parts = []
    for ds in paper.DATASETS:
        t1 = res[ds].tables["table1"]
        for subset in ("positives", "negatives"):
            for level in ("unit", "all_signed"):
                r = _t1_row(t1, subset, "dense", level)
                if r is None or not np.isfinite(r["MinCor"]):
                    continue
                # a level with one unit (all dense units correlate with one sign) has one correlation, not two
                for col in ("MinCor_Pval", "MaxCor_Pval")[:1 if int(r["UnitCount"]) == 1 else 2]:
                    n += 1
                    ns += bool(r[col] > 0.05)
        parts.append(ds)
    F.add("stable1.dense", "stable1", "both", "dense layer: most min / max correlations are not significant "
          "(p > 0.05)", "most p > 0.05", f"{ns} of {n} p > 0.05", None if n == 0 else ns > n / 2,
          rule="more than half of the dense-layer min/max Bonferroni p-values > 0.05")
    return pd.DataFrame(rows)


def _table2(F: _Findings, res: dict) -> pd.DataFrame:
    rows = []
    ours_pct = {}
    for ds in paper.DATASETS:
        t2 = res[ds].tables["table2"]
        for subset, g in t2.groupby("subset", sort=False):
            ours_pct[(ds, subset)] = dict(zip(g["region"], g["paired_pct"]))
            n = int(g["n_pairs"].iloc[0])
            want = paper.TABLE2.get((ds, subset))
            rec = {"dataset": ds, "subset": subset, "n_pairs": n}
            diffs = []
            for reg in paper.TABLE2_REGIONS:
                o = float(ours_pct[(ds, subset)].get(reg, np.nan))
                rec[reg] = o
                if want:
                    rec[f"paper_{reg}"] = want[reg]
                    diffs.append(o - want[reg])
            rows.append(rec)
            if want:
                worst = float(np.nanmax(np.abs(diffs)))
                F.add(f"table2.{ds}.{subset}", "table2", ds, f"{paper.TITLE_OF[ds]} {subset} ({n:,} pairs): "
                      "paired % of L7, L14, L4-4, L13-4, seed, L10-4, LT7-5",
                      " ".join(f"{want[r]:.1f}" for r in paper.TABLE2_REGIONS),
                      " ".join(_f(ours_pct[(ds, subset)].get(r, np.nan), 1) for r in paper.TABLE2_REGIONS),
                      worst <= paper.PAIRING_TOLERANCE, worst, rule=f"every region within "
                      f"{paper.PAIRING_TOLERANCE} points (difference = largest)")
    # qualitative
    best = {k: max(v, key=lambda r: v[r]) for k, v in ours_pct.items()}
    F.add("table2.l44_highest", "table2", "both", "pairing is highest at L4-4 in every row", "L4-4",
          "; ".join(f"{d} {s}: {b}" for (d, s), b in best.items()), all(b == "L4-4" for b in best.values()),
          rule="argmax region per row")
    dm, mr = ours_pct.get(("deepmirtar", "all"), {}), ours_pct.get(("miraw", "all"), {})
    if dm and mr:
        F.add("table2.lt75_miraw", "table2", "both", "LT7-5 pairing is much higher on miRAW than on DeepMirTar "
              "(86.5% vs 54.5%)", "miRAW >> DeepMirTar", f"{_f(mr['LT7-5'], 1)} vs {_f(dm['LT7-5'], 1)}",
              bool(mr["LT7-5"] - dm["LT7-5"] > 10), mr["LT7-5"] - dm["LT7-5"], rule="difference > 10 points")
    checks = [("deepmirtar", "extracted:L13-4", "seed", +1, "seed pairing higher in the L13-4-extracted pairs"),
              ("deepmirtar", "extracted:L13-4", "L13-4", -1, "L13-4 pairing lower in the L13-4-extracted pairs"),
              ("miraw", "extracted:L10-4", "L10-4", -1, "L10-4 pairing lower in the L10-4-extracted pairs"),
              ("miraw", "extracted:LT7-5", "LT7-5", +1, "LT7-5 pairing higher in the LT7-5-extracted pairs")]
    for ds, subset, reg, sign, claim in checks:
        a, e = ours_pct.get((ds, "all"), {}), ours_pct.get((ds, subset), {})
        if not a or not e:
            F.add(f"table2.{ds}.{subset}.{reg}", "table2", ds, claim, "", "no extracted pairs", None)
            continue
        d = e[reg] - a[reg]
        pd_ = paper.TABLE2[(ds, subset)][reg] - paper.TABLE2[(ds, "all")][reg]
        F.add(f"table2.{ds}.{subset}.{reg}", "table2", ds, f"{paper.TITLE_OF[ds]}: {claim} than in all pairs",
              f"{pd_:+.2f} points", f"{d:+.2f} points", bool(sign * d > 0), d, rule="sign of the difference")
    return pd.DataFrame(rows)


def evaluate(res: dict) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """``(findings, comparisons)`` for the per-data-set results of a run (``{ds: DatasetResult}``)."""
    F = _Findings()
    _seed(F, res)
    _scans(F, res)
    _features(F, res)
    red = _joint(F, res)
    t1 = _table1(F, res)
    t2 = _table2(F, res)
    return F.table(), {"reductions": red, "table1": t1, "table2": t2}
