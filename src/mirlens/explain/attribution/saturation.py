"""Saturation mutagenesis: every nucleotide of every pair changed to each of the other three letters.

:func:`saturation` scores all 3 x (miRNA + target length) single mutants of every pair and returns, in biological
coordinates (``L1..`` from the miRNA's 5' end, ``LT1..`` from the target's 3' end), the change of the logit
``delta = logit(mutant) - logit(pair)``. :func:`importance` turns that into the matrix a sequence logo draws: at
each position, the wild-type letter's *importance* -- minus the mean delta of its three substitutions (how much
the model loses when that nucleotide is changed) -- averaged over the pairs, split by which letter the pairs have
there. A tall letter = a nucleotide the model relies on when it is that letter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mirlens.data.alphabet import TOKENS
from mirlens.explain.pairset import PairSet
from mirlens.predict.score import score_tokens

LETTERS = "ACGU"


def saturation(model, pairs: PairSet, *, batch_size: int = 4096, progress=None) -> pd.DataFrame:
    """One row per (pair, position, substituted letter): ``pair``, ``side``, ``position``, ``nucleotide`` (wild
    type), ``to``, ``delta`` (logit change). Positions holding N are skipped."""
    sites = pairs.nucleotides()
    sites = sites[sites["nucleotide"].isin(list(LETTERS))].reset_index(drop=True)
    rows = sites.loc[sites.index.repeat(3)].reset_index(drop=True)
    col = rows.pop("index").to_numpy()
    to = np.array([[c for c in LETTERS if c != wt] for wt in sites["nucleotide"]]).ravel()
    mutants = pairs.tokens[rows["pair"].to_numpy()].copy()
    mutants[np.arange(len(mutants)), col] = np.array([TOKENS.index(c) for c in to], dtype=np.uint8)
    wt = score_tokens(model, pairs.tokens, batch_size=batch_size, logits=True).astype(np.float64)
    mut = score_tokens(model, mutants, batch_size=batch_size, progress=progress, logits=True).astype(np.float64)
    return rows.assign(to=to, delta=mut - wt[rows["pair"].to_numpy()])


def importance(sat: pd.DataFrame, side: str, positions: int | None = None) -> pd.DataFrame:
    """Logo matrix of one side: index = position (1..), columns A C G U; the entry of the pairs' wild-type
    letter at a position is the mean over all pairs having that position of (that pair's importance if its letter
    is this one, else 0), so the letters of a column add up to the mean importance at that position."""
    s = sat[sat["side"] == side]
    per_site = (-s.groupby(["pair", "position", "nucleotide"], sort=False)["delta"].mean()).rename("importance")
    per_site = per_site.reset_index()
    n_pairs = per_site.groupby("position")["pair"].nunique()
    sums = per_site.pivot_table(index="position", columns="nucleotide", values="importance", aggfunc="sum",
                                fill_value=0.0)
    matrix = sums.reindex(columns=list(LETTERS), fill_value=0.0).div(n_pairs, axis=0)
    if positions is not None:
        matrix = matrix.reindex(range(1, positions + 1), fill_value=0.0)
    matrix.index.name = "position"
    return matrix
