"""The gene report: one self-contained HTML page of a gene table (``mirlens predict-genes``).

It renders, never computes: the gene table, its sites table, the details table (duplexes and attributions, from
:mod:`mirlens.genes.details`) and the run description (:mod:`mirlens.genes.sidecars`) go into the page as one JSON
block of columnar arrays; the page's own script (:mod:`mirlens.report.genes_page`, no library) sorts, filters and
pages the rows and draws a gene's UTR and sites when its row is clicked. Nothing is loaded from anywhere: no
script, style sheet, font or image outside the file.

What is drawn, to keep a 20,000-gene page at a few MB: on a gene's UTR line every canonical site, every called
site, every site with details, and up to :data:`NONCANONICAL_PER_GENE` other non-canonical sites that contribute
to the ranking score (the largest contributions); the rest -- non-canonical candidates that are not called and do
not contribute, typically dozens per kilobase -- are counted on the gene's panel and are all in the sites table.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.errors import InputError
from mirlens.genes.sidecars import SITE_COLUMNS, read_meta, sidecar
from mirlens.genes.sites import SITE_TYPES
from mirlens.report.genes_page import CSS, JS
from mirlens.tables import read_table, write_text

TYPE_COLORS = ("#D55E00", "#E69F00", "#CC79A7", "#0072B2", "#56B4E9", "#8c8c8c")
"""One colour per site type of :data:`mirlens.genes.sites.SITE_TYPES` (Okabe-Ito; non-canonical grey)."""
COUNT_COLUMNS = ("n_8mer", "n_7mer_m8", "n_7mer_a1", "n_6mer", "n_offset_6mer", "n_noncanonical")
REQUIRED = ("record", "mirna_id", "target_id", "rank", "ranking_score", "probability", "is_target", *COUNT_COLUMNS,
            "utr_length")
OPTIONAL_TEXT = ("gene_id", "gene_name", "transcript_id")
NONCANONICAL_PER_GENE = 10
MIN_CONTRIBUTION = 5e-4
"""A non-canonical site that is not called is drawn (genes without details) when its contribution is at least this
(it then shows as a non-zero number with three decimals)."""
KEY = ["record", "mirna_id", "target_id"]
ATTRIBUTION_STEPS = 100
"""Attributions are embedded as integers: value / (the site's largest |value|) x this, rounded (the exact numbers
are in the details table)."""

HOW_TO_READ = (
    "Each row is one (miRNA, gene) pair. <b>rank</b> orders a miRNA's genes by <b>ranking score</b> (1 = most "
    "repressed), the predicted repression (-log2 fold change when the miRNA is raised). <b>probability</b> is "
    "the calibrated chance that the gene goes down, and <b>target</b> says whether its 3'UTR holds a site the site "
    "model calls. The site columns count candidate sites by type (seed matches to miRNA nucleotides 2-8: 8mer, "
    "7mer-m8, 7mer-A1, 6mer, offset-6mer; non-canonical: positions 2-8 paired allowing G:U wobbles and one "
    "mismatch). "
    "Click a column to sort by it (again to reverse), type in the box to keep the genes whose name or id contains "
    "the text. Click a row to see that gene: its 3'UTR drawn to scale (5' left) with each candidate site as a "
    "mark coloured by type, filled when called, its size the site's contribution to the ranking score; below, for "
    "the sites with details, the duplex (miRNA 3'->5' over the target 5'->3'; | Watson-Crick, : G:U wobble, - a "
    "bulge) and the model's per-nucleotide attribution on both strands: how much each nucleotide raises (red) or "
    "lowers (blue) the site's logit in the window the model scored.")


@dataclass
class GeneReportInputs:
    genes: pd.DataFrame
    sites: pd.DataFrame
    details: pd.DataFrame | None
    meta: dict | None
    table: Path


def _check_columns(df: pd.DataFrame, needed, what: str, source: str, writer: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"not a {what}: no column(s) {', '.join(missing)} ({writer} writes it)", source=source)


def read_report_inputs(table: str | Path, *, details: bool = True) -> GeneReportInputs:
    """The gene table and its sidecars (a one-line error names a missing one and the command that writes it)."""
    table = Path(table)
    if not table.is_file():
        raise InputError(f"file not found: {table}", source=table.name)
    try:
        genes = read_table(table)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"unreadable table ({exc})", source=table.name) from None
    _check_columns(genes, REQUIRED, "predict-genes table", table.name, "`mirlens predict-genes`")
    if not len(genes):
        raise InputError("the gene table has no rows", source=table.name)
    sites_path = sidecar(table, "sites")
    if not sites_path.is_file():
        raise InputError(f"its sites table {sites_path.name} is missing (`mirlens predict-genes` writes it beside "
                         "the gene table)", source=table.name)
    try:
        sites = read_table(sites_path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"unreadable sites table ({exc})", source=sites_path.name) from None
    _check_columns(sites, SITE_COLUMNS, "sites table", sites_path.name, "`mirlens predict-genes`")
    meta = read_meta(table)
    det = None
    if details:
        det_path = sidecar(table, "details")
        if meta is not None and meta.get("details") is None and det_path.is_file():
            raise InputError(f"{det_path.name} is not from the run that wrote this table (that run had no --html); "
                             "rerun `mirlens predict-genes ... --html`, or render with --no-details",
                             source=table.name)
        if not det_path.is_file():
            raise InputError(f"its details table {det_path.name} is missing (`mirlens predict-genes ... --html` "
                             "writes it; --no-details renders the page without duplexes and attributions)",
                             source=table.name)
        from mirlens.genes.details import DETAIL_COLUMNS

        try:
            det = pd.read_parquet(det_path)
        except (ValueError, OSError) as exc:
            raise InputError(f"unreadable details table ({exc})", source=det_path.name) from None
        _check_columns(det, DETAIL_COLUMNS, "details table", det_path.name, "`mirlens predict-genes --html`")
    return GeneReportInputs(genes, sites, det, meta, table)


def _num(values, nd: int) -> list:
    """Floats rounded to ``nd`` decimals, NaN as None (JSON null)."""
    a = np.round(np.asarray(values, dtype=np.float64), nd)
    return [None if math.isnan(v) else (int(v) if v == int(v) and abs(v) < 1e15 else v) for v in a.tolist()]


def _text(series: pd.Series) -> list:
    return [None if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v) for v in series.tolist()]


def _quantised(values: list[float], scale: float) -> list[int]:
    return np.rint(np.asarray(values, dtype=np.float64) * (ATTRIBUTION_STEPS / scale)).astype(np.int64).tolist()


def _detail_entry(r, site: int) -> dict:
    cols = [int(c) for c in r.target_columns if int(c) > 0]
    m_attr, t_attr = list(r.mirna_attribution), list(r.target_attribution)
    scale = float(max(np.max(np.abs(m_attr), initial=0.0), np.max(np.abs(t_attr), initial=0.0))) or 1.0
    energy = float(r.duplex_energy)
    return {"site": site, "mirna": str(r.duplex_mirna), "match": str(r.duplex_match), "target": str(r.duplex_target),
            "mirna_len": int(sum(1 for c in r.mirna_columns if int(c) > 0)), "t0": cols[0] if cols else 0,
            "backend": str(r.duplex_backend), "energy": round(energy, 2) if math.isfinite(energy) else None,
            "window_start": int(r.window_start), "window_logit": round(float(r.window_logit), 3),
            "reference_logit": round(float(r.reference_logit), 3), "scale": float(f"{scale:.4g}"),
            "attribution_sum": round(float(np.sum(m_attr) + np.sum(t_attr)), 3),
            "mirna_attribution": _quantised(m_attr, scale), "target_attribution": _quantised(t_attr, scale)}


def details_settings(details: pd.DataFrame | None, genes: pd.DataFrame, meta: dict | None) -> dict:
    """How the details were chosen and computed: from the run description, else read off the details table (the
    worst rank and the most sites per gene among them)."""
    out = dict((meta or {}).get("details") or {})
    if details is None or not len(details):
        return out
    first = details.iloc[0]
    for k in ("model", "method", "reference"):
        out[k] = out.get(k) or str(first[k])
    if "top" not in out:
        ranks = details[KEY].merge(genes[[*KEY, "rank"]], on=KEY, how="inner")["rank"]
        out["top"] = int(ranks.max()) if len(ranks) else "?"
    if "sites_per_gene" not in out:
        out["sites_per_gene"] = int(details.groupby(KEY).size().max())
    if "duplex_backend" not in out:
        used = sorted(set(details["duplex_backend"].astype(str)) - {"ungapped"})
        out["duplex_backend"] = used[0] if used else "miranda"
    return out


def page_data(genes: pd.DataFrame, sites: pd.DataFrame, details: pd.DataFrame | None, meta: dict | None, *,
              sites_file: str = "") -> dict:
    """The page's JSON (columnar): genes in table order; the sites drawn (module doc), grouped per gene in table
    order and UTR order, each by its anchor (start = max(anchor - 7, 0) + 1, end = min(anchor + 1, UTR length));
    the details of the sites that have them (attributions as integers in -ATTRIBUTION_STEPS..ATTRIBUTION_STEPS of
    the site's largest absolute attribution, ``scale``)."""
    genes = genes.reset_index(drop=True)
    n = len(genes)
    mirnas = list(dict.fromkeys(genes["mirna_id"].astype(str)))
    m_index = {m: i for i, m in enumerate(mirnas)}
    type_code = {t: i for i, t in enumerate(SITE_TYPES)}
    codes = sites["type"].astype(str).map(type_code)
    if codes.isna().any():
        bad = sorted(set(sites["type"].astype(str)[codes.isna()]))
        raise InputError(f"unknown site type(s) in the sites table: {', '.join(bad)}")
    # what is drawn (module doc), decided before the join so that only those sites are joined
    code = codes.to_numpy(np.int64)
    contrib = sites["contribution"].to_numpy(np.float64)
    called = sites["called"].astype(bool).to_numpy()
    drawn = (code < len(SITE_TYPES) - 1) | called
    extra = ~drawn & (contrib >= MIN_CONTRIBUTION)
    g_keys = genes[KEY].assign(_gene=np.arange(n))
    cols = [*KEY, "anchor", "site_logit", "contribution", "called"]
    parts = [sites.loc[drawn | extra, cols].assign(_code=code[drawn | extra], _extra=extra[drawn | extra])]
    d = None
    if details is not None and len(details):
        d = details.reset_index(drop=True)
        # a site with details is drawn whatever its type (its row repeats the site's)
        parts.append(d[cols].assign(_code=d["type"].astype(str).map(type_code).fillna(len(SITE_TYPES) - 1)
                                    .astype(np.int64).to_numpy(), _extra=False))
    s = pd.concat(parts, ignore_index=True).drop_duplicates([*KEY, "anchor"], keep="last")
    s = s.merge(g_keys, on=KEY, how="inner")
    if s["_extra"].any():
        e = s[s["_extra"]].sort_values(["_gene", "contribution"], ascending=[True, False], kind="stable")
        s = s.drop(e.index.difference(e.groupby("_gene").head(NONCANONICAL_PER_GENE).index))
    s = s.sort_values(["_gene", "anchor"], kind="stable", ignore_index=True)
    count = np.bincount(s["_gene"].to_numpy(np.int64), minlength=n)
    detail_rows: list[dict] = []
    if d is not None:
        at = s[[*KEY, "anchor"]].assign(site_index=np.arange(len(s)))
        d = d.merge(at, on=[*KEY, "anchor"], how="inner").sort_values("site_index", kind="stable")
        d = d.drop_duplicates("site_index")
        detail_rows = [_detail_entry(r, int(r.site_index)) for r in d.itertuples(index=False)]

    g = {"mirna": [m_index[m] for m in genes["mirna_id"].astype(str)],
         "target_id": genes["target_id"].astype(str).tolist(),
         "rank": genes["rank"].astype(np.int64).tolist(),
         "ranking_score": _num(genes["ranking_score"], 4), "probability": _num(genes["probability"], 3),
         "is_target": genes["is_target"].astype(bool).astype(np.int8).tolist(),
         "counts": [genes[c].fillna(0).astype(np.int64).tolist() for c in COUNT_COLUMNS],
         "utr_length": genes["utr_length"].astype(np.int64).tolist(),
         "best_site_logit": _num(genes["best_site_logit"], 2) if "best_site_logit" in genes else [None] * n,
         "site_count": count.tolist()}
    for col in OPTIONAL_TEXT:
        if col in genes and genes[col].notna().any():
            values = _text(genes[col])
            if col == "transcript_id" and values == g["target_id"]:
                continue
            g[col] = values
    if "label" in genes and genes["label"].notna().any():
        g["label"] = _num(pd.to_numeric(genes["label"], errors="coerce"), 3)
    sd = {"anchor": s["anchor"].astype(np.int64).tolist(), "type": s["_code"].astype(np.int64).tolist(),
          "logit": _num(s["site_logit"], 2), "contribution": _num(s["contribution"], 3),
          "called": s["called"].astype(bool).astype(np.int8).tolist()}
    dinfo = details_settings(details, genes, meta)
    info = {"has_details": details is not None, "top": dinfo.get("top", "?"),
            "sites_per_gene": dinfo.get("sites_per_gene", "?"), "model": dinfo.get("model", ""),
            "method": dinfo.get("method", "deeplift-shap"), "reference": dinfo.get("reference", "N"),
            "duplex_backend": dinfo.get("duplex_backend", "miranda"), "sites_file": sites_file,
            "attribution_steps": ATTRIBUTION_STEPS}
    c = s["contribution"].to_numpy(np.float64)
    max_c = float(np.nanmax(c)) if len(c) else 0.0
    return {"version": 1, "types": list(SITE_TYPES), "colors": list(TYPE_COLORS), "mirnas": mirnas,
            "default_mirna": -1 if len(mirnas) > 1 else 0, "max_contribution": max_c if max_c > 0 else 1.0,
            "genes": g, "sites": sd, "details": detail_rows, "info": info}


def _json_for_script(data: dict) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' (escaped as \\u003c ...)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _header(meta: dict | None, genes: pd.DataFrame, details: pd.DataFrame | None, table_name: str,
            extra_sources: list[dict]) -> str:
    n_m = genes["mirna_id"].nunique()
    n_t = int(genes["is_target"].astype(bool).sum())
    parts = [f"<h1>mirlens gene report</h1><p class='meta'>{_e(table_name)}: {len(genes):,} (miRNA, gene) rows, "
             f"{n_m:,} miRNA{'s' if n_m != 1 else ''}, {n_t:,} called targets.</p>"]
    if meta is None:
        parts.append("<p class='meta'>No run description (the table has no .meta.json beside it): command, model "
                     "and data sources are not recorded.</p>")
        meta = {}
    left, right = [], []
    if meta.get("command"):
        left.append(f"<h3>Command</h3><pre class='cmd'>{_e(meta['command'])}</pre><p class='meta'>mirlens "
                    f"{_e(meta.get('mirlens', '?'))}, {_e(meta.get('created', ''))}</p>")
    model = meta.get("model") or {}
    if model:
        figs = "".join(f"<li>{_e(k)}: {_e(v)}</li>" for k, v in (model.get("figures") or {}).items())
        left.append(f"<h3>Model: {_e(model.get('name', '?'))} ({_e(model.get('architecture', ''))})</h3>"
                    f"<p class='meta'>{_e(model.get('description', ''))}</p>"
                    + (f"<ul class='meta'>{figs}</ul>" if figs else ""))
    sources = list(meta.get("sources") or []) + list(extra_sources)
    src = "".join(f"<li>{_e(s.get('name', '?'))} release {_e(s.get('release', '?'))}"
                  + (f" ({_e(s['what'])})" if s.get("what") else "") + "</li>" for s in sources)
    inputs = "".join(f"<li>{_e(i.get('role', ''))}: {_e(i.get('path', ''))}</li>" for i in meta.get("inputs") or [])
    right.append("<h3>Data</h3><ul class='meta'>" + (src or "<li>data source releases not recorded</li>")
                 + inputs + "</ul>")
    settings = meta.get("settings") or {}
    if settings:
        right.append("<h3>Settings</h3><p class='meta'>" + _e(", ".join(f"{k} {v}" for k, v in settings.items()))
                     + "</p>")
    d = details_settings(details, genes, meta)
    if details is not None:
        m = d.get("model", "?")
        right.append(f"<h3>Details</h3><p class='meta'>Duplexes ({_e(d.get('duplex_backend', 'miranda'))}) and "
                     f"per-nucleotide attributions (DeepLIFT-SHAP against the all-N reference, model {_e(m)}) for "
                     f"{len(details):,} sites: the genes ranked {_e(d.get('top', '?'))} or better for their miRNA, "
                     f"at most {_e(d.get('sites_per_gene', '?'))} sites each.</p>")
    else:
        right.append("<h3>Details</h3><p class='meta'>Rendered without the details table: no duplexes or "
                     "attributions.</p>")
    parts.append(f"<div class='grid'><div>{''.join(left)}</div><div>{''.join(right)}</div></div>")
    parts.append(f"<div class='howto'><b>How to read this.</b> {HOW_TO_READ}</div>")
    return "<header>" + "".join(parts) + "</header>"


