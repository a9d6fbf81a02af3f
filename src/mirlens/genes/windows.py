"""Model windows centred on candidate sites, placed where the model saw sites in training.

In the miRAW site-level training data (40-nt targets, ``data_miRaw_IndTest_noRepeats_3folds.txt``), 16,223 of the
21,265 positives hold a perfect match to miRNA positions 2-7; of those 16,834 matches, the anchor (the nucleotide
facing miRNA position 1, see :mod:`mirlens.genes.sites`) sits at window index 35 in 47.7%, 36 in 42.3%, 37 in 3.8%,
and anywhere else below 1% each. Anchor 35 puts the nucleotide facing miRNA position 2 at index 34, 5 nt from the
window's 3' end, and with a ~22-nt miRNA facing indices ~14..35 about 5 nt of flank remain at the 5' end too.
:func:`default_offsets` therefore scores each site with its anchor at index ``window - TAIL`` (35 for the 40-nt
miTAR2 slot). Several offsets may be given; the site score is then the mean over them (35 and 36 together changed
the cross-validated gene-level AUROC by less than 0.003 on the development pairs, for twice the cost).

Windows are cut from a token array where UTRs are joined by runs of N at least one window long, so a window that
runs past a UTR end is padded with N (as the original tool pads short targets) without any per-site Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mirlens.data.alphabet import PAD_TOKEN
from mirlens.errors import InputError

TAIL = 5
"""Nucleotides 3' of the one facing miRNA position 2, up to the window's 3' end, in the training data."""


def default_offsets(window: int) -> tuple[int, ...]:
    """Anchor index inside a window of ``window`` nt: ``window - TAIL`` (35 for 40 nt)."""
    return (window - TAIL,)


def site_windows(tokens: np.ndarray, anchors: np.ndarray, window: int, offsets: Sequence[int]) -> np.ndarray:
    """Token windows ``(len(offsets) * len(anchors), window)``, offset-major: the windows of offset ``offsets[0]``
    for every anchor, then those of ``offsets[1]``... Positions outside ``tokens`` read as N."""
    offsets = list(offsets)
    if not offsets or any(not 0 <= o < window for o in offsets):
        raise InputError(f"anchor offsets {offsets} must lie inside the {window}-nt window")
    anchors = np.asarray(anchors, dtype=np.int64)
    if len(anchors) == 0:
        return np.zeros((0, window), dtype=np.uint8)
    padded = np.full(len(tokens) + 2 * window, PAD_TOKEN, dtype=np.uint8)
    padded[window:window + len(tokens)] = tokens
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    starts = np.concatenate([anchors - o for o in offsets]) + window
    if starts.min() < 0 or starts.max() > len(view) - 1:
        raise InputError("site anchor outside the target")  # pragma: no cover - anchors come from find_sites
    return view[starts]


BACKGROUND_COMPOSITION = {"A": 0.28, "U": 0.30, "C": 0.20, "G": 0.22}
"""Base composition of the background windows (about that of human 3'UTRs: A/U rich)."""
N_BACKGROUND = 128


def background_windows(window: int, n: int = N_BACKGROUND, seed: int = 2024) -> np.ndarray:
    """``(n, window)`` fixed random target windows (tokens) with :data:`BACKGROUND_COMPOSITION`.

    Scoring a miRNA against them measures how readily the model calls *any* sequence a site for that miRNA
    (its "stickiness"), which the gene-level calibrator uses to read site scores relative to the miRNA's baseline.
    Deterministic: drawn from uniform numbers with a fixed seed, cut at the cumulative composition.
    """
    from mirlens.data.alphabet import TOKENS

    letters = list(BACKGROUND_COMPOSITION)
    cum = np.cumsum([BACKGROUND_COMPOSITION[c] for c in letters])
    u = np.random.default_rng(seed).random((n, window))
    idx = np.minimum(np.searchsorted(cum, u, side="right"), len(letters) - 1)
    lut = np.array([TOKENS.index(c) for c in letters], dtype=np.uint8)
    return lut[idx]
