"""The reproduce report: one self-contained HTML file plus the tables as CSV and the figures as PNG and SVG.

The report layer never computes an analysis: it takes the tables of a :class:`~mirlens.reproduce.pipeline.Results`
(per data set, the findings and the comparisons with the paper) and the reproduction's texts (:class:`ReportTexts`:
titles, notes, findings), draws them, and lays them out. The HTML has no script and loads nothing: figures are
embedded as base64 PNG, styles are inline.

Layout: the run (command, models, data, settings), a summary table of every finding and whether it held, then one
section per figure / table of the paper (ids in :data:`SECTIONS`): our figure next to the paper's values, a
one-line verdict, our table, and the exact commands and model used; at the end the time per stage.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from mirlens.report import figures as F
from mirlens.report import paper_figures as P
from mirlens.report.beyond import beyond_section
from mirlens.report.correlation_figures import plot_unit_correlations
from mirlens.report.html_table import esc as _e
from mirlens.report.html_table import html_table
from mirlens.tables import write_table, write_text

REPORT_NAME = "report.html"
REPORT_VERSION = 1

SECTIONS: dict[str, str] = {
    "fig1": "Fig. 1 — seed region (L2-6) mutated to N",
    "sfig1": "Supp. Fig. 1 — seed region mutated to G",
    "fig2": "Fig. 2 — DeepMirTar k-nt scans (k = 1..6)",
    "fig3": "Fig. 3 — DeepMirTar single-nucleotide impact and features",
    "fig4": "Fig. 4 — miRAW k-nt scans (k = 1..6)",
    "sfig3": "Supp. Fig. 3 — miRAW 7- and 8-nt scans",
    "fig5": "Fig. 5 — miRAW single-nucleotide impact and features",
    "fig6": "Fig. 6 — independent and joint effects",
    "table1": "Table 1 — layer outputs vs binding free energy (positive pairs)",
    "stable1": "Supp. Table 1 — negative pairs and the dense layer",
    "table2": "Table 2 — base pairing in the features",
}
"""Section id -> heading. Every id is an ``<section id=...>`` of the report (tests check each renders)."""


@dataclass(frozen=True)
class ReportTexts:
    """The reproduction's own words that the report lays out, handed in as data (:mod:`mirlens.reproduce` writes
    them; the report layer holds none)."""

    paper: str
    """The paper cited in the heading."""
    titles: dict[str, str]
    """Data set key -> its title (``deepmirtar`` -> ``DeepMirTar``)."""
    table1_energy: str
    """The ``energy`` of the per-unit correlations that Table 1 compares with."""
    table2_regions: tuple[str, ...]
    """Table 2's regions, in the paper's order."""
    notes: dict[str, str] = field(default_factory=dict)
    """Section id -> what usually explains a difference from the paper."""
    beyond_findings: dict[str, str] = field(default_factory=dict)
    """Data set key -> the stated finding of its "Beyond the paper" stage."""


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1280px;
padding:1em 2em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:2px solid #ddd;padding-bottom:.2em;
margin-top:2em}h3{font-size:1.02em;margin:.8em 0 .3em}
table{border-collapse:collapse;font-size:.82em;margin:.4em 0}th,td{border:1px solid #ccc;padding:2px 6px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.reproduced{background:#e2f3e2}.differs{background:#fbe3e1}.na{background:#eee}
.verdict{font-weight:600;padding:.35em .6em;border-radius:4px;display:inline-block;margin:.3em 0}
.v-all{background:#e2f3e2}.v-some{background:#fff3cd}.v-none{background:#fbe3e1}
.pair{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start}.pair>figure{flex:1 1 640px;margin:0}
.pair>.paper{flex:1 1 420px}.small>figure{flex:0 1 560px}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.8em;color:#555}pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.78em;
white-space:pre-wrap;word-break:break-all}.tw{overflow-x:auto;max-width:100%}.meta{font-size:.85em;color:#444}.scroll{max-height:420px;overflow:auto}
"""


