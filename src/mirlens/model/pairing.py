"""The pairing model: a CNN that reads the base pairing of miRNA and target instead of their sequences.

It takes the same input as miTAR (the token row of :mod:`mirlens.data.encoding`: the miRNA reversed in a 26-token
slot, then the target 5'->3' padded with N), so every analysis that works on token rows (scoring, scans,
mutagenesis, layer correlations) runs on it unchanged. Inside, it looks at every way of laying the miRNA on the
target without bulges: for each *anchor* ``a`` (the target index facing miRNA position L1, from 0 to
``target_slot + overhang - 1``) and each miRNA position ``Lp`` (p = 1..``mirna_positions``, counted from the miRNA's
5' end), the cell ``(a, p)`` describes miRNA nucleotide ``Lp`` against target nucleotide ``a - (p - 1)``:

============  ==================================================================================================
channel       1 when
============  ==================================================================================================
``GC``        they form a G:C or C:G Watson-Crick pair
``AU``        they form an A:U or U:A Watson-Crick pair
``GU``        they form a G:U wobble
``mismatch``  both are nucleotides (not N) and do not pair
``tA..tU``    the target nucleotide is A / C / G / U (the target's own sequence, for t1A and AU-rich context)
============  ==================================================================================================

N (padding, or a nucleotide mutated to N) gives zeros in every pairing channel. No channel tells which miRNA it
is: the model can only learn how well *this* miRNA pairs with *this* target.

Layers: ``diagonal`` — one dense map of each anchor's whole cell column (position-specific in p: the seed, the
central region and the 3' end get their own weights), relu; ``combine`` — a convolution along the anchors (width
``combine_width``), relu, which joins a seed match at one anchor with 3' pairing at nearby anchors (target loops and
miRNA bulges shift the 3' half onto a neighbouring anchor); ``pool`` — the maximum over anchors (the model looks
for the best site anywhere in the target: a site scores the same at every offset); ``dense`` (relu) and ``out``.

miRNA positions are counted from the last non-N token of the miRNA slot (the miRNA's 5' end): as in miTAR's
encoding, an N at L1 cannot be told from a miRNA one nucleotide shorter.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

from mirlens.data.alphabet import TOKENS
from mirlens.data.encoding import MIRNA_SLOT
from mirlens.model.architecture import SlotConfig

ARCHITECTURE = "pairing"
CHANNELS: tuple[str, ...] = ("GC", "AU", "GU", "mismatch", "tA", "tC", "tG", "tU")


def pair_table() -> torch.Tensor:
    """(25, 8) channel values of every (miRNA token, target token) combination, row ``5 * m + t``."""
    table = torch.zeros(len(TOKENS) ** 2, len(CHANNELS))
    idx = {c: TOKENS.index(c) for c in "ACGU"}
    for m in "ACGU":
        for t in "ACGU":
            row = 5 * idx[m] + idx[t]
            pair = {m, t}
            if pair == {"G", "C"}:
                table[row, 0] = 1
            elif pair == {"A", "U"}:
                table[row, 1] = 1
            elif pair == {"G", "U"}:
                table[row, 2] = 1
            else:
                table[row, 3] = 1
    for t in "ACGU":  # target identity, whatever faces it (an N miRNA position included)
        for m in "NACGU":
            table[5 * TOKENS.index(m) + idx[t], 4 + "ACGU".index(t)] = 1
    return table


@dataclass(frozen=True)
class PairingConfig(SlotConfig):
    """Sizes of a pairing model. ``target_slot`` 50 takes miRBench's 50-nt CLIP fragments and shorter windows."""

    target_slot: int = 50
    mirna_slot: int = MIRNA_SLOT
    mirna_positions: int = 24
    overhang: int = 2
    diagonal_units: int = 64
    combine_units: int = 64
    combine_width: int = 9
    dense_units: int = 16
    dropout: float = 0.1
    architecture: str = ARCHITECTURE

    @property
    def nominal_flops(self) -> int:
        """Floating-point operations of one forward pass written as dense layers (the diagonal layer on the
        one-hot map; the embedding-bag form computes less)."""
        h = self.combine_width // 2
        diag = (self.anchors + 2 * h) * self.mirna_positions * len(CHANNELS) * self.diagonal_units * 2
        comb = self.anchors * self.diagonal_units * self.combine_width * self.combine_units * 2
        return diag + comb + self.combine_units * self.dense_units * 2 + self.dense_units * 2

    @property
    def anchors(self) -> int:
        """Anchors (target index facing L1) looked at: 0 .. target_slot + overhang - 1."""
        return self.target_slot + self.overhang


