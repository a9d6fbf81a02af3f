"""miRBench data sets by name: loading, validation, fetching with content checksums, CLI."""

from __future__ import annotations

import gzip
import hashlib

import pytest
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data import mirbench
from mirlens.data.mirbench import MirbenchSet, load_mirbench, parse_mirbench
from mirlens.errors import DataSetError, InputError
from conftest import require

_register()
HEADER = "gene\tnoncodingRNA\tnoncodingRNA_name\tnoncodingRNA_fam\tfeature\tlabel\tchr\tstart\tend\tstrand\tgene_cluster_ID\n"


@pytest.fixture(scope="module")
def mirbench_dir(shared_dir):
    return require(shared_dir / "data" / "mirbench")


def test_hejret_splits(mirbench_dir):
    train = load_mirbench("hejret2023", "train", data_dir=mirbench_dir)
    test = load_mirbench("hejret2023", "test", data_dir=mirbench_dir)
    assert (len(train), int(train["label"].sum())) == (8193, 4084)
    assert (len(test), int(test["label"].sum()), test["mirna"].nunique()) == (965, 495, 195)
    assert (train["target"].str.len() == 50).all()
    assert not train["mirna"].str.contains("T").any() and not train["target"].str.contains("T").any()
    row = train.iloc[0]
    assert (row["mirna_id"], row["mirna_family"], row["group"], row["target_id"]) == (
        "hsa-let-7a-3p", "let-7", "cluster:355", "13:103634174-103634223-")
    # negatives balanced per miRNA: most miRNAs about as often among negatives as among positives
    counts = test.groupby(["mirna", "label"]).size().unstack(fill_value=0)
    assert ((counts[0] - counts[1]).abs() <= 2).mean() > 0.85 and counts.corr().iloc[0, 1] > 0.85


def test_parse_errors_name_line_and_letter():
    raw = (HEADER + "ACGU\tUGAGG\tm1\tf\t\t1\t1\t1\t4\t+\t7\n" + "ACGX\tUGAGG\tm2\tf\t\t0\t1\t1\t4\t+\t7\n").encode()
    with pytest.raises(InputError, match=r"x.tsv, record 3: target \(gene\) sequence: unknown letter 'X'"):
        parse_mirbench(raw, "x.tsv")
    raw = (HEADER + "ACGU\tUGAGG\tm1\tf\t\t2\t1\t1\t4\t+\t7\n").encode()
    with pytest.raises(InputError, match="record 2: label must be 0 or 1, got '2'"):
        parse_mirbench(raw, "x.tsv")
    with pytest.raises(InputError, match="missing column"):
        parse_mirbench(b"a\tb\n1\t2\n", "x.tsv")


def test_fetch_checks_unpacked_content(tmp_path, monkeypatch):
    remote = tmp_path / "remote"
    remote.mkdir()
    body = (HEADER + "ACGTACGT\tTGAGGTAGTAG\tm1\tf\t\t1\t1\t1\t8\t+\t7\n").encode()
    for split in ("train", "test"):
        (remote / f"X_{split}.tsv.gz").write_bytes(gzip.compress(body, mtime=1))
    digest = hashlib.sha256(body).hexdigest()
    fake = MirbenchSet("fake", "X", ("train", "test"), "a test set", {"train": digest})
    monkeypatch.setitem(mirbench.MIRBENCH, "fake", fake)
    monkeypatch.setattr(mirbench, "file_url", lambda name: f"{remote.as_uri()}/{name}")
    got = mirbench.fetch("fake", tmp_path / "data")
    assert "verified (mirlens registry)" in got[0][1]
    assert "pinned" in got[1][1] and (tmp_path / "data" / "X_test.tsv.gz.sha256").read_text().startswith(digest)
    table = load_mirbench("fake", "test", data_dir=tmp_path / "data")
    assert table["mirna"].tolist() == ["UGAGGUAGUAG"] and table["target"].tolist() == ["ACGUACGU"]
    # a changed file no longer matches its registered / pinned digest
    (tmp_path / "data" / "X_test.tsv.gz").write_bytes(gzip.compress(body.replace(b"ACGTACGT", b"ACGTACGA")))
    with pytest.raises(DataSetError, match="does not match its checksum"):
        load_mirbench("fake", "test", data_dir=tmp_path / "data")
    (remote / "X_train.tsv.gz").write_bytes(gzip.compress(body + body))
    with pytest.raises(DataSetError, match="content does not match"):
        mirbench.fetch("fake", tmp_path / "data2")
    assert not (tmp_path / "data2" / "X_train.tsv.gz").exists()


def test_missing_and_unknown(tmp_path):
    with pytest.raises(DataSetError, match="run `mirlens data fetch klimentova2022`"):
        load_mirbench("klimentova2022", "test", data_dir=tmp_path)
    with pytest.raises(DataSetError, match="has no split 'train'"):
        load_mirbench("klimentova2022", "train", data_dir=tmp_path)
    with pytest.raises(DataSetError, match="unknown miRBench data set"):
        load_mirbench("nope", "test", data_dir=tmp_path)


def test_cli_info_and_search_path(mirbench_dir, mitar_data_dir):
    runner = CliRunner()
    both = f"{mirbench_dir}:{mitar_data_dir}"
    res = runner.invoke(app, ["data", "info", "hejret2023", "--data-dir", both])
    assert res.exit_code == 0, res.output
    assert "8,193" in res.output and "965" in res.output
    res = runner.invoke(app, ["data", "list", "--data-dir", both])
    assert res.exit_code == 0 and "hejret2023" in res.output and "2/2" in res.output
    res = runner.invoke(app, ["data", "info", "miraw", "--data-dir", both])  # found in the second directory
    assert res.exit_code == 0, res.output
