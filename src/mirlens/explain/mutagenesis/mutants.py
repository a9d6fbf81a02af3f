"""Vectorised mutant generation: a token matrix plus, per mutant row, which tensor positions to overwrite.

A :class:`Mutants` object describes ``m`` mutant inputs without materialising them: row ``i`` is
``tokens[pair[i]]`` with the positions in ``mask[i]`` (or in the half-open tensor interval ``[lo[i], hi[i])``) set
to the token ``base``. Engines (:mod:`mirlens.explain.mutagenesis.engine`) materialise them batch by batch with
:meth:`Mutants.apply`, so millions of mutants never sit in memory at once, and an incremental engine can read the
interval form to know exactly which positions changed.

Generators here never loop over positions per pair: region masks come from
:func:`mirlens.data.coordinates.region_mask`, sliding windows are built on a (pair, k, position) grid with
:func:`mirlens.data.coordinates.position_indices` (the only place biological positions become tensor indices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mirlens.data.alphabet import TOKENS
from mirlens.data.coordinates import MIRNA, TARGET, Region, position_indices, region_mask
from mirlens.data.encoding import MIRNA_SLOT
from mirlens.errors import InputError

SIDES = (MIRNA, TARGET)


def base_token(letter: str | int) -> int:
    """Token of a replacement letter (``N``, ``A``, ``U``/``T``, ``C``, ``G``) or a token number 0..4."""
    if isinstance(letter, (int, np.integer)):
        if 0 <= int(letter) < len(TOKENS):
            return int(letter)
        raise InputError(f"replacement token {letter} is not one of 0..{len(TOKENS) - 1}")
    text = str(letter).strip().upper().replace("T", "U")
    if len(text) != 1 or text not in TOKENS:
        raise InputError(f"cannot mutate to {letter!r}: choose one of N, A, U, C, G")
    return TOKENS.index(text)


@dataclass
class Mutants:
    """``m`` mutant rows over a base token matrix of ``width`` columns.

    ``pair``: (m,) row of the base matrix each mutant starts from. Either ``mask`` ((m, width) bool) or the
    contiguous interval ``lo``/``hi`` ((m,) ints, half-open) says which tensor positions become ``base``.
    """

    pair: np.ndarray
    base: int
    width: int
    mask: np.ndarray | None = None
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.pair = np.asarray(self.pair, dtype=np.int64)
        if self.mask is None and (self.lo is None or self.hi is None):
            raise ValueError("Mutants need a mask or lo/hi intervals")
        if self.mask is not None and self.mask.shape != (len(self.pair), self.width):
            raise ValueError(f"mask shape {self.mask.shape} != ({len(self.pair)}, {self.width})")

    def __len__(self) -> int:
        return len(self.pair)

    @property
    def is_interval(self) -> bool:
        return self.lo is not None and self.hi is not None

    def masks(self, sl: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Boolean (rows, width) masks of the selected rows."""
        if self.mask is not None:
            return self.mask[sl]
        cols = np.arange(self.width)
        return (cols >= self.lo[sl, None]) & (cols < self.hi[sl, None])

    def apply(self, tokens: np.ndarray, sl: slice | np.ndarray = slice(None)) -> np.ndarray:
        """The mutated token rows (uint8, (rows, width)) of the selected mutants."""
        out = tokens[self.pair[sl]]
        out[self.masks(sl)] = self.base
        return out

    def take(self, idx: np.ndarray | slice) -> Mutants:
        """A subset of the rows."""
        return Mutants(
            self.pair[idx], self.base, self.width,
            mask=None if self.mask is None else self.mask[idx],
            lo=None if self.lo is None else self.lo[idx],
            hi=None if self.hi is None else self.hi[idx],
        )

    def n_mutated(self) -> np.ndarray:
        """Number of positions changed to ``base`` per row (positions already equal to it included)."""
        if self.is_interval:
            return np.maximum(self.hi - self.lo, 0)
        return self.mask.sum(axis=1)


def region_mutants(
    regions: Region | Sequence[Region],
    mirna_lens: np.ndarray,
    target_lens: np.ndarray,
    width: int,
    base: int,
) -> Mutants:
    """One mutant per pair with every existing position of ``regions`` set to ``base`` (mutated jointly)."""
    mask = region_mask(regions, mirna_lens, target_lens, width)
    return Mutants(np.arange(len(mask)), base, width, mask=mask)