class PairingModel(nn.Module):
    """The pairing CNN (see the module doc). ``forward`` returns logits; :meth:`predict_proba` probabilities."""

    def __init__(self, config: PairingConfig | None = None):
        super().__init__()
        self.config = config = config or PairingConfig()
        if not 1 <= config.mirna_positions <= config.mirna_slot:
            raise ValueError(f"mirna_positions must be in 1..{config.mirna_slot}")
        k, c = config.mirna_positions, len(CHANNELS)
        self.register_buffer("table", pair_table(), persistent=False)
        # target index facing (anchor a, position p): a - (p - 1), as an index into the target padded with
        # k + h N's in front (so that it is never negative) and overhang + h behind; the diagonal layer sees h more
        # anchors on either side than are pooled, so that the combine layer's window never runs off the map: a
        # target placed anywhere in the slot (N around it) gives the same features, shifted
        h = config.combine_width // 2
        a = torch.arange(-h, config.anchors + h)[:, None]
        p = torch.arange(1, k + 1)[None, :]
        self.register_buffer("target_index", (a - (p - 1) + k + h).long(), persistent=False)
        self.diagonal = nn.Linear(k * c, config.diagonal_units)
        self.combine = nn.Conv1d(config.diagonal_units, config.combine_units, config.combine_width)
        self.dense = nn.Linear(config.combine_units, config.dense_units)
        self.out = nn.Linear(config.dense_units, 1)
        self.dropout = nn.Dropout(config.dropout)

    def with_target_slot(self, target_slot: int) -> PairingModel:
        """The same model (same weights, eval mode) for inputs with another target slot: no weight depends on the
        number of anchors, so it scores a target the same in any slot that holds its reach (see the module doc)."""
        other = PairingModel(replace(self.config, target_slot=int(target_slot)))
        other.load_state_dict(self.state_dict())
        return other.eval()

    # ------------------------------------------------------------------ input
    def check_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.shape[1] != self.config.input_len:
            raise ValueError(f"expected tokens of shape (batch, {self.config.input_len}), got {tuple(tokens.shape)}")
        return tokens.long()

    def _mirna_5prime_index(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tensor index of L1..L``mirna_positions`` in each row (B, K), -1 beyond the miRNA's length."""
        cfg = self.config
        present = tokens[:, : cfg.mirna_slot] != 0
        # 5' end = last non-N token of the slot (the miRNA is written reversed, 3' end first)
        last = cfg.mirna_slot - 1 - present.flip(1).to(torch.int8).argmax(dim=1)
        length = torch.where(present.any(dim=1), last + 1, torch.zeros_like(last))
        idx = length[:, None] - torch.arange(1, cfg.mirna_positions + 1, device=tokens.device)[None, :]
        return idx.clamp_min(-1)

    def mirna_5prime(self, tokens: torch.Tensor) -> torch.Tensor:
        """miRNA tokens at L1..L``mirna_positions`` (B, K), N beyond the miRNA's length."""
        idx = self._mirna_5prime_index(tokens)
        gathered = torch.gather(tokens[:, : self.config.mirna_slot], 1, idx.clamp_min(0))
        return gathered.masked_fill(idx < 0, 0)

    def cell_codes(self, tokens: torch.Tensor) -> torch.Tensor:
        """Code ``5 * miRNA token + target token`` (0..24) of every cell, (B, anchors + 2 h, mirna_positions):
        anchors -h .. anchors + h - 1 with h = combine_width // 2 (the combine layer's reach)."""
        tokens = self.check_tokens(tokens)
        cfg = self.config
        m5 = self.mirna_5prime(tokens)
        h = cfg.combine_width // 2
        padded = F.pad(tokens[:, cfg.mirna_slot :], (cfg.mirna_positions + h, cfg.overhang + h))
        return m5[:, None, :] * 5 + padded[:, self.target_index]

    def pairing_map(self, tokens: torch.Tensor) -> torch.Tensor:
        """The cell channels (B, anchors + 2 h, mirna_positions, 8) of every anchor (from -h, see
        :meth:`cell_codes`) and miRNA position."""
        return F.embedding(self.cell_codes(tokens), self.table)

    def forward_onehot(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B,) of one-hot inputs ``x`` (B, L, 5), differentiable in ``x`` (for gradient attributions): the
        pairing channels of a cell are bilinear in the two nucleotides' one-hot vectors. ``tokens`` (B, L) fixes the
        layout -- where each miRNA's 5' end is -- which a path of blended inputs cannot define;
        ``forward_onehot(onehot(tokens), tokens)`` equals :meth:`forward`'s logits."""
        cfg = self.config
        tokens = self.check_tokens(tokens)
        m5_index = self._mirna_5prime_index(tokens)  # (B, K), -1 beyond the miRNA
        mx = x[:, : cfg.mirna_slot]
        m5 = torch.gather(mx, 1, m5_index.clamp_min(0)[..., None].expand(-1, -1, mx.shape[-1]))
        beyond = (m5_index < 0)[..., None]  # positions past the miRNA's 5' end read as N (token 0)
        m5 = torch.where(beyond, F.one_hot(torch.zeros_like(m5_index), mx.shape[-1]).to(m5.dtype), m5)
        h = cfg.combine_width // 2
        t = F.pad(x[:, cfg.mirna_slot :], (0, 0, cfg.mirna_positions + h, cfg.overhang + h))
        facing = t[:, self.target_index]  # (B, A', K, 5)
        cells = torch.einsum("bki,bakj,ijc->bakc", m5, facing, self.table.view(5, 5, -1))
        b, a = cells.shape[:2]
        diag = torch.relu(self.diagonal(cells.reshape(b, a, -1)))
        return self.head(self.combined_features(diag).amax(dim=1))

    # ------------------------------------------------------------------ layers
    def diagonal_features(self, tokens: torch.Tensor) -> torch.Tensor:
        """relu(diagonal) per anchor, (B, anchors + 2 h, diagonal_units) (anchors from -h).

        The diagonal layer is linear in the one-hot cell codes, so it is computed as a sum of table rows: for
        every miRNA position p a (25, units) table ``channels(code) @ W_p`` (exact, and differentiable in W), then
        one ``embedding_bag`` sum over the 24 cells of each anchor, instead of building the (B, anchors, 24, 8)
        map and multiplying it out (about 3x faster)."""
        codes = self.cell_codes(tokens)
        b, a, k = codes.shape
        units = self.config.diagonal_units
        weight = self.diagonal.weight.view(units, k, -1)  # (U, K, C)
        fused = torch.einsum("zc,ukc->kzu", self.table, weight).reshape(k * 25, units)
        idx = (codes + 25 * torch.arange(k, device=codes.device)).reshape(b * a, k)
        pre = F.embedding_bag(idx, fused, mode="sum") + self.diagonal.bias
        return torch.relu(pre).view(b, a, units)

    def combined_features(self, diag: torch.Tensor) -> torch.Tensor:
        """relu(combine) per anchor 0 .. anchors - 1, (B, anchors, combine_units), from the diagonal features."""
        return torch.relu(self.combine(diag.transpose(1, 2))).transpose(1, 2)

    def head(self, pooled: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.dense(self.dropout(pooled)))
        return self.out(self.dropout(hidden)).squeeze(-1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        diag = self.dropout(self.diagonal_features(tokens))
        comb = self.combined_features(diag)
        return self.head(comb.amax(dim=1))

    def training_logits(self, tokens: torch.Tensor, masks) -> torch.Tensor:
        """Logits in training mode with dropout masks from ``masks`` (:class:`mirlens.training.kernels.
        DropoutMasks`), so that the training randomness is a function of the trainer's seeded generator."""
        def drop(x: torch.Tensor) -> torch.Tensor:
            m = masks.mask(tuple(x.shape))
            return x if m is None else x * m

        diag = drop(self.diagonal_features(tokens))
        pooled = drop(self.combined_features(diag).amax(dim=1))
        hidden = drop(torch.relu(self.dense(pooled)))
        return self.out(hidden).squeeze(-1)

    @torch.no_grad()
    def predict_proba(self, tokens: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.forward(tokens))

    @torch.no_grad()
    def layer_outputs(self, tokens: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """Every layer's output: ``pairing`` (B, anchors + 2 h, K, 8) and ``diagonal`` (B, anchors + 2 h, units,
        after relu), both from anchor -h (h = combine_width // 2),
        ``combine`` (B, anchors, units, after relu), ``pool`` (B, units), ``dense`` (B, 16, after relu),
        ``output`` (B,) probabilities."""
        out: OrderedDict[str, torch.Tensor] = OrderedDict()
        out["pairing"] = self.pairing_map(tokens)
        b, a = out["pairing"].shape[:2]
        out["diagonal"] = torch.relu(self.diagonal(out["pairing"].reshape(b, a, -1)))
        out["combine"] = self.combined_features(out["diagonal"])
        out["pool"] = out["combine"].amax(dim=1)
        out["dense"] = torch.relu(self.dense(out["pool"]))
        out["output"] = torch.sigmoid(self.out(out["dense"]).squeeze(-1))
        return out
