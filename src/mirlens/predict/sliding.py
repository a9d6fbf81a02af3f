"""Scoring many overlapping windows of long targets against one miRNA without recomputing what they share.

The model input is the miRNA part (tensor positions ``0..M-1``, the same for every window of a scan) followed by
the window (``M..M+W-1``). With conv width ``K`` and pooling ``P``, the pooled time steps fall in three kinds:

* **miRNA steps** (every conv position they pool reads only miRNA tokens): their pooled features, input
  projections and the forward direction's LSTM states are computed once per miRNA;
* **target steps** (every conv position they pool reads only window tokens): the pooled feature of step ``q``
  of the window starting at UTR position ``s`` is the pool of the UTR's own conv at ``s + P q - M``, so the
  conv, pooling and input projection ``x W + b`` are computed once per UTR position and gathered per window;
* **junction steps** (conv positions reading both): computed per window (a handful of steps).

Per window only the junction steps, the forward recurrence after the miRNA steps, the whole backward recurrence
(small ``h U`` products) and the dense head remain. The result equals scoring each window's token row with
:meth:`MiTAR.fast_logits` to float32 rounding (tested to 1e-5). Which way is cheaper depends on how densely the
windows cover the target: :func:`sliding_is_cheaper` decides from the operation counts.
"""

from __future__ import annotations

import numpy as np
import torch

from mirlens.model.architecture import MiTAR, MiTARConfig, StepKinds
from mirlens.predict.threads import map_batches

MEMO_MAX_ROWS = 4096
"""Largest table of junction-step projections built per miRNA (miTAR: 5 + 125 + 3,125 rows)."""
MAX_UTR_NT_PER_GROUP = 65_536
"""UTR positions whose shared projections are held at once (1 KiB each for miTAR)."""
CONV_ROWS_PER_GEMM = 8192


def _macs(cfg: MiTARConfig) -> tuple[float, float, float]:
    """Multiply-accumulates of one pooled step's conv + projection, one recurrent step, and the head."""
    conv = cfg.pool * cfg.conv_width * cfg.embed_dim * cfg.conv_filters
    proj = cfg.conv_filters * 8 * cfg.lstm_units
    rec = cfg.lstm_units * 4 * cfg.lstm_units
    head = 2 * cfg.lstm_units * cfg.dense_units + cfg.dense_units
    return conv + proj, rec, head


def sliding_is_cheaper(cfg: MiTARConfig, n_windows: int, n_nt: int) -> bool:
    """Whether scoring ``n_windows`` windows over ``n_nt`` target positions costs fewer operations with shared
    target steps than window by window."""
    step_cost, rec, head = _macs(cfg)
    kinds = StepKinds.of(cfg)
    full = n_windows * (cfg.steps * (step_cost + 2 * rec) + head)
    per_nt = cfg.conv_width * cfg.embed_dim * cfg.conv_filters + cfg.conv_filters * 8 * cfg.lstm_units
    per_window = kinds.n_junction * step_cost + (2 * cfg.steps - kinds.n_mirna) * rec + head
    return n_nt * per_nt + n_windows * per_window < full