def render_genes_report(inputs: GeneReportInputs, *, sources: list[dict] | None = None) -> str:
    """The HTML text of the page."""
    data = page_data(inputs.genes, inputs.sites, inputs.details, inputs.meta,
                     sites_file=sidecar(inputs.table, "sites").name)
    title = f"mirlens gene report - {inputs.table.name}"
    body = (_header(inputs.meta, inputs.genes, inputs.details, inputs.table.name, list(sources or []))
            + "<main><div class='controls'><label>miRNA <select id='mirna'></select></label>"
            "<label><input type='search' id='filter' placeholder='gene name or id' aria-label='filter by gene "
            "name or id'></label><label><input type='checkbox' id='targets-only'> targets only</label>"
            "<label>rows <select id='page-size'><option>25</option><option selected>50</option><option>100"
            "</option><option>200</option></select></label><button id='prev' type='button'>&larr; previous"
            "</button><button id='next' type='button'>next &rarr;</button><span id='status'></span></div>"
            "<table class='genes' id='genes'><thead><tr></tr></thead><tbody></tbody></table>"
            "<section id='panel' hidden></section></main>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; img-src data:\">"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_e(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}"
            f"<script id='mirlens-data' type='application/json'>{_json_for_script(data)}</script>"
            f"<script>{JS}</script></body></html>")


