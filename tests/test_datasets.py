"""Registry, download/fetch, named data sets, and duplicate handling."""

from __future__ import annotations

import io
import re
import shutil
import urllib.error

import pandas as pd
import pytest

from mirlens.data import download
from mirlens.data.datasets import (
    dataset_files,
    dataset_info,
    fetch,
    list_datasets,
    load_dataset,
    resolve_data_dir,
    verify,
)
from mirlens.data.download import sha256_file
from mirlens.data.duplicates import deduplicate, find_duplicates
from mirlens.data.pairs import make_pairs, validate_pairs
from mirlens.data.registry import DATA_FILES, FILES, MODEL_FILES, remote_file
from mirlens.errors import DataSetError

DEEPMIRTAR_TEST = "data_DeepMirTar_removeMisMissing_indTest_seed1122.txt"
PINNED = re.compile(r"^https://raw\.githubusercontent\.com/tjgu/miTAR/[0-9a-f]{40}/.+")


# ------------------------------------------------------------------------------------------------ registry


def test_registry_is_pinned():
    assert len(DATA_FILES) == 6 and len(MODEL_FILES) == 3
    for name, f in FILES.items():
        assert f.name == name and f.url.endswith("/" + name)
        assert PINNED.match(f.url), f.url
        assert re.fullmatch(r"[0-9a-f]{64}", f.sha256)
    assert remote_file("miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5").url == (
        "https://raw.githubusercontent.com/tjgu/miTAR/1458e24b6e5e23c4a71c7dd5e50072721e92c5a7/"
        "scripts_data_models/results/miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5"
    )
    with pytest.raises(DataSetError, match="unknown file 'nope.txt'"):
        remote_file("nope.txt")


def test_registered_checksums_match_shared_copies(mitar_data_dir, keras_dir):
    for name, f in DATA_FILES.items():
        assert sha256_file(mitar_data_dir / name) == f.sha256, name
    for name, f in MODEL_FILES.items():
        assert sha256_file(keras_dir / name) == f.sha256, name


def test_list_and_files():
    assert list_datasets() == ["deepmirtar", "miraw", "combined"]
    assert dataset_files("deepmirtar") == [
        "data_DeepMirTar_removeMisMissing_remained_seed1122.txt", DEEPMIRTAR_TEST,
    ]
    assert len(dataset_files("miraw")) == 3 and set(dataset_files("combined")) == set(DATA_FILES) - {
        "data_DeepMirTar_IndTest_noRepeats_3folds.txt"
    }
    for name in list_datasets():
        assert set(dataset_files(name)) <= set(DATA_FILES)
    with pytest.raises(DataSetError, match="unknown data set 'foo'"):
        dataset_files("foo")


