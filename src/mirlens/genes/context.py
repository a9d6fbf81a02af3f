"""Site context: the features TargetScan found to modulate how much a canonical site represses its mRNA.

Per site (vectorised over all sites of one token array, e.g. many UTRs joined by runs of N):

==================  ================================================================================================
``local_au``        A/U content of the 30 nt on either side of the site (5' of the nucleotide facing miRNA position
                    8, 3' of the one facing position 1), each nucleotide weighted by ``1 / (d + 2)`` for distance
                    ``d`` (0 = adjacent); nucleotides beyond the UTR count as not A/U. 0..1.
``supp3``           3' supplementary pairing: the best run of consecutive Watson-Crick pairs between miRNA positions
                    9..20 and the UTR 5' of the seed match, scoring 1 per pair of positions 13-16 and 0.5 for
                    other positions (runs of at least 2 pairs), minus 0.5 per nucleotide of offset beyond 2 (target
                    loop) or of negative offset; offsets -2..5 (the register of the target against the miRNA).
``min_dist``        nucleotides from the site to the nearer end of the UTR (anchor to the 5' end, or to the 3' end).
``utr_length``      length of the site's UTR.
``n_coop``          other canonical sites of the same miRNA in the UTR whose anchors lie 8..40 nt away (cooperative
                    spacing).
==================  ================================================================================================

Coordinates follow :mod:`mirlens.genes.sites`: a site is placed by its anchor, the 0-based index of the nucleotide
facing miRNA position 1; the nucleotide facing position ``k`` is at ``anchor - (k - 1)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mirlens.data.alphabet import PAD_TOKEN, TOKENS
from mirlens.genes.sites import SEED_SPAN

CONTEXT_COLUMNS: tuple[str, ...] = ("local_au", "supp3", "min_dist", "utr_length", "n_coop")
AU_FLANK = 30
SUPP_POSITIONS = (9, 20)
"""miRNA positions that may take part in 3' supplementary pairing."""
SUPP_CORE = (13, 16)
"""Positions scoring a full point (TargetScan's 3'-supplementary core)."""
SUPP_OFFSETS = range(-2, 6)
COOP_SPACING = (8, 40)
CONTEXT_REACH = SUPP_POSITIONS[1] + max(SUPP_OFFSETS)
"""How far 5' of an anchor the context reads (nt): UTRs joined for typing need N runs at least this long."""

_A, _U, _C, _G = (TOKENS.index(c) for c in "AUCG")
_WC = np.full(len(TOKENS), 255, dtype=np.uint8)
_WC[[_A, _U, _C, _G]] = [_U, _A, _G, _C]


def _gather(tokens: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``tokens[idx]`` with indices outside the array reading as N."""
    inside = (idx >= 0) & (idx < len(tokens))
    out = np.full(idx.shape, PAD_TOKEN, dtype=np.uint8)
    out[inside] = tokens[idx[inside]]
    return out


def local_au(tokens: np.ndarray, anchors: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance-weighted A/U fraction around each site; ``lo``/``hi``: the 0-based bounds ``[lo, hi)`` of the site's
    UTR in ``tokens`` (nucleotides outside count as not A/U)."""
    anchors = np.asarray(anchors, dtype=np.int64)
    d = np.arange(AU_FLANK)
    w = 1.0 / (d + 2.0)
    up = (anchors - SEED_SPAN)[:, None] - d[None, :]
    down = (anchors + 1)[:, None] + d[None, :]
    total = np.zeros(len(anchors))
    for idx in (up, down):
        tok = _gather(tokens, idx)
        inside = (idx >= lo[:, None]) & (idx < hi[:, None])
        au = ((tok == _A) | (tok == _U)) & inside
        total += au @ w
    return total / (2 * w.sum())


def supplementary_pairing(mirna_tok: np.ndarray, tokens: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """TargetScan-style 3' supplementary pairing score of each site (see the module doc)."""
    mirna_tok = np.asarray(mirna_tok, dtype=np.uint8)
    anchors = np.asarray(anchors, dtype=np.int64)
    first, last = SUPP_POSITIONS
    last = min(last, len(mirna_tok))
    best = np.zeros(len(anchors))
    if last < first:
        return best
    for off in SUPP_OFFSETS:
        penalty = 0.5 * max(off - 2, 0) + 0.5 * max(-off, 0)
        run = np.zeros(len(anchors), dtype=np.int64)
        score = np.zeros(len(anchors))
        top = np.zeros(len(anchors))
        for k in range(first, last + 1):
            pair = _gather(tokens, anchors - (k - 1) - off) == _WC[mirna_tok[k - 1]]
            run = np.where(pair, run + 1, 0)
            score = np.where(pair, score + (1.0 if SUPP_CORE[0] <= k <= SUPP_CORE[1] else 0.5), 0.0)
            top = np.where(run >= 2, np.maximum(top, score), top)
        best = np.maximum(best, np.where(top > 0, top - penalty, 0.0))
    return np.maximum(best, 0.0)


def cooperative_neighbours(anchors: np.ndarray, utr: np.ndarray, canonical: np.ndarray) -> np.ndarray:
    """Number of other canonical sites in the same UTR (``utr`` = an id per site) with anchors within
    :data:`COOP_SPACING` nt of each site (counted for every site, canonical or not)."""
    anchors = np.asarray(anchors, dtype=np.int64)
    utr = np.asarray(utr, dtype=np.int64)
    canonical = np.asarray(canonical, dtype=bool)
    out = np.zeros(len(anchors), dtype=np.int64)
    if not canonical.any():
        return out
    lo, hi = COOP_SPACING
    # a UTR-major key keeps sites of different UTRs apart: the UTR id times a span larger than any anchor
    span = int(anchors.max()) + hi + 1
    ckeys = np.sort(utr[canonical] * span + anchors[canonical])
    keys = utr * span + anchors
    for sign in (1, -1):
        a = np.searchsorted(ckeys, keys + sign * lo if sign > 0 else keys - hi, side="left")
        b = np.searchsorted(ckeys, keys + hi if sign > 0 else keys - lo, side="right")
        out += b - a
    return out


def site_context(mirna_tok: np.ndarray, tokens: np.ndarray, anchors: np.ndarray, utr: np.ndarray,
                 utr_start: np.ndarray, utr_length: np.ndarray, canonical: np.ndarray) -> pd.DataFrame:
    """The :data:`CONTEXT_COLUMNS` of each site.

    ``tokens``: target token array (one UTR, or several joined by runs of N); ``anchors``: each site's anchor in
    ``tokens``; ``utr``: an id of each site's UTR; ``utr_start``/``utr_length``: where that UTR begins in ``tokens``
    and its length; ``canonical``: which sites are canonical (for the cooperative-spacing count)."""
    anchors = np.asarray(anchors, dtype=np.int64)
    utr_start = np.asarray(utr_start, dtype=np.int64)
    utr_length = np.asarray(utr_length, dtype=np.int64)
    local = anchors - utr_start
    return pd.DataFrame({
        "local_au": local_au(tokens, anchors, utr_start, utr_start + utr_length),
        "supp3": supplementary_pairing(mirna_tok, tokens, anchors),
        "min_dist": np.minimum(local, utr_length - local),
        "utr_length": utr_length,
        "n_coop": cooperative_neighbours(local, utr, canonical),
    })
