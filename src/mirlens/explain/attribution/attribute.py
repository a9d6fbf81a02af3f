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
DEFAULT_MAX_STEPS = 16384
SEGMENT_NODES = 8
"""Gauss-Legendre nodes per segment of the adaptive rule (exact for polynomials of degree 15 between kinks)."""


@dataclass
class Attribution:
    """``positions``: one row per (pair, position): ``pair``, ``side``, ``position`` (1-based, per pair),
    ``nucleotide``, ``attribution``. ``pairs``: one row per pair: ``logit``, ``reference_logit``,
    ``attribution_sum``, ``delta`` (sum - (logit - reference_logit))."""

    positions: pd.DataFrame
    pairs: pd.DataFrame
    reference: str
    steps: int
    method: str = "integrated-gradients"


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


def _onehot(tokens: np.ndarray) -> torch.Tensor:
    return F.one_hot(torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64)), len(TOKENS)).double()


def _logits(model, tokens: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([model.forward_onehot(_onehot(t), torch.from_numpy(t.astype(np.int64)))
                          for t in np.array_split(tokens, max(1, -(-len(tokens) // 1024)))]).numpy()


def integrated_gradients(model, pairs: PairSet, *, reference: str = "N", steps: int = DEFAULT_STEPS, seed: int = 0,
                         tolerance: float | None = None, max_steps: int = DEFAULT_MAX_STEPS,
                         nodes: int = SEGMENT_NODES, batch_size: int = 16,
                         progress: Callable[[int], None] | None = None) -> Attribution:
    """Integrated Gradients of every pair's logit with respect to its one-hot input (see the module doc).

    Without ``tolerance``: one Gauss-Legendre rule of ``steps`` nodes over the whole path. With ``tolerance``:
    adaptive, per pair (:func:`_adaptive`): the path is cut into ``steps // nodes`` segments of ``nodes``
    Gauss-Legendre nodes each, and every segment whose own completeness remainder exceeds ``tolerance`` x its
    length is halved, until the remainders of a pair's segments add up (in absolute value) to at most
    ``tolerance`` -- which bounds ``|delta|`` -- or the pair has used ``max_steps`` gradient evaluations.
    ``pairs['steps']`` says how many each pair used. ``batch_size`` pairs go through Captum at a time."""
    if steps < 2:
        raise InputError("Integrated Gradients needs at least 2 steps")
    if tolerance is not None and (tolerance <= 0 or nodes < 1 or max_steps < steps):
        raise InputError("the tolerance must be > 0, the nodes per segment >= 1 and --max-steps >= --steps")
    model.eval()
    ref = reference_tokens(pairs, reference, seed)
    exact = copy.deepcopy(model).double().eval()  # float64 throughout: the path integral, not rounding, decides delta
    attr = np.zeros(pairs.tokens.shape, dtype=np.float64)
    used = np.zeros(len(pairs), dtype=np.int64)
    bound = np.full(len(pairs), np.nan)
    with torch.enable_grad():
        for start in range(0, len(pairs), batch_size):
            sl = slice(start, min(start + batch_size, len(pairs)))
            if tolerance is None:
                attr[sl] = _fixed(exact, pairs.tokens[sl], ref[sl], steps)
                used[sl] = steps
            else:
                attr[sl], used[sl], bound[sl] = _adaptive(exact, pairs.tokens[sl], ref[sl], steps // nodes or 1,
                                                          nodes, tolerance, max_steps)
            if progress is not None:
                progress(sl.stop - sl.start)
    logit, ref_logit = _logits(exact, pairs.tokens), _logits(exact, ref)
    total = attr.sum(axis=1)
    summary = pd.DataFrame({"pair": np.arange(len(pairs)), "logit": logit, "reference_logit": ref_logit,
                            "attribution_sum": total, "delta": total - (logit - ref_logit), "steps": used})
    if tolerance is not None:
        summary["delta_bound"] = bound
    return Attribution(_position_table(pairs, attr), summary, reference, steps)


def _fixed(model, tokens: np.ndarray, ref: np.ndarray, steps: int) -> np.ndarray:
    """Attributions (n, L) by one Gauss-Legendre rule of ``steps`` nodes over the whole path."""
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(lambda x, t: model.forward_onehot(x, t))
    tok = torch.from_numpy(tokens.astype(np.int64))
    a = ig.attribute(_onehot(tokens), baselines=_onehot(ref), additional_forward_args=(tok,), n_steps=steps,
                     method="gausslegendre")
    return a.sum(dim=-1).detach().numpy()


def _adaptive(model, tokens: np.ndarray, ref: np.ndarray, segments: int, nodes: int, tolerance: float,
              max_steps: int, rows_per_call: int = 1024) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adaptive Integrated Gradients of a few pairs: attributions (n, L), gradient evaluations per pair, and the
    bound sum |segment remainder| >= |delta| per pair.

    A segment [a, b] of the path x' + t (x - x') is integrated by Captum (the segment's end points as input and
    baseline, ``nodes`` Gauss-Legendre nodes); Captum's convergence delta of the segment is its exact remainder
    (the attributions' sum minus f(end) - f(start), both evaluated), so the remainders of a pair's segments add
    up to its delta. The integrand jumps where a relu, clip or max switches along the path; a segment holding
    such a kink keeps a remainder of about its length x the jump, and halving it halves that: the refinement
    goes only where the kinks are."""
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(lambda x, t: model.forward_onehot(x, t))
    x, x_ref = _onehot(tokens), _onehot(ref)
    tok = torch.from_numpy(tokens.astype(np.int64))
    n = len(tokens)
    attr = np.zeros(tokens.shape, dtype=np.float64)
    used = np.zeros(n, dtype=np.int64)
    edges = np.linspace(0.0, 1.0, segments + 1)
    pending = [(i, a, b) for i in range(n) for a, b in zip(edges[:-1], edges[1:])]
    done: list[tuple[int, float, float, float, np.ndarray]] = []  # (pair, a, b, remainder, attribution)
    per_call = max(1, rows_per_call // nodes)
    while pending:
        fresh = []
        for c0 in range(0, len(pending), per_call):
            chunk = pending[c0 : c0 + per_call]
            idx = torch.tensor([p for p, _, _ in chunk])
            a = torch.tensor([s for _, s, _ in chunk], dtype=torch.float64)[:, None, None]
            b = torch.tensor([e for _, _, e in chunk], dtype=torch.float64)[:, None, None]
            diff = x[idx] - x_ref[idx]
            att, rem = ig.attribute(x_ref[idx] + b * diff, baselines=x_ref[idx] + a * diff,
                                    additional_forward_args=(tok[idx],), n_steps=nodes, method="gausslegendre",
                                    return_convergence_delta=True)
            att = att.sum(dim=-1).detach().numpy()
            for j, (p, s, e) in enumerate(chunk):
                fresh.append((p, s, e, float(rem[j]), att[j]))
                used[p] += nodes
        done += fresh
        # per pair: the segments so far (the halves replace their parent), their remainders' absolute sum
        by_pair: dict[int, list] = {}
        for seg in done:
            by_pair.setdefault(seg[0], []).append(seg)
        pending, done = [], []
        for p, segs in by_pair.items():
            if sum(abs(r) for _, _, _, r, _ in segs) <= tolerance or used[p] + 2 * nodes > max_steps:
                done += segs
                continue
            budget = max_steps - used[p]
            for seg in sorted(segs, key=lambda s: -abs(s[3])):
                _, s, e, r, _ = seg
                if abs(r) > tolerance * (e - s) and budget >= 2 * nodes:
                    mid = 0.5 * (s + e)
                    pending += [(p, s, mid), (p, mid, e)]
                    budget -= 2 * nodes
                else:
                    done.append(seg)
    bound = np.zeros(n)
    for p, _, _, r, a in done:
        attr[p] += a
        bound[p] += abs(r)
    return attr, used, bound


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
