"""``mirlens explain ...`` and ``mirlens plot`` end to end on a small sample, and their error messages."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import mirlens.cli.explain.mutagenesis  # noqa: F401  (registers the commands)
from mirlens.cli.app import app

runner = CliRunner()
MITAR2 = "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5"


@pytest.fixture(scope="module")
def common(keras_dir, mitar_data_dir):
    return ["--model", str(keras_dir / MITAR2), "--data", "miraw", "--part", "test",
            "--data-dir", str(mitar_data_dir)]


def run(args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_regions_joint_and_plot(common, tmp_path):
    out = tmp_path / "regions.tsv"
    r = run(["explain", "regions", *common, "--sample", "40", "-r", "seed", "-r", "LT7-5", "--joint",
             "--out", out, "--per-pair", tmp_path / "pp.parquet", "--plot", tmp_path / "fig"])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out, sep="\t")
    assert list(t["region_set"]) == ["seed", "LT7-5", "seed+LT7-5"]
    assert (t["n"] == 40).all()
    assert len(pd.read_parquet(tmp_path / "pp.parquet")) == 120
    assert (tmp_path / "fig" / "regions.png").stat().st_size > 0 and (tmp_path / "fig" / "regions.svg").exists()

    r = run(["explain", "joint", *common, "--sample", "40", "-r", "seed", "-r", "LT7-5", "--n-boot", "50",
             "--seed", "3", "--out", tmp_path / "joint.tsv", "--plot", tmp_path / "fig"])
    assert r.exit_code == 0, r.output
    j = pd.read_csv(tmp_path / "joint.tsv", sep="\t")
    assert list(j["kind"]) == ["single", "single", "joint"] and j["interaction"].notna().sum() == 1
    r = run(["plot", tmp_path / "joint.tsv", "--out", tmp_path / "fig2"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "fig2" / "joint.svg").exists()


def test_scan_impact_features_resume(common, tmp_path):
    args = ["explain", "scan", *common, "--sample", "12", "--k", "1-3", "--chunk-pairs", "5", "--out", tmp_path / "s"]
    r = run(args)
    assert r.exit_code == 0, r.output
    summary = pd.read_csv(tmp_path / "s" / "summary.tsv", sep="\t")
    assert set(summary["k"]) == {1, 2, 3} and summary["label"].iloc[0] == "L0"
    assert len(list((tmp_path / "s" / "records").glob("chunk-*.parquet"))) == 3
    r = run(args)  # all chunks stored: nothing to compute
    assert r.exit_code == 0 and "forward passes" not in r.output
    r = run(["explain", "impact", "--scan", tmp_path / "s", "--out", tmp_path / "impact.tsv",
             "--contexts", tmp_path / "ctx.tsv", "--plot", tmp_path / "fig"])
    assert r.exit_code == 0, r.output
    impact = pd.read_csv(tmp_path / "impact.tsv", sep="\t")
    assert {"label", "impact", "importance"} <= set(impact.columns)
    r = run(["explain", "features", "--impact", tmp_path / "impact.tsv", "--peaks", "1", "--length", "3",
             "--out", tmp_path / "features.tsv", "--plot", tmp_path / "fig"])
    assert r.exit_code == 0, r.output
    feats = pd.read_csv(tmp_path / "features.tsv", sep="\t")
    assert (feats["length"] == 3).all() and len(feats) <= 2
    r = run(["plot", tmp_path / "s", "--out", tmp_path / "fig"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "fig" / "scan.png").exists() and (tmp_path / "fig" / "impact.png").exists()
    # the same output directory for a different job is refused
    r = run(["explain", "scan", *common, "--sample", "12", "--k", "1-4", "--chunk-pairs", "5", "--out",
             tmp_path / "s"])
    assert r.exit_code == 1 and "different job" in r.output


@pytest.mark.parametrize("args,message", [
    (["explain", "regions", "--preset", "paper-nothing"], "unknown preset"),
    (["explain", "regions", "--model", "pairing"], "say which pairs to use: --data"),
    (["explain", "regions", "--model", "/nonexistent/m.h5", "--data", "miraw"], "no such model"),
    (["explain", "regions", "-r", "L0-3"], "positions start at 1"),
    (["explain", "regions", "-r", "seed", "--to", "X"], "cannot mutate to"),
    (["explain", "regions", "--subset", "some"], "unknown subset"),
    (["explain", "scan", "--k", "0-2", "--out", "x"], "window sizes"),
    (["explain", "regions", "--engine", "warp"], "unknown engine"),
    (["explain", "joint", "-r", "seed"], "at least two"),
])
def test_bad_input_is_one_line_error(common, args, message, tmp_path):
    full = args[:2] + (common if "--model" not in args and "--preset" not in args else []) + args[2:]
    if "--data" in args and "--model" not in args:
        full = args
    if "--preset" in args:
        full = args
    r = run([a if a != "x" else tmp_path / "x" for a in full] + (["--sample", "5"] if full is not args else []))
    assert r.exit_code == 1, r.output
    assert message in r.output
    assert "Traceback" not in r.output


def test_explain_commands_default_to_the_default_model_like_prediction(tmp_path):
    from mirlens.data.examples import example_path
    from mirlens.model.store import DEFAULT_MODEL

    r = run(["explain", "regions", "--data", example_path("pairs.tsv"), "--subset", "all", "-r", "seed"])
    assert r.exit_code == 0, r.output
    assert f"model {DEFAULT_MODEL!r}, 4 pairs" in r.output
    r = run(["explain", "--help"])
    assert r.exit_code == 0


def test_plot_rejects_unknown_tables(tmp_path):
    (tmp_path / "t.tsv").write_text("a\tb\n1\t2\n")
    r = run(["plot", tmp_path / "t.tsv", "--out", tmp_path])
    assert r.exit_code == 1 and "cannot tell" in r.output
    r = run(["plot", tmp_path / "missing.tsv", "--out", tmp_path])
    assert r.exit_code == 1 and "Traceback" not in r.output
