"""Named data sets built from the miTAR authors' published files.

=============  ======================================================================================
``deepmirtar``  train: ``data_DeepMirTar_removeMisMissing_remained_seed1122.txt`` (7,758 rows) minus the rows
                whose (miRNA, target) pair is a test pair (the published split repeats 92 of its 96 test pairs
                in the training file); test: ``data_DeepMirTar_removeMisMissing_indTest_seed1122.txt`` (96 pairs).
``miraw``       all: the miRAW rows (target id ``ENSG...``) of ``data_miRaw_IndTest_noRepeats_3folds.txt``,
                ``data_DeepMirTar_miRAW_noRepeats_3folds.txt`` and ``data_miRaw_noL_noMisMissing_indTest_seed1122.txt``
                (64,653 rows); test: the last file (2,000 rows); train: all rows except the test file's rows and
                except any other row whose (miRNA, target) pair is a test pair, so nothing of the test set leaks in.
``combined``    train: deepmirtar train + miraw train; test: deepmirtar test + miraw test.
=============  ======================================================================================

Part ``"all"`` is train + test (for ``miraw``: every row of the three files, leaky ones included).
Files are looked for in :func:`resolve_data_dir` (argument > ``$MIRLENS_DATA_DIR`` > the user cache directory) and
fetched there by :func:`fetch`. Each file's sha256 is checked once per process (per file modification time), and
parsed tables are cached in-process; every call returns a fresh copy.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mirlens.data.download import download, is_verified, sha256_file
from mirlens.data.duplicates import PAIR_KEY, deduplicate
from mirlens.data.pairs import concat_pairs
from mirlens.data.readers import read_pairs
from mirlens.data.registry import DATA_FILES, FILES, remote_file
from mirlens.errors import DataSetError

PARTS = ("train", "test", "all", "pool")
DATA_DIR_ENV = "MIRLENS_DATA_DIR"

DEEPMIRTAR_TRAIN = "data_DeepMirTar_removeMisMissing_remained_seed1122.txt"
DEEPMIRTAR_TEST = "data_DeepMirTar_removeMisMissing_indTest_seed1122.txt"
MIRAW_TEST = "data_miRaw_noL_noMisMissing_indTest_seed1122.txt"
MIRAW_SOURCES = (
    "data_miRaw_IndTest_noRepeats_3folds.txt",
    "data_DeepMirTar_miRAW_noRepeats_3folds.txt",
    MIRAW_TEST,
)
MIRAW_TARGET_PREFIX = "ENSG"


@dataclass(frozen=True, slots=True)
class DataSet:
    """A named data set: what it is and which registered files it needs."""

    name: str
    description: str
    files: tuple[str, ...]


DATASETS: dict[str, DataSet] = {
    d.name: d
    for d in (
        DataSet(
            "deepmirtar",
            "DeepMirTar site-level pairs as split by the miTAR authors (test 96; train = the 7,758 training rows "
            "minus rows repeating a test pair)",
            (DEEPMIRTAR_TRAIN, DEEPMIRTAR_TEST),
        ),
        DataSet(
            "miraw",
            "miRAW site-level pairs from three miTAR files (64,653 rows); test = miTAR2's independent test set "
            "(2,000), train = the rest minus rows repeating a test pair",
            MIRAW_SOURCES,
        ),
        DataSet(
            "combined",
            "deepmirtar and miraw together (train with train, test with test)",
            (DEEPMIRTAR_TRAIN, DEEPMIRTAR_TEST, *MIRAW_SOURCES),
        ),
    )
}


def list_datasets() -> list[str]:
    """Names of the data sets, e.g. ``["deepmirtar", "miraw", "combined"]``."""
    return list(DATASETS)


def _dataset(name: str) -> DataSet:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataSetError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}") from None


def dataset_files(name: str) -> list[str]:
    """File names the data set ``name`` is built from."""
    return list(_dataset(name).files)


def data_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where data files are looked for, in order: ``data_dir`` if given, else ``$MIRLENS_DATA_DIR``, else
    ``$XDG_CACHE_HOME/mirlens/data`` (``~/.cache/mirlens/data`` when ``XDG_CACHE_HOME`` is unset). Like ``PATH``,
    the first two may list several directories separated by ``os.pathsep`` (``:``), e.g. the folders of
    the miTAR files and of the miRBench files."""
    spec = str(data_dir) if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if spec:
        return [Path(p).expanduser() for p in spec.split(os.pathsep) if p] or [Path(".")]
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return [Path(cache).expanduser() / "mirlens" / "data"]


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The first directory of :func:`data_dirs`: where fetched files go."""
    return data_dirs(data_dir)[0]


def find_data_file(file_name: str, data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The first ``file_name`` found in :func:`data_dirs`, or None."""
    for directory in data_dirs(data_dir):
        if (directory / file_name).is_file():
            return directory / file_name
    return None


