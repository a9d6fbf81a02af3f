"""What a model is trained on: the pool of labelled pairs, kept apart from the named independent test sets.

``data`` is a named data set (``deepmirtar``, ``miraw``, ``combined``; its *train* part is the pool) or a path to
a labelled pair file in any format :func:`mirlens.data.readers.read_pairs` reads.

**No pair of a named independent test set ever reaches training.** Every row of the pool whose (miRNA, target)
pair occurs in the DeepMirTar or the miRAW independent test set is dropped, whichever data set is trained. This
matters beyond miRAW: 92 of the 96 DeepMirTar test pairs also occur in the published DeepMirTar train file
(``data_DeepMirTar_removeMisMissing_remained_seed1122.txt``), and so in ``combined``'s train part. For a user
file the check runs when the data set files are available (else the report says it was not checked).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.data.datasets import DATASETS, load_dataset
from mirlens.data.duplicates import PAIR_KEY, deduplicate
from mirlens.data.readers import read_pairs
from mirlens.errors import DataSetError, MirlensError

INDEPENDENT_TESTS: tuple[str, ...] = ("deepmirtar", "miraw")
"""Named data sets whose test part is an independent test set."""

TARGET_SLOT = {"deepmirtar": 53, "miraw": 40, "combined": 53}
"""Target slot of the model trained on each named data set (the original miTAR1 / miTAR2 / miTAR sizes)."""

TESTS_OF = {"deepmirtar": ("deepmirtar",), "miraw": ("miraw",), "combined": ("deepmirtar", "miraw")}
"""Independent test sets a model trained on each named data set is evaluated on."""


@dataclass
class TrainingPool:
    """The labelled pairs to split and train on, and what was done to them."""

    pairs: pd.DataFrame
    data: str
    named: bool
    notes: dict = field(default_factory=dict)


def independent_test_sets(data_dir: str | os.PathLike[str] | None = None,
                          names: tuple[str, ...] = INDEPENDENT_TESTS) -> dict[str, pd.DataFrame]:
    """The named independent test sets (``{"deepmirtar": ..., "miraw": ...}``)."""
    return {n: load_dataset(n, "test", data_dir=data_dir) for n in names}


def drop_pairs(pairs: pd.DataFrame, others: list[pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """``pairs`` without rows whose (miRNA, target) pair occurs in any of ``others``; and how many were dropped."""
    if not others or not len(pairs):
        return pairs, 0
    keys = pd.MultiIndex.from_frame(pd.concat([o[PAIR_KEY] for o in others], ignore_index=True))
    hit = pd.MultiIndex.from_frame(pairs[PAIR_KEY]).isin(keys)
    out = pairs[~hit].reset_index(drop=True)
    out.attrs = dict(pairs.attrs)
    return out, int(hit.sum())


def load_pool(data: str | os.PathLike[str] | pd.DataFrame, *, dedup: bool = False,
              data_dir: str | os.PathLike[str] | None = None) -> TrainingPool:
    """The training pool of ``data`` (see the module doc): independent-test pairs removed, then optionally
    de-duplicated. Raises :class:`MirlensError` for unknown names, missing files and unlabelled pairs."""
    notes: dict = {}
    if isinstance(data, pd.DataFrame):
        pairs, name, named = data.reset_index(drop=True), "<table>", False
        missing = [c for c in ("mirna", "target", "label") if c not in pairs]
        if missing:
            raise MirlensError(f"pair table: missing column(s) {', '.join(missing)}")
        pairs = pairs.assign(**{c: v for c, v in (("source", "<table>"), ("record", np.arange(1, len(pairs) + 1)),
                                                  ("mirna_id", pairs.index.astype(str)),
                                                  ("target_id", pairs.index.astype(str))) if c not in pairs})
    elif str(data) in DATASETS:
        name, named = str(data), True
        pairs = load_dataset(name, "train", data_dir=data_dir)
        if pairs.attrs.get("n_dropped_test_pairs"):
            notes["dropped_by_dataset"] = int(pairs.attrs["n_dropped_test_pairs"])
    else:
        path = Path(data).expanduser()
        if not path.exists():
            raise MirlensError(
                f"{data}: neither a named data set ({', '.join(DATASETS)}) nor an existing pair file")
        pairs, name, named = read_pairs(path), str(path), False
    if not len(pairs):
        raise MirlensError(f"{name}: no pairs to train on")
    if pairs["label"].isna().any():
        row = pairs[pairs["label"].isna()].iloc[0]
        raise MirlensError(f"{name}: every training pair needs a label (0/1); {row['source']} record "
                           f"{row['record']} ({row['mirna_id']} / {row['target_id']}) has none")
    try:
        tests = list(independent_test_sets(data_dir).values())
        pairs, n = drop_pairs(pairs, tests)
        notes["independent_test_pairs_dropped"] = n
    except DataSetError as exc:
        if named:
            raise
        notes["independent_test_pairs_dropped"] = None
        notes["independent_test_check"] = f"not checked: {exc}"
    if dedup:
        before = len(pairs)
        pairs = deduplicate(pairs).reset_index(drop=True)
        notes["duplicates_dropped"] = before - len(pairs)
    notes["pairs"] = len(pairs)
    return TrainingPool(pairs, name, named, notes)


def default_target_slot(pool: TrainingPool) -> int:
    """The named data set's original slot; for other data the longest target (at least 1)."""
    if pool.named:
        return TARGET_SLOT[pool.data]
    return max(1, int(pool.pairs["target"].str.len().max()))
