"""Expression experiments: what happened to each gene's mRNA when a miRNA was put into (or taken out of) cells.

A *functional set* is a folder laid out as ``../shared/data/functional`` (see its README):

``experiments.tsv``
    one row per experiment: ``experiment_id``, ``mirna_id``, ``mirna_seq`` (5'->3'), optionally ``type`` (``OE``
    overexpression/transfection, the default, or ``KD`` knock-down/inhibition: the miRNA's targets go *up*) and
    ``cell_line``; other columns are kept.
``experiments/<experiment_id>.tsv[.gz]``
    ``gene_id``, ``logFC`` (log2 fold change, perturbed vs control) and optionally ``FDR``.
``utrs.tsv[.gz]``
    ``gene_id``, ``utr``: one whole 3'UTR per gene (5'->3', DNA or RNA letters).

A single experiment can also be given as a plain table (``gene_id``, ``logFC``[, ``FDR``]) with its miRNA and the
UTRs on the command line (:func:`single_experiment`).

Named sets (:data:`FUNCTIONAL_SETS`) are found by name in the data directories (:func:`mirlens.data.datasets.
data_dirs`, e.g. ``$MIRLENS_DATA_DIR``) and checked against the sha256 of their contents.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.data.alphabet import clean_sequence
from mirlens.errors import DataSetError, InputError

EXPERIMENT_COLUMNS = ("gene_id", "logFC")
DIRECTIONS = {"OE": -1.0, "KD": 1.0}
"""Sign of the fold change expected of a target: down after overexpression, up after knock-down."""
TYPE_SYNONYMS = {
    "OE": "OE", "OVEREXPRESSION": "OE", "TRANSFECTION": "OE", "MIMIC": "OE", "GAIN": "OE",
    "KD": "KD", "KNOCKDOWN": "KD", "KNOCK-DOWN": "KD", "INHIBITION": "KD", "INHIBITOR": "KD", "ANTAGOMIR": "KD",
    "KO": "KD", "KNOCKOUT": "KD", "LOSS": "KD",
}
"""Words accepted in the ``type`` column (case-insensitive)."""


@dataclass(frozen=True)
class FunctionalSetInfo:
    name: str
    folders: tuple[str, ...]
    """Folder names looked for in each data directory."""
    sha256: dict[str, str]
    """sha256 of each file's contents (decompressed), by path inside the folder."""
    description: str