# ---------------------------------------------------------------------------------------------------- fetching


def fetch(name_or_file: str, dest: str | os.PathLike[str] | None = None, *, force: bool = False) -> list[Path]:
    """Download the files of a data set (or one registered file, data or model) into ``dest``.

    ``dest`` defaults to :func:`resolve_data_dir`. Files already there with the right sha256 are not downloaded
    again unless ``force``. Returns the local paths. A checksum mismatch raises :class:`DataSetError` naming the
    file, the expected and the received sha256, and leaves no file behind.
    """
    names = list(DATASETS[name_or_file].files) if name_or_file in DATASETS else [remote_file(name_or_file).name]
    directory = resolve_data_dir(dest)
    return [download(FILES[n].url, directory / n, FILES[n].sha256, force=force) for n in names]


def verify(data_dir: str | os.PathLike[str] | None = None) -> dict[str, bool]:
    """For every registered file present in the data directory: does its sha256 match? (missing files are left out)"""
    found = {n: find_data_file(n, data_dir) for n in FILES}
    return {n: is_verified(p, FILES[n].sha256) for n, p in found.items() if p is not None}


# ---------------------------------------------------------------------------------------------------- loading


def load_dataset(
    name: str,
    part: str = "train",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    dedup: bool = False,
) -> pd.DataFrame:
    """The pair table of one part of the data set ``name``: ``"train"`` (the training file(s) minus every pair
    that repeats an independent-test pair), ``"test"`` (the independent test set), ``"all"`` (both), or ``"pool"``
    (the training file(s) exactly as the authors distributed them, test repeats included -- the pair sets the
    paper's analyses used, e.g. the 3,908 DeepMirTar positives; never train on it and test on ``"test"``).

    ``dedup=True`` keeps each (miRNA, target) pair once (see :func:`mirlens.data.duplicates.deduplicate`).
    ``attrs`` of the result: ``dataset``, ``part``, ``n_ambiguous``, and for tables that had rows removed because
    they repeat a test pair, ``n_dropped_test_pairs``.
    Raises :class:`DataSetError` when a file is missing (telling how to fetch it) or fails its checksum.
    """
    dataset = _dataset(name)
    if part not in PARTS:
        raise DataSetError(f"unknown part {part!r} of data set {name!r}; choose from {', '.join(PARTS)}")
    stamps = tuple(_stamp(data_dir, f, name) for f in dataset.files)
    df = _compose_cached(name, part, stamps)
    if dedup:
        df = deduplicate(df)
    out = df.copy()
    out.attrs = {**df.attrs, "dataset": name, "part": part}
    return out


def dataset_info(name: str, *, data_dir: str | os.PathLike[str] | None = None) -> dict:
    """Description, files and, per part, row / label / unique-pair counts of a data set (its files must be present).

    ``dropped_test_pairs``: train rows removed because their (miRNA, target) pair is a test pair.
    ``test_rows_in_train``: test rows whose pair still occurs in train (leakage left in by the published split).
    """
    dataset = _dataset(name)
    parts = {part: load_dataset(name, part, data_dir=data_dir) for part in PARTS}
    train_keys = set(zip(parts["train"]["mirna"], parts["train"]["target"]))
    return {
        "name": name,
        "description": dataset.description,
        "files": list(dataset.files),
        "data_dir": str(resolve_data_dir(data_dir)),
        "parts": {part: _counts(df) for part, df in parts.items()},
        "dropped_test_pairs": int(parts["train"].attrs.get("n_dropped_test_pairs", 0)),
        "test_rows_in_train": sum(k in train_keys for k in zip(parts["test"]["mirna"], parts["test"]["target"])),
    }


