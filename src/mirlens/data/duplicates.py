"""Repeated (miRNA, target) pairs in a pair table: reporting them and dropping them.

Two rows are the same pair when both sequences are equal (ids, source and record do not matter). A pair has
*conflicting labels* when it is labelled 1 in one row and 0 in another; ``<NA>`` labels conflict with nothing.
"""

from __future__ import annotations

import warnings

import pandas as pd

PAIR_KEY = ["mirna", "target"]
DUPLICATE_COLUMNS = ("mirna", "target", "count", "labels", "conflict", "first_source", "first_record")
KEEP_CHOICES = ("first", "last")


def _label_range(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per row: smallest and largest non-missing label of the row's pair (``<NA>`` when all are missing)."""
    grouped = df.groupby(PAIR_KEY, sort=False, dropna=False)["label"]
    return grouped.transform("min"), grouped.transform("max")


def find_duplicates(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (miRNA, target) pair that appears more than once in ``df``.

    Columns: ``mirna``, ``target``, ``count`` (rows with this pair), ``labels`` (sorted tuple of the distinct
    non-missing labels seen), ``conflict`` (both 0 and 1 seen), ``first_source``/``first_record`` (where the
    pair first appears). Ordered by first appearance.
    """
    grouped = df.groupby(PAIR_KEY, sort=False, dropna=False)
    summary = grouped.agg(
        count=("label", "size"),
        low=("label", "min"),
        high=("label", "max"),
        first_source=("source", "first"),
        first_record=("record", "first"),
    ).reset_index()
    summary = summary[summary["count"] > 1].reset_index(drop=True)
    summary["labels"] = [
        tuple(sorted({int(v) for v in (lo, hi) if not pd.isna(v)})) for lo, hi in zip(summary["low"], summary["high"])
    ]
    summary["conflict"] = (summary["low"] == 0).fillna(False) & (summary["high"] == 1).fillna(False)
    summary["conflict"] = summary["conflict"].astype(bool)
    summary["count"] = summary["count"].astype("int64")
    return summary[list(DUPLICATE_COLUMNS)]


def deduplicate(df: pd.DataFrame, keep: str = "first") -> pd.DataFrame:
    """``df`` with each (miRNA, target) pair once.

    ``keep`` chooses which row of a repeated pair survives (``"first"`` or ``"last"``); its label is set to the
    pair's label when that row's label is ``<NA>`` but another row's is known. Pairs with conflicting labels are
    dropped entirely, with a warning. The returned table's ``attrs`` tell ``n_duplicates_dropped`` (repeat rows
    removed) and ``n_conflicting_dropped`` (rows removed because of conflicting labels).
    """
    if keep not in KEEP_CHOICES:
        raise ValueError(f"keep must be one of {KEEP_CHOICES}, got {keep!r}")
    low, high = _label_range(df)
    conflicting = ((low == 0) & (high == 1)).fillna(False).to_numpy(dtype=bool)
    n_conflicting_rows = int(conflicting.sum())
    kept = df[~conflicting]
    repeat = kept.duplicated(PAIR_KEY, keep=keep).to_numpy(dtype=bool)
    out = kept[~repeat].copy()
    out["label"] = out["label"].fillna(high[~conflicting][~repeat]).astype(df["label"].dtype)
    out = out.reset_index(drop=True)
    if n_conflicting_rows:
        n_pairs = int(df[conflicting].drop_duplicates(PAIR_KEY).shape[0])
        warnings.warn(
            f"dropped {n_conflicting_rows} row(s) of {n_pairs} (miRNA, target) pair(s) with conflicting labels",
            stacklevel=2,
        )
    out.attrs = dict(df.attrs)
    out.attrs["n_duplicates_dropped"] = int(repeat.sum())
    out.attrs["n_conflicting_dropped"] = n_conflicting_rows
    return out