def side_positions(side: str, width: int) -> int:
    """How many positions a side can have in a model input of ``width`` tokens."""
    return MIRNA_SLOT if side == MIRNA else width - MIRNA_SLOT


@dataclass
class WindowGrid:
    """Sliding windows of a group of pairs: the (deduplicated) mutants and, per record, which mutant it reads.

    ``record_*`` arrays have one entry per (pair, side, k, stop position) record that exists for its pair;
    ``record_row`` indexes :attr:`mutants`. Clipped windows at the sequence start (stop position ``p < k``) equal
    the unclipped ``p``-nt window and are evaluated once.
    """

    mutants: Mutants
    record_pair: np.ndarray
    record_side: np.ndarray  # 0 = miRNA, 1 = target
    record_k: np.ndarray
    record_position: np.ndarray
    record_row: np.ndarray


def window_grid(
    pairs: np.ndarray,
    mirna_lens: np.ndarray,
    target_lens: np.ndarray,
    width: int,
    ks: Sequence[int],
    base: int,
    sides: Sequence[str] = SIDES,
) -> WindowGrid:
    """Every k-nt window (k in ``ks``) stopping at every existing position of every pair in ``pairs``.

    A window at stop position ``p`` covers ``p-k+1 .. p`` clipped at position 1. Stop positions beyond a pair's own
    length do not exist for it and get no record. ``pairs`` are row numbers into the base matrix;
    ``mirna_lens``/``target_lens`` are the lengths of exactly those pairs.
    """
    pairs = np.asarray(pairs, dtype=np.int64)
    mirna_lens = np.asarray(mirna_lens, dtype=np.int64)
    target_lens = np.asarray(target_lens, dtype=np.int64)
    ks_arr = np.asarray(sorted(set(int(k) for k in ks)), dtype=np.int64)
    parts = []
    for side_code, side in enumerate(SIDES):
        if side not in sides:
            continue
        lens = mirna_lens if side == MIRNA else target_lens
        n_pos = side_positions(side, width)
        local, k, p = np.meshgrid(np.arange(len(pairs)), ks_arr, np.arange(1, n_pos + 1), indexing="ij")
        local, k, p = local.ravel(), k.ravel(), p.ravel()
        keep = p <= lens[local]
        local, k, p = local[keep], k[keep], p[keep]
        start = np.maximum(p - k + 1, 1)
        stop_idx = position_indices(side, p, mirna_lens[local], target_lens[local])
        start_idx = position_indices(side, start, mirna_lens[local], target_lens[local])
        parts.append((local, np.full(len(local), side_code), k, p, start,
                      np.minimum(stop_idx, start_idx), np.maximum(stop_idx, start_idx) + 1))
    if not parts:
        raise InputError(f"no side to scan in {list(sides)}; choose from {', '.join(SIDES)}")
    local, side_code, k, p, start, lo, hi = (np.concatenate(x) for x in zip(*parts))
    # one mutant per distinct (pair, lo, hi) window: clipped windows repeat shorter ones
    key = (local * (width + 1) + lo) * (width + 1) + hi
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    mutants = Mutants(pairs[local[first]], base, width, lo=lo[first], hi=hi[first])
    return WindowGrid(mutants, pairs[local], side_code.astype(np.int8), k.astype(np.int16), p.astype(np.int16),
                      inverse.astype(np.int64))


def count_windows(mirna_lens: np.ndarray, target_lens: np.ndarray, width: int, ks: Sequence[int],
                  sides: Sequence[str] = SIDES) -> tuple[int, int]:
    """``(records, distinct mutants)`` that :func:`window_grid` would make for these pairs (cheap, no grid)."""
    ks_arr = np.asarray(sorted(set(int(k) for k in ks)))
    records = mutants = 0
    for side in SIDES:
        if side not in sides:
            continue
        lens = np.asarray(mirna_lens if side == MIRNA else target_lens, dtype=np.int64)
        n_pos = side_positions(side, width)
        p = np.arange(1, n_pos + 1)
        starts = np.maximum(p[:, None] - ks_arr[None, :] + 1, 1)
        distinct = np.array([len(set(row)) for row in starts.tolist()])  # per stop position, tiny table
        cum_rec = np.concatenate([[0], np.cumsum(np.full(n_pos, len(ks_arr)))])
        cum_mut = np.concatenate([[0], np.cumsum(distinct)])
        lens = np.clip(lens, 0, n_pos)
        records += int(cum_rec[lens].sum())
        mutants += int(cum_mut[lens].sum())
    return records, mutants
