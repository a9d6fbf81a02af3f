"""miRBench site-level data sets by name (Sammut et al., Bioinformatics 2025): CLIP-derived (miRNA, 50-nt target
fragment) pairs whose negatives are balanced per miRNA.

=================  ===============================  ==================  ============================================
name               miRBench name                    splits              what
=================  ===============================  ==================  ============================================
``hejret2023``     ``AGO2_CLASH_Hejret2023``        train, test         AGO2 CLASH chimeras, HEK293 (Hejret 2023)
``klimentova2022`` ``AGO2_eCLIP_Klimentova2022``    test                AGO2 chimeric eCLIP, HEK293 (Klimentova 2022)
``manakov2022``    ``AGO2_eCLIP_Manakov2022``       train, test,        AGO2 chimeric eCLIP, HEK293T (Manakov 2022;
                                                    leftout             leftout: miRNA families absent from train)
=================  ===============================  ==================  ============================================

Every positive (a miRNA with the 50-nt fragment it was ligated to) has a negative made of the same miRNA and
another positive's fragment that holds no canonical site of it, so a miRNA occurs as often among the negatives as
among the positives: its identity says nothing about the label. Train and test are split by gene cluster.

Files are ``{miRBench name}_{split}.tsv.gz`` from Zenodo record :data:`ZENODO_RECORD` (what the miRBench package
downloads), looked for in the data directory (``--data-dir`` / ``$MIRLENS_DATA_DIR`` / the cache; a ``.tsv`` that
is the unpacked file is read too). A file is checked against the sha256 of its *unpacked* table (the same bytes
whatever gzip wrote around them) where mirlens knows it; for the others the digest seen at the first download is
written next to the file (``.sha256``) and checked from then on, and the fetch says so.

Loading: DNA letters become RNA, sequences are validated like every pair file (an unknown letter is an error naming
the file, line and letter), exact repeats of (miRNA, fragment, label) are dropped (counted in ``attrs``), and
the table gets two columns beyond the pair table's: ``mirna_family`` (miRBench's ``noncodingRNA_fam``) and
``group`` (``cluster:<gene_cluster_ID>``: keep a group in one part when splitting).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.data.alphabet import clean_sequence
from mirlens.data.download import download
from mirlens.data.pairs import make_pairs
from mirlens.errors import DataSetError, InputError

ZENODO_RECORD = "14501607"
_ZENODO = f"https://zenodo.org/records/{ZENODO_RECORD}/files"
FRAGMENT_LEN = 50
COLUMNS = ("gene", "noncodingRNA", "noncodingRNA_name", "noncodingRNA_fam", "label", "gene_cluster_ID")


@dataclass(frozen=True, slots=True)
class MirbenchSet:
    name: str
    mirbench_name: str
    splits: tuple[str, ...]
    description: str
    content_sha256: dict  # split -> sha256 of the unpacked TSV, where known

    def file_name(self, split: str) -> str:
        return f"{self.mirbench_name}_{split}.tsv.gz"


MIRBENCH: dict[str, MirbenchSet] = {s.name: s for s in (
    MirbenchSet("hejret2023", "AGO2_CLASH_Hejret2023", ("train", "test"),
                "AGO2 CLASH chimeras, HEK293 (Hejret et al. 2023); 50-nt fragments, negatives balanced per miRNA",
                {"train": "45f31a0277fe5f9fb7dfbfc5e705f6f8814a08cfa2a03f34016c1314151579ac",
                 "test": "ee9543c676067540ce9444fe9fb3653b14be97abcfa9a3f10063fb6d13a9b5c5"}),
    MirbenchSet("klimentova2022", "AGO2_eCLIP_Klimentova2022", ("test",),
                "AGO2 chimeric eCLIP, HEK293 (Klimentova et al. 2022); test only", {}),
    MirbenchSet("manakov2022", "AGO2_eCLIP_Manakov2022", ("train", "test", "leftout"),
                "AGO2 chimeric eCLIP, HEK293T (Manakov et al. 2022); leftout = miRNA families absent from train",
                {}),
)}


def file_url(file_name: str) -> str:
    """Where a miRBench file is downloaded from (Zenodo)."""
    return f"{_ZENODO}/{file_name}?download=1"


def mirbench_set(name: str) -> MirbenchSet:
    try:
        return MIRBENCH[name]
    except KeyError:
        raise DataSetError(f"unknown miRBench data set {name!r}; choose from {', '.join(MIRBENCH)}") from None


def _check_split(ds: MirbenchSet, split: str) -> None:
    if split not in ds.splits:
        raise DataSetError(f"miRBench data set {ds.name!r} has no split {split!r} (it has {', '.join(ds.splits)})")


def _unpacked(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataSetError(f"{path}: damaged gzip file ({exc}); delete it and fetch it again") from None
    return data


def _pin_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _expected_digest(ds: MirbenchSet, split: str, path: Path) -> tuple[str | None, str]:
    """(expected content sha256, where it comes from) for a local file."""
    known = ds.content_sha256.get(split)
    if known:
        return known, "mirlens registry"
    pin = _pin_path(path)
    if pin.is_file():
        return pin.read_text().split()[0], f"pinned at first download ({pin.name})"
    return None, "unknown"


def locate(name: str, split: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The local file of one split (``.tsv.gz``, or the unpacked ``.tsv``); :class:`DataSetError` saying how to
    fetch it when absent."""
    from mirlens.data.datasets import DATA_DIR_ENV, data_dirs, find_data_file

    ds = mirbench_set(name)
    _check_split(ds, split)
    gz = ds.file_name(split)
    for candidate in (gz, gz.removesuffix(".gz")):
        found = find_data_file(candidate, data_dir)
        if found is not None:
            return found
    where = os.pathsep.join(str(d) for d in data_dirs(data_dir))
    raise DataSetError(f"miRBench data set {name!r} ({split}): {gz} not found in {where}; run "
                       f"`mirlens data fetch {name}` or set {DATA_DIR_ENV} / --data-dir to a directory that holds it")


