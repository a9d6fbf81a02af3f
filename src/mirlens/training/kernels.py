"""The training forward pass of :class:`~mirlens.model.architecture.MiTAR`, written for speed on a few CPU cores.

It computes exactly the function of ``MiTAR.forward`` in training mode (Keras semantics: Dropout after the conv
relu, max-pool, Dropout, relu/hard-sigmoid BiLSTM, Dropout, Dense(16, relu), Dropout, Dense(1)) with the same
parameters, but:

* **The recurrence has a hand-written backward pass** (:class:`ReluLSTMFinalState`). Autograd through the
  per-step Python loop of ``ReluBiLSTM.recur`` records ~12 nodes per step and, for every ``proj[:, step]`` it
  reads, back-propagates a zero-filled tensor of the full projection size (quadratic in the sequence length).
  The custom function stores the gate activations of the forward loop and runs BPTT with 5 tensor ops per step,
  then forms the recurrent-kernel gradient with one batched matrix product over all steps.
* **The convolution reads one-hot windows.** ``Embedding`` then ``Conv1D`` is one linear map of the one-hot
  tokens, so the conv is ``onehot_windows @ W_eff`` with ``W_eff[k, token] = E[token] @ W[:, :, k]``. The
  windows need no gradient, which removes the input-gradient product, the unfold backward and the embedding's
  scatter-add backward; ``E`` and ``W`` still receive their exact gradients through ``W_eff``.
* **Dropout masks come from a numpy ``Generator``** (PCG64, ~4x faster than ``torch.bernoulli_`` here), so the
  training randomness is a pure function of the generator the trainer seeds per epoch (see
  :mod:`mirlens.training.trainer`): this is what makes resumed runs bit-identical to uninterrupted ones.

Inference never uses this module: evaluation and prediction call ``MiTAR.forward`` in eval mode.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from mirlens.model.architecture import MiTAR


class ReluLSTMFinalState(torch.autograd.Function):
    """Both directions of the relu / hard-sigmoid LSTM over time-major projected inputs; returns final states.

    ``proj``: ``(T, 2, B, 4u)``, the input projection ``x W + b`` per step, Keras gate order i, f, c, o, with the
    backward direction (index 1) already reversed in time. ``rec``: ``(2, u, 4u)`` recurrent kernels.
    Returns ``h_T``: ``(2, B, u)``.
    """

    @staticmethod
    def forward(ctx, proj: torch.Tensor, rec: torch.Tensor) -> torch.Tensor:  # noqa: D102
        steps, dirs, batch, width = proj.shape
        u = width // 4
        acts = torch.empty_like(proj)  # hard-sigmoid of every pre-activation (the c slot is unused)
        cand = proj.new_empty(steps, dirs, batch, u)  # relu(z_c)
        cs = proj.new_empty(steps + 1, dirs, batch, u)
        hs = proj.new_empty(steps + 1, dirs, batch, u)
        cs[0].zero_()
        hs[0].zero_()
        relu_c = proj.new_empty(dirs, batch, u)
        for t in range(steps):
            a = acts[t]
            torch.baddbmm(proj[t], hs[t], rec, out=a)
            torch.clamp_min(a[..., 2 * u : 3 * u], 0.0, out=cand[t])
            a.mul_(0.2).add_(0.5).clamp_(0.0, 1.0)
            c = cs[t + 1]
            torch.mul(a[..., u : 2 * u], cs[t], out=c)
            c.addcmul_(a[..., :u], cand[t])
            torch.clamp_min(c, 0.0, out=relu_c)
            torch.mul(a[..., 3 * u :], relu_c, out=hs[t + 1])
        ctx.save_for_backward(rec, acts, cand, cs, hs)
        return hs[steps].clone()

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor):  # noqa: D102
        rec, acts, cand, cs, hs = ctx.saved_tensors
        steps, dirs, batch, width = acts.shape
        u = width // 4
        # Per-step factors, computed for all steps at once: dz = [dc * M_i, dc * M_f, dc * M_c, dh * M_o].
        slope = ((acts > 0) & (acts < 1)).to(acts.dtype).mul_(0.2)  # hard-sigmoid derivative
        mult = torch.empty_like(acts)
        torch.mul(cand, slope[..., :u], out=mult[..., :u])
        torch.mul(cs[:-1], slope[..., u : 2 * u], out=mult[..., u : 2 * u])
        torch.mul(acts[..., :u], (cand > 0).to(acts.dtype), out=mult[..., 2 * u : 3 * u])
        torch.mul(cs[1:].clamp_min(0), slope[..., 3 * u :], out=mult[..., 3 * u :])
        out_gate = acts[..., 3 * u :] * (cs[1:] > 0).to(acts.dtype)  # dh -> dc
        forget = acts[..., u : 2 * u]
        grad_z = torch.empty_like(acts)
        rec_t = rec.transpose(1, 2)
        dh = grad_h.contiguous()
        dc = torch.zeros_like(dh)
        for t in range(steps - 1, -1, -1):
            dz = grad_z[t]
            dc.addcmul_(dh, out_gate[t])
            torch.mul(dc.unsqueeze(-2), mult[t, ..., : 3 * u].view(dirs, batch, 3, u),
                      out=dz[..., : 3 * u].view(dirs, batch, 3, u))
            torch.mul(dh, mult[t, ..., 3 * u :], out=dz[..., 3 * u :])
            if t:
                dc.mul_(forget[t])
                dh = torch.bmm(dz, rec_t)
        grad_rec = None
        if ctx.needs_input_grad[1]:
            h_prev = hs[:-1].permute(1, 3, 0, 2).reshape(dirs, u, steps * batch)
            grad_rec = torch.bmm(h_prev, grad_z.permute(1, 0, 2, 3).reshape(dirs, steps * batch, width))
        return grad_z, grad_rec


class ReluDropoutPool(torch.autograd.Function):
    """``MaxPool1D(2)(dropout(relu(pre)))`` with a sparse backward; ``pre``: ``(B, L, F)``, ``mask``: same shape
    (0 or ``scale``) or ``None``.

    Only the selected element of each pair receives gradient, and its local derivative is ``scale`` exactly when
    the pooled value is positive, so the backward needs just the pooled output and which element won. Ties go to
    the first element of the pair, as in TensorFlow's max-pool gradient.
    """

    @staticmethod
    def forward(ctx, pre: torch.Tensor, mask: torch.Tensor | None, scale: float, steps: int) -> torch.Tensor:  # noqa: D102
        b, n, f = pre.shape
        v = pre.clamp_min(0)
        if mask is not None:
            v.mul_(mask)
        pairs = v[:, : 2 * steps].view(b, steps, 2, f)
        first, second = pairs[:, :, 0], pairs[:, :, 1]
        pooled = torch.maximum(first, second)
        ctx.save_for_backward(first >= second, pooled > 0)
        ctx.shape = (b, n, f)
        ctx.scale = scale
        ctx.steps = steps
        return pooled

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: D102
        first_wins, positive = ctx.saved_tensors
        b, n, f = ctx.shape
        g = torch.where(positive, grad, 0.0)
        if ctx.scale != 1.0:
            g.mul_(ctx.scale)
        out = g.new_empty(b, n, f)
        if n > 2 * ctx.steps:
            out[:, 2 * ctx.steps :].zero_()
        pairs = out[:, : 2 * ctx.steps].view(b, ctx.steps, 2, f)
        torch.mul(g, first_wins, out=pairs[:, :, 0])
        torch.mul(g, ~first_wins, out=pairs[:, :, 1])
        return out, None, None, None


def onehot_windows(tokens: torch.Tensor, config) -> torch.Tensor:
    """One-hot conv windows ``(B * L_conv, width * vocab)``, laid out like ``MiTAR._windows`` (position-major)."""
    onehot = F.one_hot(tokens.long(), config.vocab).to(torch.float32)
    b = onehot.shape[0]
    win = onehot.unfold(1, config.conv_width, 1).transpose(2, 3)
    return win.reshape(b * config.conv_len, config.conv_width * config.vocab)


def fused_conv_weight(model: MiTAR) -> torch.Tensor:
    """``W_eff`` ``(width * vocab, filters)``: the embedding folded into the conv kernel."""
    c = model.config
    # conv.weight: (filters, embed, width); embedding.weight: (vocab, embed)
    w = torch.einsum("te,fek->ktf", model.embedding.weight, model.conv.weight)
    return w.reshape(c.conv_width * c.vocab, c.conv_filters)


class DropoutMasks:
    """Inverted-dropout masks drawn from a numpy ``Generator``: ``mask(shape)`` is 0 or ``1 / (1 - p)``."""

    def __init__(self, rng: np.random.Generator, p: float):
        self.rng = rng
        self.p = float(p)

    def mask(self, shape: tuple[int, ...]) -> torch.Tensor | None:
        if self.p <= 0:
            return None
        draw = torch.from_numpy(self.rng.random(shape, dtype=np.float32))
        return draw.lt_(1.0 - self.p).mul_(self.scale)

    @property
    def scale(self) -> float:
        return 1.0 / (1.0 - self.p)


def _drop(x: torch.Tensor, masks: DropoutMasks) -> torch.Tensor:
    m = masks.mask(tuple(x.shape))
    return x if m is None else x * m


def training_logits(model: MiTAR, tokens: torch.Tensor, masks: DropoutMasks) -> torch.Tensor:
    """Logits ``(B,)`` of ``model`` in training mode (dropout from ``masks``), differentiable in every parameter."""
    c = model.config
    b = tokens.shape[0]
    win = onehot_windows(model.check_tokens(tokens), c)
    if c.pool != 2:  # pragma: no cover - every miTAR model pools by 2
        raise ValueError("the training kernels implement MaxPool1D(2) only")
    pre = torch.addmm(model.conv.bias, win, fused_conv_weight(model)).view(b, c.conv_len, -1)
    mask = masks.mask(tuple(pre.shape))
    pooled = ReluDropoutPool.apply(pre, mask, masks.scale if mask is not None else 1.0, c.steps)
    pooled = _drop(pooled, masks)
    steps = c.steps
    lstm = model.lstm
    u = lstm.units
    n_in = pooled.shape[-1]
    x_tm = pooled.transpose(0, 1).reshape(steps * b, n_in)
    weight = lstm.kernel.transpose(0, 1).reshape(n_in, 2 * 4 * u)
    proj = torch.addmm(lstm.bias.reshape(-1), x_tm, weight).view(steps, b, 2, 4 * u)
    proj = torch.stack((proj[:, :, 0], proj[:, :, 1].flip(0)), dim=1)  # (T, 2, B, 4u), backward reversed
    h = ReluLSTMFinalState.apply(proj, lstm.recurrent)
    feats = _drop(torch.cat((h[0], h[1]), dim=-1), masks)
    hidden = _drop(torch.relu(model.dense(feats)), masks)
    return model.out(hidden).squeeze(-1)