def test_resolve_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("MIRLENS_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "mirlens" / "data"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == tmp_path / "xdg" / "mirlens" / "data"
    monkeypatch.setenv("MIRLENS_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"


# ------------------------------------------------------------------------------------------------ download / fetch


class FakeUrlopen:
    """Stands in for urllib.request.urlopen: serves bytes per URL and records the calls."""

    def __init__(self, payloads: dict[str, bytes] | None = None, default: bytes | None = None, error=None):
        self.payloads = payloads or {}
        self.default = default
        self.error = error
        self.calls: list[str] = []

    def __call__(self, url, timeout=None):
        self.calls.append(url)
        if self.error is not None:
            raise self.error
        return io.BytesIO(self.payloads.get(url, self.default))


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_download_file_url(tmp_path):
    src = tmp_path / "src" / "f.txt"
    src.parent.mkdir()
    src.write_bytes(b"hello")
    good = sha256_file(src)
    dest = tmp_path / "out" / "f.txt"
    assert download.download(src.as_uri(), dest, good) == dest
    assert dest.read_bytes() == b"hello"
    with pytest.raises(DataSetError) as exc_info:
        download.download(src.as_uri(), tmp_path / "out2" / "f.txt", "0" * 64)
    message = str(exc_info.value)
    assert "f.txt" in message and "0" * 64 in message and good in message
    assert leftovers(tmp_path / "out2") == []


def test_fetch_dataset_with_good_checksums(monkeypatch, tmp_path, mitar_data_dir):
    fake = FakeUrlopen({f.url: (mitar_data_dir / n).read_bytes() for n, f in DATA_FILES.items()})
    monkeypatch.setattr(download.urllib.request, "urlopen", fake)
    paths = fetch("deepmirtar", dest=tmp_path / "data")
    assert [p.name for p in paths] == dataset_files("deepmirtar")
    assert fake.calls == [FILES[n].url for n in dataset_files("deepmirtar")]
    assert leftovers(tmp_path / "data") == sorted(dataset_files("deepmirtar"))
    assert verify(tmp_path / "data") == {n: True for n in dataset_files("deepmirtar")}
    assert len(load_dataset("deepmirtar", "test", data_dir=tmp_path / "data")) == 96

    # present and verified: not downloaded again; force: downloaded again
    fetch("deepmirtar", dest=tmp_path / "data")
    assert len(fake.calls) == 2
    fetch(DEEPMIRTAR_TEST, dest=tmp_path / "data", force=True)
    assert len(fake.calls) == 3


def test_fetch_uses_data_dir_env(monkeypatch, tmp_path):
    f = FILES[DEEPMIRTAR_TEST]
    payload = b"x"
    monkeypatch.setitem(FILES, f.name, type(f)(f.name, f.url, download.hashlib.sha256(payload).hexdigest(), f.kind))
    monkeypatch.setattr(download.urllib.request, "urlopen", FakeUrlopen(default=payload))
    monkeypatch.setenv("MIRLENS_DATA_DIR", str(tmp_path / "env"))
    (path,) = fetch(f.name)
    assert path == tmp_path / "env" / f.name and path.read_bytes() == payload


def test_fetch_bad_checksum_leaves_nothing(monkeypatch, tmp_path):
    fake = FakeUrlopen(default=b"not the published file")
    monkeypatch.setattr(download.urllib.request, "urlopen", fake)
    with pytest.raises(DataSetError) as exc_info:
        fetch(DEEPMIRTAR_TEST, dest=tmp_path / "data")
    message = str(exc_info.value)
    assert DEEPMIRTAR_TEST in message
    assert FILES[DEEPMIRTAR_TEST].sha256 in message
    assert download.hashlib.sha256(b"not the published file").hexdigest() in message
    assert leftovers(tmp_path / "data") == []


def test_fetch_replaces_a_corrupt_file_and_keeps_it_on_failure(monkeypatch, tmp_path, mitar_data_dir):
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / DEEPMIRTAR_TEST).write_bytes(b"corrupt")
    assert verify(dest) == {DEEPMIRTAR_TEST: False}
    monkeypatch.setattr(download.urllib.request, "urlopen", FakeUrlopen(default=b"still wrong"))
    with pytest.raises(DataSetError, match="checksum mismatch"):
        fetch(DEEPMIRTAR_TEST, dest=dest)
    assert leftovers(dest) == [DEEPMIRTAR_TEST] and (dest / DEEPMIRTAR_TEST).read_bytes() == b"corrupt"
    good = (mitar_data_dir / DEEPMIRTAR_TEST).read_bytes()
    monkeypatch.setattr(download.urllib.request, "urlopen", FakeUrlopen(default=good))
    fetch(DEEPMIRTAR_TEST, dest=dest)
    assert (dest / DEEPMIRTAR_TEST).read_bytes() == good and verify(dest) == {DEEPMIRTAR_TEST: True}


def test_fetch_network_error(monkeypatch, tmp_path):
    fake = FakeUrlopen(error=urllib.error.URLError("no route to host"))
    monkeypatch.setattr(download.urllib.request, "urlopen", fake)
    with pytest.raises(DataSetError, match="cannot download .*no route to host"):
        fetch("miTAR_CNN_BiRNN_b100_lr0.005_dout0.2.h5", dest=tmp_path / "m")
    assert leftovers(tmp_path / "m") == []
    with pytest.raises(DataSetError, match="unknown file 'nothing'"):
        fetch("nothing", dest=tmp_path)


def test_verify_only_reports_present_files(tmp_path, mitar_data_dir):
    shutil.copy(mitar_data_dir / DEEPMIRTAR_TEST, tmp_path / DEEPMIRTAR_TEST)
    (tmp_path / "data_miRaw_IndTest_noRepeats_3folds.txt").write_text("changed")
    (tmp_path / "unrelated.txt").write_text("x")
    assert verify(tmp_path) == {DEEPMIRTAR_TEST: True, "data_miRaw_IndTest_noRepeats_3folds.txt": False}


# ------------------------------------------------------------------------------------------------ data sets


def counts(df: pd.DataFrame) -> tuple[int, int, int]:
    return len(df), int((df["label"] == 1).sum()), int((df["label"] == 0).sum())


def test_deepmirtar(mitar_data_dir):
    train = load_dataset("deepmirtar", data_dir=mitar_data_dir)
    test = load_dataset("deepmirtar", "test", data_dir=mitar_data_dir)
    validate_pairs(train)
    # the published training file has 7,758 rows (3,908 / 3,850); 93 of them repeat one of 92 test pairs
    assert counts(train) == (7665, 3862, 3803)
    assert train.attrs["n_dropped_test_pairs"] == 93
    assert counts(test) == (96, 48, 48)
    assert len(load_dataset("deepmirtar", "all", data_dir=mitar_data_dir)) == 7758 + 96
    assert test["mirna"].iloc[0] == "AUGACCUAUGAAUUGACAGAC"
    assert train.attrs["dataset"] == "deepmirtar" and train.attrs["part"] == "train"
    pool = load_dataset("deepmirtar", "pool", data_dir=mitar_data_dir)  # the file as published (paper's pair set)
    assert counts(pool) == (7758, 3908, 3850)


def test_miraw(mitar_data_dir):
    every = load_dataset("miraw", "all", data_dir=mitar_data_dir)
    validate_pairs(every)
    assert counts(every) == (64653, 32660, 31993)
    assert every["target_id"].str.startswith("ENSG").all()
    assert len(every.drop_duplicates(["mirna", "target"])) == 61805
    test = load_dataset("miraw", "test", data_dir=mitar_data_dir)
    assert counts(test) == (2000, 1000, 1000)
    train = load_dataset("miraw", "train", data_dir=mitar_data_dir)
    test_pairs = set(zip(test["mirna"], test["target"]))
    assert not any(k in test_pairs for k in zip(train["mirna"], train["target"]))  # no leakage
    dropped = train.attrs["n_dropped_test_pairs"]
    assert dropped == 202
    assert len(train) == 64653 - 2000 - dropped
    assert (train["source"] != "data_miRaw_noL_noMisMissing_indTest_seed1122.txt").all()
    pool = load_dataset("miraw", "pool", data_dir=mitar_data_dir)
    assert len(pool) == 64653 - 2000 and (pool["source"] != "data_miRaw_noL_noMisMissing_indTest_seed1122.txt").all()


def test_combined(mitar_data_dir):
    for part in ("train", "test", "all", "pool"):
        combined = load_dataset("combined", part, data_dir=mitar_data_dir)
        parts = [load_dataset(n, part, data_dir=mitar_data_dir) for n in ("deepmirtar", "miraw")]
        assert counts(combined) == tuple(map(sum, zip(*(counts(p) for p in parts))))
        assert set(combined["source"]) == set(parts[0]["source"]) | set(parts[1]["source"])
    assert load_dataset("combined", data_dir=mitar_data_dir).attrs["n_dropped_test_pairs"] == 93 + 202


def test_dataset_info(mitar_data_dir):
    info = dataset_info("miraw", data_dir=mitar_data_dir)
    assert info["parts"]["all"] == {"rows": 64653, "positives": 32660, "negatives": 31993, "unique_pairs": 61805}
    assert info["dropped_test_pairs"] == 202 and info["test_rows_in_train"] == 0
    assert info["files"] == dataset_files("miraw")
    deepmirtar = dataset_info("deepmirtar", data_dir=mitar_data_dir)
    # the published DeepMirTar split repeats 92 test pairs in its training file (93 rows): mirlens drops them
    assert deepmirtar["dropped_test_pairs"] == 93 and deepmirtar["test_rows_in_train"] == 0


def test_dedup_on_load(mitar_data_dir):
    df = load_dataset("miraw", "all", data_dir=mitar_data_dir, dedup=True)
    assert len(df) == 61805
    assert df.attrs["n_duplicates_dropped"] == 2848 and df.attrs["n_conflicting_dropped"] == 0


def test_loads_are_copies(mitar_data_dir):
    df = load_dataset("deepmirtar", "test", data_dir=mitar_data_dir)
    df.loc[0, "mirna"] = "GGGG"
    df.attrs["part"] = "changed"
    again = load_dataset("deepmirtar", "test", data_dir=mitar_data_dir)
    assert again["mirna"].iloc[0] == "AUGACCUAUGAAUUGACAGAC" and again.attrs["part"] == "test"


def test_load_uses_env_and_reports_missing_files(monkeypatch, tmp_path, mitar_data_dir):
    monkeypatch.setenv("MIRLENS_DATA_DIR", str(mitar_data_dir))
    assert len(load_dataset("deepmirtar", "test")) == 96
    monkeypatch.setenv("MIRLENS_DATA_DIR", str(tmp_path))
    with pytest.raises(DataSetError) as exc_info:
        load_dataset("miraw")
    message = str(exc_info.value)
    assert "mirlens data fetch miraw" in message and "MIRLENS_DATA_DIR" in message
    assert "data_miRaw_IndTest_noRepeats_3folds.txt" in message


def test_load_rejects_modified_file(tmp_path, mitar_data_dir):
    for name in dataset_files("deepmirtar"):
        shutil.copy(mitar_data_dir / name, tmp_path / name)
    assert len(load_dataset("deepmirtar", "test", data_dir=tmp_path)) == 96
    with open(tmp_path / DEEPMIRTAR_TEST, "a") as fh:
        fh.write("MIMAT1\tACGU\tNM_1\tACGU\t1\n")
    with pytest.raises(DataSetError, match=f"{DEEPMIRTAR_TEST}.*checksum"):
        load_dataset("deepmirtar", "test", data_dir=tmp_path)


def test_bad_names():
    with pytest.raises(DataSetError, match="unknown data set 'nope'.*deepmirtar"):
        load_dataset("nope")
    with pytest.raises(DataSetError, match="unknown part 'valid'"):
        load_dataset("deepmirtar", "valid")


# ------------------------------------------------------------------------------------------------ duplicates


def table(rows):
    mirna_id, mirna, target_id, target, label = (list(c) for c in zip(*rows))
    return make_pairs(mirna_id=mirna_id, mirna=mirna, target_id=target_id, target=target, label=label,
                      source="f.txt", record=list(range(1, len(rows) + 1)))


def test_find_duplicates():
    df = table([
        ("a", "ACGU", "t", "GG", 1),
        ("b", "ACGU", "u", "GG", 1),   # same pair as row 1, other ids
        ("c", "UUUU", "t", "GG", 0),
        ("d", "CCCC", "t", "AA", 1),
        ("e", "CCCC", "t", "AA", 0),   # conflicting label
        ("f", "UUUU", "t", "GG", None),
        ("g", "GGGG", "t", "AA", 1),
    ])
    dups = find_duplicates(df)
    assert list(dups.columns) == ["mirna", "target", "count", "labels", "conflict", "first_source", "first_record"]
    assert dups[["mirna", "target"]].values.tolist() == [["ACGU", "GG"], ["UUUU", "GG"], ["CCCC", "AA"]]
    assert dups["count"].tolist() == [2, 2, 2]
    assert dups["labels"].tolist() == [(1,), (0,), (0, 1)]
    assert dups["conflict"].tolist() == [False, False, True]
    assert dups["first_record"].tolist() == [1, 3, 4]

    with pytest.warns(UserWarning, match="dropped 2 row.* 1 .*conflicting labels"):
        clean = deduplicate(df)
    validate_pairs(clean)
    assert clean["mirna_id"].tolist() == ["a", "c", "g"]
    assert clean.attrs["n_duplicates_dropped"] == 2 and clean.attrs["n_conflicting_dropped"] == 2
    with pytest.warns(UserWarning):
        last = deduplicate(df, keep="last")
    # the kept row of (UUUU, GG) had no label: it takes the pair's known label
    assert last["mirna_id"].tolist() == ["b", "f", "g"] and last["label"].tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="keep"):
        deduplicate(df, keep="none")


def test_no_duplicates():
    df = table([("a", "ACGU", "t", "GG", 1), ("b", "ACGU", "t", "GA", None)])
    assert find_duplicates(df).empty
    out = deduplicate(df)
    assert out.equals(df) and out.attrs["n_duplicates_dropped"] == 0


def test_miraw_duplicates(mitar_data_dir):
    dups = find_duplicates(load_dataset("miraw", "all", data_dir=mitar_data_dir))
    assert int((dups["count"] - 1).sum()) == 2848
    assert not dups["conflict"].any()


@pytest.mark.parametrize("name", ["deepmirtar", "miraw", "combined"])
def test_no_test_pair_in_train(mitar_data_dir, name):
    train = load_dataset(name, "train", data_dir=mitar_data_dir)
    test = load_dataset(name, "test", data_dir=mitar_data_dir)
    assert not set(zip(train["mirna"], train["target"])) & set(zip(test["mirna"], test["target"]))
