"""The compensatory-pairing test: does a model score *pairing*, or *sequence motifs*?

For a miRNA position ``Lp`` that forms a Watson-Crick pair with target position ``LTq`` in the pair's duplex
(:func:`mirlens.duplex.compute_duplexes`: ``mirna_partner``), three mutants are scored beside the wild type:

* ``mirna``: Lp replaced by its complement (the pair is broken: U facing U instead of A facing U);
* ``target``: LTq replaced by its complement (broken on the other side);
* ``double``: both replaced, which *restores* the pair with the partners swapped (A:U -> U:A, G:C -> C:G).

A model that reads pairing scores the double mutant like the wild type; a model that reads the sequence of either
side as a motif does not. Per position, the **recovery** of a single mutant is

    recovery = (mean double - mean single) / (mean wild type - mean single)
             = 1 - mean(wt - double) / mean(wt - single),

on the logit scale (probabilities of strong sites saturate), averaged over the pairs that have a Watson-Crick
partner at that position: 1 = fully restored (pairing), 0 = no better than the single mutant (motif), below 0 = the
two changes cost more together than either alone (both sequences read as motifs), with a percentile bootstrap CI
over pairs. Where breaking the pair costs the model little (mean ``wt - single`` below :data:`MIN_DROP` logit)
there is nothing to recover: the recovery is left empty (NaN), the drops are still given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mirlens.data.alphabet import TOKENS
from mirlens.data.coordinates import MIRNA, TARGET, position_index
from mirlens.errors import InputError
from mirlens.explain.pairset import PairSet
from mirlens.explain.stats import percentile_ci
from mirlens.predict.score import score_tokens

DEFAULT_POSITIONS = tuple(range(1, 23))
MIN_DROP = 0.5
"""Smallest mean logit drop of a single mutant for which a recovery is reported (0.5 logit: a pair at p = 0.5
falls to 0.38)."""
KINDS = ("wt", "mirna", "target", "double")
_COMPLEMENT = np.arange(len(TOKENS), dtype=np.uint8)
for _a, _b in (("A", "U"), ("C", "G")):
    _COMPLEMENT[TOKENS.index(_a)], _COMPLEMENT[TOKENS.index(_b)] = TOKENS.index(_b), TOKENS.index(_a)


@dataclass
class Compensation:
    """``table``: one row per miRNA position (see :func:`compensation`); ``per_pair``: every tested (pair,
    position) with the partner, the pair type and the four logits."""

    table: pd.DataFrame
    per_pair: pd.DataFrame


def watson_crick_partners(duplexes: pd.DataFrame, positions: Sequence[int]) -> pd.DataFrame:
    """(pair, position p, partner q) of every miRNA position in ``positions`` that forms a Watson-Crick pair
    (``|`` in ``mirna_pairing``) with target position LTq (``mirna_partner``) in a pair's duplex."""
    rows = []
    wanted = set(positions)
    for i, (pairing, partners) in enumerate(zip(duplexes["mirna_pairing"], duplexes["mirna_partner"])):
        if not isinstance(partners, str) or not partners:
            continue
        for p, (symbol, q) in enumerate(zip(pairing, partners.split(",")), start=1):
            if p in wanted and symbol == "|" and int(q) > 0:
                rows.append((i, p, int(q)))
    return pd.DataFrame(rows, columns=["pair", "position", "partner"]).astype(np.int64)


