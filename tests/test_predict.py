"""Windowing, scanning, the original tool's outputs, and the score/predict commands end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.examples import example_path
from mirlens.data.fasta import read_fasta
from mirlens.model.architecture import MiTAR, MiTARConfig
from mirlens.model.keras_import import import_keras
from mirlens.model.store import save_model
from mirlens.predict.scan import ScanSettings, gene_summary, scan
from mirlens.predict.windows import window_starts, window_tokens

_register()
runner = CliRunner()
COMBINED_H5 = "miTAR_CNN_BiRNN_b100_lr0.005_dout0.2.h5"


@pytest.mark.parametrize(
    "length,window,step,expected",
    [
        (10, 53, 15, [0]),  # short target: one padded window
        (53, 53, 15, [0]),  # exactly one window
        (54, 53, 15, [0, 1]),  # start 0 (0 + 53 < 54), then the last window at 1
        (100, 53, 22, [0, 22, 44, 47]),  # 44 + 53 < 100 still counts; last window at 47
        (97, 53, 22, [0, 22, 44]),  # 44 + 53 == 97 is not < 97, so 44 comes only as the last window
        (120, 40, 40, [0, 40, 80]),
    ],
)
def test_window_starts_follow_the_original(length, window, step, expected):
    assert window_starts(length, window, step).tolist() == expected


def test_window_tokens_pad_short_targets():
    toks = np.array([1, 2, 3], dtype=np.uint8)
    out = window_tokens(toks, window_starts(3, 5, 2), 5)
    assert out.tolist() == [[1, 2, 3, 0, 0]]


def _parse_mitar_fasta(path: Path, one_mirna: bool) -> pd.DataFrame:
    rows = []
    lines = path.read_text().split()
    for head, seq in zip(lines[::2], lines[1::2]):
        parts = head[1:].split("|")
        if one_mirna:
            parts = [""] + parts
        rows.append({"mirna": parts[0], "target": parts[1], "n_sites": int(parts[2]), "window": int(parts[3]),
                     "prob": float(parts[4]), "seq": seq})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def combined_model_dir(keras_dir, tmp_path_factory):
    model, card = import_keras(keras_dir / COMBINED_H5)
    return save_model(model, tmp_path_factory.mktemp("models") / "keras-miTAR", name="keras-miTAR", card=card)


@pytest.mark.parametrize(
    "mirna_file,expected_file,one",
    [("mirna_multiple.fa", "mirna_multiple_predictedTar.fa", False),
     ("mirna_hsa-miR-139-5p.txt", "mir139-5p_predictedTar.fa", True)],
)
def test_reproduces_the_original_prediction_outputs(mitar_data_dir, combined_model_dir, tmp_path, mirna_file,
                                                    expected_file, one):
    tests = mitar_data_dir / "tests"
    out = tmp_path / "sites.fa"
    result = runner.invoke(app, ["predict", "--mirna", str(tests / mirna_file), "--targets",
                                 str(tests / "mrna_multiple_mixedLongShort.fa"), "-m", str(combined_model_dir),
                                 "--step", "22", "--threshold", "0.8", "--min-sites", "2", "--format", "mitar",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    ours = _parse_mitar_fasta(out, one)
    theirs = _parse_mitar_fasta(tests / "original_outputs" / expected_file, one)
    assert len(ours) == len(theirs) > 0
    pd.testing.assert_frame_equal(ours.drop(columns="prob"), theirs.drop(columns="prob"))
    assert np.abs(ours["prob"].to_numpy() - theirs["prob"].to_numpy()).max() <= 1e-5


def _random_model(tmp_path: Path, target_slot: int = 53, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = MiTAR(MiTARConfig(target_slot=target_slot))
    return save_model(model.eval(), tmp_path / f"random{seed}", name=f"random{seed}", card={"source": "test"})


def test_scan_resumes_without_recomputing(tmp_path, monkeypatch):
    from mirlens.predict import scan as scan_module

    model_dir = _random_model(tmp_path)
    from mirlens.model.store import load_model

    model = load_model(model_dir)
    mirnas = read_fasta(example_path("mirnas.fa"))
    settings = ScanSettings(step=15, targets_per_chunk=2)
    first = scan(model, mirnas, example_path("utrs.fa"), tmp_path / "work", settings)
    calls = []
    original = scan_module._scan_block
    monkeypatch.setattr(scan_module, "_scan_block", lambda *a, **k: calls.append(1) or original(*a, **k))
    # interrupt: drop two chunks, run again; only those two are recomputed and the result is identical
    chunks = sorted((tmp_path / "work").glob("chunk-*.parquet"))
    chunks[1].unlink()
    chunks[-1].unlink()
    again = scan(model, mirnas, example_path("utrs.fa"), tmp_path / "work", settings)
    assert len(calls) == 2
    pd.testing.assert_frame_equal(first, again)
    # windows: every target of the examples is covered by each miRNA, in order
    n_windows = sum(len(window_starts(len(r.seq), 53, 15)) for r in read_fasta(example_path("utrs.fa")))
    assert len(first) == n_windows * len(mirnas)
    assert list(first["mirna_id"].unique()) == [m.id for m in mirnas]


def test_gene_summary_counts_sites_and_calls_targets():
    windows = pd.DataFrame({
        "mirna_id": ["m"] * 5, "target_id": ["a", "a", "a", "b", "b"], "window": [0, 1, 2, 0, 1],
        "start": [1, 16, 31, 1, 16], "end": [53, 68, 80, 53, 60], "probability": [0.9, 0.4, 0.95, 0.8, 0.1],
    })
    genes = gene_summary(windows, threshold=0.8, min_sites=2).set_index("target_id")
    assert genes.loc["a", "n_sites"] == 2 and bool(genes.loc["a", "is_target"])
    assert genes.loc["b", "n_sites"] == 0 and not bool(genes.loc["b", "is_target"])  # 0.8 is not > 0.8
    assert genes.loc["a", "best_window"] == 2 and genes.loc["a", "best_start"] == 31


def test_score_command_keeps_rows_in_order(tmp_path):
    model_dir = _random_model(tmp_path, target_slot=40)
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["score", str(example_path("pairs.tsv")), "-m", str(model_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    src = pd.read_csv(example_path("pairs.tsv"), sep="\t")
    assert list(table["mirna_id"]) == list(src["mirna_id"])
    assert list(table["label"]) == list(src["label"])
    assert table["probability"].between(0, 1).all()


def test_predict_example_writes_windows_and_genes(tmp_path):
    model_dir = _random_model(tmp_path)
    out = tmp_path / "pred.parquet"
    result = runner.invoke(app, ["predict", "--example", "-m", str(model_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    windows = pd.read_parquet(out)
    assert list(windows.columns) == ["mirna_id", "target_id", "window", "start", "end", "probability"]
    genes = pd.read_csv(tmp_path / "pred.genes.tsv", sep="\t")
    assert len(genes) == 5 * 5
    assert not (tmp_path / ".pred.parquet.parts").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["predict", "--example", "-m", "no-such-model", "-o", "x.tsv"], "no model named 'no-such-model'"),
        (["predict", "--mirna", "missing.fa", "--targets", "missing.fa", "-m", "MODEL", "-o", "x.tsv"],
         "file not found"),
        (["predict", "--mirna", "BAD", "--targets", "BAD", "-m", "MODEL", "-o", "x.tsv"], "unknown letter"),
        (["predict", "--mirna", "LONG", "--targets", "BAD", "-m", "MODEL", "-o", "x.tsv"], "at most 26"),
        (["score", "BAD", "-m", "MODEL", "-o", "x.tsv"], "BAD, record 1: expected 5 tab-separated columns"),
        (["score", "LONGMIRNA", "-m", "MODEL", "-o", "x.tsv"], "LONGMIRNA, record 2: miRNA 'm' is 30 nt long"),
        (["models", "info", "/nonexistent/model.h5"], "no such model file"),
    ],
)
def test_bad_input_gives_one_line_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    model_dir = _random_model(tmp_path)
    (tmp_path / "BAD").write_text(">x\nACGUZ\n")
    (tmp_path / "LONG").write_text(">long\n" + "A" * 30 + "\n")
    (tmp_path / "LONGMIRNA").write_text("mirna_id\tmirna\ttarget_id\ttarget\nm\t" + "A" * 30 + "\tt\tACGU\n")
    args = [str(model_dir) if a == "MODEL" else a for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_saved_model_round_trip(tmp_path):
    from mirlens.errors import ModelFileError
    from mirlens.model.store import load_model

    model_dir = _random_model(tmp_path, seed=3)
    torch.manual_seed(3)
    original = MiTAR(MiTARConfig()).eval()
    tokens = torch.randint(0, 5, (16, 79))
    loaded = load_model(model_dir)
    assert torch.equal(loaded.predict_proba(tokens), original.predict_proba(tokens))
    (model_dir / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelFileError, match="unreadable weights"):
        load_model(model_dir)


def test_outputs_get_the_permissions_of_a_plain_write(tmp_path):
    import os
    import stat

    from mirlens.model.store import save_model
    from mirlens.tables import write_table, write_text

    old = os.umask(0o027)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.tsv")
        write_text("x", tmp_path / "t.txt")
        model_dir = save_model(MiTAR(MiTARConfig(target_slot=40)), tmp_path / "m", name="m")
    finally:
        os.umask(old)
    for path in (tmp_path / "t.tsv", tmp_path / "t.txt", model_dir / "model.safetensors", model_dir / "model.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path  # 0666 minus the umask, not mkstemp's 0600