def fetch(name: str, dest: str | os.PathLike[str] | None = None, *, force: bool = False) -> list[tuple[Path, str]]:
    """Download every split of a miRBench data set from Zenodo into the data directory; returns (path, how it was
    verified) per file."""
    from mirlens.data.datasets import resolve_data_dir

    ds = mirbench_set(name)
    directory = resolve_data_dir(dest)
    out = []
    for split in ds.splits:
        path = directory / ds.file_name(split)
        if force or not path.is_file():
            # the container's bytes are not pinned (gzip headers differ between writers): check the content
            download(file_url(path.name), path, sha256=None)
        digest = hashlib.sha256(_unpacked(path)).hexdigest()
        expected, origin = _expected_digest(ds, split, path)
        if expected is None:
            _pin_path(path).write_text(f"{digest}  {path.name} (unpacked)\n")
            out.append((path, f"no published checksum: content sha256 {digest[:12]}... pinned for later checks"))
            continue
        if digest != expected:
            path.unlink(missing_ok=True)
            raise DataSetError(f"{path.name}: content does not match its checksum ({origin}: expected sha256 "
                               f"{expected}, got {digest}); the file was removed, fetch it again")
        out.append((path, f"content sha256 verified ({origin})"))
    return out


def load_mirbench(name: str, split: str, *, data_dir: str | os.PathLike[str] | None = None,
                  dedup: bool = True) -> pd.DataFrame:
    """One split of a miRBench data set as a pair table (5'->3', RNA letters) plus ``mirna_family`` and ``group``
    columns (see the module doc). ``attrs``: ``dataset``, ``part``, ``n_duplicates_dropped``."""
    path = locate(name, split, data_dir)
    st = path.stat()
    table = _load_cached(name, split, str(path), st.st_mtime_ns, st.st_size)
    if dedup:
        key = table[["mirna", "target", "label"]]
        repeat = key.duplicated().to_numpy()
        out = table[~repeat].reset_index(drop=True)
        out.attrs = {**table.attrs, "n_duplicates_dropped": int(repeat.sum())}
        table = out
    out = table.copy()
    out.attrs = dict(table.attrs)
    return out


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, split: str, path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    ds = mirbench_set(name)
    raw = _unpacked(Path(path))
    expected, origin = _expected_digest(ds, split, Path(path))
    if expected is not None:
        got = hashlib.sha256(raw).hexdigest()
        if got != expected:
            raise DataSetError(f"{path} does not match its checksum ({origin}: expected content sha256 {expected}, "
                               f"got {got}); delete it and fetch it again with `mirlens data fetch {name}`")
    return parse_mirbench(raw, Path(path).name, dataset=name, split=split)


def _clean(seq: str, what: str, source: str, line: int) -> tuple[str, int]:
    try:
        return clean_sequence(seq.strip(), source=source, record=line)
    except InputError as exc:
        raise InputError(f"{what} sequence: {exc.problem}", source=source, record=line) from None


def parse_mirbench(raw: bytes, source: str, *, dataset: str = "", split: str = "") -> pd.DataFrame:
    """Parse the bytes of a miRBench TSV into a pair table (see :func:`load_mirbench`)."""
    try:
        frame = pd.read_csv(io.BytesIO(raw), sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a miRBench table ({exc})", source=source) from None
    missing = [c for c in ("gene", "noncodingRNA", "label") if c not in frame]
    if missing:
        raise InputError(f"not a miRBench table: missing column(s) {', '.join(missing)}", source=source)
    lines = np.arange(2, len(frame) + 2)  # 1-based file lines (line 1 is the header)
    mirnas, targets, n_amb = [], [], 0
    for line, m, t in zip(lines, frame["noncodingRNA"], frame["gene"]):
        mc, a = _clean(m, "miRNA (noncodingRNA)", source, int(line))
        tc, b = _clean(t, "target (gene)", source, int(line))
        mirnas.append(mc)
        targets.append(tc)
        n_amb += a + b
    labels = frame["label"].str.strip()
    bad = ~labels.isin(["0", "1"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"label must be 0 or 1, got {labels.iloc[i]!r}", source=source, record=int(lines[i]))
    names = frame["noncodingRNA_name"] if "noncodingRNA_name" in frame else pd.Series(mirnas)
    names = names.where(names.str.strip() != "", pd.Series(mirnas, index=frame.index))
    cluster = frame["gene_cluster_ID"] if "gene_cluster_ID" in frame else pd.Series([""] * len(frame))
    if {"chr", "start", "end", "strand"} <= set(frame.columns):
        target_ids = (frame["chr"] + ":" + frame["start"] + "-" + frame["end"] + frame["strand"]).tolist()
    else:
        target_ids = [f"fragment{i}" for i in lines]
    pairs = make_pairs(mirna_id=names.tolist(), mirna=mirnas, target_id=target_ids, target=targets,
                       label=labels.astype(int).tolist(), source=source, record=lines, n_ambiguous=n_amb)
    family = frame["noncodingRNA_fam"] if "noncodingRNA_fam" in frame else pd.Series([""] * len(frame))
    pairs["mirna_family"] = pd.array(family.where(family.str.strip() != "", names).tolist(), dtype="str")
    pairs["group"] = pd.array(("cluster:" + cluster.astype(str)).tolist(), dtype="str")
    pairs.attrs.update({"dataset": dataset, "part": split})
    return pairs
