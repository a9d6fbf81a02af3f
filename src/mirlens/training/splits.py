"""Splitting a pair table into train / validation / held-out test parts.

The original protocol (``random``): hold out ``test_frac`` (20%) of the rows as a test set, then ``val_frac``
(20%) of the rest as the validation set used for early stopping. Both draws use numpy's ``RandomState(seed)
.permutation`` exactly as scikit-learn's ``train_test_split(test_size=..., random_state=seed)`` does (the
original miTAR scripts call it twice with the same seed), so on the same rows in the same order the parts are
the original ones, index for index. (Everything else in training draws from numpy ``Generator``\\ s.)

``mirna`` / ``target`` splits hold out whole groups: every pair of a held-out miRNA (grouped by sequence) or
target gene (grouped by ``target_id``; rows with a ``group`` column, as miRBench's, by that: its gene cluster) is
in the test part, none in train or validation (and likewise between
validation and train). Groups are taken in a seeded random order until the part holds at least its share of rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mirlens.errors import MirlensError

SPLITS: tuple[str, ...] = ("random", "mirna", "target")
GROUP_COLUMN = {"mirna": "mirna", "target": "target_id"}
PARTS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Row positions (into the table that was split) of each part."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    method: str = "random"

    def sizes(self) -> dict[str, int]:
        return {p: len(getattr(self, p)) for p in PARTS}

    def labels(self, n: int) -> np.ndarray:
        """Part name of every row (``""`` for rows in no part)."""
        out = np.full(n, "", dtype=object)
        for p in PARTS:
            out[getattr(self, p)] = p
        return out


def _check_fracs(test_frac: float, val_frac: float) -> None:
    if not 0.0 <= test_frac < 1.0:
        raise MirlensError(f"test fraction must be in [0, 1), got {test_frac}")
    if not 0.0 < val_frac < 1.0:
        raise MirlensError(f"validation fraction must be in (0, 1), got {val_frac}")


def _shuffle_split(n: int, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rest, held)`` positions as ``train_test_split(range(n), test_size=frac, random_state=seed)``."""
    n_held = math.ceil(frac * n)
    perm = np.random.RandomState(seed).permutation(n)
    return perm[n_held:], perm[:n_held]


def random_split(n: int, *, test_frac: float = 0.2, val_frac: float = 0.2, seed: int = 1122) -> Split:
    """The original two-stage random split of ``n`` rows."""
    _check_fracs(test_frac, val_frac)
    rest, test = _shuffle_split(n, test_frac, seed) if test_frac > 0 else (np.arange(n), np.arange(0))
    train_pos, val_pos = _shuffle_split(len(rest), val_frac, seed)
    return _checked(Split(rest[train_pos], rest[val_pos], test, "random"))


def _take_groups(codes: np.ndarray, candidates: np.ndarray, frac: float, seed: int) -> np.ndarray:
    """Groups (codes) from ``candidates``, in seeded random order, until they cover ``ceil(frac * rows)`` rows."""
    if frac <= 0 or len(candidates) == 0:
        return candidates[:0]
    counts = np.bincount(codes, minlength=int(codes.max()) + 1)[candidates]
    goal = math.ceil(frac * counts.sum())
    perm = np.random.RandomState(seed).permutation(len(candidates))
    before = np.cumsum(counts[perm]) - counts[perm]  # rows taken before each group
    return candidates[perm[before < goal]]


def group_split(groups, *, test_frac: float = 0.2, val_frac: float = 0.2, seed: int = 1122,
                method: str = "group") -> Split:
    """Split rows so that each group (one value of ``groups`` per row) lies in exactly one part."""
    _check_fracs(test_frac, val_frac)
    codes, _ = pd.factorize(pd.Series(groups), sort=False)
    if (codes < 0).any():
        raise MirlensError("group values must not be missing")
    all_groups = np.arange(codes.max() + 1 if len(codes) else 0)
    test_groups = _take_groups(codes, all_groups, test_frac, seed)
    rest_groups = np.setdiff1d(all_groups, test_groups)
    val_groups = _take_groups(codes, rest_groups, val_frac, seed)
    in_test = np.isin(codes, test_groups)
    in_val = np.isin(codes, val_groups)
    rows = np.arange(len(codes))
    return _checked(Split(rows[~in_test & ~in_val], rows[in_val], rows[in_test], method))


def _checked(split: Split) -> Split:
    if len(split.train) == 0 or len(split.val) == 0:
        raise MirlensError(f"too few pairs to split: {split.sizes()} (train and validation must not be empty)")
    return split


def make_split(pairs: pd.DataFrame, how: str = "random", *, test_frac: float = 0.2, val_frac: float = 0.2,
               seed: int = 1122) -> Split:
    """Split a pair table ``how`` = ``random`` | ``mirna`` | ``target`` (see the module doc)."""
    if how not in SPLITS:
        raise MirlensError(f"unknown split {how!r}; choose from {', '.join(SPLITS)}")
    if how == "random":
        return random_split(len(pairs), test_frac=test_frac, val_frac=val_frac, seed=seed)
    groups = pairs[GROUP_COLUMN[how]]
    if how == "target" and "group" in pairs:  # miRBench rows: their gene cluster; other rows: their target id
        groups = pairs["group"].astype(object).where(pairs["group"].notna(), "target:" + pairs["target_id"].astype(str))
    return group_split(groups.to_numpy(), test_frac=test_frac, val_frac=val_frac, seed=seed, method=how)
