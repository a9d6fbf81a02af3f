"""Pairing of miRNA and target positions in a duplex table, and region pairing percentages (paper Table 2).

A duplex table (from :func:`mirlens.duplex.compute_duplexes`) holds ``mirna_pairing`` (one character per L1..Ln)
and ``target_pairing`` (one per LT1..LTm): ``|`` Watson-Crick, ``:`` G:U wobble (counted as paired, as in the
paper), ``.`` unpaired. Regions use :mod:`mirlens.data.coordinates` (``L2-6`` = L2..L7, ``LT7-5`` = LT7..LT11);
``seed`` means L2-6. Target regions are counted on the target side of the duplex.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mirlens.data.coordinates import MIRNA, Region, parse_regions
from mirlens.errors import InputError

REGION_ALIASES = {"seed": "L2-6"}
PAIRED = ("|", ":")


def parse_named_regions(text: str | Sequence[str]) -> list[tuple[str, Region]]:
    """``seed=L2-6,L4-4,L7,LT7-5`` -> [(name, Region)]; a bare region is named by itself, ``seed`` is L2-6."""
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else [s.strip() for s in text]
    out = []
    for item in (s for s in items if s):
        name, _, spec = item.partition("=") if "=" in item else (item, "", item)
        name, spec = name.strip(), spec.strip()
        if not name or not spec:
            raise InputError(f"cannot read region {item!r}: write NAME=REGION (seed=L2-6) or a region (L13-4)")
        (region,) = parse_regions([REGION_ALIASES.get(spec.lower(), spec)])
        out.append((name, region))
    if not out:
        raise InputError("no region given (e.g. --regions seed=L2-6,L13-4,LT7-5)")
    return out


def paired_matrix(strings: Sequence[str], width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(paired, present) boolean matrices (n_pairs, width): column p-1 is position p (L or LT)."""
    lens = np.array([len(s) for s in strings], dtype=np.int64)
    width = int(lens.max(initial=0)) if width is None else width
    buf = np.full((len(strings), max(width, 1)), ord("."), dtype=np.uint8)
    for k, s in enumerate(strings):
        b = np.frombuffer(s[:width].encode("ascii"), dtype=np.uint8)
        buf[k, : len(b)] = b
    paired = (buf == ord("|")) | (buf == ord(":"))
    present = np.arange(buf.shape[1])[None, :] < lens[:, None]
    return paired, present


def region_pairing(duplexes: pd.DataFrame, regions: Sequence[tuple[str, Region]] | str) -> pd.DataFrame:
    """Per region: pairs, positions counted, and the percentage of those positions that are paired.

    Only positions a pair has are counted (L23 of a 22-nt miRNA is not a missing pair)."""
    if isinstance(regions, str):
        regions = parse_named_regions(regions)
    for col in ("mirna_pairing", "target_pairing"):
        if col not in duplexes:
            raise InputError(f"duplex table has no {col!r} column")
    sides = {}
    rows = []
    for name, region in regions:
        col = "mirna_pairing" if region.side == MIRNA else "target_pairing"
        if col not in sides:
            sides[col] = paired_matrix(duplexes[col].tolist())
        paired, present = sides[col]
        idx = [p - 1 for p in region.positions if p - 1 < paired.shape[1]]
        n_pos = int(present[:, idx].sum()) if idx else 0
        n_paired = int((paired[:, idx] & present[:, idx]).sum()) if idx else 0
        rows.append({"region": name, "positions": str(region), "side": region.side, "n_pairs": len(duplexes),
                     "n_positions": n_pos, "paired_pct": 100.0 * n_paired / n_pos if n_pos else np.nan})
    return pd.DataFrame(rows)
