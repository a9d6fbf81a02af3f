"""The RNA alphabet: cleaning user letters and turning sequences into model tokens.

Accepted letters: A C G U, T (read as U), lowercase of all of them, N. IUPAC ambiguity codes
(R Y S W K M B D H V) become N and are counted so the caller can warn. Anything else is an error.
The model's tokens follow the original miTAR encoding: ``N A U C G`` -> ``0 1 2 3 4``.
"""

from __future__ import annotations

import re

import numpy as np

from mirlens.errors import InputError

TOKENS = "NAUCG"
"""Model vocabulary, in token order (N = 0 is also the padding token)."""

PAD_TOKEN = 0
IUPAC_AMBIGUOUS = "RYSWKMBDHV"

_CLEAN = {ord(c): c for c in "ACGUN"}
_CLEAN.update({ord(c.lower()): c for c in "ACGUN"})
_CLEAN.update({ord("T"): "U", ord("t"): "U"})
_AMBIG = {ord(c): "N" for c in IUPAC_AMBIGUOUS + IUPAC_AMBIGUOUS.lower()}
_TRANSLATE = {**_CLEAN, **_AMBIG}
_ALLOWED = frozenset(chr(k) for k in _TRANSLATE)
_UNAMBIGUOUS = re.compile("[ACGUTNacgutn]*")  # a regex scans long sequences several times faster than a set

_TOKEN_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(TOKENS):
    _TOKEN_LUT[ord(_c)] = _i


def clean_sequence(seq: str, *, source: str | None = None, record: str | int | None = None) -> tuple[str, int]:
    """Return ``(sequence in the RNA alphabet, number of IUPAC codes turned into N)``.

    Whitespace inside the sequence is not allowed (readers strip line ends before calling this).
    Raises :class:`InputError` naming ``source``/``record`` on an empty sequence or an unknown letter.
    """
    if not seq:
        raise InputError("empty sequence", source=source, record=record)
    if _UNAMBIGUOUS.fullmatch(seq):  # fast path (the usual case): nothing to reject, no ambiguity codes to count
        return seq.translate(_TRANSLATE), 0
    if not _ALLOWED.issuperset(seq):
        bad = next(c for c in seq if c not in _ALLOWED)
        pos = seq.index(bad) + 1
        raise InputError(
            f"unknown letter {bad!r} at position {pos} (allowed: A C G U T N, lowercase, IUPAC codes)",
            source=source,
            record=record,
        )
    n_ambiguous = sum(seq.count(c) for c in IUPAC_AMBIGUOUS + IUPAC_AMBIGUOUS.lower())
    return seq.translate(_TRANSLATE), n_ambiguous


def tokenize(seq: str) -> np.ndarray:
    """Tokens (uint8) of a clean RNA sequence (letters from ``NAUCG`` only)."""
    arr = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
    out = _TOKEN_LUT[arr]
    if (out == 255).any():
        raise InputError(f"sequence {seq!r} is not clean RNA (letters NAUCG expected)")
    return out


def reverse(seq: str) -> str:
    """The sequence read backwards (no complement): 5'->3' <-> 3'->5'."""
    return seq[::-1]
