"""Cutting a long target into model-sized windows, exactly as the original miTAR prediction scripts do.

With window length ``w`` (the model's target slot) and step ``s``: a target no longer than ``w`` gives one window
(starting at 0, padded with N to ``w``); a longer one gives windows starting at 0, s, 2s, ... for every start with
``start + w < len``, then one last window starting at ``len - w``. Windows are numbered from 0 in that order.
"""

from __future__ import annotations

import numpy as np

from mirlens.data.alphabet import PAD_TOKEN
from mirlens.errors import InputError


def window_starts(length: int, window: int, step: int) -> np.ndarray:
    """0-based start of every window of a target of ``length`` nt."""
    if window < 1 or step < 1:
        raise InputError(f"window ({window}) and step ({step}) must be positive")
    if length <= window:
        return np.zeros(1, dtype=np.int64)
    regular = np.arange(0, length - window, step, dtype=np.int64)  # start + window < length
    return np.append(regular, length - window)


def window_tokens(target_tokens: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """Token windows ``(n_windows, window)`` of one target, padded with N where the target is shorter."""
    if len(target_tokens) < window:
        padded = np.full(window, PAD_TOKEN, dtype=target_tokens.dtype)
        padded[: len(target_tokens)] = target_tokens
        target_tokens = padded
    view = np.lib.stride_tricks.sliding_window_view(target_tokens, window)
    return view[starts]


WINDOW_MODES = ("context", "padded")


def check_windows(mode: str) -> str:
    """The ``--windows`` word, checked."""
    mode = str(mode).strip().lower()
    if mode not in WINDOW_MODES:
        raise InputError(f"unknown --windows {mode!r}: choose context (real flanks, the default) or padded "
                         "(each window padded with N, the earlier semantics)")
    return mode
