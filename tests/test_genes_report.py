"""The gene report (``mirlens report genes``, ``predict-genes --html``): the details analysis (duplex text and
attributions of the shown sites), the sidecars, the CLI's errors, and the page itself in real headless Chromium --
no console error, no network request, sorting, filtering, a gene's panel, escaping, and a 20,000-gene page's size
and load time.

Gene tables come from tests/gene_tables.py (the schema of ``predict-genes``, made without a model). Chromium:
Debian's ``chromium`` driven by Playwright's Python package (.ci/run installs it); under CI=true a missing browser
fails the tests. ``MIRLENS_GENES_SCREENSHOT=PATH`` also copies the screenshot of the example page's let-7a gene
there (the README's docs/images/genes_report.png is made so).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import CHROMIUM, require_browser
from gene_tables import PLANTED, example_tables, synthetic_details, synthetic_tables
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.examples import example_path
from mirlens.genes.details import DETAIL_COLUMNS, choose_sites, duplex_layout, site_details, ungapped_layout
from mirlens.genes.sidecars import SITE_COLUMNS, read_meta, sidecar
from mirlens.tables import read_table, write_table

LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
DETAILS_TOP = 2
"""Details for the genes ranked 1 and 2 per miRNA in the example page (keeps the attributions quick)."""

_register()


def _invoke(args: list[str], code: int = 0):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code, result.output + repr(result.exception)
    if code:
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    return result


# ---------------------------------------------------------------------------------------------------- details


def test_sidecar_names_follow_the_table():
    assert sidecar("d/genes.tsv", "sites") == Path("d/genes.sites.tsv")
    assert sidecar("d/genes.csv", "sites") == Path("d/genes.sites.tsv")
    assert sidecar("d/genes.parquet", "sites") == Path("d/genes.sites.parquet")
    assert sidecar("d/x.genes.tsv", "details") == Path("d/x.genes.details.parquet")
    assert sidecar("d/genes.parquet", "meta") == Path("d/genes.meta.json")


def test_ungapped_layout_of_an_8mer():
    utr = "AAAAC" + "CUACCUCA" + "GGG"  # let-7a 8mer: target of miRNA positions 8..2 then the A1
    anchor = 12
    lay = ungapped_layout(LET7, utr, anchor)
    assert len(lay.mirna) == len(lay.match) == len(lay.target) == len(lay.mirna_columns) == len(lay.target_columns)
    assert lay.mirna.strip() == LET7[::-1]  # 3'->5'
    # L2..L8 pair Watson-Crick with UTR positions anchor..anchor-6 (1-based anchor+1-(p-1))
    for c, (p, u) in enumerate(zip(lay.mirna_columns, lay.target_columns)):
        if 2 <= p <= 8:
            assert u == anchor + 1 - (p - 1) and lay.match[c] == "|"
        if p and u:
            assert lay.mirna[c] == LET7[p - 1] and lay.target[c] == utr[u - 1]


def test_duplex_layout_with_a_bulge_and_a_mismatch():
    mirna, utr = "ACGUACGU", "GGACGUUUACAUCC"
    # miRNA index j faces UTR index i; a 2-nt target bulge between j=4 and j=3
    aligned = [(7, 2), (6, 3), (5, 4), (4, 5), (3, 8), (2, 9), (0, 11)]
    lay = duplex_layout(mirna, utr, aligned, 0, len(utr))
    assert lay.mirna.replace(" ", "").replace("-", "") == mirna[::-1]
    assert lay.target.replace(" ", "").replace("-", "") == utr
    assert "--" in lay.mirna  # the bulge faces gaps
    shown = [u for u in lay.target_columns if u]
    assert shown == list(range(shown[0], shown[0] + len(shown)))  # consecutive UTR positions
    j1 = lay.mirna_columns.index(2)  # L2 (C) faces UTR index 10 (A) between two aligned columns: a mismatch
    assert lay.target_columns[j1] == 11 and lay.match[j1] == " "
    with pytest.raises(ValueError):
        duplex_layout(mirna, utr, [(7, 5), (6, 3)], 0, len(utr))


def test_choose_sites_takes_the_top_genes_and_called_sites_first():
    genes, sites, _ = example_tables()
    assert list(sites.columns) == SITE_COLUMNS  # the fixture writes the sites table predict-genes writes
    chosen = choose_sites(genes, sites, top=1, sites_per_gene=3)
    top1 = genes[genes["rank"] == 1]
    assert set(zip(chosen["mirna_id"], chosen["target_id"])) == set(zip(top1["mirna_id"], top1["target_id"]))
    assert chosen.groupby(["record", "mirna_id", "target_id"]).size().max() <= 3
    two = chosen[(chosen["mirna_id"] == "hsa-let-7a-5p") & (chosen["target_id"] == "UTR_let7_two_sites")]
    assert (two["type"] == "8mer").sum() == 2  # both called 8mers among the 3
    assert list(two["start"]) == sorted(two["start"])
    assert choose_sites(genes, sites, top=0).empty


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory):
    """The example gene table and its sites as predict-genes makes them (the default model), its run description and
    details (top 2 genes per miRNA)."""
    from mirlens.genes.details import details_info
    from mirlens.genes.sidecars import run_meta, write_meta
    from mirlens.genes.table import gene_table
    from mirlens.model.store import load_model

    out = tmp_path_factory.mktemp("genes")
    pairs = example_tables()[2]
    net, meta = load_model("pairing", with_meta=True)
    genes, sites = gene_table(net, pairs, meta)
    table = out / "genes.tsv"
    write_table(genes, table)
    write_table(sites, sidecar(table, "sites"))
    details = site_details(genes, sites, pairs, net, model_name="pairing", top=DETAILS_TOP, sites_per_gene=4)
    write_table(details, sidecar(table, "details"), "parquet")
    run = run_meta(table, command="mirlens predict-genes --output genes.tsv --mirna mirnas.fa --targets utrs.fa "
                   "--html genes.html", model_meta=meta, settings={"threshold": 0.5},
                   inputs=[("miRNAs", "mirnas.fa"), ("3'UTRs", "utrs.fa")], sources=[],
                   details=details_info(details, top=DETAILS_TOP, sites_per_gene=4, model_name="pairing",
                                        backend="miranda", file=sidecar(table, "details").name))
    write_meta(run, table)
    return out


def test_details_of_the_planted_let7_sites(example_dir):
    details = pd.read_parquet(sidecar(example_dir / "genes.tsv", "details"))
    assert list(details.columns) == DETAIL_COLUMNS
    two = details[(details["mirna_id"] == "hsa-let-7a-5p") & (details["target_id"] == "UTR_let7_two_sites")]
    eights = two[two["type"] == "8mer"]
    assert len(eights) == 2
    for r in eights.itertuples():
        assert r.duplex_backend == "miranda" and r.duplex_energy < -15
        assert len(r.duplex_mirna) == len(r.duplex_match) == len(r.duplex_target)
        assert r.duplex_mirna.replace(" ", "").replace("-", "") == LET7[::-1]
        cols = list(r.mirna_columns)
        # the seed (L2-L8) pairs Watson-Crick with the site's own nucleotides
        for p in range(2, 9):
            c = cols.index(p)
            assert r.duplex_match[c] == "|" and r.target_columns[c] == r.anchor + 1 - (p - 1)
        assert r.window_logit > 0  # the pairing model calls a planted 8mer
        total = sum(r.mirna_attribution) + sum(r.target_attribution)
        assert total == pytest.approx(r.window_logit - r.reference_logit, abs=1e-6)  # DeepLIFT-SHAP is exact
        assert len(r.mirna_attribution) == len(LET7) and len(r.target_attribution) == 50
        # the seed match carries the target attribution: more than the rest of the window together
        w = np.asarray(r.target_attribution)
        seed = [r.anchor - (p - 1) - r.window_start for p in range(2, 9)]
        assert w[seed].sum() > np.delete(w, seed).sum()
    # the 45-nt fragment: the window runs past the UTR, where it reads N with attribution 0
    short = details[(details["target_id"] == "UTR_short") & (details["type"] == "8mer")].iloc[0]
    outside = [i for i in range(50) if not 0 <= short.window_start + i < 45]
    assert outside and set(short.window[i] for i in outside) == {"N"}
    assert all(short.target_attribution[i] == 0 for i in outside)
    # only the genes ranked <= DETAILS_TOP, at most 4 sites each
    genes = read_table(example_dir / "genes.tsv")
    ranked = details.merge(genes[["record", "mirna_id", "target_id", "rank"]], on=["record", "mirna_id", "target_id"])
    assert ranked["rank"].max() <= DETAILS_TOP
    assert ranked.groupby(["mirna_id", "target_id"]).size().max() <= 4


def test_details_refuse_sites_of_other_sequences(example_dir):
    from mirlens.errors import InputError
    from mirlens.model.store import load_model

    genes, sites, pairs = example_tables()
    sites = sites.assign(anchor=sites["anchor"] + 10_000)
    with pytest.raises(InputError, match="outside"):
        site_details(genes, sites, pairs, load_model("pairing"), top=1, sites_per_gene=1)


# ---------------------------------------------------------------------------------------------------- CLI


def test_report_cli_writes_a_self_contained_page(example_dir, tmp_path):
    page = tmp_path / "report.html"
    out = _invoke(["report", "genes", str(example_dir / "genes.tsv"), "-o", str(page), "--source",
                   "miRBase=22.1", "--source", "Ensembl=112"]).output
    assert str(page) in out.replace("\n", "")
    text = page.read_text()
    assert "<script src" not in text and "<link" not in text and "@import" not in text and "url(" not in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text
    assert "Content-Security-Policy" in text
    assert "Ensembl release 112" in text and "miRBase release 22.1" in text


def test_report_files_respect_the_umask(example_dir, tmp_path):
    old = os.umask(0o027)
    try:
        page = tmp_path / "report.html"
        _invoke(["report", "genes", str(example_dir / "genes.tsv"), "-o", str(page)])
    finally:
        os.umask(old)
    assert stat.S_IMODE(page.stat().st_mode) == 0o640
    assert not list(tmp_path.glob(".*tmp"))


def test_report_cli_errors_are_one_line(example_dir, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(example_dir / "genes.tsv", bare / "genes.tsv")
    out = _invoke(["report", "genes", str(bare / "genes.tsv"), "-o", str(tmp_path / "r.html")], 1).output
    assert "genes.sites.tsv is missing" in out and "predict-genes" in out
    shutil.copy(sidecar(example_dir / "genes.tsv", "sites"), bare / "genes.sites.tsv")
    out = _invoke(["report", "genes", str(bare / "genes.tsv"), "-o", str(tmp_path / "r.html")], 1).output
    assert "genes.details.parquet is missing" in out and "--html" in out and "--no-details" in out
    _invoke(["report", "genes", str(bare / "genes.tsv"), "-o", str(tmp_path / "r.html"), "--no-details"])
    text = (tmp_path / "r.html").read_text()
    assert "without the details table" in text and "No run description" in text
    out = _invoke(["report", "genes", str(tmp_path / "nope.tsv"), "-o", str(tmp_path / "r.html")], 1).output
    assert "file not found" in out
    out = _invoke(["report", "genes", str(bare / "genes.tsv"), "-o", str(tmp_path / "r.pdf")], 1).output
    assert ".html" in out
    out = _invoke(["report", "genes", str(example_dir / "genes.tsv"), "-o", str(tmp_path / "r.html"),
                   "--source", "miRBase"], 1).output
    assert "NAME=RELEASE" in out
    write_table(pd.DataFrame({"mirna_id": ["a"], "target_id": ["b"]}), tmp_path / "other.tsv")
    out = _invoke(["report", "genes", str(tmp_path / "other.tsv"), "-o", str(tmp_path / "r.html")], 1).output
    assert "not a predict-genes table" in out and "rank" in out


def test_cli_defaults_repeat_the_library_defaults():
    import inspect

    from mirlens.cli.genes import predict_genes_command
    from mirlens.genes.details import DETAILS_TOP as LIBRARY_TOP

    option = inspect.signature(predict_genes_command).parameters["details_top"]
    assert option.default == LIBRARY_TOP


def test_predict_genes_html_runs_the_details_then_the_page(tmp_path, monkeypatch):
    """The --html hook of predict-genes (the prediction itself replaced by the example tables: the hook reads the
    table and sites table predict-genes wrote)."""
    import mirlens.cli.genes as cli_genes

    genes, sites, _ = example_tables()

    def fake_run(pairs, output, model, **kw):
        write_table(genes, output)
        write_table(sites, sidecar(output, "sites"))
        return genes

    monkeypatch.setattr(cli_genes, "run_gene_level", fake_run)
    out = tmp_path / "genes.tsv"
    page = tmp_path / "genes.html"
    args = ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--targets", str(example_path("utrs.fa")),
            "-o", str(out)]
    _invoke(args + ["--html", str(page), "--details-top", "1", "-m", "pairing"])
    meta = read_meta(out)
    cmd = meta["command"]
    assert cmd.startswith("mirlens predict-genes --output ") and f"--mirna {example_path('mirnas.fa')}" in cmd
    assert f"--html {page}" in cmd and "--details-top 1" in cmd and "--threshold" not in cmd  # defaults left out
    assert meta["model"]["name"] == "pairing"
    assert meta["details"]["top"] == 1 and meta["details"]["model"] == "pairing"
    assert [i["role"] for i in meta["inputs"]] == ["miRNAs", "3'UTRs"]
    details = pd.read_parquet(sidecar(out, "details"))
    assert len(details) and set(details["mirna_id"] + details["target_id"]) <= {
        m + t for m, t in zip(genes["mirna_id"], genes["target_id"])}
    assert page.stat().st_size > 10_000
    # without --html: only the run description
    shutil.copy(sidecar(out, "details"), tmp_path / "kept.details.parquet")
    for p in (page, sidecar(out, "details"), sidecar(out, "meta")):
        p.unlink()
    _invoke(args)
    assert read_meta(out)["details"] is None and not page.exists() and not sidecar(out, "details").exists()
    # details left by an earlier --html run do not belong to this table
    shutil.copy(tmp_path / "kept.details.parquet", sidecar(out, "details"))
    res = _invoke(["report", "genes", str(out), "-o", str(page)], 1)
    assert "not from the run that wrote this table" in res.output
    _invoke(["report", "genes", str(out), "-o", str(page), "--no-details"])
    # a bad page name is refused before anything runs
    out2 = tmp_path / "g2.tsv"
    res = _invoke(["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--targets",
                   str(example_path("utrs.fa")), "-o", str(out2), "--html", str(tmp_path / "p.txt")], 1)
    assert ".html" in res.output and not out2.exists()


def test_predict_genes_html_on_the_examples(tmp_path):
    """The issue's end-to-end check on the real predict-genes output: the five planted pairs on top, both let-7a 8mers
    of the two-site UTR with their miRanda duplexes, and the page."""
    out, page = tmp_path / "genes.tsv", tmp_path / "genes.html"
    _invoke(["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--targets", str(example_path("utrs.fa")),
             "-o", str(out), "--html", str(page)])
    genes = read_table(out)
    top = genes.sort_values("probability", ascending=False, kind="stable").head(5)
    assert set(zip(top["mirna_id"], top["target_id"])) == PLANTED and top["is_target"].all()
    assert genes["is_target"].sum() == 5 and (genes[genes["is_target"]]["rank"] <= 2).all()
    details = pd.read_parquet(sidecar(out, "details"))
    two = details[(details["mirna_id"] == "hsa-let-7a-5p") & (details["target_id"] == "UTR_let7_two_sites")]
    eights = two[two["type"] == "8mer"]
    assert sorted(eights["start"]) == [141, 456] and set(eights["duplex_backend"]) == {"miranda"}
    assert page.stat().st_size > 10_000 and read_meta(out)["details"]["n_sites"] == len(details)


# ---------------------------------------------------------------------------------------------------- Chromium


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                           args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
    yield b
    b.close()
    pw.stop()


class Page:
    """A page opened in Chromium, recording console errors and every request that is not file: or data:."""

    def __init__(self, browser, path: Path, viewport=(1300, 1000)):
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        start = time.perf_counter()
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_selector("html[data-ready='1']", timeout=30_000)
        self.load_seconds = time.perf_counter() - start

    def _route(self, r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            self.outside.append(r.request.url)
            r.abort()

    def rows(self) -> list[list[str]]:
        return self.page.eval_on_selector_all(
            "#genes tbody tr", "trs => trs.map(tr => Array.from(tr.cells).map(td => td.innerText.trim()))")

    def genes(self) -> list[str]:
        return self.page.eval_on_selector_all("#genes tbody tr td b", "bs => bs.map(b => b.textContent)")

    def header(self) -> list[str]:
        return self.page.eval_on_selector_all("#genes thead th", "ths => ths.map(th => th.dataset.key)")

    def column(self, key: str) -> list[str]:
        i = self.header().index(key)
        return [r[i] for r in self.rows()]

    def close(self):
        self.page.close()


@pytest.fixture(scope="module")
def example_page(example_dir):
    page = example_dir / "genes.html"
    _invoke(["report", "genes", str(example_dir / "genes.tsv"), "-o", str(page)])
    return page


def _gene_cell(row: list[str], header: list[str]) -> str:
    return row[header.index("gene")]


def test_example_page_loads_clean_with_the_planted_pairs_on_top(browser, example_page):
    p = Page(browser, example_page)
    try:
        rows, head = p.rows(), p.header()
        assert len(rows) == 25
        top = {(r[head.index("mirna")], _gene_cell(r, head)) for r in rows[:5]}
        assert top == PLANTED
        assert all(r[head.index("is_target")] == "yes" for r in rows[:5])
        assert all(r[head.index("is_target")] == "" for r in rows[5:])
        text = p.page.inner_text("header")
        assert "mirlens predict-genes --output genes.tsv --mirna mirnas.fa" in text and "Model: pairing" in text
        assert "data source releases not recorded" in text and "How to read this" in text
        assert "independent test miraw" in text  # the model card's figures
    finally:
        p.close()
    assert p.errors == [] and p.outside == []


def test_sorting_and_filtering_change_the_rows(browser, example_page):
    p = Page(browser, example_page)
    try:
        head = p.header()
        first = p.rows()[0]
        p.page.click("#genes th[data-key='utr_length']")  # longest UTR first
        assert p.page.get_attribute("#genes th[data-key='utr_length']", "aria-sort") == "descending"
        lengths = [int(x.replace(",", "")) for x in p.column("utr_length")]
        assert lengths == sorted(lengths, reverse=True) and p.rows()[0] != first
        p.page.click("#genes th[data-key='utr_length']")  # again: shortest first
        lengths = [int(x.replace(",", "")) for x in p.column("utr_length")]
        assert lengths == sorted(lengths) and lengths[0] == 45
        p.page.click("#genes th[data-key='gene']")
        genes = [_gene_cell(r, head) for r in p.rows()]
        assert genes == sorted(genes, key=str.lower)
        # filter by name
        p.page.fill("#filter", "short")
        p.page.press("#filter", "Enter")
        assert {_gene_cell(r, head) for r in p.rows()} == {"UTR_short"} and len(p.rows()) == 5
        # targets only (with the name filter: let-7a's 45-nt fragment alone)
        p.page.check("#targets-only")
        assert [(r[head.index("mirna")], _gene_cell(r, head)) for r in p.rows()] == [("hsa-let-7a-5p", "UTR_short")]
        p.page.fill("#filter", "")
        p.page.press("#filter", "Enter")
        assert {(r[head.index("mirna")], _gene_cell(r, head)) for r in p.rows()} == PLANTED
        # one miRNA
        p.page.uncheck("#targets-only")
        p.page.select_option("#mirna", label="hsa-miR-21-5p (5 genes)")
        assert set(p.column("mirna")) == {"hsa-miR-21-5p"} and len(p.rows()) == 5
        assert "of 5" in p.page.inner_text("#status")
    finally:
        p.close()
    assert p.errors == [] and p.outside == []


def test_clicking_a_gene_shows_its_sites_duplexes_and_attributions(browser, example_page, tmp_path):
    p = Page(browser, example_page)
    try:
        head = p.header()
        p.page.check("#targets-only")
        rows = p.rows()
        k = next(i for i, r in enumerate(rows) if _gene_cell(r, head) == "UTR_let7_two_sites"
                 and r[head.index("mirna")] == "hsa-let-7a-5p")
        p.page.locator("#genes tbody tr").nth(k).click()
        panel = p.page.locator("#panel")
        panel.locator("svg.utr").wait_for()
        assert "UTR_let7_two_sites" in panel.locator("h2").inner_text()
        marks = panel.locator("svg.utr g.site[data-type='8mer']")
        assert marks.count() == 2
        assert sorted(int(marks.nth(i).get_attribute("data-start")) for i in range(2)) == [141, 456]
        assert all(marks.nth(i).get_attribute("data-called") == "1" for i in range(2))
        titles = [marks.nth(i).locator("title").text_content() for i in range(2)]  # the hover text
        assert any(t.startswith("8mer at 141\u2013148 \u00b7 logit 4.5") for t in titles)  # its site logit 4.55
        # the 8mers are drawn bigger than the sites that contribute nothing
        r8 = float(marks.nth(0).locator("circle").get_attribute("r"))
        rn = float(panel.locator("svg.utr g.site[data-type='noncanonical'] circle").first.get_attribute("r"))
        assert r8 > 2 * rn
        # duplexes as text: miRNA 3'->5' over the target 5'->3', the seed paired
        duplex = panel.locator(".card[data-type='8mer'] pre.duplex")
        assert duplex.count() == 2
        text = duplex.nth(0).inner_text()
        assert "miRNA   3'" in text and "target  5'" in text and "|||||||" in text
        assert LET7[::-1] in text.replace("-", "")
        assert panel.locator(".card[data-type='8mer'] svg.attr rect").count() > 40  # bars on both strands
        p.page.set_viewport_size({"width": 1300, "height": 1500})
        p.page.evaluate("window.scrollTo(0, 0)")
        shot = tmp_path / "genes_report.png"
        p.page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 30_000
        if os.environ.get("MIRLENS_GENES_SCREENSHOT"):
            shutil.copy(shot, os.environ["MIRLENS_GENES_SCREENSHOT"])
        # a gene below the details cut: its sites, and the page says why there are no details
        p.page.uncheck("#targets-only")
        p.page.select_option("#mirna", label="hsa-let-7a-5p (5 genes)")
        p.page.click("#genes th[data-key='rank']")
        ranks = p.column("rank")
        assert ranks == ["1", "2", "3", "4", "5"]
        p.page.locator("#genes tbody tr").nth(4).click()
        assert "No details for this gene" in panel.inner_text()
        assert f"ranked {DETAILS_TOP} or better" in panel.inner_text()
    finally:
        p.close()
    assert p.errors == [] and p.outside == []


def test_strings_from_the_data_are_text_not_markup(browser, example_dir, tmp_path):
    genes = read_table(example_dir / "genes.tsv")
    bad = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">"
    genes["gene_name"] = [f"G{i}{bad}" for i in range(len(genes))]
    genes["gene_id"] = "</script><b>id</b>"
    table = tmp_path / "genes.tsv"
    write_table(genes, table)
    for kind in ("sites", "details", "meta"):
        shutil.copy(sidecar(example_dir / "genes.tsv", kind), sidecar(table, kind))
    meta = read_meta(table)
    meta["command"] = meta["command"].replace("--html genes.html", f"--html '{bad}'")
    meta["sources"] = [{"name": "miRBase", "release": "</script><i>22</i>"}]
    sidecar(table, "meta").write_text(json.dumps(meta))
    page = tmp_path / "x.html"
    _invoke(["report", "genes", str(table), "-o", str(page)])
    p = Page(browser, page)
    try:
        assert p.page.evaluate("window.pwned") is None
        assert p.page.locator("#genes tbody img, header img, #genes tbody .gid b, header i").count() == 0
        assert bad in p.page.inner_text("#genes tbody")
        assert bad in p.page.inner_text("header pre.cmd") and "</script><i>22</i>" in p.page.inner_text("header")
        p.page.locator("#genes tbody tr").first.click()
        assert bad in p.page.inner_text("#panel h2")
        assert p.page.evaluate("window.pwned") is None
    finally:
        p.close()
    assert p.errors == [] and p.outside == []


@pytest.fixture(scope="module")
def big_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("big")
    genes, sites = synthetic_tables(20_000)
    table = out / "genes.parquet"
    write_table(genes, table)
    write_table(sites, sidecar(table, "sites"))
    write_table(synthetic_details(genes, sites), sidecar(table, "details"))
    page = out / "genes.html"
    start = time.perf_counter()
    _invoke(["report", "genes", str(table), "-o", str(page)])
    return page, time.perf_counter() - start, len(sites)


def test_a_20000_gene_page_is_small_and_loads_fast(browser, big_page):
    page, render_s, n_sites = big_page
    size = page.stat().st_size
    p = Page(browser, page)
    try:
        in_page_ms = p.page.evaluate("window.mirlensReadyMs")
        assert len(p.rows()) == 50 and "of 20,000" in p.page.inner_text("#status")
        start = time.perf_counter()
        p.page.click("#genes th[data-key='rank']")
        first = p.rows()[0]
        sort_s = time.perf_counter() - start
        assert first[p.header().index("rank")] == "1"
        start = time.perf_counter()
        p.page.fill("#filter", "GENE1999")
        p.page.press("#filter", "Enter")
        filter_s = time.perf_counter() - start
        assert set(p.genes()) == {"GENE1999", *(f"GENE1999{i}" for i in range(10))}
        p.page.locator("#genes tbody tr").first.click()
        p.page.locator("#panel svg.utr").wait_for()
        print(f"\n20,000-gene page: {size / 1e6:.2f} MB ({n_sites:,} sites in the sites table), rendered in "
              f"{render_s:.1f} s; Chromium: loaded and drawn in {p.load_seconds:.2f} s (script done at "
              f"{in_page_ms / 1000:.2f} s), sort {sort_s:.2f} s, filter {filter_s:.2f} s")
    finally:
        p.close()
    assert p.errors == [] and p.outside == []
    assert size < 5_000_000
    assert p.load_seconds < 5.0
    assert sort_s < 2.0 and filter_s < 2.0
    assert math.isfinite(in_page_ms)