class SlidingScorer:
    """Window probabilities of one miRNA (its model-input prefix of ``mirna_slot`` tokens) on long targets.

    Besides the per-UTR sharing, the first junction steps read only a few window nucleotides (miTAR: 1, 3 and 5),
    so their projections are tabulated once per miRNA for every possible token combination (at most
    ``MEMO_MAX_ROWS`` rows per step) and looked up per window."""

    def __init__(self, model: MiTAR, prefix: np.ndarray):
        cfg = model.config
        if len(prefix) != cfg.mirna_slot:
            raise ValueError(f"miRNA prefix must have {cfg.mirna_slot} tokens, got {len(prefix)}")
        self.model = model.eval()
        self.cfg = cfg
        self.kinds = kinds = StepKinds.of(cfg)
        self.prefix = torch.from_numpy(np.asarray(prefix, dtype=np.int64))
        u4 = 4 * cfg.lstm_units
        self.u4 = u4
        with torch.inference_mode():
            n = kinds.n_mirna
            self.mirna_proj_b = torch.empty(0, u4)
            self.forward_state = None
            if n:
                toks = self.prefix[: cfg.pool * n + cfg.conv_width - 1]
                pooled = self._pool(self._conv(toks[:, None]).view(n, cfg.pool, 1, -1))[:, 0]  # (n, F)
                proj_f, self.mirna_proj_b = self._project(pooled)
                h, c = model.lstm.fast_forward_state(proj_f[:, None])
                self.forward_state = (h[0], c[0])
            self.tables = self._junction_tables()
        self.q_tab_end = kinds.n_mirna + len(self.tables)  # junction steps before this one are tabulated
        self.r_tab = [self.window_tokens_read(q) for q in range(kinds.n_mirna, self.q_tab_end)]

    def _project(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.lstm.fast_projections(pooled)

    def window_tokens_read(self, q: int) -> int:
        """How many window nucleotides junction step ``q`` reads."""
        cfg = self.cfg
        return cfg.pool * q + cfg.pool + cfg.conv_width - 1 - cfg.mirna_slot

    def _junction_tables(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(forward, backward) projection tables of the leading junction steps, indexed by the base-``vocab``
        code of the window nucleotides the step reads (first nucleotide = least significant digit)."""
        cfg, kinds = self.cfg, self.kinds
        v = cfg.vocab
        tables = []
        for q in range(kinds.n_mirna, kinds.first_target):
            r = self.window_tokens_read(q)
            if v**r > MEMO_MAX_ROWS:
                break
            digits = torch.stack([(torch.arange(v**r) // v**j) % v for j in range(r)])  # (r, v^r)
            head = self.prefix[cfg.pool * q : cfg.mirna_slot, None].expand(-1, v**r)
            toks = torch.cat((head, digits), dim=0)  # (P + K - 1, v^r) time-major
            pooled = self._pool(self._conv(toks).view(1, cfg.pool, v**r, -1))[0]
            tables.append(self._project(pooled))
        return tables

    def _conv(self, tokens_tm: torch.Tensor) -> torch.Tensor:
        """Raw conv output (L - K + 1, B, F) of time-major tokens (L, B)."""
        return self.model.fast_conv(tokens_tm.unfold(0, self.cfg.conv_width, 1))

    @staticmethod
    def _pool(conv: torch.Tensor) -> torch.Tensor:
        """(S, P, B, F) raw conv -> relu(max over P): (S, B, F)."""
        return conv.amax(dim=1).clamp_min_(0.0)

    def _utr_projections(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward and backward folded input projections (N, 4u) of the pooled feature starting at every position
        of a token stream (positions whose conv would run past the end get zeros; no window uses them)."""
        cfg = self.cfg
        n = len(tokens)
        usable = n - cfg.conv_width + 1 - (cfg.pool - 1)  # pooled features fully inside the stream
        out = (torch.empty(n, self.u4), torch.empty(n, self.u4))
        for o in out:
            o[max(usable, 0) :] = 0.0

        def chunk(p0: int) -> None:
            p1 = min(p0 + CONV_ROWS_PER_GEMM, usable)
            with torch.inference_mode():
                conv = self._conv(tokens[p0 : p1 + cfg.pool - 1 + cfg.conv_width - 1, None])[:, 0]  # (p1-p0+P-1, F)
                pooled = conv.unfold(0, cfg.pool, 1).amax(dim=-1).clamp_min_(0.0)  # (p1 - p0, F)
                self.model.lstm.fast_projections(pooled, out=(out[0][p0:p1], out[1][p0:p1]))

        for _ in map_batches(chunk, range(0, max(usable, 0), CONV_ROWS_PER_GEMM)):
            pass
        return out

    @torch.inference_mode()
    def score(self, targets: list[np.ndarray], starts: list[np.ndarray], *, batch_size: int = 1024,
              logits: bool = False) -> np.ndarray:
        """Probabilities (or logits) of the windows ``starts[i]`` (0-based) of every target token array
        ``targets[i]``, concatenated in input order; a target shorter than the window is padded with N, as the
        scan does."""
        w = self.cfg.target_slot
        out = []
        group, group_starts, size = [], [], 0
        for toks, st in zip(targets, starts):
            if group and size + max(len(toks), w) > MAX_UTR_NT_PER_GROUP:
                out.append(self._score_group(group, group_starts, batch_size, logits))
                group, group_starts, size = [], [], 0
            group.append(toks)
            group_starts.append(st)
            size += max(len(toks), w)
        if group:
            out.append(self._score_group(group, group_starts, batch_size, logits))
        return np.concatenate(out) if out else np.empty(0, dtype=np.float32)

    def _score_group(self, targets: list[np.ndarray], starts: list[np.ndarray], batch_size: int,
                     logits: bool) -> np.ndarray:
        """Scores of the windows of a group of targets laid end to end in one token stream."""
        w = self.cfg.target_slot
        stream, offsets = [], []
        pos = 0
        for toks, st in zip(targets, starts):
            st = np.asarray(st, dtype=np.int64)
            if len(st) and (st.min() < 0 or st.max() + w > max(len(toks), w)):
                raise ValueError("window starts outside the target")
            padded = np.zeros(max(len(toks), w), dtype=np.int64)
            padded[: len(toks)] = toks
            stream.append(padded)
            offsets.append(st + pos)
            pos += len(padded)
        stream_t = torch.from_numpy(np.concatenate(stream))
        global_starts = torch.from_numpy(np.concatenate(offsets))
        utr_f, utr_b = self._utr_projections(stream_t)
        results = np.empty(len(global_starts), dtype=np.float32)

        def run(b0: int) -> None:
            with torch.inference_mode():
                results[b0 : b0 + batch_size] = self._score_batch(
                    global_starts[b0 : b0 + batch_size], stream_t, (utr_f, utr_b), logits)

        for _ in map_batches(run, range(0, len(global_starts), batch_size)):
            pass
        return results

    def _score_batch(self, g: torch.Tensor, stream_t: torch.Tensor, utr: tuple[torch.Tensor, torch.Tensor],
                     logits: bool) -> np.ndarray:
        """Scores of the windows starting at stream positions ``g``."""
        cfg, kinds = self.cfg, self.kinds
        m, p, k = cfg.mirna_slot, cfg.pool, cfg.conv_width
        t_steps, u4 = kinds.steps, self.u4
        q_tab_end, r_tab = self.q_tab_end, self.r_tab
        n_comp = kinds.first_target - q_tab_end
        b = len(g)
        zf = torch.empty(t_steps, b, u4)  # forward inputs of steps 0..n_mirna-1 are not read
        zb = torch.empty(t_steps, b, u4)
        zb[: kinds.n_mirna] = self.mirna_proj_b[:, None]
        if r_tab:  # tabulated junction steps, indexed by the window's first nucleotides
            digits = stream_t[g[:, None] + torch.arange(r_tab[-1])] * cfg.vocab ** torch.arange(r_tab[-1])
            codes = digits.cumsum(dim=1)
            for i, q in enumerate(range(kinds.n_mirna, q_tab_end)):
                code = codes[:, r_tab[i] - 1]
                torch.index_select(self.tables[i][0], 0, code, out=zf[q])
                torch.index_select(self.tables[i][1], 0, code, out=zb[q])
        if n_comp:  # computed junction steps: the miRNA tail, then the window's first nucleotides
            n_win_tok = p * kinds.first_target + k - 1 - m
            win_tok = stream_t[g[:, None] + torch.arange(n_win_tok)]  # (B, n_win_tok)
            jt = torch.cat((self.prefix[p * q_tab_end : m].expand(b, -1), win_tok), dim=1).t()  # (L_j, B)
            conv = self._conv(jt)[: p * n_comp]
            pooled = self._pool(conv.view(n_comp, p, b, -1)).view(n_comp * b, -1)
            self.model.lstm.fast_projections(pooled, out=(zf[q_tab_end : kinds.first_target].view(-1, u4),
                                                          zb[q_tab_end : kinds.first_target].view(-1, u4)))
        if kinds.n_target:  # target steps: gathered from the UTR's own projections
            idx = (g[None, :] + (torch.arange(kinds.first_target, t_steps) * p - m)[:, None]).reshape(-1)
            torch.index_select(utr[0], 0, idx, out=zf[kinds.first_target :].view(-1, u4))
            torch.index_select(utr[1], 0, idx, out=zb[kinds.first_target :].view(-1, u4))
        h = self.model.lstm.fast_recur(zf, zb, forward_start=kinds.n_mirna, forward_state=self.forward_state)
        out = self.model.head(torch.cat((h[0], h[1]), dim=-1))
        return (out if logits else torch.sigmoid(out)).numpy()