class _Figures:
    """Draws figures into OUT/figures (PNG + SVG) and embeds the PNGs."""

    def __init__(self, out: Path):
        self.dir = out / "figures"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.made: list[Path] = []

    def embed(self, paths: list[Path], name: str, caption: str) -> str:
        self.made += paths
        png = next(p for p in paths if p.suffix == ".png")
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        svg = next((p for p in paths if p.suffix == ".svg"), None)
        files = f"figures/{png.name}" + (f", figures/{svg.name}" if svg else "")
        return (f'<figure data-figure="{_e(name)}"><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{_e(caption)} ({_e(files)})</figcaption></figure>")

    def draw(self, fn, table, name: str, caption: str, **kw) -> str:
        return self.embed(fn(table, self.dir / name, **kw), name, caption)


def _verdict_line(f: pd.DataFrame) -> str:
    tested = f[f["verdict"] != "not available"]
    n, k = len(tested), int((tested["verdict"] == "reproduced").sum())
    cls = "v-all" if n and k == n else "v-none" if k == 0 else "v-some"
    diff = tested[tested["verdict"] == "differs"]
    tail = ""
    if len(diff):
        def short(r) -> str:
            text = f"{r.claim} (paper {r.paper}, ours {r.ours})"
            return text if len(text) <= 150 else text[:147] + "..."

        tail = " — differs: " + "; ".join(short(r) for r in diff.head(3).itertuples())
        if len(diff) > 3:
            tail += f"; and {len(diff) - 3} more (table below)"
    word = "Reproduced" if n and k == n else "Partly reproduced" if k else "Not reproduced"
    return f'<div class="verdict {cls}">{word}: {k} of {n} findings hold{_e(tail)}</div>'


def _paper_box(f: pd.DataFrame) -> str:
    return ('<div class="paper"><h3>The paper vs ours</h3>'
            + html_table(f, columns=["claim", "paper", "ours", "verdict"], verdict_col="verdict") + "</div>")


def _commands(lines: list[str], models: list[str]) -> str:
    return ("<h3>Commands and model</h3><pre>" + _e("\n".join(lines)) + "</pre>"
            + "<p class='meta'>" + "<br>".join(_e(m) for m in models) + "</p>")


def _model_line(r, texts: ReportTexts) -> str:
    return (f"{texts.titles[r.name]}: model {r.model_name} ({r.model_spec}; weights sha256 {r.model_fp}"
            f"{'; ' + r.model_source if r.model_source else ''}) on {r.n_positives:,} of {r.n_positives_total:,} "
            f"positives and {r.n_negatives:,} of {r.n_negatives_total:,} negatives")


def _export_tables(results, out: Path) -> list[Path]:
    tdir = out / "tables"
    paths = []
    for ds, r in results.datasets.items():
        for name, t in r.tables.items():
            paths.append(write_table(t, tdir / f"{ds}_{name}.csv"))
    paths.append(write_table(results.findings, tdir / "findings.csv"))
    for name, t in results.comparisons.items():
        paths.append(write_table(t, tdir / f"paper_vs_ours_{name}.csv"))
    paths.append(write_table(results.timings, tdir / "timings.csv"))
    return paths


def _weights_section(results, texts: ReportTexts) -> str:
    """Which version of the original weights ran per data set and why; the findings of every weights version run
    into this OUT side by side."""
    from mirlens.model.originals import BY_KEY, PAPER_EVIDENCE, PAPER_WEIGHTS

    s = results.settings
    rows = []
    for name, r in results.datasets.items():
        card = getattr(r, "card", {}) or {}
        key = f"{card['original_model']}@{card['original_version']}" if "original_version" in card else ""
        paper_key = PAPER_WEIGHTS[name]
        v = BY_KEY.get(key)
        why = (PAPER_EVIDENCE.get(key, "") if key == paper_key else
               f"not the paper's version ({paper_key}); " + (v.note if v else "not a published original file"))
        rows.append({"data set": texts.titles[name], "model": r.model_name, "version": key or "-",
                     "commit": (v.commit[:7] + " (" + v.date + ")") if v else "-",
                     "paper's version": paper_key, "why": why})
    text = ("<section id='weights'><h2>Weights: which version ran, and why</h2><p class='meta'>Run with --weights "
            f"{_e(s.weights)}. The paper analysed miTAR1 as published on 2020-03-09 (tjgu/miTAR f38a5f7), replaced "
            "on 2020-12-28 (72274f6); miTAR2 never changed. `--weights current` runs the repository's files of "
            "today; run both into one OUT to see them side by side.</p>" + html_table(pd.DataFrame(rows)))
    byw = results.by_weights if hasattr(results, "by_weights") else {}
    if len(byw) > 1:
        order = sorted(byw, key=lambda w: (["paper", "current"].index(w) if w in ("paper", "current") else 2, w))
        byw = {w: byw[w] for w in order}
        merged = None
        for w, t in byw.items():
            t = t.set_index("id")[["claim", "paper", "ours", "verdict"]].rename(
                columns={"ours": f"ours ({w})", "verdict": f"verdict ({w})"})
            merged = t if merged is None else merged.join(t.drop(columns=["claim", "paper"]), how="outer")
        counts = "; ".join(f"{w} ({t['models'].iloc[0]}): {int((t['verdict'] == 'reproduced').sum())} of "
                           f"{int((t['verdict'] != 'not available').sum())} reproduced"
                           + (" (--quick)" if bool(t["quick"].iloc[0]) else "") for w, t in byw.items())
        ids = list(dict.fromkeys(i for t in byw.values() for i in t["id"]))  # the findings' own order
        text += (f"<h3>Side by side</h3><p class='meta'>{_e(counts)}</p>"
                 + html_table(merged.reindex(ids).reset_index()))
    return text + "</section>"


def _paper_energy(units: pd.DataFrame, energy: str) -> pd.DataFrame:
    """The per-unit correlations with Table 1's energies (all of them for tables without an energy column)."""
    return units[units["energy"] == energy] if "energy" in units else units


def render(results, out: Path, texts: ReportTexts) -> str:
    """The HTML text of the report (draws the figures into ``out/figures``)."""
    s = results.settings
    ds = results.datasets
    dm, mr = ds["deepmirtar"], ds["miraw"]
    fig = _Figures(out)
    find = results.findings
    comps = results.comparisons
    parts: list[str] = []

    def sec(sid: str) -> pd.DataFrame:
        return find[find["section"] == sid]

    # ---- header and summary
    n_ok = int((find["verdict"] == "reproduced").sum())
    n_t = int((find["verdict"] != "not available").sum())
    mode = (f"--quick: a seeded sample of {s.quick_positives} positive and {s.quick_negatives} negative pairs per "
            "data set (numbers are noisy; run without --quick for the paper's pair sets)") if s.quick else \
        "full: the paper's pair sets"
    parts.append(f"<h1>Reproducing Gu et al. 2021 with mirlens</h1><p class='meta'>{_e(texts.paper)} — "
                 f"<i>Biological features between miRNAs and their targets are unveiled from deep learning "
                 f"models</i>. Generated {datetime.now(UTC).isoformat(timespec='seconds')}.</p>")
    parts.append("<section id='run'><h2>Run</h2><pre>" + _e(s.command or "mirlens reproduce")
                 + "</pre><ul class='meta'>"
                 + "".join(f"<li>{_e(_model_line(r, texts))}</li>" for r in ds.values())
                 + f"<li>mode: {_e(mode)}</li><li>seed (sampling and bootstrap): {s.seed}; bootstrap resamples: "
                 f"{s.boot}; energy backend: {_e(s.energy_backend)}; mutagenesis engine: {_e(s.engine)}; data: "
                 f"{_e(s.data_dir or 'default data directory')}</li></ul></section>")
    parts.append(_weights_section(results, texts))
    parts.append(f"<section id='summary'><h2>Summary: {n_ok} of {n_t} findings reproduced</h2>"
                 "<p class='meta'>Every statement and number of the paper that the run checks; rules in the last "
                 "column (tolerances: effect sizes 0.05, peak positions 1 nt, correlations 0.05, pairing 1.5 "
                 "points).</p>"
                 + html_table(find.assign(section=find["section"].map(lambda x: SECTIONS.get(x, x).split(" —")[0])),
                              columns=["section", "dataset", "claim", "paper", "ours", "verdict", "rule", "why"],
                              verdict_col="verdict")
                 + "</section>")

    def section(sid: str, body_fig: str, extra: str, cmds: list[str], models: list) -> None:
        f = sec(sid)
        note = texts.notes.get(sid, "")
        note = f"<p class='meta'>{_e(note)}</p>" if note else ""
        parts.append(f"<section id='{sid}'><h2>{_e(SECTIONS[sid])}</h2>{_verdict_line(f)}{note}"
                     f"<div class='pair'>{body_fig}{_paper_box(f)}</div>{extra}"
                     f"{_commands(cmds, [_model_line(m, texts) for m in models])}</section>")

    # ---- Fig. 1 and Supp. Fig. 1
    seed = pd.concat([r.tables["seed_effects"] for r in ds.values()], ignore_index=True)
    cols = ["dataset", "subset", "to", "n", "raw_mean", "raw_se", "mutated_mean", "mutated_se", "reduction",
            "mwu_p", "p_bonferroni", "significant"]
    for sid, to in (("fig1", "N"), ("sfig1", "G")):
        t = seed[seed["to"] == to]
        section(sid, fig.draw(P.plot_seed_effects, t, f"seed_{to}", f"Seed L2-6 to {to}: mean probability ± SE"),
                "<h3>Our numbers</h3>" + html_table(t, columns=cols),
                [c for r in ds.values() for c in r.commands["seed"] if f"--to {to}" in c], list(ds.values()))

    # ---- scans and impact
    def scan_fig(r, ks, name, caption):
        t = r.tables["scan_summary"]
        return fig.draw(F.plot_scan, t[t["k"].isin(ks)], name, caption)

    def scan_table(r, ks):
        t = r.tables["scan_summary"]
        t = t[t["k"].isin(ks) & (t["position"] > 0)]
        rows = []
        for k, g in t.groupby("k"):
            for side in ("mirna", "target"):
                h = g[g["side"] == side]
                if len(h):
                    best = h.loc[(-h["change_all"]).idxmax()]
                    rows.append({"k": int(k), "side": side, "summit": best["label"],
                                 "mean drop (all pairs)": float(-best["change_all"]),
                                 "mean prob. at summit": float(best["mean_prob"])})
        meta = r.meta.get("scan", {})
        note = (f"<p class='meta'>{meta.get('passes', 0):,} forward passes in this run "
                f"({meta.get('passes_per_second', float('nan')):,.0f}/s); raw mean probability "
                f"{float(r.tables['scan_summary'].query('position == 0')['mean_prob'].iloc[0]):.4f}.</p>"
                if meta else "")
        return "<h3>Summits per window size</h3>" + html_table(pd.DataFrame(rows)) + note

    section("fig2", scan_fig(dm, range(1, 7), "scan_deepmirtar", "DeepMirTar positives, k = 1..6"),
            scan_table(dm, range(1, 7)), dm.commands["scan"], [dm])

    def impact_block(r, sid, name):
        imp, feats = r.tables["impact"], r.tables["features"]
        body = fig.draw(F.plot_impact, imp, name, f"{texts.titles[r.name]}: accumulated single-nucleotide "
                        "impact with the called features", features=feats)
        extra = ("<h3>Called features</h3>" + html_table(feats) + "<h3>Strongest impact peaks</h3>"
                 + html_table(r.tables["impact_peaks"]))
        section(sid, body, extra, r.commands["impact"], [r])

    impact_block(dm, "fig3", "impact_deepmirtar")
    section("fig4", scan_fig(mr, range(1, 7), "scan_miraw_k1-6", "miRAW positives, k = 1..6"),
            scan_table(mr, range(1, 7)), mr.commands["scan"], [mr])
    section("sfig3", scan_fig(mr, (7, 8), "scan_miraw_k7-8", "miRAW positives, k = 7 and 8"),
            scan_table(mr, range(6, 9)), mr.commands["scan"], [mr])
    impact_block(mr, "fig5", "impact_miraw")

    # ---- Fig. 6
    body = fig.draw(P.plot_reductions_vs_paper, comps["reductions"], "fig6_vs_paper",
                    "Reductions in mean probability: ours (bootstrap CI) vs the paper")
    extra = "".join(fig.draw(F.plot_joint, r.tables["joint"], f"joint_{r.name}",
                             f"{texts.titles[r.name]}: independent and joint effects (grey: sum of singles)")
                    for r in ds.values())
    jcols = ["dataset", "region_set", "kind", "n", "raw_mean", "mutated_mean", "reduction", "reduction_lo",
             "reduction_hi", "sum_of_singles", "interaction", "interaction_lo", "interaction_hi", "p_bonferroni"]
    extra = (f"<div class='pair small'>{extra}</div><h3>Our numbers</h3>"
             + html_table(pd.concat([r.tables["joint"] for r in ds.values()]), columns=jcols))
    section("fig6", body, extra, [c for r in ds.values() for c in r.commands["joint"]], list(ds.values()))

    # ---- Table 1 / Supp. Table 1
    t1c = comps["table1"]

    def unit_figures(subset: str) -> str:
        return "".join(fig.draw(plot_unit_correlations,
                                _paper_energy(r.tables["units"], texts.table1_energy).query(f"subset == '{subset}'"),
                                f"correlations_{r.name}_{subset}",
                                f"{texts.titles[r.name]} {subset}: every unit's Spearman rho with energy",
                                title=f"{texts.titles[r.name]} {subset} ({s.energy_backend} energy)",
                                formats=("png", "svg"))
                       for r in ds.values())

    body = unit_figures("positives")
    t1cols = ["energy", "layer", "level", "UnitCount", "ConstantUnits", "MinCor", "MinCor_Pval", "MaxCor",
              "MaxCor_Pval", "MinCor_Pval_BH", "MaxCor_Pval_BH"]
    ours_t1 = "".join(f"<h3>Ours: {texts.titles[r.name]} positives (all layers)</h3>"
                      + html_table(r.tables["table1"].query("subset == 'positives'"), columns=t1cols, nd=3)
                      for r in ds.values())
    extra = ("<h3>Paper vs ours, side by side</h3><p class='meta'>The paper's layout, found by testing candidates "
             "against its counts and values: 'Raw' = every non-constant conv unit (after relu; 68 x 320 and 55 x 320 "
             "units); 'CombinePerFeatureMap' = per feature map, the sum of its positively and, apart, of its "
             "negatively correlated units (2 x 320 = 640; level feature_map_signed); 'CombineAllUnits' / "
             "'Combine_AllUnits' = the sum of all positively and of all negatively correlated units (2; level "
             "all_signed). Energies (column energy): as_written = miRanda energy of the miRNA as the data files "
             "write it (3'->5' read as 5'->3'), which reproduces the paper's numbers; 5to3 = the miRNA read "
             "5'->3' (the physical duplex, Table 2's orientation; columns *_5to3). Ours beyond the paper: one sum "
             "per feature map (feature_map), one sum of all units (all), the BiLSTM's two directions (direction). "
             "P-values: Bonferroni over the tested units.</p>" + html_table(t1c, nd=3) + ours_t1)
    section("table1", f"<div>{body}</div>", extra, [c for r in ds.values() for c in r.commands["correlate"][0:2]],
            list(ds.values()))
    body = unit_figures("negatives")
    extra = ("<p class='meta'>Supplementary Table 1 is not printed in the paper; its text says the negative pairs "
             "behave like the positives and that most dense-layer min/max correlations are not significant.</p>"
             + "".join(f"<h3>Ours: {texts.titles[r.name]} negatives</h3>"
                       + html_table(r.tables["table1"].query("subset == 'negatives'"), columns=t1cols, nd=3)
                       + f"<h3>Ours: {texts.titles[r.name]} dense layer, positives</h3>"
                       + html_table(r.tables["table1"].query("subset == 'positives' and layer == 'dense'"),
                                    columns=t1cols, nd=3)
                       for r in ds.values()))
    section("stable1", f"<div>{body}</div>", extra, [c for r in ds.values() for c in r.commands["correlate"][2:4]],
            list(ds.values()))

    # ---- Table 2
    t2c = comps["table2"]
    body = fig.draw(lambda t, b: P.plot_pairing_vs_paper(t, texts.table2_regions, b), t2c, "table2_pairing",
                    "Paired positions per region: ours vs the paper")
    extra = ("<h3>Ours (paired %, G:U counted) with the paper's values (paper_*)</h3>" + html_table(t2c, nd=2)
             + "<p class='meta'>Extracted subsets: positive pairs whose drop for the feature exceeds the mean drop "
             "(our mean: " + "; ".join(
                 f"{texts.titles[r.name]} {t.subset} > {t.threshold:.3f}"
                 for r in ds.values() for t in r.tables["table2"].drop_duplicates("subset").itertuples()
                 if t.subset != "all") + f"). Energy backend: {_e(s.energy_backend)}.</p>")
    section("table2", body, extra, [c for r in ds.values() for c in r.commands["pairing"]], list(ds.values()))

    # ---- beyond the paper (its own section, no verdicts)
    parts.append(beyond_section(results, fig, texts.titles, texts.beyond_findings))

    # ---- timings
    tim = results.timings
    total = float(tim["seconds"].sum()) if len(tim) else 0.0
    parts.append("<section id='timings'><h2>Time per stage</h2><p class='meta'>Wall time of this run's stages "
                 f"(total {total:,.1f} s; 'cached' = loaded from OUT/cache). Also in timings.tsv.</p>"
                 + html_table(tim, nd=2) + "</section>")
    parts.append("<section id='files'><h2>Files</h2><p class='meta'>Tables as CSV in <code>tables/</code>, "
                 "figures as PNG and SVG in <code>figures/</code>, stage caches in <code>cache/</code>.</p>"
                 "</section>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>mirlens reproduce — Gu et al. 2021"
            f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")


def write_report(results, out: str | Path, texts: ReportTexts) -> Path:
    """Write ``report.html``, ``tables/*.csv`` and ``figures/*.png|svg`` into ``out``; returns the HTML path."""
    out = Path(out)
    _export_tables(results, out)
    text = render(results, out, texts)
    return write_text(text, out / REPORT_NAME)
