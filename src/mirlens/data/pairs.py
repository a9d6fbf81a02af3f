"""The pair table: the one in-memory form of (miRNA, target) pairs that every part of mirlens uses.

A pair table is a :class:`pandas.DataFrame` with exactly the columns :data:`PAIR_COLUMNS`, in that order:

============  =========  ==============================================================================
column        dtype      meaning
============  =========  ==============================================================================
``mirna_id``  str        miRNA name or accession
``mirna``     str        miRNA sequence, **5'->3'**, clean RNA (``ACGUN``, see :mod:`mirlens.data.alphabet`)
``target_id`` str        target (mRNA / gene / site) name
``target``    str        target sequence, 5'->3', clean RNA
``label``     ``Int8``   1 = target, 0 = not a target, ``<NA>`` = unknown
``source``    str        name of the file the row came from
``record``    int64      1-based line number (tabular files) or record index (FASTA-derived tables)
============  =========  ==============================================================================

``df.attrs["n_ambiguous"]`` holds how many IUPAC ambiguity letters were turned into ``N`` while reading.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mirlens.errors import InputError

PAIR_COLUMNS: tuple[str, ...] = ("mirna_id", "mirna", "target_id", "target", "label", "source", "record")
"""Column names of a pair table, in order."""

STRING_COLUMNS: tuple[str, ...] = ("mirna_id", "mirna", "target_id", "target", "source")
LABEL_DTYPE = "Int8"
RECORD_DTYPE = "int64"
_CLEAN_RNA = "[ACGUN]+"


def make_pairs(
    *,
    mirna_id: Sequence[str],
    mirna: Sequence[str],
    target_id: Sequence[str],
    target: Sequence[str],
    label: Sequence[int | None],
    source: Sequence[str] | str,
    record: Sequence[int],
    n_ambiguous: int = 0,
) -> pd.DataFrame:
    """Build a pair table from already-clean columns (no checking; readers call this after validating rows).

    ``source`` may be one string used for every row. ``label`` entries are 0, 1 or ``None`` (or a pandas integer
    array). String columns may be Arrow string arrays.
    """
    n = len(mirna_id)
    if isinstance(source, str):
        source = [source] * n
    df = pd.DataFrame(
        {
            "mirna_id": _strings(mirna_id),
            "mirna": _strings(mirna),
            "target_id": _strings(target_id),
            "target": _strings(target),
            "label": label.astype(LABEL_DTYPE) if isinstance(label, pd.api.extensions.ExtensionArray)
            else pd.array(list(label), dtype=LABEL_DTYPE),
            "source": _strings(source),
            "record": np.asarray(record, dtype=RECORD_DTYPE),
        },
        copy=False,
    )
    df.attrs["n_ambiguous"] = int(n_ambiguous)
    return df


def _strings(values) -> pd.api.extensions.ExtensionArray:
    """A string column from a sequence of str, or directly from an Arrow string array (no copy through Python)."""
    if hasattr(values, "to_pylist"):  # pyarrow array
        return pd.array(values.cast("large_string") if hasattr(values, "cast") else values, dtype="str")
    return pd.array(list(values), dtype="str")


def empty_pairs() -> pd.DataFrame:
    """A pair table with no rows (right columns and dtypes)."""
    return make_pairs(mirna_id=[], mirna=[], target_id=[], target=[], label=[], source=[], record=[])


def concat_pairs(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack pair tables (index renumbered from 0; ``n_ambiguous`` summed)."""
    if not tables:
        return empty_pairs()
    df = pd.concat(list(tables), ignore_index=True)
    df.attrs = {"n_ambiguous": sum(int(t.attrs.get("n_ambiguous", 0)) for t in tables)}
    return df


def validate_pairs(df: pd.DataFrame) -> pd.DataFrame:
    """Check that ``df`` is a well-formed pair table and return it unchanged.

    Raises :class:`InputError` (naming the source file and record of the first bad row where there is one) for
    wrong or misordered columns, wrong dtypes, sequences outside the clean RNA alphabet, labels other than 0/1/NA,
    or missing values.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"a pair table must be a pandas DataFrame, not {type(df).__name__}")
    if tuple(df.columns) != PAIR_COLUMNS:
        raise InputError(f"pair table columns must be {list(PAIR_COLUMNS)}, got {list(df.columns)}")
    for col in STRING_COLUMNS:
        if not pd.api.types.is_string_dtype(df[col].dtype):
            raise InputError(f"pair table column {col!r} must hold strings, has dtype {df[col].dtype}")
        if df[col].isna().any():
            _raise_at(df, df[col].isna(), f"missing value in column {col!r}")
    if str(df["label"].dtype) != LABEL_DTYPE:
        raise InputError(f"pair table column 'label' must have dtype {LABEL_DTYPE}, has {df['label'].dtype}")
    bad_label = df["label"].notna() & ~df["label"].isin([0, 1])
    if bad_label.any():
        _raise_at(df, bad_label, "label must be 0, 1 or <NA>")
    if not pd.api.types.is_integer_dtype(df["record"].dtype) or df["record"].isna().any():
        raise InputError(f"pair table column 'record' must hold integers, has dtype {df['record'].dtype}")
    for col in ("mirna", "target"):
        bad = ~df[col].astype("str").str.fullmatch(_CLEAN_RNA).astype(bool)
        if bad.any():
            _raise_at(df, bad, f"column {col!r} must hold non-empty clean RNA (letters ACGUN)")
    return df


def _raise_at(df: pd.DataFrame, mask: pd.Series, problem: str) -> None:
    row = df[mask.to_numpy()].iloc[0]
    source = row["source"] if isinstance(row["source"], str) else None
    record = int(row["record"]) if pd.notna(row["record"]) else None
    raise InputError(problem, source=source, record=record)
