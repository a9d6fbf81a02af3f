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


class _RawFiles:
    """Stands in for urllib.request.urlopen: serves the local copies of the original files by their pinned URL."""

    def __init__(self, by_url: dict[str, bytes]):
        self.by_url, self.calls = by_url, []

    def __call__(self, url, timeout=None):
        import io

        self.calls.append(url)
        if url not in self.by_url:
            raise OSError(f"404 {url}")
        return io.BytesIO(self.by_url[url])


def test_fetch_keras_every_version_with_provenance(keras_dir, keras_2020_dir, tmp_path, monkeypatch):
    from mirlens.data import download
    from mirlens.model.originals import VERSIONS

    local = {v.sha256: p for d in (keras_dir, keras_2020_dir) for p in d.glob("*.h5")
             for v in VERSIONS if download.sha256_file(p) == v.sha256}
    assert len(local) == len(VERSIONS) == 4  # both miTAR1 versions, miTAR2, miTAR
    fake = _RawFiles({v.url: local[v.sha256].read_bytes() for v in VERSIONS})
    monkeypatch.setattr(download.urllib.request, "urlopen", fake)
    monkeypatch.setenv("MIRLENS_MODEL_DIR", str(tmp_path / "models"))
    result = runner.invoke(app, ["models", "fetch-keras", "--data-dir", str(tmp_path / "dl")])
    assert result.exit_code == 0, result.output
    assert sorted(fake.calls) == sorted(v.url for v in VERSIONS)
    assert all(f"/{v.commit}/{v.path}" in v.url for v in VERSIONS)
    assert (tmp_path / "dl" / "miTAR1@2020-03" / "miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5").is_file()
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    for name in ("keras-miTAR1@2020-03", "keras-miTAR1", "keras-miTAR2", "keras-miTAR"):
        assert name in result.output
    old = json.loads(runner.invoke(app, ["models", "info", "keras-miTAR1@2020-03"]).output)["card"]
    new = json.loads(runner.invoke(app, ["models", "info", "keras-miTAR1"]).output)["card"]
    assert old["original_version"] == "2020-03" and old["original_commit"].startswith("f38a5f7")
    assert old["original_sha256"].startswith("31d1b32d") and "DeepMirTar" in old["paper_use"]
    assert new["original_version"] == "2020-12" and new["original_current"] and new["paper_use"] == ""
    # the two miTAR1 versions are different weights
    from mirlens.model.store import load_model
    from mirlens.explain.mutagenesis.engine import model_fingerprint

    assert model_fingerprint(load_model("keras-miTAR1@2020-03")) != model_fingerprint(load_model("keras-miTAR1"))
    # a second run downloads nothing (verified copies are kept)
    fake.calls.clear()
    assert runner.invoke(app, ["models", "fetch-keras", "--data-dir", str(tmp_path / "dl")]).exit_code == 0
    assert fake.calls == []


def test_fetch_keras_checksum_mismatch_is_one_line(tmp_path, monkeypatch):
    from mirlens.data import download
    from mirlens.model.originals import VERSIONS

    monkeypatch.setattr(download.urllib.request, "urlopen", _RawFiles({v.url: b"not a model" for v in VERSIONS}))
    monkeypatch.setenv("MIRLENS_MODEL_DIR", str(tmp_path / "models"))
    result = runner.invoke(app, ["models", "fetch-keras", "--data-dir", str(tmp_path / "dl")])
    assert result.exit_code == 1 and "checksum mismatch" in result.output and "Traceback" not in result.output
    assert not any((tmp_path / "dl").rglob("*.h5"))
