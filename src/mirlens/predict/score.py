"""Batched scoring of token matrices and pair tables.

A pair whose target is longer than the model's target slot is scored in every window of the slot's length
(step 1) and keeps its best window (the highest logit): :func:`score_pair_table` says which window and how many
there were, so that any model can score, say, 50-nt CLIP fragments or whole UTR stretches. For the pairing family
those windows are by default *context* windows, scored with the target's real flanks in one pass over it
(:mod:`mirlens.predict.utr_pass`); ``windows="padded"`` cuts each window out and pads it with N (the earlier
semantics, and the only one of miTAR models). Targets no longer than the slot score the same either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from mirlens.data.alphabet import tokenize
from mirlens.data.encoding import MIRNA_SLOT, encode_pairs
from mirlens.model.architecture import MiTAR
from mirlens.predict.threads import map_batches
from mirlens.predict.windows import check_windows, window_tokens

DEFAULT_BATCH = 1024


def iter_batches(n: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


@torch.inference_mode()
def score_tokens(model: MiTAR, tokens: np.ndarray, *, batch_size: int = DEFAULT_BATCH, progress=None,
                 logits: bool = False) -> np.ndarray:
    """Probabilities (float32, one per row) of a token matrix, or with ``logits=True`` the logits (the ranking
    score: probabilities of strong sites all round to 1.0 in float32). ``progress(n_done)`` is called after each
    batch. Rows of the same miRNA are batched together (they share work); batches run side by side on the cores
    (:mod:`mirlens.predict.threads`)."""
    model.eval()
    tokens = np.asarray(tokens)
    order = mirna_order(tokens, model)
    out = np.empty(len(tokens), dtype=np.float32)

    def run(rows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = model(torch.from_numpy(np.ascontiguousarray(tokens[rows], dtype=np.int64)))
            return (out if logits else torch.sigmoid(out)).numpy()

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


class PairNames(Sequence):
    """Human names of the rows of a pair table, for error messages (file, line, ids): ``names[i]`` is made when an
    error needs it, so that scoring many pairs builds no strings; ``names.at(rows)`` names a subset."""

    def __init__(self, pairs: pd.DataFrame, rows: np.ndarray | None = None):
        self.pairs = pairs
        self.rows = np.arange(len(pairs)) if rows is None else np.asarray(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        row = self.pairs.iloc[int(self.rows[i])]
        s = row["source"] if "source" in self.pairs else ""
        r = row["record"] if "record" in self.pairs else int(self.rows[i]) + 1
        return f"{s}, line {r} ({row['mirna_id']} / {row['target_id']})" if s else \
            f"pair {r} ({row['mirna_id']} / {row['target_id']})"

    def at(self, rows) -> PairNames:
        return PairNames(self.pairs, self.rows[np.asarray(rows)])


def pair_names(pairs: pd.DataFrame) -> PairNames:
    """Human names of the rows of a pair table, for error messages (file, line, ids); see :class:`PairNames`."""
    return PairNames(pairs)


def score_pairs(model: MiTAR, pairs: pd.DataFrame, *, batch_size: int = DEFAULT_BATCH, progress=None,
                windows: str = "context") -> np.ndarray:
    """Probability of every pair of a pair table (columns ``mirna``/``target``, both 5'->3'); targets longer than
    the model's slot get their best window's (see the module doc)."""
    return score_pair_table(model, pairs, batch_size=batch_size, progress=progress,
                            windows=windows)["probability"].to_numpy()


def score_pair_table(model: MiTAR, pairs: pd.DataFrame, *, batch_size: int = DEFAULT_BATCH,
                     progress=None, windows: str = "context") -> pd.DataFrame:
    """Scores of every pair (index and order of ``pairs``): ``logit``, ``probability`` (its sigmoid), and for the
    window scoring of long targets ``window_start``/``window_end`` (1-based, inclusive, on the target; the whole
    target when it fits the slot) and ``n_windows``. ``progress(n)`` counts scored windows. ``windows``: the
    semantics of the windows of long targets for the pairing family (``context`` or ``padded``, see the module
    doc; miTAR models always score padded windows)."""
    from mirlens.predict.utr_pass import is_pairing

    context = check_windows(windows) == "context" and is_pairing(model)
    slot = model.config.target_slot
    if not len(pairs):
        return pd.DataFrame({"logit": np.zeros(0, np.float32), "probability": np.zeros(0), "window_start": 0,
                             "window_end": 0, "n_windows": 0}, index=pairs.index).astype(
            {"window_start": np.int64, "window_end": np.int64, "n_windows": np.int64})
    lengths = pairs["target"].str.len().to_numpy()
    long = lengths > slot
    names = pair_names(pairs)
    short_rows = np.flatnonzero(~long)
    tokens = [encode_pairs(pairs["mirna"].iloc[short_rows].tolist(), pairs["target"].iloc[short_rows].tolist(),
                           slot, names=names.at(short_rows))]
    owner = [short_rows]
    starts = [np.zeros(len(short_rows), dtype=np.int64)]
    if context:  # long targets: every window from one pass over the target, the best kept below
        passed = _context_windows(model, pairs, np.flatnonzero(long), lengths, names, progress)
    for i in np.flatnonzero(long) if not context else ():
        prefix = encode_pairs([pairs["mirna"].iat[i]], ["N"], 1, names=[names[i]])[0, :MIRNA_SLOT]
        first = np.arange(lengths[i] - slot + 1)
        block = np.empty((len(first), MIRNA_SLOT + slot), dtype=np.uint8)
        block[:, :MIRNA_SLOT] = prefix
        block[:, MIRNA_SLOT:] = window_tokens(tokenize(pairs["target"].iat[i]), first, slot)
        tokens.append(block)
        owner.append(np.full(len(first), i))
        starts.append(first)
    all_tokens, owner, starts = np.concatenate(tokens), np.concatenate(owner), np.concatenate(starts)
    logit = score_tokens(model, all_tokens, batch_size=batch_size, progress=progress, logits=True)
    if context:  # one row per long pair: its best window
        logit = np.concatenate([logit, passed[0]])
        owner = np.concatenate([owner, passed[1]])
        starts = np.concatenate([starts, passed[2]])
    # best window per pair: sort by (pair, -logit, start) and keep each pair's first row
    order = np.lexsort((starts, -logit, owner))
    keep = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    n_windows = np.bincount(owner, minlength=len(pairs))
    if context:
        n_windows[passed[1]] = passed[3]
    best = np.empty(len(pairs), dtype=np.float32)
    best_start = np.empty(len(pairs), dtype=np.int64)
    best[owner[keep]] = logit[keep]
    best_start[owner[keep]] = starts[keep]
    return pd.DataFrame({
        "logit": best,
        "probability": 1.0 / (1.0 + np.exp(-best.astype(np.float64))),
        "window_start": best_start + 1,
        "window_end": best_start + np.minimum(lengths, slot),
        "n_windows": n_windows,
    }, index=pairs.index)


def _context_windows(model, pairs: pd.DataFrame, rows: np.ndarray, lengths: np.ndarray, names: PairNames,
                     progress=None, *, batch_nt: int = 1 << 20) -> tuple[np.ndarray, ...]:
    """(best logit, row, best start, number of windows) of the long targets ``rows``, from every step-1 window
    scored with real flanks: one :class:`mirlens.predict.utr_pass.UtrPass` per miRNA, over its targets in batches
    of about ``batch_nt`` nt. Ties keep the first window, as the padded path does."""
    from mirlens.predict.utr_pass import UtrPass

    slot = model.config.target_slot
    mirnas = pairs["mirna"].to_numpy()[rows]
    encode_pairs(list(mirnas), ["N"] * len(rows), 1, names=names.at(rows))  # miRNA errors first, in row order
    best = np.zeros(len(rows), np.float32)
    best_start = np.zeros(len(rows), np.int64)
    n_windows = lengths[rows].astype(np.int64) - slot + 1
    order = np.argsort(mirnas, kind="stable")
    bounds = np.flatnonzero(np.r_[True, mirnas[order][1:] != mirnas[order][:-1], True]) if len(rows) else []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        utr_pass = UtrPass(model, mirnas[order[lo]], before=0, after=0)
        group = order[lo:hi]  # positions in rows
        first = 0
        while first < len(group):
            end, size = first, 0
            while end < len(group) and (end == first or size + lengths[rows[group[end]]] <= batch_nt):
                size += int(lengths[rows[group[end]]])
                end += 1
            part = group[first:end]
            first = end
            utrs = [tokenize(pairs["target"].iat[i]) for i in rows[part]]
            starts = [np.arange(n, dtype=np.int64) for n in n_windows[part]]
            for j, lg in zip(part, utr_pass.window_logits(utrs, starts)):
                best_start[j] = int(np.argmax(lg))  # the first of equal maxima: the lowest start
                best[j] = lg[best_start[j]]
            if progress is not None:
                progress(int(n_windows[part].sum()))
    return best, rows, best_start, n_windows


def padded_window_logits(model, mirna: str, utr: np.ndarray, starts: np.ndarray, *,
                         batch_size: int = 4096) -> np.ndarray:
    """Window logits with the window path's semantics (each window cut out and padded with N, so anchors near its
    edges read N instead of the UTR's flanks): the scores of ``mirlens predict`` before the whole-UTR pass."""
    window = model.config.target_slot
    win = window_tokens(np.asarray(utr, dtype=np.uint8), np.asarray(starts, dtype=np.int64), window)
    tokens = np.empty((len(win), MIRNA_SLOT + window), dtype=np.uint8)
    tokens[:, :MIRNA_SLOT] = encode_pairs([mirna], ["N"], 1)[0, :MIRNA_SLOT]
    tokens[:, MIRNA_SLOT:] = win
    return score_tokens(model, tokens, batch_size=batch_size, logits=True)
