"""DeepLIFT-SHAP attributions (Captum ``DeepLiftShap``) for both model families, with the summation-to-delta
property kept exact.

Captum's DeepLIFT replaces the gradient of a nonlinearity by its *rescale* multiplier ``(f(x) - f(r)) / (x - r)``
only for ``nn.Module`` instances of the types it knows (``nn.ReLU``, ``nn.Sigmoid``, ``nn.MaxPool1d``...), each used
once per forward pass (it keeps the module's last input). The models compute with functional calls
(``torch.relu``, the hard-sigmoid clip, ``amax``) inside a hand-written recurrent loop, and multiply tensors
(LSTM gates, the pairing model's bilinear pairing cells), which no rescale rule covers: run on them as they are,
Captum silently returns ``gradient x (input - reference)`` for those steps and the attributions no longer add up
(:func:`captum_on_plain_model` shows it; the tests measure it).

So the forward passes are written again here, the same functions to float rounding, with every nonlinearity a
module of its own (fresh instances per LSTM step), each fed a tensor that nothing else reads (Captum hooks the
module's input tensor, so a tensor read elsewhere too would have the other readers' gradient replaced):

* relu: ``nn.ReLU``; the hard sigmoid: :class:`HardSigmoid`, an elementwise module given Captum's rescale rule;
* max over a pool or over the pairing model's anchors: ``max(a, b) = b + relu(a - b)``, pairwise;
* a product of two tensors (``f * c``, ``i * g``, ``o * relu(c)``; miRNA one-hot x target one-hot):
  ``a b = ((a + b)^2 - (a - b)^2) / 4`` with :class:`Square` (rescale rule: ``x + r``), which splits
  ``a_x b_x - a_r b_r`` as ``(b_x + b_r)/2 (a_x - a_r) + (a_x + a_r)/2 (b_x - b_r)`` (the two-player Shapley split).

Elementwise functions with the rescale rule and linear maps are exactly conservative, so every pair's attributions
add up to ``logit(pair) - mean over references of logit(reference)`` (DeepLIFT-SHAP's summation-to-delta), to
float64 rounding, from one backward pass per reference.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from mirlens.errors import InputError
from mirlens.explain.attribution.attribute import Attribution, _logits, _onehot, _position_table, reference_tokens
from mirlens.explain.pairset import PairSet
from mirlens.model.architecture import MiTAR, hard_sigmoid
from mirlens.model.pairing import PairingModel

DEFAULT_REFERENCES = 10
"""Shuffled references per pair (``reference="shuffle"``); the all-N reference is one."""


class HardSigmoid(nn.Module):
    """Keras' hard sigmoid as a module (Captum applies the rescale rule to it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return hard_sigmoid(x)


