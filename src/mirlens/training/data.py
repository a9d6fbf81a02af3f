"""What a model is trained on: the pool of labelled pairs, kept apart from the named independent test sets.

``data`` is one source or a list of sources, each a named data set (``deepmirtar``, ``miraw``, ``combined``: its
*train* part; a miRBench name such as ``hejret2023``: its train split) or a path to a labelled pair file in any
format :func:`mirlens.data.readers.read_pairs` reads. A source written ``NAME:positives`` contributes its
positives only (for training with generated negatives, :mod:`mirlens.data.negatives`).

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
from mirlens.data.mirbench import MIRBENCH, load_mirbench
from mirlens.data.readers import read_pairs
from mirlens.errors import DataSetError, MirlensError

INDEPENDENT_TESTS: tuple[str, ...] = ("deepmirtar", "miraw")
"""Named data sets whose test part is an independent test set."""

TARGET_SLOT = {"deepmirtar": 53, "miraw": 40, "combined": 53}
"""Target slot of the model trained on each named data set (the original miTAR1 / miTAR2 / miTAR sizes)."""

TESTS_OF = {"deepmirtar": ("deepmirtar",), "miraw": ("miraw",), "combined": ("deepmirtar", "miraw")}
"""Independent test sets a model trained on each named data set is evaluated on."""


POSITIVES = ":positives"


@dataclass
class TrainingPool:
    """The labelled pairs to split and train on, and what was done to them. ``data`` names the sources (joined by
    "+"); ``named`` is true when every source is a named data set; ``tests`` lists the independent test sets that
    belong to the sources (miTAR names, and miRBench names whose test split is evaluated)."""

    pairs: pd.DataFrame
    data: str
    named: bool
    notes: dict = field(default_factory=dict)
    tests: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


def _source(spec: str, data_dir) -> tuple[pd.DataFrame, str, str]:
    """(pairs, name, kind) of one source spec; kind is "mitar", "mirbench" or "file"."""
    name = spec[: -len(POSITIVES)] if spec.endswith(POSITIVES) else spec
    if name in DATASETS:
        pairs, kind = load_dataset(name, "train", data_dir=data_dir), "mitar"
    elif name in MIRBENCH:
        if "train" not in MIRBENCH[name].splits:
            raise MirlensError(f"miRBench data set {name!r} has no train split (it has "
                               f"{', '.join(MIRBENCH[name].splits)}); it is a test set")
        pairs, kind = load_mirbench(name, "train", data_dir=data_dir), "mirbench"
    else:
        path = Path(name).expanduser()
        if not path.exists():
            raise MirlensError(f"{name}: neither a named data set ({', '.join([*DATASETS, *MIRBENCH])}) nor an "
                               "existing pair file")
        pairs, kind = read_pairs(path), "file"
    if spec.endswith(POSITIVES):
        pairs = pairs[pairs["label"] == 1].reset_index(drop=True)
    return pairs, name, kind


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


def load_pool(data, *, dedup: bool = False, data_dir: str | os.PathLike[str] | None = None) -> TrainingPool:
    """The training pool of ``data`` (see the module doc; a list means several sources, stacked): independent-test
    pairs removed, then optionally de-duplicated. Raises :class:`MirlensError` for unknown names, missing files and
    unlabelled pairs."""
    notes: dict = {}
    tests: list[str] = []
    if isinstance(data, pd.DataFrame):
        pairs, name, named = data.reset_index(drop=True), "<table>", False
        missing = [c for c in ("mirna", "target", "label") if c not in pairs]
        if missing:
            raise MirlensError(f"pair table: missing column(s) {', '.join(missing)}")
        pairs = pairs.assign(**{c: v for c, v in (("source", "<table>"), ("record", np.arange(1, len(pairs) + 1)),
                                                  ("mirna_id", pairs.index.astype(str)),
                                                  ("target_id", pairs.index.astype(str))) if c not in pairs})
        specs: list[str] = []
    else:
        specs = [str(d) for d in data] if isinstance(data, (list, tuple)) else [str(data)]
        if not specs:
            raise MirlensError("no training data given")
        tables, kinds = [], []
        for spec in specs:
            table, src_name, kind = _source(spec, data_dir)
            tables.append(table)
            kinds.append(kind)
            if kind == "mitar" and table.attrs.get("n_dropped_test_pairs"):
                notes.setdefault("dropped_by_dataset", {})[src_name] = int(table.attrs["n_dropped_test_pairs"])
            if kind == "mitar":
                tests.extend(t for t in TESTS_OF[src_name] if t not in tests)
            elif kind == "mirbench" and src_name not in tests:
                tests.append(src_name)
        pairs = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
        if len(tables) == 1 and "dropped_by_dataset" in notes:
            notes["dropped_by_dataset"] = next(iter(notes["dropped_by_dataset"].values()))
        name = "+".join(specs)
        named = all(k != "file" for k in kinds)
    if not len(pairs):
        raise MirlensError(f"{name}: no pairs to train on")
    if pairs["label"].isna().any():
        row = pairs[pairs["label"].isna()].iloc[0]
        raise MirlensError(f"{name}: every training pair needs a label (0/1); {row['source']} record "
                           f"{row['record']} ({row['mirna_id']} / {row['target_id']}) has none")
    try:
        independent = list(independent_test_sets(data_dir).values())
        pairs, n = drop_pairs(pairs, independent)
        notes["independent_test_pairs_dropped"] = n
    except DataSetError as exc:
        if named and any(t in DATASETS for t in tests):
            raise
        notes["independent_test_pairs_dropped"] = None
        notes["independent_test_check"] = f"not checked: {exc}"
    if dedup:
        before = len(pairs)
        pairs = deduplicate(pairs).reset_index(drop=True)
        notes["duplicates_dropped"] = before - len(pairs)
    notes["pairs"] = len(pairs)
    return TrainingPool(pairs, name, named, notes, tuple(tests), tuple(specs))


def default_target_slot(pool: TrainingPool, architecture: str = "mitar") -> int:
    """miTAR: the named data set's original slot, for other data the longest target (at least 1). Pairing
    models: 50 (miRBench's CLIP fragments; shorter targets are padded), or the longest target if longer."""
    longest = max(1, int(pool.pairs["target"].str.len().max()))
    if architecture == "pairing":
        return max(50, longest)
    if pool.named and pool.data in TARGET_SLOT:
        return TARGET_SLOT[pool.data]
    return longest
