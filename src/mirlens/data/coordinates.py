"""Biological coordinates <-> model tensor indices, per pair. The only place where this mapping lives.

* miRNA position ``Lp`` counts 5'->3' from the miRNA's first nucleotide (L1 = 5' end). The miRNA sits reversed at
  the start of the input, so ``Lp`` is tensor index ``len(miRNA) - p``.
* target position ``LTq`` counts 3'->5' from the target's last real nucleotide (LT1 = 3' end). The target starts at
  index 26, so ``LTq`` is tensor index ``26 + len(target) - q``.

Positions beyond a pair's own lengths (L23 of a 22-nt miRNA, LT31 of a 30-nt target) do not exist for that pair.
This per-pair convention ("convention A" in ../shared/refs/keras/README.md) reproduces the paper's findings.

Regions are written like the paper: ``L2-6`` = 6 nt from L2 (L2..L7), ``LT7-5`` = LT7..LT11; ``L2..L7`` and single
positions ``L7`` / ``LT9`` are accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mirlens.data.encoding import MIRNA_SLOT
from mirlens.errors import InputError

MIRNA = "mirna"
TARGET = "target"

_REGION = re.compile(r"^(LT|L)(\d+)(?:-(\d+)|\.\.(LT|L)(\d+))?$")


@dataclass(frozen=True)
class Region:
    """A stretch of consecutive positions on one side: ``side`` is "mirna" or "target"; positions are 1-based."""

    side: str
    start: int
    length: int

    @property
    def stop(self) -> int:
        """Last position (inclusive)."""
        return self.start + self.length - 1

    @property
    def positions(self) -> range:
        return range(self.start, self.stop + 1)

    @property
    def prefix(self) -> str:
        return "L" if self.side == MIRNA else "LT"

    def __str__(self) -> str:
        if self.length == 1:
            return f"{self.prefix}{self.start}"
        return f"{self.prefix}{self.start}-{self.length}"


def parse_region(text: str) -> Region:
    """Parse ``L2-6``, ``L2..L7``, ``LT7-5``, ``LT7..LT11``, ``L7`` or ``LT9``."""
    spec = text.strip().upper()
    m = _REGION.match(spec)
    if not m:
        raise InputError(f"cannot read region {text!r}: write it like L2-6 (6 nt from L2), L2..L7, LT7-5 or L7")
    prefix, start, length, prefix2, stop = m.groups()
    side = MIRNA if prefix == "L" else TARGET
    start_i = int(start)
    if start_i < 1:
        raise InputError(f"region {text!r}: positions start at 1")
    if length is not None:
        n = int(length)
    elif stop is not None:
        if prefix2 != prefix:
            raise InputError(f"region {text!r} mixes miRNA (L) and target (LT) positions")
        n = int(stop) - start_i + 1
    else:
        n = 1
    if n < 1:
        raise InputError(f"region {text!r} is empty")
    return Region(side, start_i, n)


def parse_regions(text: str | Sequence[str]) -> list[Region]:
    """Parse a comma-separated list (or a sequence) of regions."""
    items = [s for s in text.split(",")] if isinstance(text, str) else list(text)
    return [parse_region(s) for s in items if s.strip()]


def position_index(side: str, position: int, mirna_len: int, target_len: int) -> int | None:
    """Tensor index of one position of one pair, or None when the pair has no such position."""
    if side == MIRNA:
        return mirna_len - position if 1 <= position <= mirna_len else None
    if side == TARGET:
        return MIRNA_SLOT + target_len - position if 1 <= position <= target_len else None
    raise ValueError(f"unknown side {side!r}")


def index_position(index: int, mirna_len: int, target_len: int) -> tuple[str, int] | None:
    """Inverse of :func:`position_index`: (side, position) of a tensor index, or None for padding."""
    if 0 <= index < mirna_len:
        return MIRNA, mirna_len - index
    if MIRNA_SLOT <= index < MIRNA_SLOT + target_len:
        return TARGET, MIRNA_SLOT + target_len - index
    return None


def position_indices(side: str, position: int, mirna_lens: np.ndarray, target_lens: np.ndarray) -> np.ndarray:
    """Vectorised :func:`position_index`: one tensor index per pair, -1 where the pair lacks the position."""
    mirna_lens = np.asarray(mirna_lens, dtype=np.int64)
    target_lens = np.asarray(target_lens, dtype=np.int64)
    if side == MIRNA:
        idx = mirna_lens - position
        ok = (position >= 1) & (position <= mirna_lens)
    elif side == TARGET:
        idx = MIRNA_SLOT + target_lens - position
        ok = (position >= 1) & (position <= target_lens)
    else:
        raise ValueError(f"unknown side {side!r}")
    return np.where(ok, idx, -1)


def region_mask(
    regions: Region | Sequence[Region], mirna_lens: np.ndarray, target_lens: np.ndarray, width: int
) -> np.ndarray:
    """Boolean ``(n_pairs, width)`` mask of the tensor indices covered by one or several regions, per pair."""
    if isinstance(regions, Region):
        regions = [regions]
    n = len(mirna_lens)
    mask = np.zeros((n, width), dtype=bool)
    rows = np.arange(n)
    for region in regions:
        for p in region.positions:
            idx = position_indices(region.side, p, mirna_lens, target_lens)
            ok = (idx >= 0) & (idx < width)
            mask[rows[ok], idx[ok]] = True
    return mask
