"""``mirlens reproduce --quick`` end to end on the imported original miTAR1/miTAR2 weights: the report, the cache
(a rerun recomputes nothing; an interrupted scan resumes), and the HTML rendered in headless Chromium.

The quick run (a seeded sample of 200 positive and 100 negative pairs per data set) takes about a minute on two
cores; it runs once per module and the tests read its output. Chromium: Debian's ``chromium`` (installed by
.ci/run) driven by Playwright's Python package; under CI=true a missing browser fails the test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import CHROMIUM, require_browser
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.report.html import REPORT_NAME, SECTIONS
from mirlens.reproduce.cache import StageRunner
from mirlens.tables import read_table

STAGES_PER_DATASET = ("regions", "scan", "impact", "features", "joint", "energies", "correlate", "pairing",
                      "beyond")

_register()


def _invoke(args: list[str]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def _timings(out: Path) -> pd.DataFrame:
    return read_table(out / "timings.tsv")


@pytest.fixture(scope="module")
def quick_args(keras_dir, keras_2020_dir, mitar_data_dir) -> list[str]:
    # ../shared/models: searched recursively, both miTAR1 versions are recognised by sha256
    return ["--keras-dir", str(keras_dir.parent), "--data-dir", str(mitar_data_dir), "--quick", "--seed", "0"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, quick_args) -> Path:
    out = tmp_path_factory.mktemp("reproduce") / "out"
    _invoke(["reproduce", "--out", str(out), *quick_args])
    shutil.copy(out / "timings.tsv", out.parent / "first_timings.tsv")  # later tests rerun into ``out``
    return out


def test_quick_run_writes_report_tables_figures_and_timings(quick_run):
    out = quick_run
    assert (out / REPORT_NAME).is_file()
    t = read_table(out.parent / "first_timings.tsv")
    expected = {f"{ds}.{s}" for ds in ("deepmirtar", "miraw") for s in STAGES_PER_DATASET} | {"findings", "report"}
    assert set(t["stage"]) == expected
    assert set(t["status"]) == {"computed"}
    assert (t["seconds"] >= 0).all()
    findings = read_table(out / "tables" / "findings.csv")
    assert set(findings["section"]) == set(SECTIONS)  # every section has at least one finding
    assert set(findings["verdict"]) <= {"reproduced", "differs", "not available"}
    assert (findings["verdict"] != "not available").sum() >= 50
    for name in ("deepmirtar_scan_summary", "miraw_scan_summary", "deepmirtar_joint", "miraw_table1",
                 "miraw_table2", "paper_vs_ours_table1", "paper_vs_ours_table2", "paper_vs_ours_reductions"):
        assert (out / "tables" / f"{name}.csv").is_file(), name
    scan = read_table(out / "tables" / "miraw_scan_summary.csv")
    assert sorted(scan["k"].unique()) == list(range(1, 9))  # Supp. Fig. 3 needs k = 7, 8
    assert sorted(read_table(out / "tables" / "deepmirtar_scan_summary.csv")["k"].unique()) == list(range(1, 7))
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    svgs = sorted(p.stem for p in (out / "figures").glob("*.svg"))
    assert pngs == svgs and len(pngs) >= 14
    # the paper's seed effect on miRAW positives is tiny; ours on the quick sample too
    seed = read_table(out / "tables" / "miraw_seed_effects.csv")
    assert abs(float(seed.query("to == 'N' and subset == 'positives'")["reduction"].iloc[0])) < 0.1


def test_beyond_the_paper_section(quick_run):
    """Compensation and attribution tables per data set, their figures, and a separate section with the finding."""
    out = quick_run
    text = (out / REPORT_NAME).read_text()
    assert "<section id='beyond'>" in text and "Beyond the paper (not claims of the paper)" in text
    beyond = text[text.index("<section id='beyond'>"):]
    assert beyond.count("<b>Finding.</b>") == 2 and "as pairing" in beyond and "pairing, &lt;= 0 = it reads" in beyond
    for ds in ("deepmirtar", "miraw"):
        comp = read_table(out / "tables" / f"{ds}_beyond_compensation.csv")
        assert comp["position"].str.startswith("L").all() and {"recovery_mirna", "recovery_target"} <= set(comp)
        att = read_table(out / "tables" / f"{ds}_beyond_attribution.csv")
        assert set(att["method"]) == {"ig", "deeplift-shap"}
        assert att.loc[att["method"] == "deeplift-shap", "delta"].abs().max() < 1e-6  # summation-to-delta
        assert att["spearman"].between(-1, 1).all()
        assert (out / "figures" / f"beyond_compensation_{ds}.png").is_file()
        assert (out / "figures" / f"beyond_attribution_{ds}.png").is_file()
    findings = read_table(out / "tables" / "findings.csv")
    assert "beyond" not in set(findings["section"])  # kept apart from the paper's findings


def test_html_is_self_contained(quick_run):
    text = (quick_run / REPORT_NAME).read_text()
    low = text.lower()
    assert "<script" not in low
    for attr in ("src=", "href="):
        for quote in ('"', "'"):
            assert f"{attr}{quote}http" not in low
    assert low.count("data:image/png;base64,") >= 14
    for sid in SECTIONS:
        assert f"<section id='{sid}'>" in text


def test_rerun_recomputes_nothing(quick_run, quick_args):
    before = (quick_run / REPORT_NAME).stat().st_mtime_ns
    _invoke(["reproduce", "--out", str(quick_run), *quick_args])
    t = _timings(quick_run)
    assert set(t["status"]) == {"cached"}, t
    assert t["seconds"].sum() < 30
    assert (quick_run / REPORT_NAME).stat().st_mtime_ns == before
    hist = read_table(quick_run / "timings_history.tsv")
    assert sorted(hist["run"].unique()) == [1, 2]


def test_interrupted_scan_continues_with_unfinished_chunks(quick_run, quick_args, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(quick_run, out)
    (stage_dir,) = (out / "cache" / "deepmirtar.scan").iterdir()
    before = read_table(stage_dir / "scan_summary.parquet")
    info = json.loads((stage_dir / "done.json").read_text())
    # as if the run had been stopped after the first chunk of the scan
    (stage_dir / "done.json").unlink()
    (stage_dir / "scan_summary.parquet").unlink()
    chunks = sorted((stage_dir / "records").glob("chunk-*.parquet"))
    assert len(chunks) >= 2
    for c in chunks[1:]:
        c.unlink()
    _invoke(["reproduce", "--out", str(out), *quick_args])
    t = _timings(out).set_index("stage")
    assert t.loc["deepmirtar.scan", "status"] == "resumed"
    # later stages are keyed by their inputs, not recomputed (the report shows the command, whose --out differs)
    others = t.drop(index=["deepmirtar.scan", "report"])
    assert set(others["status"]) == {"cached"}, t
    after_info = json.loads((stage_dir / "done.json").read_text())
    assert 0 < after_info["meta"]["passes"] < info["meta"]["passes"]
    after = read_table(stage_dir / "scan_summary.parquet")
    pd.testing.assert_frame_equal(before, after, check_exact=False, rtol=1e-6, atol=1e-7)


class _Stopped(Exception):
    """Stands for an interruption (Ctrl-C) in the middle of a stage."""


def test_stage_runner_resumes_partial_work(tmp_path):
    runner = StageRunner(tmp_path, log=lambda m: None)
    calls = []

    def compute(d: Path):
        calls.append((d / "partial").exists())
        if not (d / "partial").exists():
            (d / "partial").write_text("half")
            raise _Stopped
        return {"t": pd.DataFrame({"x": [1, 2]})}, {"n": 2}

    with pytest.raises(_Stopped):
        runner.run("toy", "none", {"a": 1}, compute)
    r = runner.run("toy", "none", {"a": 1}, compute)
    assert r.status == "resumed" and calls == [False, True]
    r = runner.run("toy", "none", {"a": 1}, compute)
    assert r.status == "cached" and r.meta == {"n": 2} and list(r.tables["t"]["x"]) == [1, 2]
    other = runner.run("toy", "none", {"a": 2}, lambda d: ({"t": pd.DataFrame({"x": [3]})}, {}))
    assert other.status == "computed" and other.key != r.key
    assert list(runner.timings()["status"]) == ["interrupted", "resumed", "cached", "computed"]


def test_paper_weights_by_default_found_by_sha256(keras_dir, keras_2020_dir, tmp_path):
    from mirlens.reproduce import model_specs

    paper = model_specs(keras_dir.parent, None, None)  # ../shared/models: both versions below it
    assert Path(paper["deepmirtar"]).parent == keras_2020_dir  # miTAR1 of 2020-03, not the current file
    assert Path(paper["miraw"]).name == "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5"
    current = model_specs(keras_dir.parent, None, None, weights="current")
    assert Path(current["deepmirtar"]) == keras_dir / "miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5"
    # a renamed copy deep in a folder is still recognised (by content, not name)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    shutil.copy(keras_2020_dir / "miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5", deep / "renamed.h5")
    shutil.copy(keras_dir / "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5", tmp_path / "m2.h5")
    assert model_specs(tmp_path, None, None)["deepmirtar"] == str(deep / "renamed.h5")
    # only the current miTAR1 there: the paper's version is missing, said in one line
    result = CliRunner().invoke(app, ["reproduce", "--out", str(tmp_path / "o"), "--keras-dir", str(keras_dir)])
    assert result.exit_code == 1 and "miTAR1@2020-03" in result.output and "fetch-keras" in result.output
    # without --keras-dir: the imported models by version name
    assert model_specs(None, None, None) == {"deepmirtar": "keras-miTAR1@2020-03", "miraw": "keras-miTAR2"}
    assert model_specs(None, None, None, "current")["deepmirtar"] == "keras-miTAR1"


def test_report_says_which_weights_ran_and_shows_both_side_by_side(quick_run, quick_args):
    out = quick_run
    html = (out / REPORT_NAME).read_text()
    assert "id='weights'" in html and "miTAR1@2020-03" in html and "f38a5f7" in html and "0.162" in html
    paper_findings = read_table(out / "weights" / "paper.parquet")
    assert set(paper_findings["models"]) == {"DeepMirTar: miTAR1@2020-03; miRAW: miTAR2@2020-03"}
    # a --weights current run into the same OUT (only the DeepMirTar stages are new) puts both side by side
    _invoke(["reproduce", "--out", str(out), *quick_args, "--weights", "current"])
    html = (out / REPORT_NAME).read_text()
    assert "Side by side" in html and "ours (paper)" in html and "ours (current)" in html
    current = read_table(out / "weights" / "current.parquet")
    assert set(current["models"]) == {"DeepMirTar: miTAR1@2020-12; miRAW: miTAR2@2020-03"}
    assert len(current) == len(paper_findings)


def test_reproduce_refuses_two_model_sources(tmp_path):
    result = CliRunner().invoke(app, ["reproduce", "--out", str(tmp_path), "--keras-dir", str(tmp_path),
                                      "--model-miraw", "x"])
    assert result.exit_code == 1
    assert "either --keras-dir or" in result.output


def test_report_renders_in_headless_chromium(quick_run, tmp_path):
    require_browser()
    from playwright.sync_api import sync_playwright

    findings = read_table(quick_run / "tables" / "findings.csv")
    errors, outside = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):
                if r.request.url.startswith(("file:", "data:")):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto((quick_run / REPORT_NAME).as_uri(), wait_until="load")
            assert "Gu et al" in page.title()
            # summary table: one row per finding
            assert page.locator("section#summary tbody tr").count() == len(findings)
            for sid in SECTIONS:
                sec = page.locator(f"section#{sid}")
                assert sec.count() == 1, sid
                assert sec.is_visible(), sid
                assert sec.locator("h2").inner_text().strip(), sid
                assert sec.locator(".verdict").count() == 1, sid
                assert sec.locator("pre").count() >= 1, sid  # the commands
                n_img = sec.locator("img").count()
                assert n_img >= 1, sid
                for i in range(n_img):
                    img = sec.locator("img").nth(i)
                    img.scroll_into_view_if_needed()
                    ok = img.evaluate("i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100")
                    assert ok, f"{sid}: figure {i} did not render"
                    box = img.bounding_box()
                    assert box is not None and box["width"] > 100 and box["height"] > 50, sid
            broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                                   ".length")
            assert broken == 0
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 50_000
        finally:
            browser.close()
    assert errors == []
    assert outside == []


def test_every_explanation_belongs_to_a_finding_and_shows_when_it_differs(quick_run):
    from mirlens.reproduce.notes import WHY

    f = pd.read_csv(quick_run / "tables" / "findings.csv", keep_default_na=False)
    assert len(f) >= 64 and set(WHY) <= set(f["id"])
    differs = f[f["verdict"] == "differs"]
    for row in differs.itertuples():
        assert row.why == WHY.get(row.id, "")
    assert (f.loc[f["verdict"] == "reproduced", "why"] == "").all()


def test_table1_has_the_papers_layout_and_both_energies(quick_run):
    t1 = pd.read_csv(quick_run / "tables" / "deepmirtar_table1.csv")
    assert set(t1["energy"]) == {"as_written", "5to3"}
    pos = t1[(t1["subset"] == "positives") & (t1["energy"] == "as_written")].set_index(["layer", "level"])
    assert pos.loc[("conv", "all_signed"), "UnitCount"] == 2
    assert pos.loc[("conv", "all_signed"), "MinCor"] < 0 < pos.loc[("conv", "all_signed"), "MaxCor"]
    assert 320 < pos.loc[("conv", "feature_map_signed"), "UnitCount"] <= 640
    cmp = pd.read_csv(quick_run / "tables" / "paper_vs_ours_table1.csv")
    assert set(cmp["our_level"]) == {"unit", "feature_map_signed", "all_signed"}
    assert {"MinCor_5to3", "MaxCor_5to3"} <= set(cmp.columns)