FUNCTIONAL_SETS: dict[str, FunctionalSetInfo] = {
    "hct116": FunctionalSetInfo(
        "hct116", ("functional", "hct116"),
        {
            "experiments.tsv": "ce240fb604616bb57f0a592c8043d1b26320168a63627105551e761da01b2912",
            "utrs.tsv.gz": "55eac8ce349bdb0ed6d80bd412d25adcb4bf61cd85fbc34b5cf58882bdcff0bb",
            "experiments/HCT116_let_7c_5p.tsv.gz": "ddec08046a987efa6ca3b9e9721b2c0ec454658c1b7ed0a4c4880f6f3a4b7835",
            "experiments/HCT116_miR_103a_3p.tsv.gz": "92e2ad644b6db9cd09acc6c636a7ae24a0248d931f05acda74a589b74cba0d8c",
            "experiments/HCT116_miR_106b_5p.tsv.gz": "2ed6ec4680ee3929d14fd857da062edcb1cb1962a3b91f1a8d4c82b1d3753b12",
            "experiments/HCT116_miR_16_5p.tsv.gz": "3f427f77c68af1cb74717d5757d6ab4b7a866b3a5961c2a3551a41e935ddcc14",
            "experiments/HCT116_miR_200a_3p.tsv.gz": "e614f878a3ea3315392b264a9280307475b57b88e802859ffbecb8e2821f19a7",
            "experiments/HCT116_miR_200b_3p.tsv.gz": "d9c7eab23080e7ab397d4fe9539d221f1a741e860159941c15332aae8bded02b",
            "experiments/HCT116_miR_215_5p.tsv.gz": "38c7da266b84ad8c158605b89a38315bb93dbe9f10b799b3dfa156dac56478da",
        },
        "7 miRNA transfections in HCT116 cells (Agarwal et al., eLife 2015, Supplementary file 2; microarray log2 "
        "fold changes, no FDR) with 4,025 human 3'UTRs; provenance in the folder's README",
    ),
    "hela": FunctionalSetInfo(
        "hela", ("functional_hela", "hela"),
        {
            "experiments.tsv": "80c6831a4d0347fd99b4d495d175c6db1c6dd9d484ec28f982905b8249494408",
            "utrs.tsv.gz": "55eac8ce349bdb0ed6d80bd412d25adcb4bf61cd85fbc34b5cf58882bdcff0bb",
            "experiments/GSE124530_OE_let_7c_5p.tsv.gz": "b1b30627546360ff4c32948139aec3cf13a00d2e3d94722c3cefeba104bf783c",
            "experiments/GSE124530_OE_miR_10a_5p.tsv.gz": "740daea23dcd705b9878ae761caefde609c5e75b5d8cc7f23f07cdf842809f78",
            "experiments/GSE124530_OE_miR_124_3p.tsv.gz": "176a23224f4a9e0e349b15760b94e407d77642bcae4d76d2f7564b6c65145b9e",
            "experiments/GSE124530_OE_miR_126_5p.tsv.gz": "fe076b3f7f5dfe9a796274e0faf03d50ca30fd6c60d99175d0f55f953f9af3f4",
            "experiments/GSE124530_OE_miR_133b.tsv.gz": "650751bb5446d093587a1c6b13ade3a4e0c8b8690808e51ba8d24bdab6cf1b61",
            "experiments/GSE124530_OE_miR_145_5p.tsv.gz": "ab6374c60cc1252bb67c627c236e862fedf06b07031e7db745af6357addedc56",
            "experiments/GSE124530_OE_miR_15a_5p.tsv.gz": "a7398f231cd9694d8bfbe6be29bafdf92542ea730e0daa89b905e029f654f6ed",
            "experiments/GSE124530_OE_miR_16_5p.tsv.gz": "6b811c9f39a03907cc4498a3b476c27e859d162df6811857d848ed5b2d5b9601",
            "experiments/GSE124530_OE_miR_17_5p.tsv.gz": "3599cf31e9ead16df089814570f43d5b7ae3df1cbabb9cdeda8e10fb02ed9bd4",
            "experiments/GSE124530_OE_miR_206.tsv.gz": "c49903c6ebf69b8154f975872640257eabee0dedadb64347ca560335e5604262",
            "experiments/GSE124530_OE_miR_34a_5p.tsv.gz": "50dc435b4d8305e0d5a95e6dbf19cf095f07b32ede9c4b9cb1f39e8f7bf3bd1f",
            "experiments/GSE124530_OE_miR_9_3p.tsv.gz": "5693339608b3d78287bffdd25b0bc3455a3829b473ccbadbdf0e4f293e2b47ba",
            "experiments/GSE124530_OE_miR_9_5p.tsv.gz": "35626627b0f1a9a4ea4402ab041394770978303fd035940cf20264737d881017",
        },
        "13 miRNA overexpressions in HeLa cells (GEO GSE124530, RNA-seq, edgeR tables with FDRs, 12 seed families) "
        "with the same 4,025 human 3'UTRs; provenance in the folder's README",
    ),
}  # fmt: skip


@dataclass
class Experiment:
    experiment_id: str
    mirna_id: str
    mirna_seq: str
    table: pd.DataFrame
    """``gene_id``, ``logFC``, ``FDR`` (NaN where not given)."""
    direction: float = -1.0
    """-1: targets are expected to go down (overexpression); +1: up (knock-down)."""
    info: dict = field(default_factory=dict)

    @property
    def has_fdr(self) -> bool:
        return bool(self.table["FDR"].notna().any())


@dataclass
class FunctionalSet:
    name: str
    experiments: list[Experiment]
    utrs: pd.Series
    """3'UTR (clean RNA letters) by gene id."""


