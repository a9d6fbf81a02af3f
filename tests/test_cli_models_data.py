"""The `models` and `data` command groups end to end."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from mirlens.cli.app import _register, app

_register()
runner = CliRunner()


def test_import_list_info_and_use_by_name(keras_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MIRLENS_MODEL_DIR", str(tmp_path / "models"))
    h5 = keras_dir / "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5"
    result = runner.invoke(app, ["models", "import-keras", str(h5), "--name", "orig2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "orig2" / "model.safetensors").is_file()
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0 and "orig2" in result.output
    result = runner.invoke(app, ["models", "info", "orig2"])
    info = json.loads(result.output)
    assert info["config"]["target_slot"] == 40 and info["card"]["original_file"] == h5.name
    # the imported model scores by name exactly as the .h5 file does
    from mirlens.model.store import load_model
    from mirlens.predict.score import score_pairs
    from mirlens.data.examples import example_path
    from mirlens.data.readers import read_pairs

    pairs = read_pairs(example_path("pairs.tsv"))
    assert (score_pairs(load_model("orig2"), pairs) == score_pairs(load_model(h5), pairs)).all()


def test_data_info_duplicates_export(mitar_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MIRLENS_DATA_DIR", str(mitar_data_dir))
    result = runner.invoke(app, ["data", "duplicates", "miraw"])
    assert result.exit_code == 0, result.output
    assert "64,653 rows, 61,805 unique pairs" in result.output
    result = runner.invoke(app, ["data", "info", "deepmirtar"])
    assert result.exit_code == 0 and "7,665" in result.output
    out = tmp_path / "dm.parquet"
    result = runner.invoke(app, ["data", "export", "deepmirtar", "--part", "test", "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert len(table) == 96 and table["mirna"].iloc[0] == "AUGACCUAUGAAUUGACAGAC"  # 5'->3' on disk


def test_data_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MIRLENS_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["data", "info", "miraw"])
    assert result.exit_code == 1 and "mirlens data fetch miraw" in result.output
    result = runner.invoke(app, ["data", "info", "nope"])
    assert result.exit_code == 1 and "unknown data set 'nope'" in result.output
