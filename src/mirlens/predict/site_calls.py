"""The site model's calls on whole 3'UTRs: canonical seed matches and the pairing model's own sites.

For one miRNA and a list of UTRs, in one whole-UTR pass of a pairing-family model (:mod:`mirlens.predict.
utr_pass`, every nucleotide computed once, real flanks):

1. **candidate sites**: every canonical seed match (:mod:`mirlens.genes.sites`: 8mer, 7mer-m8, 7mer-A1, 6mer,
   offset-6mer) and every *peak* of the model's single-anchor score -- an anchor whose score is the highest of the
   UTR's anchors its own site window pools, i.e. the best place for a site in that stretch -- that is not a
   canonical site (more than :data:`SAME_SITE` nt from every canonical anchor): type ``noncanonical``. The model's
   peak lies :data:`mirlens.predict.utr_pass.PEAK_SHIFT` nt 3' of a site's A1 position; the site's anchor is put
   there.
2. **site logit**: the model's logit of the 50-nt window that places the site's anchor where sites sat in training
   (:meth:`UtrPass.site_logits_in`), with the UTR's real flanks;
3. **called**: site logit above the site threshold (the model card's scan threshold, 0.9 for ``pairing``), and
   the UTR holds a called site when one of its sites passes the **UTR threshold** (:meth:`CallRule.utr_threshold`),
   which is the site threshold unless the model card records a UTR-level rule (``card["utr_call"]``).

The site table has one row per candidate site: ``utr`` (index in the caller's list), ``anchor`` (0-based index on
the UTR of the nucleotide facing miRNA position 1), ``type`` (code into :data:`mirlens.genes.sites.SITE_TYPES`) and
``site_logit``. ``mirlens predict`` calls its targets from the same pass that scores its windows
(:func:`block_site_calls`), ``mirlens predict-genes`` adds each site's context (:mod:`mirlens.genes.calls`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from mirlens.data.alphabet import tokenize
from mirlens.data.seeds import N_CANONICAL, find_sites_tokens
from mirlens.predict.threads import map_batches
from mirlens.predict.utr_pass import PEAK_SHIFT, PassBlock, UtrPass

NONCANONICAL = N_CANONICAL
"""Type code of the model's own (non-canonical) sites."""
SAME_SITE = 3
"""A model peak whose anchor lies within this many nt of a canonical anchor is that canonical site."""
CALL_COLUMNS = ("n_called_sites", "best_site_logit", "site_call")
HEAD_CHUNK = 32_768
"""Anchors per single-anchor head call (the calls run side by side on the cores)."""


def logit(p: float) -> float:
    p = min(max(float(p), 1e-12), 1 - 1e-12)
    return float(np.log(p) - np.log1p(-p))


@dataclass(frozen=True)
class CallRule:
    """When a site, and when a UTR, counts as called."""

    site_logit: float
    """A site is called when its logit exceeds this (the card's scan threshold as a logit)."""
    utr_intercept: float | None = None
    utr_per_log10_nt: float = 0.0
    """UTR threshold ``max(site_logit, utr_intercept + utr_per_log10_nt * log10(UTR length))`` when set."""

    def utr_threshold(self, lengths) -> np.ndarray:
        lengths = np.maximum(np.asarray(lengths, dtype=np.float64), 1.0)
        if self.utr_intercept is None:
            return np.full(lengths.shape, self.site_logit)
        return np.maximum(self.site_logit, self.utr_intercept + self.utr_per_log10_nt * np.log10(lengths))

    @classmethod
    def from_card(cls, meta: dict) -> CallRule:
        """The rule a model card records: ``scan_threshold`` (probability) and ``utr_call`` (logits)."""
        card = meta.get("card", {}) if isinstance(meta, dict) else {}
        scan = card.get("scan_threshold")
        site = logit(scan["value"]) if isinstance(scan, dict) and "value" in scan else 0.0
        utr = card.get("utr_call")
        if isinstance(utr, dict) and "intercept" in utr:
            return cls(site, float(utr["intercept"]), float(utr.get("per_log10_nt", 0.0)))
        return cls(site)


def block_tokens(block: PassBlock, tokens: Sequence[np.ndarray]) -> np.ndarray:
    """The joined token array of a pass block (N between its UTRs)."""
    joined = np.zeros(len(block.single) if block.single is not None else len(block.combine), dtype=np.uint8)
    for s, w in zip(block.starts, block.utrs):
        joined[s:s + len(tokens[w])] = tokens[w]
    return joined


