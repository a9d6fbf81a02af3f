"""Candidate miRNA sites on a 3'UTR: canonical seed matches and a non-canonical extended-seed match (seed-match
typing is data-level: both :mod:`mirlens.predict` and :mod:`mirlens.genes` use it).

Coordinates. A site is placed by its *anchor*: the 0-based index on the UTR (5'->3') of the nucleotide facing miRNA
position 1 (the "A1" position of TargetScan). The nucleotide facing miRNA position ``k`` sits at ``anchor - (k - 1)``;
the seed match therefore lies 5' (to the left) of the anchor on the UTR. An anchor may equal ``len(utr)`` (a seed
match that ends the UTR, with no A1 nucleotide).

Types, from strongest to weakest (each site gets exactly one; codes are indices into :data:`SITE_TYPES`):

================  ===========================================================================================
``8mer``          Watson-Crick match to miRNA positions 2-8, and an A facing position 1
``7mer-m8``       match to positions 2-8, no A at position 1
``7mer-A1``       match to positions 2-7 and an A at position 1 (position 8 unpaired)
``6mer``          match to positions 2-7 only
``offset-6mer``   match to positions 3-8 (position 2 unpaired)
``noncanonical``  positions 2-8 all paired when G:U wobbles count as paired, with at most one mismatch
                  (no bulges); only with ``noncanonical=True`` and only where no canonical site is within
                  :data:`NONCANONICAL_EXCLUSION` - 1 nt
================  ===========================================================================================

Everything is vectorised over anchor positions with numpy; :func:`find_sites_tokens` works on any token array
(including many UTRs joined by runs of N, which never pair), so a whole block of UTRs is typed in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mirlens.data.alphabet import PAD_TOKEN, TOKENS, tokenize
from mirlens.errors import InputError

SITE_TYPES: tuple[str, ...] = ("8mer", "7mer-m8", "7mer-A1", "6mer", "offset-6mer", "noncanonical")
"""Site types, strongest first; a site's ``type`` code is its index here."""
N_CANONICAL = 5
MIN_MIRNA_LEN = 8
NONCANONICAL_EXCLUSION = 3
"""A non-canonical candidate closer than this (nt, anchor to anchor) to a canonical site is dropped: it would give
practically the same window."""
SEED_SPAN = 8
"""Positions 1..8 of the miRNA take part in typing; site ``start`` is the nucleotide facing position 8."""

_A, _U, _C, _G = (TOKENS.index(c) for c in "AUCG")
_WC = np.full(len(TOKENS), 255, dtype=np.uint8)  # miRNA token -> Watson-Crick partner token on the target
_WC[[_A, _U, _C, _G]] = [_U, _A, _G, _C]
_WOBBLE = np.full(len(TOKENS), 255, dtype=np.uint8)  # miRNA token -> G:U wobble partner on the target
_WOBBLE[[_G, _U]] = [_U, _G]


@dataclass(frozen=True)
class Sites:
    """Candidate sites of one token array: parallel arrays sorted by anchor."""

    anchor: np.ndarray  # int64, index of the nucleotide facing miRNA position 1
    type: np.ndarray  # int8 code into SITE_TYPES

    def __len__(self) -> int:
        return len(self.anchor)

    @property
    def type_names(self) -> list[str]:
        return [SITE_TYPES[t] for t in self.type]

    @property
    def start(self) -> np.ndarray:
        """0-based index of the 5'-most nucleotide of the seed match (facing miRNA position 8)."""
        return self.anchor - (SEED_SPAN - 1)

    @property
    def end(self) -> np.ndarray:
        """0-based exclusive end of the site (just past the A1 position)."""
        return self.anchor + 1


def mirna_tokens(mirna: str, *, name: str = "miRNA") -> np.ndarray:
    """Tokens of a clean miRNA (5'->3'); it must have at least :data:`MIN_MIRNA_LEN` nt."""
    if len(mirna) < MIN_MIRNA_LEN:
        raise InputError(f"miRNA is {len(mirna)} nt; seed-match typing needs at least {MIN_MIRNA_LEN}", record=name)
    return tokenize(mirna)


def find_sites_tokens(mirna_tok: np.ndarray, target_tok: np.ndarray, *, noncanonical: bool = False) -> Sites:
    """Every candidate site of a miRNA (tokens, 5'->3') on a target token array (5'->3')."""
    mirna_tok = np.asarray(mirna_tok, dtype=np.uint8)
    if len(mirna_tok) < MIN_MIRNA_LEN:
        raise InputError(f"miRNA is {len(mirna_tok)} nt; seed-match typing needs at least {MIN_MIRNA_LEN}")
    n = len(target_tok)
    # pad so that every anchor 0..n has all of positions 1..8 inside the array; N pairs with nothing
    pad = SEED_SPAN
    t = np.full(n + 2 * pad, PAD_TOKEN, dtype=np.uint8)
    t[pad:pad + n] = target_tok
    anchors = np.arange(0, n + 1)  # anchor n: seed match ending the target

    def facing(k: int) -> np.ndarray:  # target tokens facing miRNA position k (1-based), one per anchor
        lo = pad - (k - 1)
        return t[lo:lo + n + 1]

    wc = {k: facing(k) == _WC[mirna_tok[k - 1]] for k in range(2, SEED_SPAN + 1)}
    a1 = facing(1) == _A
    m2_7 = wc[2] & wc[3] & wc[4] & wc[5] & wc[6] & wc[7]
    m8 = wc[8]
    code = np.full(n + 1, -1, dtype=np.int8)
    code[m2_7 & ~m8 & ~a1] = 3
    code[m2_7 & ~m8 & a1] = 2
    code[m2_7 & m8 & ~a1] = 1
    code[m2_7 & m8 & a1] = 0
    offset = ~m2_7 & wc[3] & wc[4] & wc[5] & wc[6] & wc[7] & m8
    code[offset] = 4
    if noncanonical:
        paired_or_wobble = [wc[k] | (facing(k) == _WOBBLE[mirna_tok[k - 1]]) for k in range(2, SEED_SPAN + 1)]
        n_unpaired = np.zeros(n + 1, dtype=np.int8)
        for p in paired_or_wobble:
            n_unpaired += ~p
        cand = (n_unpaired <= 1) & (code < 0)
        canonical_at = np.flatnonzero(code >= 0)
        if len(canonical_at):
            near = np.zeros(n + 1 + 2 * NONCANONICAL_EXCLUSION, dtype=np.int32)
            # mark +-(EXCLUSION-1) around every canonical anchor with a difference array
            np.add.at(near, canonical_at + 1, 1)
            np.add.at(near, canonical_at + 2 * NONCANONICAL_EXCLUSION, -1)
            covered = np.cumsum(near)[NONCANONICAL_EXCLUSION:NONCANONICAL_EXCLUSION + n + 1] > 0
            cand &= ~covered
        code[cand] = 5
    keep = np.flatnonzero(code >= 0)
    return Sites(anchor=anchors[keep].astype(np.int64), type=code[keep])


def find_sites(mirna: str, utr: str, *, noncanonical: bool = False) -> Sites:
    """Candidate sites of ``mirna`` on ``utr`` (both clean RNA, 5'->3'); see the module doc."""
    return find_sites_tokens(mirna_tokens(mirna), tokenize(utr), noncanonical=noncanonical)
