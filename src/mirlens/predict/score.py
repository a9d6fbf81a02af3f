"""Batched scoring of token matrices and pair tables."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

from mirlens.data.encoding import encode_pairs
from mirlens.model.architecture import MiTAR
from mirlens.predict.threads import map_batches

DEFAULT_BATCH = 1024


def iter_batches(n: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


@torch.inference_mode()
def score_tokens(model: MiTAR, tokens: np.ndarray, *, batch_size: int = DEFAULT_BATCH, progress=None) -> np.ndarray:
    """Probabilities (float32, one per row) of a token matrix; ``progress(n_done)`` is called after each batch.
    Rows of the same miRNA are batched together (they share work); batches run side by side on the cores
    (:mod:`mirlens.predict.threads`)."""
    model.eval()
    tokens = np.asarray(tokens)
    order = mirna_order(tokens, model)
    out = np.empty(len(tokens), dtype=np.float32)

    def run(rows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.sigmoid(model(torch.from_numpy(np.ascontiguousarray(tokens[rows], dtype=np.int64)))).numpy()

    batches = [order[sl] for sl in iter_batches(len(tokens), batch_size)]
    for rows, probs in zip(batches, map_batches(run, batches)):
        out[rows] = probs
        if progress is not None:
            progress(len(rows))
    return out


def mirna_order(tokens: np.ndarray, model) -> np.ndarray:
    """Row order that puts pairs of the same miRNA together (stable), so that batches share miRNA steps
    (:meth:`MiTAR.fast_logits`); the identity for other models or inputs of other shapes."""
    n = len(tokens)
    slot = getattr(getattr(model, "config", None), "mirna_slot", None)
    if slot is None or tokens.ndim != 2 or tokens.shape[1] < slot or n < 2:
        return np.arange(n)
    prefix = np.ascontiguousarray(tokens[:, :slot], dtype=np.uint8)
    _, codes = np.unique(prefix.view(np.dtype((np.void, slot))).ravel(), return_inverse=True)
    return np.argsort(codes.ravel(), kind="stable")


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
