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

_LUT = np.full(256, 255, dtype=np.uint8)
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
    for i, (m, t) in enumerate(zip(mirnas, targets, strict=True)):
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
    text = "".join(m[::-1].ljust(MIRNA_SLOT, "N") + t.ljust(target_slot, "N") for m, t in zip(mirnas, targets))
    try:
        raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as exc:  # pragma: no cover - clean sequences are ASCII
        raise InputError("sequences must be cleaned RNA (NAUCG)") from exc
    tokens = _LUT[raw].reshape(len(mirnas), width)
    if (tokens == 255).any():
        row = int(np.nonzero((tokens == 255).any(axis=1))[0][0])
        name = names[row] if names is not None else f"pair {row + 1}"
        raise InputError("sequence is not clean RNA (letters NAUCG expected)", record=name)
    return tokens


def decode_tokens(tokens: np.ndarray) -> list[str]:
    """The model-input strings of a token matrix (as the original tool prints them)."""
    letters = np.frombuffer(TOKENS.encode("ascii"), dtype=np.uint8)
    return [bytes(letters[row]).decode("ascii") for row in np.asarray(tokens, dtype=np.intp)]