def parse_sources(items: list[str] | None) -> list[dict]:
    """``NAME=RELEASE`` items (``miRBase=22.1``) as source entries."""
    out = []
    for item in items or []:
        name, sep, release = item.partition("=")
        if not sep or not name.strip() or not release.strip():
            raise InputError(f"cannot read source {item!r}: write NAME=RELEASE (e.g. miRBase=22.1)")
        out.append({"name": name.strip(), "release": release.strip()})
    return out


def check_html_path(out: str | Path) -> Path:
    """``out`` when it names an HTML file (``.html``/``.htm``); a one-line error otherwise."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"the report is an HTML file: give a name ending in .html (got {out.name!r})")
    if out.is_dir():
        raise InputError(f"{out} is a directory: give the report's file name (e.g. {out / 'report.html'})")
    return out


def check_report_options(out: str | Path, details_top: int) -> None:
    """The options of ``predict-genes --html`` (checked before the prediction runs)."""
    check_html_path(out)
    if details_top < 0:
        raise InputError(f"--details-top must be 0 or more (got {details_top})")


def write_genes_report(table: str | Path, out: str | Path, *, details: bool = True,
                       sources: list[dict] | None = None) -> Path:
    """Render the page of a gene table and its sidecars into ``out`` (atomic); returns ``out``."""
    out = Path(out)
    check_html_path(out)
    inputs = read_report_inputs(table, details=details)
    return write_text(render_genes_report(inputs, sources=sources), out)