def _open_text(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_expression_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``gene_id``, ``logFC``, ``FDR`` of one experiment (TSV/CSV, optionally gzipped, or Parquet). Errors name the
    file and line: a missing column, a non-numeric or missing fold change, an FDR outside [0, 1], a gene twice."""
    path = Path(path)
    source = str(path)
    try:
        if path.suffix == ".parquet":
            table = pd.read_parquet(path)
        else:
            sep = "," if path.name.removesuffix(".gz").endswith(".csv") else "\t"
            table = pd.read_csv(path, sep=sep, dtype={"gene_id": str}, keep_default_na=False,
                                na_values=["", "NA", "N/A", "NaN", "nan"])
    except FileNotFoundError:
        raise InputError("no such file", source=source) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"unreadable expression table ({exc})", source=source) from None
    missing = [c for c in EXPERIMENT_COLUMNS if c not in table]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (need gene_id, logFC[, FDR])", source=source)
    line = np.arange(len(table)) + 2  # header is line 1
    ids = table["gene_id"].astype("string")
    empty = ids.isna() | (ids.str.strip() == "")
    if empty.any():
        raise InputError("empty gene_id", source=source, record=f"line {line[np.argmax(empty.to_numpy())]}")
    logfc = pd.to_numeric(table["logFC"], errors="coerce")
    bad = logfc.isna() | ~np.isfinite(logfc.fillna(0.0))
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise InputError(f"logFC {table['logFC'].iloc[i]!r} is not a finite number", source=source,
                         record=f"line {line[i]} ({ids.iloc[i]})")
    fdr = pd.to_numeric(table["FDR"], errors="coerce") if "FDR" in table else pd.Series(np.nan, index=table.index)
    if "FDR" in table:
        given = table["FDR"].notna()
        wrong = given & (fdr.isna() | (fdr < 0) | (fdr > 1))
        if wrong.any():
            i = int(np.argmax(wrong.to_numpy()))
            raise InputError(f"FDR {table['FDR'].iloc[i]!r} is not a number in [0, 1]", source=source,
                             record=f"line {line[i]} ({ids.iloc[i]})")
    dup = ids.duplicated()
    if dup.any():
        i = int(np.argmax(dup.to_numpy()))
        raise InputError(f"gene {ids.iloc[i]} appears twice", source=source, record=f"line {line[i]}")
    return pd.DataFrame({"gene_id": ids.str.strip().astype(str).to_numpy(), "logFC": logfc.to_numpy(np.float64),
                         "FDR": fdr.to_numpy(np.float64)})


def read_utr_table(path: str | os.PathLike[str]) -> pd.Series:
    """3'UTRs by gene id from a ``gene_id``/``utr`` table (letters cleaned to RNA; errors name the line)."""
    path = Path(path)
    try:
        sep = "," if path.name.removesuffix(".gz").endswith(".csv") else "\t"
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError("no such file", source=str(path)) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"unreadable UTR table ({exc})", source=str(path)) from None
    if "gene_id" not in table or "utr" not in table:
        raise InputError("need columns gene_id and utr", source=str(path))
    utrs = [clean_sequence(u.strip(), source=str(path), record=f"line {i + 2} ({g})")[0]
            for i, (g, u) in enumerate(zip(table["gene_id"], table["utr"]))]
    series = pd.Series(utrs, index=table["gene_id"].str.strip().to_numpy(), name="utr")
    dup = series.index.duplicated()
    if dup.any():
        i = int(np.argmax(dup))
        raise InputError(f"gene {series.index[i]} has two UTRs", source=str(path), record=f"line {i + 2}")
    return series


def _direction(value, source: str, experiment: str) -> float:
    key = str(value).strip().upper() if value is not None and str(value).strip() else "OE"
    if key not in TYPE_SYNONYMS:
        raise InputError(f"type {value!r} is neither OE (overexpression, transfection, mimic) nor KD (knock-down, "
                         "inhibition, knockout)", source=source, record=experiment)
    return DIRECTIONS[TYPE_SYNONYMS[key]]


def read_functional_set(folder: str | os.PathLike[str], name: str | None = None) -> FunctionalSet:
    """Every experiment of a functional-set folder (see the module doc) and its UTRs."""
    folder = Path(folder)
    listing = folder / "experiments.tsv"
    if not listing.is_file():
        raise InputError("not a functional set: no experiments.tsv (see `mirlens evaluate-functional --help`)",
                         source=str(folder))
    meta = pd.read_csv(listing, sep="\t", dtype=str, keep_default_na=False)
    for col in ("experiment_id", "mirna_id", "mirna_seq"):
        if col not in meta:
            raise InputError(f"missing column {col}", source=str(listing))
    utr_path = _find(folder, "utrs.tsv")
    if utr_path is None:
        raise InputError("no utrs.tsv or utrs.tsv.gz beside experiments.tsv", source=str(folder))
    utrs = read_utr_table(utr_path)
    experiments = []
    for i, row in meta.iterrows():
        eid = row["experiment_id"].strip()
        table_path = _find(folder / "experiments", f"{eid}.tsv")
        if table_path is None:
            raise InputError(f"experiment {eid}: no experiments/{eid}.tsv(.gz)", source=str(folder))
        seq = clean_sequence(row["mirna_seq"].strip(), source=str(listing), record=f"line {i + 2} ({eid})")[0]
        experiments.append(Experiment(eid, row["mirna_id"].strip(), seq, read_expression_table(table_path),
                                      _direction(row.get("type"), str(listing), eid),
                                      {k: v for k, v in row.items() if k not in ("mirna_seq",)}))
    return FunctionalSet(name or folder.name, experiments, utrs)


