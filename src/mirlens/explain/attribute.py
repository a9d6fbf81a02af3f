"""Per-nucleotide attributions by Integrated Gradients (Captum), in biological coordinates.

Integrated Gradients (Sundararajan et al. 2017) integrates the gradient of the model's **logit** along the straight
path from a reference input to the pair's input, both one-hot (the models' differentiable ``forward_onehot``):
``attribution_i = (x_i - x'_i) * mean over the path of d logit / d x_i``, summed over the five letters of a
position. The attributions of a pair add up to ``logit(x) - logit(reference)`` (*completeness*); the difference
left (``delta``) shrinks with the number of steps and is reported per pair. Captum's Gauss-Legendre rule is used.

References (``reference``):

* ``N`` -- every nucleotide of the pair replaced by N (the paper's mutation letter): how much each nucleotide
  contributes relative to "no sequence";
* ``shuffle`` -- the miRNA kept, the target dinucleotide-shuffled (:func:`mirlens.data.shuffle.klet_shuffle`,
  seeded): what each target nucleotide adds beyond its composition (miRNA attributions are then 0).

Positions are the pair's own: ``L1..Ln`` (5'->3' from the miRNA's first nucleotide) and ``LT1..LTm`` (from the
target's last nucleotide), mapped from tensor indices by :mod:`mirlens.data.coordinates`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from mirlens.data.alphabet import TOKENS, tokenize
from mirlens.data.encoding import MIRNA_SLOT
from mirlens.data.shuffle import klet_shuffle
from mirlens.errors import InputError
from mirlens.explain.pairset import PairSet
from mirlens.predict.score import score_tokens

REFERENCES = ("N", "shuffle")
DEFAULT_STEPS = 256


@dataclass
class Attribution:
    """``positions``: one row per (pair, position): ``pair``, ``side``, ``position`` (1-based, per pair),
    ``nucleotide``, ``attribution``. ``pairs``: one row per pair: ``logit``, ``reference_logit``,
    ``attribution_sum``, ``delta`` (sum - (logit - reference_logit))."""

    positions: pd.DataFrame
    pairs: pd.DataFrame
    reference: str
    steps: int


def reference_tokens(pairs: PairSet, reference: str, seed: int = 0) -> np.ndarray:
    """The reference token rows of every pair (see the module doc)."""
    if reference == "N":
        return np.zeros_like(pairs.tokens)
    if reference == "shuffle":
        rng = np.random.default_rng(seed)
        out = pairs.tokens.copy()
        for i, (t, n) in enumerate(zip(pairs.pairs["target"], pairs.target_lens)):
            out[i, MIRNA_SLOT:MIRNA_SLOT + n] = tokenize(klet_shuffle(t, 2, rng))
        return out
    raise InputError(f"unknown reference {reference!r}; choose from {', '.join(REFERENCES)}")


def _position_table(pairs: PairSet, attr: np.ndarray) -> pd.DataFrame:
    """Long table of the attributions at the pairs' real nucleotides, in biological coordinates."""
    table = pairs.nucleotides()
    table["attribution"] = attr[table["pair"].to_numpy(), table.pop("index").to_numpy()]
    return table


def integrated_gradients(model, pairs: PairSet, *, reference: str = "N", steps: int = DEFAULT_STEPS, seed: int = 0,
                         batch_size: int = 16, progress: Callable[[int], None] | None = None) -> Attribution:
    """Integrated Gradients of every pair's logit with respect to its one-hot input (see the module doc).
    ``batch_size`` pairs go through Captum at a time (x ``steps`` model evaluations each)."""
    from captum.attr import IntegratedGradients

    if steps < 2:
        raise InputError("Integrated Gradients needs at least 2 steps")
    model.eval()
    ref = reference_tokens(pairs, reference, seed)
    exact = copy.deepcopy(model).double().eval()  # float64 throughout: the path integral, not rounding, decides delta
    ig = IntegratedGradients(lambda x, t: exact.forward_onehot(x, t))
    attr = np.empty(pairs.tokens.shape, dtype=np.float64)
    deltas = np.empty(len(pairs))
    vocab = len(TOKENS)
    with torch.enable_grad():
        for start in range(0, len(pairs), batch_size):
            sl = slice(start, min(start + batch_size, len(pairs)))
            tok = torch.from_numpy(pairs.tokens[sl].astype(np.int64))
            x = F.one_hot(tok, vocab).double()
            x_ref = F.one_hot(torch.from_numpy(ref[sl].astype(np.int64)), vocab).double()
            a, d = ig.attribute(x, baselines=x_ref, additional_forward_args=(tok,), n_steps=steps,
                                method="gausslegendre", return_convergence_delta=True)
            attr[sl] = a.sum(dim=-1).detach().numpy()
            deltas[sl] = d.detach().numpy()
            if progress is not None:
                progress(sl.stop - sl.start)
    with torch.no_grad():
        logit = torch.cat([exact.forward_onehot(F.one_hot(t, vocab).double(), t) for t in
                           torch.from_numpy(pairs.tokens.astype(np.int64)).split(1024)]).numpy()
        ref_logit = torch.cat([exact.forward_onehot(F.one_hot(t, vocab).double(), t) for t in
                               torch.from_numpy(ref.astype(np.int64)).split(1024)]).numpy()
    summary = pd.DataFrame({"pair": np.arange(len(pairs)), "logit": logit, "reference_logit": ref_logit,
                            "attribution_sum": attr.sum(axis=1), "delta": deltas})
    return Attribution(_position_table(pairs, attr), summary, reference, steps)


def n_scan_drops(model, pairs: PairSet, *, batch_size: int = 4096) -> pd.DataFrame:
    """The 1-nt N-scan on logits: for every real nucleotide of every pair, ``drop`` = logit(pair) - logit(pair with
    that nucleotide replaced by N); same layout as :attr:`Attribution.positions` (without ``attribution``)."""
    table = pairs.nucleotides()
    mutants = pairs.tokens[table["pair"].to_numpy()].copy()
    mutants[np.arange(len(mutants)), table.pop("index").to_numpy()] = 0
    wt = score_tokens(model, pairs.tokens, batch_size=batch_size, logits=True).astype(np.float64)
    mut = score_tokens(model, mutants, batch_size=batch_size, logits=True).astype(np.float64)
    return table.assign(drop=wt[table["pair"].to_numpy()] - mut)


def agreement(attr: Attribution, drops: pd.DataFrame) -> pd.DataFrame:
    """Per pair, Spearman's rho between IG attributions and 1-nt N-scan drops over the pair's positions."""
    from scipy import stats

    merged = attr.positions.merge(drops, on=["pair", "side", "position", "nucleotide"])
    rows = []
    for pair, g in merged.groupby("pair", sort=True):
        rho = stats.spearmanr(g["attribution"], g["drop"]).statistic if g["drop"].nunique() > 1 else np.nan
        rows.append({"pair": pair, "spearman": rho})
    return pd.DataFrame(rows)