def _counts(df: pd.DataFrame) -> dict[str, int]:
    return {
        "rows": len(df),
        "positives": int((df["label"] == 1).sum()),
        "negatives": int((df["label"] == 0).sum()),
        "unique_pairs": int(len(df.drop_duplicates(PAIR_KEY))),
    }


def _stamp(data_dir, file_name: str, dataset: str) -> tuple[str, int, int]:
    """``(path, mtime_ns, size)`` of a data file, the cache key; missing file -> DataSetError saying what to do."""
    path = find_data_file(file_name, data_dir)
    if path is None:
        where = os.pathsep.join(str(d) for d in data_dirs(data_dir))
        raise DataSetError(
            f"data set {dataset!r}: file {file_name} not found in {where}; run `mirlens data fetch {dataset}` "
            f"or set {DATA_DIR_ENV} to a directory that holds it"
        )
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=32)
def _read_verified(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """Parse one registered data file after checking its sha256 (cached per path, modification time and size)."""
    file = DATA_FILES[Path(path).name]
    got = sha256_file(path)
    if got != file.sha256:
        raise DataSetError(
            f"{path} does not match its published checksum (expected sha256 {file.sha256}, got {got}); "
            f"delete it and fetch it again with `mirlens data fetch {file.name}`"
        )
    return read_pairs(path, "mitar")


def _table(stamps: dict[str, tuple[str, int, int]], file_name: str) -> pd.DataFrame:
    return _read_verified(*stamps[file_name])


@functools.lru_cache(maxsize=16)
def _compose_cached(name: str, part: str, stamps: tuple[tuple[str, int, int], ...]) -> pd.DataFrame:
    by_name = {Path(s[0]).name: s for s in stamps}
    if name == "deepmirtar":
        return _deepmirtar(by_name, part)
    if name == "miraw":
        return _miraw(by_name, part)
    # combined
    deepmirtar, miraw = _deepmirtar(by_name, part), _miraw(by_name, part)
    combined = concat_pairs([deepmirtar, miraw])
    if part == "train":
        combined.attrs["n_dropped_test_pairs"] = (deepmirtar.attrs["n_dropped_test_pairs"]
                                                  + miraw.attrs["n_dropped_test_pairs"])
    return combined


def _deepmirtar(stamps: dict, part: str) -> pd.DataFrame:
    test = _table(stamps, DEEPMIRTAR_TEST)
    if part == "test":
        return test
    train = _table(stamps, DEEPMIRTAR_TRAIN)
    if part == "all":
        return concat_pairs([train, test])
    if part == "pool":
        return train
    return _without_test_pairs(train, test, n_ambiguous=train.attrs.get("n_ambiguous", 0))


def _without_test_pairs(rest: pd.DataFrame, test: pd.DataFrame, *, n_ambiguous: int) -> pd.DataFrame:
    """``rest`` minus every row whose (miRNA, target) pair is a test pair (the published DeepMirTar split has 92
    of its 96 test pairs in the training file; the miRAW files repeat 202 test pairs)."""
    test_keys = pd.MultiIndex.from_frame(test[PAIR_KEY])
    leaky = pd.MultiIndex.from_frame(rest[PAIR_KEY]).isin(test_keys)
    train = rest[~leaky].reset_index(drop=True)
    train.attrs = {"n_ambiguous": n_ambiguous, "n_dropped_test_pairs": int(leaky.sum())}
    return train


def _miraw(stamps: dict, part: str) -> pd.DataFrame:
    test = _table(stamps, MIRAW_TEST)
    if part == "test":
        return test
    tables = [_table(stamps, f) for f in MIRAW_SOURCES]
    every = concat_pairs([t[t["target_id"].str.startswith(MIRAW_TARGET_PREFIX)] for t in tables])
    if part == "all":
        return every
    if part == "pool":
        return every[every["source"] != MIRAW_TEST].reset_index(drop=True)
    return _without_test_pairs(every[every["source"] != MIRAW_TEST], test, n_ambiguous=every.attrs["n_ambiguous"])
