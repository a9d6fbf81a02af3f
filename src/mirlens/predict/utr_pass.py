"""The whole-UTR pass of the pairing model family: every anchor of a long target scored in one pass.

The pairing model (:mod:`mirlens.model.pairing`) computes, for every *anchor* (the target nucleotide facing miRNA
position L1), a diagonal layer over the anchor's cells and a convolution along the anchors, then pools the
maximum over the anchors of its slot. Nothing in the first two layers depends on where the slot starts, so along a
whole UTR they are one convolution over the one-hot target (the diagonal layer, its kernel fixed per miRNA: 24
positions x 5 letters) and one convolution along the anchors (the combine layer): each UTR nucleotide is computed
once, whatever the windows asked for. Then

* a **window** ``[s, s + slot)`` scores ``head(max of the combine features over anchors s .. s + slot + overhang -
  1)`` -- a sliding maximum, so step 1 costs about what the default step does;
* a **site** at anchor ``a`` (0-based index on the UTR of the nucleotide facing L1) scores the window that puts
  ``a`` where sites sat in training (:data:`SITE_OFFSET`: ``a`` at index ``slot - 5``), :meth:`UtrPass.site_logits`;
* every anchor has a **single-anchor score** (the head applied to that anchor's features alone), whose local peaks
  mark sites at nucleotide resolution: on site-free 3'UTRs with an 8mer written in, the peak falls
  :data:`PEAK_SHIFT` = 2 nt 3' of the 8mer's A1 position in 82% of UTRs and within 1 nt of that in all but 0.5%.

**Context.** The pass gives every anchor its real flanks: the cells of an anchor near a window's edge read the
UTR's nucleotides beyond the window, where the window path (:func:`mirlens.predict.score.score_tokens` on 50-nt
token windows) reads N padding. Beyond the UTR's own ends both read N. So a window that lies inside a UTR scores
differently from the padded window of the same nucleotides -- measured on 2,584 step-15 windows of 20 real UTRs:
median |difference| 0.33 logit -- while a target no longer than the slot (a CLIP fragment) scores exactly as
before. The padded edge anchors are what made whole UTRs look like sites: per 50-nt window the pairing model's
scan threshold passes 0.02% of site-free windows, but the best padded window of a whole site-free UTR passes it in
8% of UTRs; with real flanks the best window of a whole site-free UTR passes it in 0.1-0.5% (see
``benchmarks/bench_gene_level.py``). :func:`padded_window_logits` keeps the old semantics where they are wanted.

Coordinates: anchors are 0-based indices on the UTR (5'->3'); anchor ``a`` may lie outside ``0 .. len - 1``
(the miRNA hanging over the UTR's end), where the cells facing nothing read N.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from mirlens.data.alphabet import PAD_TOKEN
from mirlens.data.encoding import MIRNA_SLOT, encode_pairs
from mirlens.model.pairing import PairingModel

SITE_TAIL = 5
"""Nucleotides from the anchor's window index to the window's 3' end for a site: ``slot - SITE_TAIL`` is where
the nucleotide facing L1 sat in the training windows (see :mod:`mirlens.genes.windows`)."""
PEAK_SHIFT = 2
"""The single-anchor score of a site peaks this many nt 3' of its A1 anchor (measured, see the module doc)."""
BLOCK_NT = 262_144
"""UTR nucleotides joined into one pass (bounds memory: ~64 MB of features per block)."""


def is_pairing(model) -> bool:
    return isinstance(model, PairingModel)


@dataclass
class PassBlock:
    """Features of a block of UTRs joined by N margins, for one miRNA."""

    combine: torch.Tensor
    """(n, units) combine-layer features (after relu) of every anchor of the joined array."""
    starts: np.ndarray
    """Index of each UTR's first nucleotide in the joined array (= of its anchor 0)."""
    lengths: np.ndarray
    utrs: np.ndarray
    """Index of each UTR of the block in the caller's list."""


