"""Model input: pairs -> token matrices, exactly as the original miTAR code builds them.

The input row of one pair is the miRNA *reversed* (3'->5'), padded with N to ``MIRNA_SLOT`` (26) tokens, followed
by the target 5'->3', padded with N at its end up to the model's target slot (53 for miTAR1/miTAR, 40 for miTAR2).
Tokens: ``N A U C G`` -> 0..4 (:data:`mirlens.data.alphabet.TOKENS`).

This module is the only place that lays sequences out in the tensor; :mod:`mirlens.data.coordinates` is the only
place that maps biological positions (L1.., LT1..) onto that layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mirlens.data.alphabet import TOKENS
from mirlens.errors import InputError

MIRNA_SLOT = 26
"""Tokens reserved for the miRNA at the start of every model input."""

_LUT = np.full(256, 255, dtype=np.uint8)  # letter -> token; 255: not clean RNA
for _i, _c in enumerate(TOKENS):
    _LUT[ord(_c)] = _i


def check_lengths(
    mirnas: Sequence[str],
    targets: Sequence[str],
    target_slot: int,
    *,
    names: Sequence[str] | None = None,
) -> None:
    """Raise :class:`InputError` naming the first pair whose miRNA or target does not fit the model."""
    if len(mirnas) != len(targets):
        raise ValueError(f"{len(mirnas)} miRNAs but {len(targets)} targets")
    m_len = np.fromiter(map(len, mirnas), dtype=np.int64, count=len(mirnas))
    t_len = np.fromiter(map(len, targets), dtype=np.int64, count=len(targets))
    wrong = np.flatnonzero((m_len == 0) | (t_len == 0) | (m_len > MIRNA_SLOT) | (t_len > target_slot))
    for i in wrong[:1]:  # the first one, worded below
        m, t = mirnas[i], targets[i]
        name = names[i] if names is not None else f"pair {i + 1}"
        if not m or not t:
            raise InputError("empty sequence", record=name)
        if len(m) > MIRNA_SLOT:
            raise InputError(f"miRNA is {len(m)} nt; the model allows at most {MIRNA_SLOT}", record=name)
        if len(t) > target_slot:
            raise InputError(
                f"target is {len(t)} nt; the model's target slot is {target_slot} nt "
                "(scan longer targets with `mirlens predict`, which cuts them into windows)",
                record=name,
            )


def encode_pairs(
    mirnas: Sequence[str],
    targets: Sequence[str],
    target_slot: int,
    *,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Token matrix ``(n, 26 + target_slot)`` (uint8) for clean RNA pairs, both given 5'->3'."""
    check_lengths(mirnas, targets, target_slot, names=names)
    width = MIRNA_SLOT + target_slot
    if len(mirnas) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    tokens = np.zeros((len(mirnas), width), dtype=np.uint8)  # N (0) pads both slots
    _place(tokens, mirnas, 0, reverse=True)
    _place(tokens, targets, MIRNA_SLOT, reverse=False)
    if (tokens == 255).any():
        row = int(np.nonzero((tokens == 255).any(axis=1))[0][0])
        name = names[row] if names is not None else f"pair {row + 1}"
        raise InputError("sequence is not clean RNA (letters NAUCG expected)", record=name)
    return tokens


def _place(tokens: np.ndarray, seqs: Sequence[str], first: int, *, reverse: bool) -> None:
    """Write the tokens of ``seqs`` (one per row, lengths already checked) into ``tokens`` from column ``first``,
    reversed when asked: a fixed-width byte array of all sequences, no step per row."""
    width = MIRNA_SLOT if reverse else tokens.shape[1] - first
    if not len(seqs):
        return
    try:
        letters = np.array(seqs, dtype=f"S{width}")
    except UnicodeEncodeError:  # non-ASCII letters: not clean RNA, reported by the caller
        letters = np.array([q.encode("ascii", "replace") for q in seqs], dtype=f"S{width}")
    codes = _LUT[letters.view(np.uint8).reshape(len(seqs), width)]
    codes[letters.view(np.uint8).reshape(len(seqs), width) == 0] = 0  # padding -> N
    if reverse:
        lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        src = lengths[:, None] - 1 - np.arange(width)[None, :]
        codes = np.where(src >= 0, np.take_along_axis(codes, np.maximum(src, 0), axis=1), 0).astype(np.uint8)
    tokens[:, first:first + width] = codes


def decode_tokens(tokens: np.ndarray) -> list[str]:
    """The model-input strings of a token matrix (as the original tool prints them)."""
    letters = np.frombuffer(TOKENS.encode("ascii"), dtype=np.uint8)
    return [bytes(letters[row]).decode("ascii") for row in np.asarray(tokens, dtype=np.intp)]