def compensation(model, pairs: PairSet, duplexes: pd.DataFrame, *, positions: Sequence[int] = DEFAULT_POSITIONS,
                 n_boot: int = 1000, seed: int = 0, level: float = 0.95, batch_size: int = 4096,
                 progress: Callable[[int], None] | None = None) -> Compensation:
    """Run the compensatory-pairing test of ``model`` on ``pairs`` whose duplexes (same row order) are given.

    ``table`` columns: ``position`` (Lp), ``n`` (pairs with a Watson-Crick partner there), ``partner_median``
    (median LT position of the partner), ``wt`` (mean wild-type logit), ``drop_mirna``, ``drop_target``,
    ``drop_double`` (mean wt - mutant logit), ``recovery_mirna`` / ``recovery_target`` with ``_low`` / ``_high``
    (``level`` percentile bootstrap over pairs, ``n_boot`` resamples, ``default_rng(seed)``; NaN where the single
    mutant's drop is below :data:`MIN_DROP`)."""
    if len(duplexes) != len(pairs):
        raise InputError(f"{len(pairs)} pairs but {len(duplexes)} duplexes")
    sites = watson_crick_partners(duplexes, positions)
    if sites.empty:
        raise InputError("no miRNA position of these pairs forms a Watson-Crick pair in its duplex")
    m_len, t_len = pairs.mirna_lens[sites["pair"]], pairs.target_lens[sites["pair"]]
    mi = np.array([position_index(MIRNA, p, m, t) for p, m, t in zip(sites["position"], m_len, t_len)])
    ti = np.array([position_index(TARGET, q, m, t) if q <= t else -1
                   for q, m, t in zip(sites["partner"], m_len, t_len)])
    keep = (ti >= 0) & (ti < pairs.width)  # partners outside the model's target slot cannot be mutated
    sites, mi, ti = sites[keep].reset_index(drop=True), mi[keep], ti[keep]
    n = len(sites)
    base = pairs.tokens[sites["pair"].to_numpy()]
    rows = np.arange(n)
    mutants = np.repeat(base[None], 4, axis=0)  # wt, mirna, target, double
    for k, (do_m, do_t) in enumerate(((False, False), (True, False), (False, True), (True, True))):
        if do_m:
            mutants[k, rows, mi] = _COMPLEMENT[base[rows, mi]]
        if do_t:
            mutants[k, rows, ti] = _COMPLEMENT[base[rows, ti]]
    logits = score_tokens(model, mutants.reshape(4 * n, -1), batch_size=batch_size, progress=progress,
                          logits=True).reshape(4, n).astype(np.float64)
    letters = np.frombuffer(TOKENS.encode(), dtype=np.uint8)
    per_pair = sites.assign(
        pair_type=[f"{chr(letters[a])}:{chr(letters[b])}" for a, b in zip(base[rows, mi], base[rows, ti])],
        **{f"logit_{k}": logits[j] for j, k in enumerate(KINDS)})
    table = _summarise(per_pair, n_boot, seed, level)
    return Compensation(table, per_pair)


def _recovery(drop_single: np.ndarray, drop_double: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - np.asarray(drop_double) / np.asarray(drop_single)


def _summarise(per_pair: pd.DataFrame, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = []
    for p, g in per_pair.groupby("position", sort=True):
        wt = g["logit_wt"].to_numpy()
        drops = np.column_stack([wt - g[f"logit_{k}"].to_numpy() for k in ("mirna", "target", "double")])
        mean = drops.mean(axis=0)
        # (n_boot, 3) resampled means, a few resamples at a time (memory: all of miRAW's positives are resampled)
        step = max(1, 2_000_000 // len(g))
        boot = np.concatenate([drops[rng.integers(0, len(g), size=(min(step, n_boot - b), len(g)))].mean(axis=1)
                               for b in range(0, n_boot, step)])
        row = {"position": f"L{p}", "n": len(g), "partner_median": f"LT{int(np.median(g['partner']))}",
               "wt": float(wt.mean()), "drop_mirna": mean[0], "drop_target": mean[1], "drop_double": mean[2]}
        for j, side in enumerate(("mirna", "target")):
            if mean[j] < MIN_DROP:
                row[f"recovery_{side}"] = row[f"recovery_{side}_low"] = row[f"recovery_{side}_high"] = np.nan
                continue
            lo, hi = percentile_ci(_recovery(boot[:, j], boot[:, 2])[:, None], level)
            row[f"recovery_{side}"] = float(_recovery(mean[j], mean[2]))
            row[f"recovery_{side}_low"], row[f"recovery_{side}_high"] = float(lo[0]), float(hi[0])
        out.append(row)
    return pd.DataFrame(out)
