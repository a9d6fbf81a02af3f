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
  ``a`` where sites sat in training (``a`` at index ``slot - SITE_TAIL``), :meth:`UtrPass.site_logits_in`;
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
``benchmarks/bench_gene_level.py``). :func:`mirlens.predict.score.padded_window_logits` keeps the old semantics where they are wanted.

Coordinates: anchors are 0-based indices on the UTR (5'->3'); anchor ``a`` may lie outside ``0 .. len - 1``
(the miRNA hanging over the UTR's end), where the cells facing nothing read N.

**How it is computed** (measured in ``benchmarks/bench_scan.py``; the combine convolution is ~80% of the time,
everything else the remaining ~20%). The UTRs of a call are joined into blocks with N between them (just enough
that no anchor a window pools reads a neighbour: tested) and cut into tiles of :data:`TILE` anchors that run side
by side on the cores (:func:`mirlens.predict.threads.map_batches`, one torch thread each), so a tile's layers stay
in the core's cache. Per tile: the diagonal layer as an ``embedding_bag`` sum of 8 table rows per anchor (for 24
miRNA positions; each row the weights of 3 positions for one triplet of target letters, the bias folded in: ~6% of
the convolution's time, where the one-hot convolution took ~25%); the combine layer as a channels-last
``conv2d`` (no transposes); the window maximum as a sliding maximum by doubling (5 elementwise maxima over the
tile, then 2 rows per window; ``max_pool1d`` with stride 1 cost 40% of the convolution); relu after the maximum
(they commute); the head only on the windows asked for. Numbers agree with the model's own layers to ~2e-6 (the
table rows are summed in another order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from mirlens.data.alphabet import PAD_TOKEN
from mirlens.data.encoding import MIRNA_SLOT, encode_pairs
from mirlens.model.pairing import PairingModel
from mirlens.predict.threads import map_batches

SITE_TAIL = 5
"""Nucleotides from the anchor's window index to the window's 3' end for a site: ``slot - SITE_TAIL`` is where
the nucleotide facing L1 sat in the training windows (see :mod:`mirlens.genes.windows`)."""
PEAK_SHIFT = 2
"""The single-anchor score of a site peaks this many nt 3' of its A1 anchor (measured, see the module doc)."""
BLOCK_NT = 262_144
"""UTR nucleotides joined into one block (bounds memory where a block's features are kept: ~64 MB)."""
TILE = 8192
"""Anchors computed in one piece of work: the diagonal layer, the combine convolution and the window maxima of a
tile stay in the core's cache, and tiles run side by side on the cores (:func:`mirlens.predict.threads.
map_batches`); measured in benchmarks/bench_scan.py."""
ROUND = 512
"""The last tile of a block is rounded up to a multiple of this many anchors: few distinct convolution shapes, so
oneDNN reuses its kernels (a new width costs a new one)."""
GROUP = 3
"""miRNA positions read by one table lookup of the diagonal layer (a triplet of target letters: 125 codes)."""

BlockCallback = Callable[["PassBlock", list[np.ndarray]], None]


def is_pairing(model) -> bool:
    return isinstance(model, PairingModel)


@dataclass
class PassBlock:
    """Features of a block of UTRs joined by N margins, for one miRNA."""

    combine: torch.Tensor | None
    """(n, units) combine-layer features (after relu) of every anchor of the joined array (None for a block of
    scores only, see :attr:`single`)."""
    starts: np.ndarray
    """Index of each UTR's first nucleotide in the joined array (= of its anchor 0)."""
    lengths: np.ndarray
    utrs: np.ndarray
    """Index of each UTR of the block in the caller's list."""
    single: np.ndarray | None = None
    """(n,) single-anchor logit of every joined anchor (the head on that anchor's features alone), when scored."""
    window: np.ndarray | None = None
    """(n,) logit of the window starting at every joined index (step 1), when scored."""


@dataclass
class _Layout:
    joined: np.ndarray
    """Tokens of the block (N between the UTRs), uint8."""
    starts: np.ndarray
    lengths: np.ndarray
    utrs: np.ndarray


class UtrPass:
    """The whole-UTR pass of one pairing model for one miRNA (see the module doc).

    Windows may start up to ``before`` nt before a UTR's first nucleotide and pool anchors up to ``after`` nt past
    ``max(length, slot) + overhang`` (default: a whole pool each way, which site windows need); a scan of the
    window grid needs neither (``before=0, after=0``: less N margin between the UTRs of a block)."""

    def __init__(self, model: PairingModel, mirna: str, *, block_nt: int = BLOCK_NT, before: int | None = None,
                 after: int | None = None, tile: int = TILE, group: int = GROUP):
        if not is_pairing(model):
            raise TypeError("the whole-UTR pass needs a pairing-family model")
        self.model = model.eval()
        cfg = model.config
        self.cfg = cfg
        self.block_nt = int(block_nt)
        self.tile = int(tile)
        self.k = cfg.mirna_positions
        self.h = cfg.combine_width // 2
        self.units = cfg.combine_units
        self.pool = cfg.target_slot + cfg.overhang
        """Anchors pooled by one window."""
        self.site_offset = cfg.target_slot - SITE_TAIL
        self.before = self.pool if before is None else int(before)
        self.after = self.pool if after is None else int(after)
        if self.before < 0 or self.after < 0 or self.tile < 1:
            raise ValueError("before, after must be >= 0 and tile >= 1")
        prefix = encode_pairs([mirna], ["N"], 1)[0, :MIRNA_SLOT].astype(np.int64)
        row = torch.zeros(1, cfg.input_len, dtype=torch.long)
        row[0, :MIRNA_SLOT] = torch.from_numpy(prefix)
        self.group = group = int(group)
        n_groups = -(-self.k // group)
        self.span = group * n_groups
        """miRNA positions covered by the lookups (a multiple of GROUP; positions beyond K weigh nothing)."""
        with torch.no_grad():
            m5 = model.mirna_5prime(row)[0]  # (K,) tokens at L1..LK, N beyond the miRNA
            units = cfg.diagonal_units
            weight = model.diagonal.weight.view(units, self.k, -1)  # (U, K, C)
            fused = torch.einsum("zc,ukc->kzu", model.table, weight).reshape(self.k, 5, 5, units)  # p, m, t, u
            kernel = fused[torch.arange(self.k), m5]  # (K, 5 target letters, U): position p + 1 reads t[a - p]
            kernel[:, PAD_TOKEN] = 0.0  # N faces nothing (its channels are all 0)
            # the one-hot form (conv1d weight (U, 5, K) over the target padded with K - 1 + h N's in front)
            self.diag_weight = kernel.flip(0).permute(2, 1, 0).contiguous()
            per_position = torch.zeros(self.span, 5, units)
            per_position[:self.k] = kernel
            per_position[0] += model.diagonal.bias  # every anchor looks up position 1 exactly once: the bias
            # group q reads the target letters t[a - G q - G + 1] .. t[a - G q] (G = group) as one code, the
            # first letter the most significant base-5 digit
            code = torch.arange(5 ** group)
            q = torch.arange(n_groups)[:, None]
            table = torch.zeros(n_groups, 5 ** group, units)
            for j in range(group):
                letter = (code // 5 ** (group - 1 - j)) % 5
                table += per_position[group * q + group - 1 - j, letter[None]]
            self.diag_table = table.reshape(-1, units).contiguous()
            """(groups x 125, U): the diagonal layer (bias included) as a sum of one row per group."""
            self.combine_weight = model.combine.weight.detach()[:, :, None, :].contiguous(
                memory_format=torch.channels_last)
            self.combine_bias = model.combine.bias.detach().clone()
        self.group_offsets = [self.span - group - group * q for q in range(n_groups)]
        self.group_base = (torch.arange(n_groups) * 5 ** group)[None, :]
        self.front = self.span - 1 + self.h
        """N tokens in front of a block: the diagonal layer of anchor -h reads this far back."""

    # ------------------------------------------------------------------ layout
    def _reach_after(self, length: int) -> int:
        """Anchors past a UTR's end that its windows may pool."""
        return max(self.cfg.target_slot - length, 0) + self.cfg.overhang + self.after

    def _check_starts(self, length: int, starts: np.ndarray) -> None:
        if len(starts) and (starts.min() < -self.before
                            or starts.max() + self.pool > length + self._reach_after(length)):
            raise ValueError(f"window start outside {-self.before} .. {length + self._reach_after(length) - self.pool}"
                             f" (a {length}-nt UTR; UtrPass(before=, after=) sets the reach)")

    def _layouts(self, utrs: Sequence[np.ndarray]) -> Iterator[_Layout]:
        """The UTRs in joined blocks of about :attr:`block_nt` nucleotides. Between two UTRs lie enough N that no
        anchor a window of one may pool reads a nucleotide of the other: the anchors of a UTR (``-before`` ..
        ``length + reach_after - 1``) read ``K - 1 + h`` nt to their 5' side and ``h`` to their 3' side."""
        h, k = self.h, self.k
        i = 0
        while i < len(utrs):
            j, size = i, 0
            while j < len(utrs) and (j == i or size + len(utrs[j]) <= self.block_nt):
                size += len(utrs[j])
                j += 1
            lengths = np.array([len(u) for u in utrs[i:j]], dtype=np.int64)
            gaps = np.maximum(np.array([self._reach_after(int(n)) for n in lengths]) + h, self.before + h + k - 1)
            starts = self.before + np.concatenate([[0], np.cumsum(lengths + gaps)[:-1]]).astype(np.int64)
            end = int(starts[-1] + lengths[-1] + self._reach_after(int(lengths[-1])))
            joined = np.full(end, PAD_TOKEN, dtype=np.uint8)
            for s, u in zip(starts, utrs[i:j]):
                joined[s:s + len(u)] = u
            yield _Layout(joined, starts, lengths, np.arange(i, j))
            i = j

    def _codes(self, joined: np.ndarray) -> torch.Tensor:
        """Triplet codes of the joined tokens with N around (``front`` before; after: the tile halo)."""
        g = self.group
        padded = np.zeros(self.front + len(joined) + self.h + self.pool + ROUND + g, dtype=np.int64)
        padded[self.front:self.front + len(joined)] = joined
        code = padded[:len(padded) - g + 1].copy()
        for j in range(1, g):
            code *= 5
            code += padded[j:len(padded) - g + 1 + j]
        return torch.from_numpy(code)

    # ------------------------------------------------------------------ features
    def _features(self, codes: torch.Tensor, lo: int, hi: int, *, relu: bool = True) -> torch.Tensor:
        """Combine features (hi - lo, units), after relu (``relu=False``: before it), of joined anchors
        ``lo .. hi - 1``."""
        m = hi - lo + 2 * self.h  # diagonal features of anchors lo - h .. hi + h - 1
        idx = torch.stack([codes[lo + off:lo + off + m] for off in self.group_offsets], dim=1) + self.group_base
        diag = F.embedding_bag(idx, self.diag_table, mode="sum").relu_()
        x = diag.view(1, 1, m, -1).permute(0, 3, 1, 2)  # (1, U, 1, m), channels-last: no copy
        out = F.conv2d(x, self.combine_weight, self.combine_bias)
        out = out.permute(0, 2, 3, 1).reshape(hi - lo, -1)
        return out.relu_() if relu else out

    def _window_max(self, feats: torch.Tensor, rel: np.ndarray) -> torch.Tensor:
        """Maximum of ``feats`` rows ``r .. r + pool - 1`` for each ``r`` of ``rel`` (a sliding maximum by doubling:
        about log2(pool) elementwise maxima over the tile, whatever the number of windows)."""
        m, w = feats, 1
        while 2 * w <= self.pool:
            m = torch.maximum(m[:-w], m[w:])
            w *= 2
        if 4 * len(rel) < len(m):  # sparse windows (a step of 4 or more): two rows each
            i = torch.from_numpy(rel)
            return torch.maximum(m[i], m[i + (self.pool - w)])
        full = torch.maximum(m[:len(m) - (self.pool - w)], m[self.pool - w:])  # every start of the tile
        breaks = np.flatnonzero(np.diff(rel) != 1) + 1  # runs of consecutive starts (step 1) are slices
        if len(breaks) > len(rel) // 64:
            return full[torch.from_numpy(rel)]
        runs = np.split(rel, breaks)
        return full[int(rel[0]):int(rel[-1]) + 1] if len(runs) == 1 else torch.cat(
            [full[int(r[0]):int(r[-1]) + 1] for r in runs])

    def _run(self, codes: torch.Tensor, n: int, ws: np.ndarray, keep: bool) -> tuple[np.ndarray, torch.Tensor | None]:
        """Logits of the windows at joined starts ``ws`` (sorted); with ``keep`` also every anchor's features."""
        feats = torch.empty(n, self.units) if keep else None
        bounds = np.arange(0, n + self.tile, self.tile)
        cut = np.searchsorted(ws, bounds)
        tiles = []
        for t in range(len(bounds) - 1):
            lo, hi = int(bounds[t]), min(int(bounds[t + 1]), n)
            w0, w1 = int(cut[t]), int(cut[t + 1])
            if lo >= hi or (w1 == w0 and not keep):
                continue
            # every tile computes its anchors and the pool of its last window start: the same width for all
            # but a block's last tile (rounded up), so that the convolution's kernels are reused
            f_hi = lo + self.tile + self.pool - 1
            if hi < lo + self.tile:
                need = max(hi, int(ws[w1 - 1]) + self.pool if w1 > w0 else 0) - lo
                f_hi = lo + -(-need // ROUND) * ROUND
            tiles.append((lo, hi, lo, f_hi, w0, w1))

        def work(t) -> np.ndarray:
            lo, hi, f_lo, f_hi, w0, w1 = t
            with torch.inference_mode():
                # without kept features the relu comes after the window maximum (max and relu commute)
                f = self._features(codes, f_lo, f_hi, relu=keep)
                if keep:
                    feats[lo:hi] = f[:hi - lo]
                if w1 == w0:
                    return np.zeros(0, np.float32)
                return self.model.head(self._window_max(f, ws[w0:w1] - f_lo).relu_()).numpy()

        out = np.empty(len(ws), np.float32)
        for t, logits in zip(tiles, map_batches(work, tiles)):
            out[t[4]:t[5]] = logits
        return out, feats

    def _scores(self, codes: torch.Tensor, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(single, window): every joined anchor's single-anchor logit and the logit of the window starting at every
        joined index, tile by tile (no features kept: two floats per anchor instead of ``units``)."""
        single = np.empty(n, np.float32)
        window = np.empty(n, np.float32)
        tiles = []
        for lo in range(0, n, self.tile):
            hi = min(lo + self.tile, n)
            f_hi = lo + self.tile + self.pool - 1
            if hi < lo + self.tile:
                f_hi = lo + -(-(hi + self.pool - lo) // ROUND) * ROUND
            tiles.append((lo, hi, f_hi))

        def work(t) -> tuple[np.ndarray, np.ndarray]:
            lo, hi, f_hi = t
            with torch.inference_mode():
                f = self._features(codes, lo, f_hi, relu=True)
                one = self.model.head(f[:hi - lo]).numpy()
                every = self.model.head(self._window_max(f, np.arange(hi - lo))).numpy()
                return one, every

        for (lo, hi, _), (one, every) in zip(tiles, map_batches(work, tiles)):
            single[lo:hi] = one
            window[lo:hi] = every
        return single, window

    @torch.inference_mode()
    def combine(self, tokens: np.ndarray) -> torch.Tensor:
        """Combine features (n, units) of anchors 0 .. n - 1 of a token array (N beyond its ends)."""
        tokens = np.asarray(tokens, dtype=np.uint8)
        return self._run(self._codes(tokens), len(tokens), np.zeros(0, np.int64), True)[1]

    @torch.inference_mode()
    def head(self, pooled: torch.Tensor) -> np.ndarray:
        return self.model.head(pooled).numpy().astype(np.float32)

    def blocks(self, utrs: Sequence[np.ndarray], *, scores: bool = False) -> Iterator[PassBlock]:
        """The UTRs (token arrays) in joined blocks of about :attr:`block_nt` nucleotides, with their features
        (``scores``: instead, every anchor's single-anchor logit and every step-1 window's logit, which is all that
        site calls read and costs much less memory traffic)."""
        for lay in self._layouts(utrs):
            if scores:
                single, window = self._scores(self._codes(lay.joined), len(lay.joined))
                yield PassBlock(None, lay.starts, lay.lengths, lay.utrs, single, window)
                continue
            _, feats = self._run(self._codes(lay.joined), len(lay.joined), np.zeros(0, np.int64), True)
            yield PassBlock(feats, lay.starts, lay.lengths, lay.utrs)

    # ------------------------------------------------------------------ scores
    def window_logits(self, utrs: Sequence[np.ndarray], starts: Sequence[np.ndarray], *,
                      on_block: BlockCallback | None = None, scores: bool = False) -> list[np.ndarray]:
        """Window logits (real flanks) of every UTR (token arrays) at its 0-based window starts (any order; a start
        may lie before the UTR or a window run past its end, within the pass's reach, where it reads N).

        Only the anchors the windows pool are computed, tile by tile, and dropped. With ``on_block``, every
        anchor's features are kept for one block at a time and ``on_block(block, logits)`` is called with the
        :class:`PassBlock` and the window logits of its UTRs (``logits[w]`` for UTR ``block.utrs[w]``), so that
        sites, single-anchor scores or other windows of the same UTRs can be read off the same pass
        (:meth:`site_logits_in`, :meth:`anchor_logits_in`, :meth:`window_logits_in`); with ``scores`` too, the block
        carries every anchor's single-anchor logit and every step-1 window's logit instead of the features (the
        windows' logits are read from those)."""
        if len(starts) != len(utrs):
            raise ValueError(f"{len(utrs)} UTRs but {len(starts)} start arrays")
        starts = [np.asarray(s, dtype=np.int64).ravel() for s in starts]
        for u, s in zip(utrs, starts):
            self._check_starts(len(u), s)
        out: list[np.ndarray] = [np.zeros(0, np.float32)] * len(utrs)
        for lay in self._layouts(utrs):
            ws = np.concatenate([lay.starts[w] + starts[u] for w, u in enumerate(lay.utrs)])
            order = None
            if len(ws) > 1 and (np.diff(ws) < 0).any():
                order = np.argsort(ws, kind="stable")
                ws = ws[order]
            single = window = feats = None
            if scores and on_block is not None:
                single, window = self._scores(self._codes(lay.joined), len(lay.joined))
                logits = window[ws]
            else:
                logits, feats = self._run(self._codes(lay.joined), len(lay.joined), ws, on_block is not None)
            if order is not None:
                unsorted = np.empty_like(logits)
                unsorted[order] = logits
                logits = unsorted
            per = np.split(logits, np.cumsum([len(starts[u]) for u in lay.utrs])[:-1])
            for w, u in enumerate(lay.utrs):
                out[u] = per[w]
            if on_block is not None:
                on_block(PassBlock(feats, lay.starts, lay.lengths, lay.utrs, single, window), per)
        return out

    def window_logits_in(self, block: PassBlock, which: int, starts: np.ndarray) -> np.ndarray:
        """Logits of the windows ``[s, s + slot)`` (0-based ``starts`` on UTR ``which`` of the block; a start may
        lie before the UTR or a window run past its end, which reads N) with real flanks."""
        starts = np.asarray(starts, dtype=np.int64)
        if not len(starts):
            return np.zeros(0, np.float32)
        self._check_starts(int(block.lengths[which]), starts)
        lo = starts + block.starts[which]
        idx = torch.from_numpy(lo[:, None] + np.arange(self.pool)[None, :])
        out = np.empty(len(starts), np.float32)
        for s in range(0, len(starts), 4096):
            pooled = block.combine[idx[s:s + 4096]].amax(dim=1)
            out[s:s + 4096] = self.head(pooled)
        return out

    def anchor_logits_in(self, block: PassBlock, which: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Single-anchor scores (the head on one anchor's features) of anchors ``lo .. hi - 1`` of a UTR."""
        hi = int(block.lengths[which]) + self.cfg.overhang if hi is None else hi
        if lo < -self.before or hi > int(block.lengths[which]) + self._reach_after(int(block.lengths[which])):
            raise ValueError("anchors outside the pass's reach")
        a = int(block.starts[which])
        return self.head(block.combine[a + lo:a + hi])

    def site_logits_in(self, block: PassBlock, which: int, anchors: np.ndarray) -> np.ndarray:
        """Logit of a site at each anchor: its window placed as training sites sat (anchor at ``slot - 5``)."""
        return self.window_logits_in(block, which, np.asarray(anchors, dtype=np.int64) - self.site_offset)
