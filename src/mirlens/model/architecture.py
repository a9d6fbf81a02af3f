"""The miTAR network (Gu et al.), exactly as the original Keras 2.2.4 model computes it.

Embedding(5 -> 5) ; Conv1D(320, width 12, relu, valid) ; Dropout ; MaxPool1D(2) ; Dropout ;
Bidirectional LSTM(32, cell/output activation **relu**, gates **hard sigmoid** = clip(0.2 x + 0.5, 0, 1),
Keras gate order i, f, c, o; final states of both directions concatenated forward|backward) ; Dropout ;
Dense(16, relu) ; Dropout ; Dense(1, sigmoid).

PyTorch's ``nn.LSTM`` cannot use relu cells or hard-sigmoid gates, so the recurrent layer is written here: the
input projection ``x W_ih + b`` is one matrix product over all time steps and both directions; the loop over time
only does the small recurrent product ``h U`` for both directions at once.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mirlens.data.encoding import MIRNA_SLOT


class SlotConfig:
    """What every model family's (frozen dataclass) configuration offers: the input length and a dict round trip
    (unknown keys are ignored, missing ones take the defaults)."""

    mirna_slot: int
    target_slot: int

    @property
    def input_len(self) -> int:
        return self.mirna_slot + self.target_slot

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass(frozen=True)
class MiTARConfig(SlotConfig):
    """Sizes of a miTAR model. ``target_slot`` is 53 for miTAR1/miTAR (input 79) and 40 for miTAR2 (input 66)."""

    target_slot: int = 53
    mirna_slot: int = MIRNA_SLOT
    vocab: int = 5
    embed_dim: int = 5
    conv_filters: int = 320
    conv_width: int = 12
    pool: int = 2
    lstm_units: int = 32
    dense_units: int = 16
    dropout: float = 0.2

    @property
    def conv_len(self) -> int:
        return self.input_len - self.conv_width + 1

    @property
    def steps(self) -> int:
        """LSTM time steps (pooled length)."""
        return self.conv_len // self.pool


@dataclass(frozen=True)
class StepKinds:
    """Which pooled time steps read only miRNA tokens, both, or only target tokens (conv width K, pool P, miRNA
    slot M: step q pools conv positions P q .. P q + P - 1, each reading tokens i .. i + K - 1).

    Pooled steps ``0..n_mirna-1`` are miRNA steps, ``n_mirna..first_target-1`` junction steps, the rest
    target steps (up to ``steps - 1``)."""

    n_mirna: int
    first_target: int
    steps: int

    @classmethod
    def of(cls, cfg: MiTARConfig) -> StepKinds:
        """The step kinds of a model shape."""
        m, k, p = cfg.mirna_slot, cfg.conv_width, cfg.pool
        # miRNA step: its last conv position P q + P - 1 reads up to token P q + P + K - 3 <= M - 1;
        # target step: its first conv position P q reads from token P q >= M
        n_mirna = (m - k - p + 1) // p + 1 if m - k - p + 1 >= 0 else 0
        first_target = min(-(-m // p), cfg.steps)
        return cls(n_mirna=min(n_mirna, first_target), first_target=first_target, steps=cfg.steps)

    @property
    def n_junction(self) -> int:
        return self.first_target - self.n_mirna

    @property
    def n_target(self) -> int:
        return self.steps - self.first_target


POOL_STEPS_PER_GEMM = 4
"""Pooled steps per conv GEMM on the inference path (measured: ~1.5x faster than one GEMM over all steps)."""


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 2 hard sigmoid: clip(0.2 x + 0.5, 0, 1) (not PyTorch's x/6 + 1/2)."""
    return torch.clamp(x * 0.2 + 0.5, 0.0, 1.0)