class Square(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


def _register_rules() -> None:
    from captum.attr._core import deep_lift

    for kind in (HardSigmoid, Square):
        deep_lift.SUPPORTED_NON_LINEAR.setdefault(kind, deep_lift.nonlinear)


class Product(nn.Module):
    """``a * b`` as ``((a + b)^2 - (a - b)^2) / 4`` (see the module doc)."""

    def __init__(self):
        super().__init__()
        self.plus, self.minus = Square(), Square()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return 0.25 * (self.plus(a + b) - self.minus(a - b))


class MaxOver(nn.Module):
    """Maximum over dimension ``dim`` of at most ``2 ** levels`` entries, pairwise: ``max(a, b) = b + relu(a - b)``."""

    def __init__(self, levels: int):
        super().__init__()
        self.relus = nn.ModuleList(nn.ReLU() for _ in range(levels))

    @staticmethod
    def levels_for(n: int) -> int:
        return max(0, int(np.ceil(np.log2(n)))) if n > 1 else 0

    def forward(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        x = x.movedim(dim, 1)  # the batch stays first: Captum splits inputs from references along it
        for relu in self.relus:
            if x.shape[1] == 1:
                break
            half = x.shape[1] // 2
            a, b = x[:, :half], x[:, half : 2 * half]
            m = b + relu(a - b)
            x = torch.cat((m, x[:, 2 * half :]), dim=1) if x.shape[1] % 2 else m
        if x.shape[1] != 1:
            raise ValueError("MaxOver built for fewer entries")
        return x[:, 0]


class _Step(nn.Module):
    def __init__(self):
        super().__init__()
        self.gates, self.cand, self.cell = HardSigmoid(), nn.ReLU(), nn.ReLU()
        self.forget, self.input, self.output = Product(), Product(), Product()


class DeepLiftMiTAR(nn.Module):
    """:meth:`mirlens.model.architecture.MiTAR.forward_onehot` with module nonlinearities (see the module doc)."""

    def __init__(self, model: MiTAR):
        super().__init__()
        self.net = model
        c = model.config
        self.conv_relu = nn.ReLU()
        self.pool_max = MaxOver(MaxOver.levels_for(c.pool))
        self.steps = nn.ModuleList(_Step() for _ in range(c.steps))
        self.dense_relu = nn.ReLU()

    def forward(self, x: torch.Tensor, tokens: torch.Tensor | None = None) -> torch.Tensor:
        net, c = self.net, self.net.config
        win = net._embedded_windows(x @ net.embedding.weight)
        b, _, k = win.shape
        t = c.steps
        used = win[:, : t * c.pool].reshape(b * t * c.pool, k)
        conv = torch.addmm(net.conv.bias, used, net.conv_weight_matrix()).reshape(b, t, c.pool, -1)
        pooled = self.conv_relu(self.pool_max(conv, dim=2))  # relu(max) = max(relu): the model's order
        lstm = net.lstm
        u = lstm.units
        proj = lstm.input_projection(pooled)
        h = proj.new_zeros(b, 2, u)  # batch first (Captum splits inputs from references along dim 0)
        cell = proj.new_zeros(b, 2, u)
        for s, mod in enumerate(self.steps):
            z = torch.stack((proj[:, s, 0], proj[:, t - 1 - s, 1]), dim=1) + torch.einsum("bdu,duv->bdv", h,
                                                                                        lstm.recurrent)
            # a hooked module must get a tensor no other operation reads (.clone()): Captum hooks the input
            # tensor itself, whose gradient would otherwise mix in the other readers' paths
            gates = mod.gates(z.clone())
            i, f, o = gates[..., :u], gates[..., u : 2 * u], gates[..., 3 * u :]
            cell = mod.forget(f, cell) + mod.input(i, mod.cand(z[..., 2 * u : 3 * u].clone()))
            h = mod.output(o, mod.cell(cell.clone()))
        hidden = self.dense_relu(net.dense(h.reshape(b, 2 * u)))
        return net.out(hidden).squeeze(-1)


class DeepLiftPairing(nn.Module):
    """:meth:`mirlens.model.pairing.PairingModel.forward_onehot` with module nonlinearities and the pairing cells
    as products of the two nucleotides' one-hot vectors (see the module doc)."""

    def __init__(self, model: PairingModel):
        super().__init__()
        self.net = model
        c = model.config
        self.cells = Product()
        self.diag_relu, self.combine_relu, self.dense_relu = nn.ReLU(), nn.ReLU(), nn.ReLU()
        self.anchor_max = MaxOver(MaxOver.levels_for(c.anchors))

    def forward(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        net, cfg = self.net, self.net.config
        tokens = net.check_tokens(tokens)
        m5_index = net._mirna_5prime_index(tokens)
        mx = x[:, : cfg.mirna_slot]
        m5 = torch.gather(mx, 1, m5_index.clamp_min(0)[..., None].expand(-1, -1, mx.shape[-1]))
        beyond = (m5_index < 0)[..., None]
        m5 = torch.where(beyond, F.one_hot(torch.zeros_like(m5_index), mx.shape[-1]).to(m5.dtype), m5)
        h = cfg.combine_width // 2
        t = F.pad(x[:, cfg.mirna_slot :], (0, 0, cfg.mirna_positions + h, cfg.overhang + h))
        facing = t[:, net.target_index]  # (B, A', K, 5)
        a_ = m5[:, None, :, :, None].expand(-1, facing.shape[1], -1, -1, facing.shape[-1])
        b_ = facing[..., None, :].expand_as(a_)
        outer = self.cells(a_, b_)  # (B, A', K, 5, 5): miRNA letter x target letter
        cells = torch.einsum("bakij,ijc->bakc", outer, net.table.view(5, 5, -1).to(x.dtype))
        b, a = cells.shape[:2]
        diag = self.diag_relu(net.diagonal(cells.reshape(b, a, -1)))
        comb = self.combine_relu(net.combine(diag.transpose(1, 2))).transpose(1, 2)
        hidden = self.dense_relu(net.dense(self.anchor_max(comb, dim=1)))
        return net.out(hidden).squeeze(-1)


def deeplift_network(model) -> nn.Module:
    """The module-nonlinearity twin of ``model`` (a float64 copy; same logits to rounding)."""
    exact = copy.deepcopy(model).double().eval()
    if isinstance(exact, MiTAR):
        return DeepLiftMiTAR(exact).eval()
    if isinstance(exact, PairingModel):
        return DeepLiftPairing(exact).eval()
    raise InputError(f"DeepLIFT needs a miTAR or pairing network, not a {type(model).__name__}")


def _quiet_captum():
    import warnings

    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.filterwarnings("ignore", message=".*hooks.*")
    warnings.filterwarnings("ignore", message=".*non-linear.*")
    warnings.filterwarnings("ignore", message=".*did not already require gradients.*")
    return ctx


def reference_sets(pairs: PairSet, reference: str, n_references: int, seed: int) -> np.ndarray:
    """(R, n, L) reference token rows: the all-N row once, or ``n_references`` dinucleotide shuffles of each target
    (seeds ``seed``, ``seed + 1``...: the first is Integrated Gradients' shuffled reference)."""
    if reference == "N":
        return reference_tokens(pairs, "N")[None]
    if n_references < 1:
        raise InputError("--references must be at least 1")
    return np.stack([reference_tokens(pairs, reference, seed + k) for k in range(n_references)])


def deeplift_shap(model, pairs: PairSet, *, reference: str = "N", n_references: int = DEFAULT_REFERENCES,
                  seed: int = 0, batch_size: int = 64,
                  progress: Callable[[int], None] | None = None) -> Attribution:
    """DeepLIFT-SHAP (Captum) of every pair's logit against its references (:func:`reference_sets`): per real
    nucleotide in biological coordinates, and per pair ``logit``, ``reference_logit`` (mean over the references),
    ``attribution_sum`` and ``delta`` (sum - (logit - reference_logit); float64 rounding, see the module doc)."""
    from captum.attr import DeepLift, DeepLiftShap

    _register_rules()
    net = deeplift_network(model)
    refs = reference_sets(pairs, reference, n_references, seed)  # (R, n, L)
    # one reference: DeepLIFT itself (Captum's DeepLiftShap wants a distribution of at least two)
    explainer = DeepLiftShap(net) if len(refs) > 1 else DeepLift(net)
    attr = np.empty(pairs.tokens.shape, dtype=np.float64)
    ctx = _quiet_captum()
    try:
        with torch.enable_grad():
            if reference == "N":  # one reference for every pair: batches of pairs
                base = _onehot(refs[0, :1])
                for start in range(0, len(pairs), batch_size):
                    sl = slice(start, min(start + batch_size, len(pairs)))
                    tok = pairs.tokens[sl]
                    a = explainer.attribute(_onehot(tok), baselines=base,
                                            additional_forward_args=(torch.from_numpy(tok.astype(np.int64)),))
                    attr[sl] = a.sum(dim=-1).detach().numpy()
                    if progress is not None:
                        progress(sl.stop - sl.start)
            else:  # each pair its own references
                for i in range(len(pairs)):
                    tok = pairs.tokens[i : i + 1]
                    a = explainer.attribute(_onehot(tok), baselines=_onehot(refs[:, i]),
                                            additional_forward_args=(torch.from_numpy(tok.astype(np.int64)),))
                    attr[i] = a.sum(dim=-1).detach().numpy()[0]
                    if progress is not None:
                        progress(1)
    finally:
        ctx.__exit__(None, None, None)
    exact = net.net
    logit = _logits(exact, pairs.tokens)
    ref_logit = np.mean([_logits(exact, r) for r in refs], axis=0)
    total = attr.sum(axis=1)
    summary = pd.DataFrame({"pair": np.arange(len(pairs)), "logit": logit, "reference_logit": ref_logit,
                            "attribution_sum": total, "delta": total - (logit - ref_logit),
                            "steps": np.full(len(pairs), len(refs))})
    return Attribution(_position_table(pairs, attr), summary, reference, len(refs), method="deeplift-shap")


def captum_on_plain_model(model, pairs: PairSet) -> np.ndarray:
    """What Captum's DeepLift returns on the model as written (functional nonlinearities, products): per pair, the
    attributions' sum minus (logit - all-N logit). Not zero: the reason for :func:`deeplift_network`."""
    from captum.attr import DeepLift

    class Plain(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x, tokens):
            return self.m.forward_onehot(x, tokens)

    exact = copy.deepcopy(model).double().eval()
    tok = pairs.tokens
    ctx = _quiet_captum()
    try:
        with torch.enable_grad():
            a = DeepLift(Plain(exact)).attribute(_onehot(tok), baselines=_onehot(np.zeros_like(tok[:1])),
                                                 additional_forward_args=(torch.from_numpy(tok.astype(np.int64)),))
    finally:
        ctx.__exit__(None, None, None)
    total = a.sum(dim=(1, 2)).detach().numpy()
    return total - (_logits(exact, tok) - _logits(exact, np.zeros_like(tok)))
