"""Batched scoring of token matrices and pair tables."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

from mirlens.data.encoding import encode_pairs
from mirlens.model.architecture import MiTAR

DEFAULT_BATCH = 1024


def iter_batches(n: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


@torch.inference_mode()
def score_tokens(model: MiTAR, tokens: np.ndarray, *, batch_size: int = DEFAULT_BATCH, progress=None) -> np.ndarray:
    """Probabilities (float32, one per row) of a token matrix; ``progress(n_done)`` is called after each batch."""
    model.eval()
    tokens = np.asarray(tokens)
    out = np.empty(len(tokens), dtype=np.float32)
    for sl in iter_batches(len(tokens), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(tokens[sl], dtype=np.int64))
        out[sl] = torch.sigmoid(model(batch)).numpy()
        if progress is not None:
            progress(sl.stop - sl.start)
    return out


def pair_names(pairs: pd.DataFrame) -> list[str]:
    """Human names of the rows of a pair table, for error messages (file, line, ids)."""
    src = pairs["source"] if "source" in pairs else pd.Series([""] * len(pairs), index=pairs.index)
    rec = pairs["record"] if "record" in pairs else pd.Series(range(1, len(pairs) + 1), index=pairs.index)
    return [f"{s}, line {r} ({m} / {t})" if s else f"pair {r} ({m} / {t})"
            for s, r, m, t in zip(src, rec, pairs["mirna_id"], pairs["target_id"])]


def score_pairs(model: MiTAR, pairs: pd.DataFrame, *, batch_size: int = DEFAULT_BATCH, progress=None) -> np.ndarray:
    """Probability of every pair of a pair table (columns ``mirna``/``target``, both 5'->3')."""
    tokens = encode_pairs(pairs["mirna"].tolist(), pairs["target"].tolist(), model.config.target_slot,
                          names=pair_names(pairs))
    return score_tokens(model, tokens, batch_size=batch_size, progress=progress)
