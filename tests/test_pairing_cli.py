"""``mirlens energy``, ``mirlens pairing`` and ``mirlens explain correlate`` end to end on small inputs."""

from __future__ import annotations

import pandas as pd
import torch
from typer.testing import CliRunner

import mirlens.cli.duplex  # noqa: F401  (registers the commands)
import mirlens.cli.explain.layers  # noqa: F401
from mirlens.cli.app import app
from mirlens.model.architecture import MiTAR, MiTARConfig
from mirlens.model.store import save_model

runner = CliRunner()
LET7 = "UGAGGUAGUAGGUUGUAUGGUU"


def _pairs(path):
    comp = str.maketrans("ACGU", "UGCA")
    site = LET7.translate(comp)[::-1]
    rows = []
    for k in range(8):
        target = ("CCCCAC" + site + "CACC") if k % 2 == 0 else ("ACAC" * 8)
        rows.append({"mirna_id": f"m{k}", "mirna": LET7, "target_id": f"t{k}", "target": target,
                     "label": 1 - k % 2})
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def run(args):
    return runner.invoke(app, [str(a) for a in args])


def test_energy_and_pairing_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("MIRLENS_DUPLEX_CACHE", str(tmp_path / "cache"))
    pairs = _pairs(tmp_path / "pairs.tsv")
    r = run(["energy", "--data", pairs, "-o", tmp_path / "e.tsv"])
    assert r.exit_code == 0, r.output
    e = pd.read_csv(tmp_path / "e.tsv", sep="\t")
    assert len(e) == 8 and (e["backend"] == "miranda").all()
    assert (e.loc[e["label"] == 1, "energy"] < e.loc[e["label"] == 0, "energy"].min()).all()
    r = run(["pairing", "--data", pairs, "--regions", "seed=L2-6,L13-4,LT7-5", "-o", tmp_path / "t2.tsv"])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(tmp_path / "t2.tsv", sep="\t").set_index("region")
    assert t.loc["seed", "paired_pct"] == 100.0 and t.loc["seed", "n_pairs"] == 4
    assert t.loc["LT7-5", "side"] == "target"


def test_cli_errors_are_one_line(tmp_path):
    pairs = _pairs(tmp_path / "pairs.tsv")
    for args, msg in ((["pairing", "--data", pairs, "--regions", "x=Q1"], "cannot read region"),
                      (["energy", "--data", pairs, "-o", tmp_path / "e.tsv", "--energy-backend", "foo"],
                       "unknown energy backend"),
                      (["pairing", "--data", pairs, "--subset", "extracted:L13-4"], "--model")):
        r = run(args)
        assert r.exit_code == 1 and msg in r.output and "Traceback" not in r.output


def test_explain_correlate_writes_table1_units_and_figure(tmp_path, monkeypatch):
    monkeypatch.setenv("MIRLENS_DUPLEX_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    model_dir = save_model(MiTAR(MiTARConfig(target_slot=40)).eval(), tmp_path / "toy", name="toy")
    pairs = _pairs(tmp_path / "pairs.tsv")
    out = tmp_path / "corr"
    r = run(["explain", "correlate", "--model", model_dir, "--data", pairs, "--all", "-o", out,
             "--layers", "bilstm,dense"])
    assert r.exit_code == 0, r.output
    t1 = pd.read_csv(out / "table1.tsv", sep="\t")
    assert {"UnitCount", "MinCor", "MinCor_Pval", "MaxCor", "MaxCor_Pval"} <= set(t1.columns)
    assert set(t1["layer"]) == {"bilstm", "dense"}
    units = pd.read_parquet(out / "units.parquet")
    assert len(units) >= 64 + 16
    assert (out / "correlations.png").stat().st_size > 0