def single_experiment(table: str | os.PathLike[str], mirna_id: str, mirna_seq: str, utrs: pd.Series, *,
                      direction: float = -1.0) -> FunctionalSet:
    """A functional set of one experiment table, its miRNA and a UTR collection."""
    seq = clean_sequence(mirna_seq.strip(), source="--mirna-seq")[0]
    path = Path(table)
    eid = path.name.split(".")[0]
    return FunctionalSet(eid, [Experiment(eid, mirna_id, seq, read_expression_table(path), direction)], utrs)


def _content_sha256(path: Path) -> str:
    return hashlib.sha256(_open_text(path)).hexdigest()


def locate_functional_set(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of a named functional set in the data directories, its files checked against their sha256."""
    from mirlens.data.datasets import DATA_DIR_ENV, data_dirs

    try:
        info = FUNCTIONAL_SETS[name]
    except KeyError:
        raise DataSetError(f"unknown functional set {name!r}; choose from {', '.join(FUNCTIONAL_SETS)} or give a "
                           "folder") from None
    dirs = data_dirs(data_dir)
    for directory in dirs:
        for sub in info.folders:
            folder = directory / sub
            if (folder / "experiments.tsv").is_file():
                for rel, digest in info.sha256.items():
                    path = folder / rel
                    if not path.is_file():
                        raise DataSetError(f"functional set {name!r} in {folder}: {rel} is missing")
                    got = _content_sha256(path)
                    if got != digest:
                        raise DataSetError(f"functional set {name!r}: {path} has sha256 {got}, expected {digest} "
                                           "(a different or damaged copy)")
                return folder
    where = os.pathsep.join(str(d) for d in dirs)
    raise DataSetError(f"functional set {name!r} ({info.description}): no folder {' or '.join(info.folders)} with "
                       f"experiments.tsv in {where}; set {DATA_DIR_ENV} or --data-dir to the directory that holds "
                       "it (e.g. ../shared/data)")


def load_functional_set(source: str, data_dir: str | os.PathLike[str] | None = None) -> FunctionalSet:
    """A functional set by name (:data:`FUNCTIONAL_SETS`) or by folder."""
    if source in FUNCTIONAL_SETS and not Path(source).is_dir():
        return read_functional_set(locate_functional_set(source, data_dir), name=source)
    if not Path(source).exists():
        raise DataSetError(f"{source!r} is neither a functional-set folder nor a name "
                           f"({', '.join(FUNCTIONAL_SETS)})")
    return read_functional_set(source)


def combine_sets(sets: list[FunctionalSet]) -> FunctionalSet:
    """Several functional sets as one (experiments in order; their UTR tables merged). A gene whose UTR differs
    between two sets, or an experiment id used twice, is an error."""
    if len(sets) == 1:
        return sets[0]
    utrs = sets[0].utrs
    seen = {e.experiment_id for e in sets[0].experiments}
    for other in sets[1:]:
        common = utrs.index.intersection(other.utrs.index)
        differ = common[(utrs.loc[common] != other.utrs.loc[common]).to_numpy()]
        if len(differ):
            raise InputError(f"gene {differ[0]} has different 3'UTRs in {sets[0].name} and {other.name}")
        utrs = pd.concat([utrs, other.utrs[~other.utrs.index.isin(utrs.index)]])
        for e in other.experiments:
            if e.experiment_id in seen:
                raise InputError(f"experiment {e.experiment_id} occurs in two of the sets")
            seen.add(e.experiment_id)
    return FunctionalSet("+".join(s.name for s in sets), [e for s in sets for e in s.experiments], utrs)


def load_functional_sets(sources: list[str], data_dir: str | os.PathLike[str] | None = None) -> FunctionalSet:
    """Several functional sets by name or folder, as one (:func:`combine_sets`)."""
    return combine_sets([load_functional_set(s, data_dir) for s in sources])