def block_site_calls(utr_pass: UtrPass, block: PassBlock, joined: np.ndarray, mirna_tok: np.ndarray
                     ) -> pd.DataFrame:
    """Candidate sites of one pass block (see the module doc): ``utr`` (index in the caller's list), ``anchor``
    (on the UTR), ``type``, ``site_logit``, and ``joined_anchor`` (in ``joined``), sorted by anchor."""
    n = len(block.single) if block.single is not None else len(block.combine)
    starts, lengths = block.starts, block.lengths
    pool, off = utr_pass.pool, utr_pass.site_offset
    if starts.min() < off + PEAK_SHIFT:
        raise ValueError("site calls need a pass whose UTRs have a whole site window of N margin before them")
    canon = find_sites_tokens(mirna_tok, joined)
    c_anchor = canon.anchor
    c_type = canon.type.astype(np.int8)
    # model peaks: single-anchor score, highest of the UTR's anchors that its own site window pools; ties
    # (flat stretches) go to the 5'-most anchor: at most one peak per site window
    inside = np.zeros(n, dtype=bool)
    for s, ln in zip(starts, lengths):
        inside[s + PEAK_SHIFT:s + ln + 1 + PEAK_SHIFT] = True  # A1 anchors 0 .. len
    if block.single is not None:
        single = torch.from_numpy(block.single.astype(np.float64))
    else:
        def head(span: tuple[int, int]) -> torch.Tensor:
            with torch.inference_mode():
                return utr_pass.model.head(block.combine[span[0]:span[1]]).double()

        spans = [(lo, min(lo + HEAD_CHUNK, n)) for lo in range(0, n, HEAD_CHUNK)]
        single = torch.cat(list(map_batches(head, spans)))
    with torch.inference_mode():
        single = single - 1e-12 * torch.arange(n, dtype=torch.float64)
        single[~torch.from_numpy(inside)] = -np.inf  # only the UTR's own anchors compete
        lo_pad = off + PEAK_SHIFT  # anchors 5' of the peak that its window pools
        best = F.max_pool1d(F.pad(single[None, None], (lo_pad, pool - 1 - lo_pad), value=-np.inf), pool, 1)[0, 0]
    p_anchor = np.flatnonzero((single >= best).numpy() & inside) - PEAK_SHIFT
    if len(c_anchor) and len(p_anchor):
        pos = np.searchsorted(c_anchor, p_anchor)
        near = np.full(len(p_anchor), np.iinfo(np.int64).max)
        for k in (pos - 1, pos):
            ok = (k >= 0) & (k < len(c_anchor))
            near[ok] = np.minimum(near[ok], np.abs(c_anchor[k[ok]] - p_anchor[ok]))
        p_anchor = p_anchor[near > SAME_SITE]
    anchors = np.concatenate([c_anchor, p_anchor])
    types = np.concatenate([c_type, np.full(len(p_anchor), NONCANONICAL, np.int8)])
    order = np.argsort(anchors, kind="stable")
    anchors, types = anchors[order], types[order]
    which = np.searchsorted(starts, anchors, side="right") - 1
    # site logits: the windows that put each anchor where training sites sat
    if block.window is not None:
        site_logit = block.window[anchors - off].astype(np.float32)
    else:
        idx = torch.from_numpy((anchors - off)[:, None] + np.arange(pool)[None, :])
        site_logit = np.empty(len(anchors), np.float32)
        with torch.inference_mode():
            for s in range(0, len(anchors), 4096):
                site_logit[s:s + 4096] = utr_pass.model.head(block.combine[idx[s:s + 4096]].amax(dim=1)).numpy()
    return pd.DataFrame({"utr": block.utrs[which], "anchor": anchors - starts[which], "type": types,
                         "site_logit": site_logit, "joined_anchor": anchors, "block_utr": which})


def site_calls(model, mirna: str, utrs: Sequence[np.ndarray | str], *,
               progress: Callable[[int], None] | None = None, block_nt: int | None = None,
               on_block: Callable[[PassBlock, np.ndarray, pd.DataFrame], pd.DataFrame] | None = None
               ) -> pd.DataFrame:
    """Candidate sites of ``mirna`` on every UTR with their site logits (see the module doc), sorted by UTR then
    anchor. ``on_block(block, joined, sites)`` may return the block's sites with more columns (the context of
    :mod:`mirlens.genes.calls`). ``progress(n)`` gets the UTR nt of each finished block."""
    tokens = [tokenize(u) if isinstance(u, str) else np.asarray(u, dtype=np.uint8) for u in utrs]
    m_tok = tokenize(mirna)
    utr_pass = UtrPass(model, mirna, **({} if block_nt is None else {"block_nt": block_nt}))
    parts = []
    for block in utr_pass.blocks(tokens, scores=True):
        joined = block_tokens(block, tokens)
        sites = block_site_calls(utr_pass, block, joined, m_tok)
        if on_block is not None:
            sites = on_block(block, joined, sites)
        parts.append(sites.drop(columns=["joined_anchor", "block_utr"]))
        if progress is not None:
            progress(int(block.lengths.sum()))
    if not parts:
        return pd.DataFrame({"utr": np.zeros(0, np.int64), "anchor": np.zeros(0, np.int64),
                             "type": np.zeros(0, np.int8), "site_logit": np.zeros(0, np.float32)})
    return pd.concat(parts, ignore_index=True)


def utr_call_summary(sites: pd.DataFrame, lengths: np.ndarray, rule: CallRule) -> pd.DataFrame:
    """Per UTR (``sites["utr"]`` in ``0 .. len(lengths) - 1``): ``n_called_sites`` (sites above the site threshold),
    ``best_site_logit`` (NaN without a candidate) and ``site_call`` (a site above the UTR threshold)."""
    n = len(lengths)
    lengths = np.asarray(lengths, dtype=np.int64)
    utr = sites["utr"].to_numpy(np.int64)
    logit_ = sites["site_logit"].to_numpy(np.float64)
    best = np.full(n, -np.inf)
    np.maximum.at(best, utr, logit_)
    call = np.zeros(n, dtype=bool)
    call[utr[logit_ > rule.utr_threshold(lengths[utr])]] = True
    return pd.DataFrame({"n_called_sites": np.bincount(utr[logit_ > rule.site_logit], minlength=n),
                         "best_site_logit": np.where(np.isfinite(best), best, np.nan), "site_call": call})