class UtrPass:
    """The whole-UTR pass of one pairing model for one miRNA (see the module doc)."""

    def __init__(self, model: PairingModel, mirna: str, *, block_nt: int = BLOCK_NT):
        if not is_pairing(model):
            raise TypeError("the whole-UTR pass needs a pairing-family model")
        self.model = model.eval()
        cfg = model.config
        self.cfg = cfg
        self.block_nt = int(block_nt)
        self.k = cfg.mirna_positions
        self.h = cfg.combine_width // 2
        self.pool = cfg.target_slot + cfg.overhang
        """Anchors pooled by one window."""
        self.site_offset = cfg.target_slot - SITE_TAIL
        prefix = encode_pairs([mirna], ["N"], 1)[0, :MIRNA_SLOT].astype(np.int64)
        row = torch.zeros(1, cfg.input_len, dtype=torch.long)
        row[0, :MIRNA_SLOT] = torch.from_numpy(prefix)
        with torch.no_grad():
            m5 = model.mirna_5prime(row)[0]  # (K,) tokens at L1..LK, N beyond the miRNA
            units = cfg.diagonal_units
            weight = model.diagonal.weight.view(units, self.k, -1)  # (U, K, C)
            fused = torch.einsum("zc,ukc->kzu", model.table, weight).reshape(self.k, 5, 5, units)  # p, m, t, u
            kernel = fused[torch.arange(self.k), m5]  # (K, 5 target letters, U): position p's table
            # conv1d: out[a] = sum_j w[:, :, j] x[a + j]; with the target padded by K - 1 + h in front, x[a + j]
            # is the target nucleotide facing position p = K - j
            self.diag_weight = kernel.flip(0).permute(2, 1, 0).contiguous()  # (U, 5, K)
            self.diag_weight[:, PAD_TOKEN] = 0.0  # N faces nothing (its channels are all 0)
        # margin of N around each UTR in a joined block: a window may start a whole pool before the UTR and end a
        # pool after it, and each anchor reads K - 1 + h nt to its 5' side and h (+ overhang) to its 3' side
        self.margin = 2 * self.pool + self.k + 2 * self.h + cfg.overhang

    # ------------------------------------------------------------------ features
    @torch.inference_mode()
    def combine(self, tokens: np.ndarray) -> torch.Tensor:
        """Combine features (n, units) of anchors 0 .. n - 1 of a token array (N beyond its ends)."""
        t = torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64))
        front = self.k - 1 + self.h
        padded = F.pad(t, (front, self.h))
        x = F.one_hot(padded, 5).T.to(torch.float32)[None]
        diag = torch.relu(F.conv1d(x, self.diag_weight, self.model.diagonal.bias))
        return torch.relu(self.model.combine(diag))[0].T

    @torch.inference_mode()
    def head(self, pooled: torch.Tensor) -> np.ndarray:
        return self.model.head(pooled).numpy().astype(np.float32)

    def blocks(self, utrs: Sequence[np.ndarray]) -> Iterator[PassBlock]:
        """The UTRs (token arrays) in joined blocks of about :attr:`block_nt` nucleotides, with their features."""
        margin = self.margin
        i = 0
        while i < len(utrs):
            j, size = i, 0
            while j < len(utrs) and (j == i or size + len(utrs[j]) <= self.block_nt):
                size += len(utrs[j]) + margin
                j += 1
            lengths = np.array([len(u) for u in utrs[i:j]], dtype=np.int64)
            starts = margin + np.concatenate([[0], np.cumsum(lengths + margin)[:-1]])
            joined = np.full(int(starts[-1] + lengths[-1] + margin), PAD_TOKEN, dtype=np.uint8)
            for s, u in zip(starts, utrs[i:j]):
                joined[s:s + len(u)] = u
            yield PassBlock(self.combine(joined), starts, lengths, np.arange(i, j))
            i = j

    # ------------------------------------------------------------------ scores
    def window_logits_in(self, block: PassBlock, which: int, starts: np.ndarray) -> np.ndarray:
        """Logits of the windows ``[s, s + slot)`` (0-based ``starts`` on UTR ``which`` of the block; a start may
        lie before the UTR or a window run past its end, which reads N) with real flanks."""
        starts = np.asarray(starts, dtype=np.int64)
        if not len(starts):
            return np.zeros(0, np.float32)
        lo = starts + block.starts[which]
        if lo.min() < 0 or lo.max() + self.pool > len(block.combine):
            raise ValueError("window outside the pass's margin")
        idx = torch.from_numpy(lo[:, None] + np.arange(self.pool)[None, :])
        out = np.empty(len(starts), np.float32)
        for s in range(0, len(starts), 4096):
            pooled = block.combine[idx[s:s + 4096]].amax(dim=1)
            out[s:s + 4096] = self.head(pooled)
        return out

    def anchor_logits_in(self, block: PassBlock, which: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Single-anchor scores (the head on one anchor's features) of anchors ``lo .. hi - 1`` of a UTR."""
        hi = int(block.lengths[which]) + self.cfg.overhang if hi is None else hi
        a = int(block.starts[which])
        return self.head(block.combine[a + lo:a + hi])

    def site_logits_in(self, block: PassBlock, which: int, anchors: np.ndarray) -> np.ndarray:
        """Logit of a site at each anchor: its window placed as training sites sat (anchor at ``slot - 5``)."""
        return self.window_logits_in(block, which, np.asarray(anchors, dtype=np.int64) - self.site_offset)

    def window_logits(self, utrs: Sequence[np.ndarray], starts: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Window logits (real flanks) of every UTR at its 0-based window starts."""
        out: list[np.ndarray] = [np.zeros(0, np.float32)] * len(utrs)
        for block in self.blocks(utrs):
            for w, u in enumerate(block.utrs):
                out[u] = self.window_logits_in(block, w, starts[u])
        return out


def padded_window_logits(model, mirna: str, utr: np.ndarray, starts: np.ndarray, *,
                         batch_size: int = 4096) -> np.ndarray:
    """Window logits with the window path's semantics (each window cut out and padded with N, so anchors near its
    edges read N instead of the UTR's flanks): the scores of ``mirlens predict`` before the whole-UTR pass."""
    from mirlens.predict.score import score_tokens
    from mirlens.predict.windows import window_tokens

    window = model.config.target_slot
    win = window_tokens(np.asarray(utr, dtype=np.uint8), np.asarray(starts, dtype=np.int64), window)
    tokens = np.empty((len(win), MIRNA_SLOT + window), dtype=np.uint8)
    tokens[:, :MIRNA_SLOT] = encode_pairs([mirna], ["N"], 1)[0, :MIRNA_SLOT]
    tokens[:, MIRNA_SLOT:] = win
    return score_tokens(model, tokens, batch_size=batch_size, logits=True)