class ReluBiLSTM(nn.Module):
    """Bidirectional LSTM with relu cell activation and hard-sigmoid gates, returning final states only.

    Parameters are stored per direction in Keras layout (``kernel`` (in, 4u), ``recurrent`` (u, 4u), ``bias``
    (4u), gates i, f, c, o), stacked over the direction axis (0 = forward, 1 = backward).
    """

    def __init__(self, input_size: int, units: int):
        super().__init__()
        self.units = units
        self.kernel = nn.Parameter(torch.empty(2, input_size, 4 * units))
        self.recurrent = nn.Parameter(torch.empty(2, units, 4 * units))
        self.bias = nn.Parameter(torch.zeros(2, 4 * units))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Keras defaults: Glorot-uniform kernel, orthogonal recurrent kernel, zero bias with forget bias 1."""
        u = self.units
        with torch.no_grad():
            for d in range(2):
                nn.init.xavier_uniform_(self.kernel[d])
                nn.init.orthogonal_(self.recurrent[d])
            self.bias.zero_()
            self.bias[:, u : 2 * u] = 1.0

    def input_projection(self, x: torch.Tensor) -> torch.Tensor:
        """``x W + b`` for both directions in one matrix product: (B, T, in) -> (B, T, 2, 4u)."""
        b, t, n = x.shape
        weight = self.kernel.transpose(0, 1).reshape(n, -1)
        proj = torch.addmm(self.bias.reshape(-1), x.reshape(b * t, n), weight)
        return proj.reshape(b, t, 2, -1)

    def recur(self, proj: torch.Tensor) -> torch.Tensor:
        """Run both directions over projected inputs (B, T, 2, 4u); returns final hidden states (2, B, u).

        The forward direction reads steps 0..T-1, the backward direction T-1..0 (Keras ``go_backwards``).
        """
        b, t, _, _ = proj.shape
        u = self.units
        h = proj.new_zeros(2, b, u)
        c = proj.new_zeros(2, b, u)
        rec = self.recurrent
        for step in range(t):
            z = torch.stack((proj[:, step, 0], proj[:, t - 1 - step, 1])).baddbmm_(h, rec)
            gates = hard_sigmoid(z)
            i, f, o = gates[..., :u], gates[..., u : 2 * u], gates[..., 3 * u :]
            c = f * c + i * torch.relu(z[..., 2 * u : 3 * u])
            h = o * torch.relu(c)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, in) -> (B, 2u): forward final state, then backward final state (Keras ``concat``)."""
        h = self.recur(self.input_projection(x))
        return torch.cat((h[0], h[1]), dim=-1)

    def folded_parameters(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Kernel (in, 2 * 4u), recurrent (2, u, 4u) and bias (2 * 4u) for :meth:`fast_final_states`: gates
        reordered to i, f, o, c and the hard sigmoid's ``0.2 z + 0.5`` folded into the i, f, o columns, so that
        a gate is ``clamp(z', 0, 1)``. The same function up to float rounding. Cached until a parameter changes
        (in-place updates bump tensor versions; loading or training replaces or bumps them)."""
        key = tuple((p.data_ptr(), p._version, p.device, p.dtype) for p in (self.kernel, self.recurrent, self.bias))
        cached = getattr(self, "_folded", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        folded = self._fold()
        self._folded = (key, folded)
        return folded

    def _fold(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        u = self.units
        order = torch.cat([torch.arange(0, 2 * u), torch.arange(3 * u, 4 * u), torch.arange(2 * u, 3 * u)])
        scale = torch.ones(4 * u, dtype=self.kernel.dtype, device=self.kernel.device)
        scale[: 3 * u] = 0.2
        shift = torch.zeros_like(scale)
        shift[: 3 * u] = 0.5
        with torch.no_grad():
            kernel = self.kernel[:, :, order] * scale  # (2, in, 4u)
            recurrent = self.recurrent[:, :, order] * scale
            bias = self.bias[:, order] * scale + shift
        return kernel.transpose(0, 1).reshape(kernel.shape[1], -1), recurrent.contiguous(), bias.reshape(-1)

    def fast_final_states(self, x_tm: torch.Tensor) -> torch.Tensor:
        """Inference only (no autograd): final states (2, B, u) from time-major inputs ``x_tm`` (T, B, in), with
        the folded parameters, preallocated buffers and 8 in-place tensor ops per step."""
        t, b, n = x_tm.shape
        zf, zb = self.fast_projections(x_tm.reshape(t * b, n))
        return self.fast_recur(zf.view(t, b, -1), zb.view(t, b, -1))

    def fast_projections(self, x: torch.Tensor, out: tuple[torch.Tensor, torch.Tensor] | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """Folded input projections of rows ``x`` (N, in) for the forward and the backward direction, (N, 4u)
        each (written into ``out`` when given)."""
        kernel, _, bias = self.folded_kernels()
        if out is None:
            return torch.addmm(bias[0], x, kernel[0]), torch.addmm(bias[1], x, kernel[1])
        torch.addmm(bias[0], x, kernel[0], out=out[0])
        torch.addmm(bias[1], x, kernel[1], out=out[1])
        return out

    def folded_kernels(self) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor, tuple[torch.Tensor, ...]]:
        """:meth:`folded_parameters` with kernel and bias split per direction (contiguous), cached alike."""
        folded = self.folded_parameters()
        cached = getattr(self, "_split", None)
        if cached is not None and cached[0] is folded:
            return cached[1]
        kernel, recurrent, bias = folded
        u4 = 4 * self.units
        split = ((kernel[:, :u4].contiguous(), kernel[:, u4:].contiguous()), recurrent,
                 (bias[:u4].contiguous(), bias[u4:].contiguous()))
        self._split = (folded, split)
        return split

    def fast_recur(self, zf: torch.Tensor, zb: torch.Tensor, *, forward_start: int = 0,
                   forward_state: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Inference only: final states (2, B, u) from folded input projections (:meth:`fast_projections`) of
        every step, ``zf`` for the forward and ``zb`` for the backward direction, each (T, B, 4u) in step order.

        The backward direction reads steps T-1..0 from zero states. The forward direction reads steps
        ``forward_start``..T-1 (``zf[:forward_start]`` is not read), starting from ``forward_state`` = (h, c),
        each (u,) or (B, u): its states after the steps before (zeros when ``forward_start`` is 0)."""
        t, b = zb.shape[:2]
        u = self.units
        _, recurrent, _ = self.folded_parameters()
        h = zb.new_zeros(2, b, u)
        c = zb.new_zeros(2, b, u)
        if forward_start:
            h[0], c[0] = forward_state
        z = zb.new_empty(2, b, 4 * u)
        relu_c = zb.new_empty(2, b, u)
        for step in range(t):
            torch.addmm(zb[t - 1 - step], h[1], recurrent[1], out=z[1])
            if step < forward_start:  # backward direction only
                folded_cell_(z[1], c[1], h[1], relu_c[1], u)
            else:
                torch.addmm(zf[step], h[0], recurrent[0], out=z[0])
                folded_cell_(z, c, h, relu_c, u)
        return h

    def fast_forward_state(self, proj_f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inference only: forward-direction (h, c) after the steps of ``proj_f`` (T, B, 4u), the forward half of
        folded input projections, from zero states."""
        t, b, _ = proj_f.shape
        u = self.units
        _, recurrent, _ = self.folded_parameters()
        h = proj_f.new_zeros(b, u)
        c = proj_f.new_zeros(b, u)
        z = proj_f.new_empty(b, 4 * u)
        relu_c = proj_f.new_empty(b, u)
        for step in range(t):
            torch.addmm(proj_f[step], h, recurrent[0], out=z)
            folded_cell_(z, c, h, relu_c, u)
        return h, c


def _max_over_pool(conv: torch.Tensor, out: torch.Tensor) -> None:
    """``out = conv.amax(dim=1)`` for (S, P, B, F) without amax's fill of ``out`` (an elementwise maximum)."""
    if conv.shape[1] == 1:
        out.copy_(conv[:, 0])
        return
    torch.maximum(conv[:, 0], conv[:, 1], out=out)
    for j in range(2, conv.shape[1]):
        torch.maximum(out, conv[:, j], out=out)


def mirna_runs(prefixes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Runs of equal consecutive rows: (first row of each run (R, M), run index of every row (B,)). Rows sorted
    by miRNA (as :func:`mirlens.predict.score.score_tokens` batches them) give one run per distinct miRNA; in any
    order the result is still exact, only less shared."""
    new_run = torch.ones(len(prefixes), dtype=torch.bool, device=prefixes.device)
    new_run[1:] = (prefixes[1:] != prefixes[:-1]).any(dim=1)
    return prefixes[new_run], torch.cumsum(new_run, 0) - 1


def folded_cell_(z: torch.Tensor, c: torch.Tensor, h: torch.Tensor, relu_c: torch.Tensor, u: int) -> None:
    """One LSTM cell update in place (``c``, ``h``; ``z`` and ``relu_c`` are scratch), on folded pre-activations
    ``z = x W' + b' + h U'`` (:meth:`ReluBiLSTM.folded_parameters`: gates i, f, o, then the cell candidate)."""
    z[..., : 3 * u].clamp_(0.0, 1.0)  # i, f, o gates
    cand = z[..., 3 * u :].clamp_min_(0.0)  # relu cell candidate
    c.mul_(z[..., u : 2 * u]).addcmul_(z[..., :u], cand)
    torch.clamp_min(c, 0.0, out=relu_c)
    torch.mul(z[..., 2 * u : 3 * u], relu_c, out=h)


class MiTAR(nn.Module):
    """The miTAR CNN + BiLSTM classifier. ``forward`` returns logits; :meth:`predict_proba` probabilities."""

    def __init__(self, config: MiTARConfig | None = None):
        super().__init__()
        self.config = config = config or MiTARConfig()
        self.embedding = nn.Embedding(config.vocab, config.embed_dim)
        self.conv = nn.Conv1d(config.embed_dim, config.conv_filters, config.conv_width)
        self.lstm = ReluBiLSTM(config.conv_filters, config.lstm_units)
        self.dense = nn.Linear(2 * config.lstm_units, config.dense_units)
        self.out = nn.Linear(config.dense_units, 1)
        self.dropout = nn.Dropout(config.dropout)
        self._keras_init()

    def _keras_init(self) -> None:
        with torch.no_grad():
            nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
            for layer in (self.conv, self.dense, self.out):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def check_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.shape[1] != self.config.input_len:
            raise ValueError(f"expected tokens of shape (batch, {self.config.input_len}), got {tuple(tokens.shape)}")
        return tokens.long()

    def _windows(self, tokens: torch.Tensor) -> torch.Tensor:
        """Embedded inputs cut into conv windows: (B, L_conv, width * embed) (im2col)."""
        return self._embedded_windows(self.embedding(self.check_tokens(tokens)))

    def _embedded_windows(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        c = self.config
        return x.unfold(1, c.conv_width, 1).transpose(2, 3).reshape(b, c.conv_len, c.conv_width * c.embed_dim)

    def forward_onehot(self, x: torch.Tensor, tokens: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B,) of one-hot inputs ``x`` (B, L, vocab), differentiable in ``x`` (for gradient attributions;
        ``onehot(tokens)`` gives exactly :meth:`forward`'s logits; ``tokens`` is not needed by this family)."""
        win = self._embedded_windows(x @ self.embedding.weight)
        b, n, k = win.shape
        c = self.config
        steps = c.steps
        used = win[:, : steps * c.pool].reshape(b * steps * c.pool, k)
        conv = torch.addmm(self.conv.bias, used, self.conv_weight_matrix()).reshape(b, steps, c.pool, -1)
        return self.head(self.lstm(torch.relu(conv.amax(dim=2))))

    def conv_weight_matrix(self) -> torch.Tensor:
        """Conv kernel as a (width * embed, filters) matrix matching :meth:`_windows`."""
        return self.conv.weight.permute(2, 1, 0).reshape(-1, self.config.conv_filters)

    def conv_features(self, tokens: torch.Tensor) -> torch.Tensor:
        """Conv output after relu, (B, L_conv, filters) — channels last, as Keras reports it."""
        win = self._windows(tokens)
        b, n, k = win.shape
        out = torch.addmm(self.conv.bias, win.reshape(b * n, k), self.conv_weight_matrix())
        return torch.relu(out).reshape(b, n, -1)

    def pool(self, conv: torch.Tensor) -> torch.Tensor:
        """MaxPool1D(2), valid: (B, L_conv, F) -> (B, L_conv // 2, F) (a trailing odd step is dropped)."""
        b, n, f = conv.shape
        p = self.config.pool
        steps = n // p
        return conv[:, : steps * p].reshape(b, steps, p, f).amax(dim=2)

    def conv_pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """relu(conv) then max-pool, fused: relu commutes with max, so pool the raw conv and apply relu once."""
        c = self.config
        win = self._windows(tokens)
        b = win.shape[0]
        steps = c.steps
        used = win[:, : steps * c.pool].reshape(b * steps * c.pool, -1)
        out = torch.addmm(self.conv.bias, used, self.conv_weight_matrix()).reshape(b, steps, c.pool, -1)
        return torch.relu(out.amax(dim=2))

    def head(self, lstm_out: torch.Tensor) -> torch.Tensor:
        """Dense layers on the BiLSTM output: logits (B,)."""
        hidden = torch.relu(self.dense(self.dropout(lstm_out)))
        return self.out(self.dropout(hidden)).squeeze(-1)

    def fast_pool_tm(self, tokens: torch.Tensor) -> torch.Tensor:
        """Inference: relu(max-pool(conv)) time-major, (S, B, filters), from im2col GEMMs over time-major windows,
        a few pooled steps at a time so that the conv output stays in cache until it is pooled. ``tokens`` (B, L)
        may be any stretch of the input that starts at a pooled step's first conv position; S = (L - K + 1) // P."""
        c = self.config
        b = tokens.shape[0]
        taps = tokens.t().unfold(0, c.conv_width, 1)  # (L_conv, B, width): the tokens each conv position reads
        steps = taps.shape[0] // c.pool
        pooled = self.conv.bias.new_empty(steps, b, c.conv_filters)
        for s0 in range(0, steps, POOL_STEPS_PER_GEMM):
            s1 = min(s0 + POOL_STEPS_PER_GEMM, steps)
            conv = self.fast_conv(taps[c.pool * s0 : c.pool * s1]).view(s1 - s0, c.pool, b, -1)
            _max_over_pool(conv, pooled[s0:s1])
        return pooled.clamp_min_(0.0)

    def fast_conv(self, taps: torch.Tensor) -> torch.Tensor:
        """Inference: raw conv output (..., filters) (before relu) of token windows ``taps`` (..., width), im2col
        by an embedding lookup (rows written in order; faster than copying an unfolded float view). Every fast
        path computes its conv here, so that they all round alike."""
        weight = self.conv.weight.permute(2, 1, 0).reshape(-1, self.config.conv_filters)  # rows (width, embed)
        rows = F.embedding(taps, self.embedding.weight).view(-1, weight.shape[0])
        return torch.addmm(self.conv.bias, rows, weight).view(*taps.shape[:-1], -1)

    def fast_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Inference-only forward pass (no autograd, dropout off): the same logits as the layer-by-layer path
        to float rounding (tested to 1e-5), time-major throughout.

        Rows that share a miRNA share its miRNA steps (:class:`StepKinds`): their conv, input projections and
        forward-direction LSTM states are computed once per distinct miRNA in the batch."""
        tokens = self.check_tokens(tokens)
        c = self.config
        n = StepKinds.of(c).n_mirna
        b = tokens.shape[0]
        uniq, inv = mirna_runs(tokens[:, : c.mirna_slot]) if n and b > 1 else (None, None)
        if uniq is None or len(uniq) > b // 2:
            h = self.lstm.fast_final_states(self.fast_pool_tm(tokens))
            return self.head(torch.cat((h[0], h[1]), dim=-1))
        lstm = self.lstm
        t = c.steps
        mirna_pooled = self.fast_pool_tm(uniq[:, : c.pool * n + c.conv_width - 1])  # (n, U, F)
        mirna_f, mirna_b = lstm.fast_projections(mirna_pooled.reshape(-1, c.conv_filters))
        u4 = mirna_f.shape[-1]
        h_f, c_f = lstm.fast_forward_state(mirna_f.view(n, -1, u4))
        rest = self.fast_pool_tm(tokens[:, c.pool * n :])  # (T - n, B, F)
        zf = rest.new_empty(t, b, u4)
        zb = rest.new_empty(t, b, u4)
        lstm.fast_projections(rest.view(-1, c.conv_filters), out=(zf[n:].view(-1, u4), zb[n:].view(-1, u4)))
        torch.index_select(mirna_b.view(n, -1, u4), 1, inv, out=zb[:n])
        h = lstm.fast_recur(zf, zb, forward_start=n, forward_state=(h_f[inv], c_f[inv]))
        return self.head(torch.cat((h[0], h[1]), dim=-1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() and not (self.training and self.dropout.p > 0):
            return self.fast_logits(tokens)
        if self.training and self.dropout.p > 0:
            pooled = self.dropout(self.pool(self.dropout(self.conv_features(tokens))))
        else:
            pooled = self.conv_pool(tokens)
        return self.head(self.lstm(pooled))

    @torch.no_grad()
    def predict_proba(self, tokens: torch.Tensor) -> torch.Tensor:
        """Probabilities (B,) in eval mode semantics (dropout off is the caller's job: use ``model.eval()``)."""
        return torch.sigmoid(self.forward(tokens))

    @torch.no_grad()
    def layer_outputs(self, tokens: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """Every layer's output (dropout is identity at inference):
        ``embedding`` (B, L, 5), ``conv`` (B, L_conv, 320, after relu), ``pool`` (B, T, 320),
        ``lstm_forward`` / ``lstm_backward`` (B, 32), ``bilstm`` (B, 64), ``dense`` (B, 16, after relu),
        ``output`` (B,) probabilities."""
        out: OrderedDict[str, torch.Tensor] = OrderedDict()
        tokens = self.check_tokens(tokens)
        out["embedding"] = self.embedding(tokens)
        out["conv"] = self.conv_features(tokens)
        out["pool"] = self.pool(out["conv"])
        h = self.lstm.recur(self.lstm.input_projection(out["pool"]))
        out["lstm_forward"], out["lstm_backward"] = h[0], h[1]
        out["bilstm"] = torch.cat((h[0], h[1]), dim=-1)
        out["dense"] = torch.relu(self.dense(out["bilstm"]))
        out["output"] = torch.sigmoid(self.out(out["dense"]).squeeze(-1))
        return out
