"""miRanda-1.9-style seed-weighted local alignment, vectorised over a batch of (miRNA, target) pairs with numpy.

Written from the published description of miRanda 1.9 (not from its code):

* the miRNA written 3'->5' is aligned locally against the target 5'->3' with three states (pair, gap in the target
  = miRNA bulge, gap in the miRNA = target bulge), scoring complementarity: G:C +6, A:U +4, G:U 0, anything else
  (and N) -3; a gap of k nt costs -8 - 2(k-1).
* every score of a miRNA position 2..8 (counted from its 5' end: the match score and a gap opened or extended in
  that row) is multiplied by 4.
* hits: for every target column the best cell of that column (first row, then pair / miRNA bulge / target bulge) is
  a candidate; candidates are taken by decreasing score (ties: lower end row, then the target's 5'-most column)
  and a candidate is kept when, for every hit kept before, (a) its end column is more than ``n`` (the miRNA
  length) columns away and (b) the two aligned stretches share at most 5 target columns -- extended windows may
  overlap. Both rules were derived from miRanda 1.9's output on the 2,000 reference pairs (not from its code):
  (a) reproduces the end column of both hits wherever two are listed and explains why a 40-nt target never holds
  more than two; (b) holds for all 156 second hits whose position is known (they share 0-5 columns) and removes
  the 13 second hits miRanda does not list. The caller keeps the hits whose duplex energy is strictly < 0 and
  selects the lowest-energy one (``-sc 0 -en 0``, as the paper); energy ties go to the hit kept first.
* traceback prefers a pair over a target bulge over a miRNA bulge, closes a gap as early as possible and stops
  where the running score returns to 0.

Rows ``i = 1..n`` are miRNA positions ``L(n-i+1)`` (3'->5'); columns ``j = 1..m`` are target nucleotides 5'->3'.
The whole DP is a loop over miRNA rows only: the target-bulge state of a row is a running maximum along the row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mirlens.errors import InputError

NEG = -(10**6)
"""Score of an impossible cell (far below any real score, far from int32 overflow)."""

_CODE = np.full(256, 4, dtype=np.int8)  # anything else (N) -> 4
for _i, _c in enumerate("ACGU"):
    _CODE[ord(_c)] = _i
    _CODE[ord(_c.lower())] = _i
_CODE[ord("T")] = _CODE[ord("t")] = 3
PAD = 5
WC, GU = 1, 2
"""Pair kinds: Watson-Crick and G:U wobble (both count as paired)."""

STATE_M, STATE_X, STATE_Y = 0, 1, 2
"""Alignment states: pair (M), miRNA nt opposite a gap (X, miRNA bulge), target nt opposite a gap (Y)."""


@dataclass(frozen=True)
class Scoring:
    """Scores of the seed-weighted alignment (defaults: miRanda 1.9)."""

    gc: int = 6
    au: int = 4
    gu: int = 0
    mismatch: int = -3
    gap_open: int = -8
    gap_extend: int = -2
    seed_start: int = 2
    seed_end: int = 8
    seed_scale: int = 4

    def table(self) -> np.ndarray:
        """(6, 6) score of miRNA code x target code (A C G U N PAD)."""
        t = np.full((6, 6), self.mismatch, dtype=np.int32)
        a, c, g, u = 0, 1, 2, 3
        t[g, c] = t[c, g] = self.gc
        t[a, u] = t[u, a] = self.au
        t[g, u] = t[u, g] = self.gu
        t[PAD, :] = t[:, PAD] = self.mismatch
        return t


MIRANDA_19 = Scoring()

_KIND = np.zeros((6, 6), dtype=np.int8)
_KIND[2, 1] = _KIND[1, 2] = _KIND[0, 3] = _KIND[3, 0] = WC
_KIND[2, 3] = _KIND[3, 2] = GU


def encode(seqs: list[str], width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Codes (A C G U N -> 0..4, T read as U, padding 5) as an (n, width) int8 matrix, and the lengths."""
    lens = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    if len(seqs) and lens.min() == 0:
        raise InputError(f"empty sequence at row {int(np.argmin(lens))}")
    width = int(lens.max()) if width is None and len(seqs) else (width or 0)
    out = np.full((len(seqs), width), PAD, dtype=np.int8)
    for k, s in enumerate(seqs):
        out[k, : len(s)] = _CODE[np.frombuffer(s.encode("ascii", "replace"), dtype=np.uint8)]
    return out, lens


@dataclass
class AlignmentBatch:
    """DP matrices of a batch and every candidate hit (one per target column, best cell of the column).

    Candidate arrays are (N, W) with column ``c`` = target column ``c + 1``: ``score`` (<= 0: no candidate),
    ``end_i`` / ``end_state`` (row and state of the best cell), ``start_i`` / ``start_j`` (first pair of the local
    alignment ending there), ``ext_start`` / ``ext_end`` (the extended target window, 1-based, may leave 1..m).
    """

    q: np.ndarray  # (N, L) miRNA codes, 3'->5'
    t: np.ndarray  # (N, W) target codes, 5'->3'
    mirna_lens: np.ndarray
    target_lens: np.ndarray
    factor: np.ndarray  # (N, L + 1) seed factor per row
    M: np.ndarray  # (N, L + 1, W + 1)
    X: np.ndarray
    Y: np.ndarray
    S: np.ndarray  # (N, L + 1, W + 1) pair scores (row/col 0 unused)
    score: np.ndarray
    end_i: np.ndarray
    end_state: np.ndarray
    start_i: np.ndarray
    start_j: np.ndarray
    ext_start: np.ndarray
    ext_end: np.ndarray
    scoring: Scoring

    def __len__(self) -> int:
        return len(self.q)


def align(mirnas: list[str], targets: list[str], scoring: Scoring = MIRANDA_19) -> AlignmentBatch:
    """Fill the three-state DP for every pair (miRNAs and targets 5'->3') and collect the column candidates."""
    if len(mirnas) != len(targets):
        raise InputError(f"{len(mirnas)} miRNAs but {len(targets)} targets")
    mir, n = encode(list(mirnas))
    t, m = encode(list(targets))
    N, L = mir.shape
    W = t.shape[1]
    # query rows 3'->5': row i (1-based) holds miRNA position n - i + 1
    rows = np.arange(1, L + 1)
    src = n[:, None] - rows[None, :]  # 0-based index into the 5'->3' miRNA
    q = np.where(src >= 0, np.take_along_axis(mir, np.clip(src, 0, max(L - 1, 0)), axis=1), PAD).astype(np.int8)
    pos = n[:, None] - rows[None, :] + 1
    seed = (pos >= scoring.seed_start) & (pos <= scoring.seed_end)
    factor = np.ones((N, L + 1), dtype=np.int32)
    factor[:, 1:] = np.where(seed, scoring.seed_scale, 1)
    S = np.zeros((N, L + 1, W + 1), dtype=np.int32)
    S[:, 1:, 1:] = scoring.table()[q[:, :, None], t[:, None, :]] * factor[:, 1:, None]
    valid_row = rows[None, :] <= n[:, None]  # (N, L)
    valid_col = np.arange(1, W + 1)[None, :] <= m[:, None]  # (N, W)

    shape = (N, L + 1, W + 1)
    M = np.full(shape, NEG, dtype=np.int32)
    X = np.full(shape, NEG, dtype=np.int32)
    Y = np.full(shape, NEG, dtype=np.int32)
    # start cell of the path ending in each state, encoded i * (W + 1) + j. Padding rows / columns are filled
    # too: they come after the real ones, so they never feed a real cell, and are masked below.
    SM = np.zeros(shape, dtype=np.int32)
    SX = np.zeros(shape, dtype=np.int32)
    SY = np.zeros(shape, dtype=np.int32)
    cols = np.arange(1, W + 1, dtype=np.int32)
    go, ge = scoring.gap_open, scoring.gap_extend
    for i in range(1, L + 1):
        f = factor[:, i : i + 1]
        mp, yp, xp = M[:, i - 1, :-1], Y[:, i - 1, :-1], X[:, i - 1, :-1]
        best = np.maximum(np.maximum(mp, yp), xp)
        M[:, i, 1:] = S[:, i, 1:] + np.maximum(best, 0)
        src = np.where(mp == best, SM[:, i - 1, :-1], np.where(yp == best, SY[:, i - 1, :-1], SX[:, i - 1, :-1]))
        SM[:, i, 1:] = np.where(best <= 0, i * (W + 1) + cols, src)
        # miRNA bulge: the miRNA nt of row i opposite a gap (a tie prefers opening from a pair)
        xo = M[:, i - 1, 1:] + go * f
        xe = X[:, i - 1, 1:] + ge * f
        np.maximum(xo, xe, out=X[:, i, 1:])
        SX[:, i, 1:] = np.where(xo >= xe, SM[:, i - 1, 1:], SX[:, i - 1, 1:])
        # target bulge: Y[j] = max_{k<j} M[k] + go + ge (j-1-k), a running max of M[k] - ge k (latest argmax)
        v = M[:, i, 1:] - (ge * f) * cols
        run = np.maximum.accumulate(v, axis=1)
        last = np.maximum.accumulate(np.where(v == run, cols, 0), axis=1)
        Y[:, i, 2:] = run[:, :-1] + go * f + (ge * f) * cols[:-1]
        SY[:, i, 2:] = np.take_along_axis(SM[:, i, :], last[:, :-1], axis=1)

    # candidates: per column the best cell over rows, in (row, state M/X/Y) order
    m_, x_, y_ = M[:, 1:, 1:], X[:, 1:, 1:], Y[:, 1:, 1:]
    cell = np.maximum(np.maximum(m_, x_), y_)
    state = np.where(m_ == cell, STATE_M, np.where(x_ == cell, STATE_X, STATE_Y)).astype(np.int8)
    valid = valid_row[:, :, None] & valid_col[:, None, :]
    cell = np.where(valid, cell, NEG)
    end_i = np.ascontiguousarray(cell.transpose(0, 2, 1)).argmax(axis=2) + 1  # (N, W), first best row
    score = np.take_along_axis(cell, end_i[:, None, :] - 1, axis=1)[:, 0, :]
    end_state = np.take_along_axis(state, end_i[:, None, :] - 1, axis=1)[:, 0, :]
    jj = np.broadcast_to(np.arange(1, W + 1), (N, W))
    ar = np.arange(N)[:, None]
    starts = np.where(end_state == STATE_M, SM[ar, end_i, jj],
                      np.where(end_state == STATE_X, SX[ar, end_i, jj], SY[ar, end_i, jj]))
    start_i, start_j = starts // (W + 1), starts % (W + 1)
    score = np.where(valid_col & (score > 0), score, 0)
    ext_start = start_j - (start_i - 1)
    ext_end = jj + (n[:, None] - end_i)
    return AlignmentBatch(q, t, n, m, factor, M, X, Y, S, score, end_i, end_state, start_i, start_j,
                          ext_start, ext_end, scoring)


MAX_SHARED_COLUMNS = 5
"""Two hits' aligned stretches (first to last aligned target column) may share at most this many columns."""


def accepted_hits(batch: AlignmentBatch) -> np.ndarray:
    """(N, W) bool: the candidates kept as hits. By decreasing score (:func:`hit_order`), a candidate is kept when,
    for every hit kept before, its end column is more than ``n`` columns away (``n`` = the pair's miRNA length) and
    the two aligned stretches share at most :data:`MAX_SHARED_COLUMNS` target columns. Returned in column order."""
    order = hit_order(batch)
    N, W = batch.score.shape
    rows = np.arange(N)
    radius = batch.mirna_lens.astype(np.int64)[:, None]
    kept = np.zeros((N, W), dtype=bool)
    far = 10**6
    ends = np.full((N, W), -far, dtype=np.int64)  # end / start columns (1-based) of the kept hits; empty slots
    starts = np.full((N, W), far, dtype=np.int64)  # are far away and share nothing
    count = np.zeros(N, dtype=np.int64)
    ranked = np.take_along_axis(batch.score, order, axis=1)
    for r in range(W):
        live = ranked[:, r] > 0
        if not live.any():
            break
        c = order[:, r]
        e = (c + 1).astype(np.int64)[:, None]
        s = batch.start_j[rows, c].astype(np.int64)[:, None]
        apart = (np.abs(e - ends) > radius).all(axis=1)
        shared = (np.minimum(e, ends) - np.maximum(s, starts) + 1 <= MAX_SHARED_COLUMNS).all(axis=1)
        take = live & apart & shared
        if take.any():
            t = rows[take]
            kept[t, c[take]] = True
            ends[t, count[t]] = e[take, 0]
            starts[t, count[t]] = s[take, 0]
            count[t] += 1
    return kept


def hit_order(batch: AlignmentBatch) -> np.ndarray:
    """(N, W) column indices sorted by decreasing score; ties go to the candidate whose best cell lies in the lower
    row (nearer the miRNA's 3' end), then to the target's 5'-most column -- the order of a row-by-row scan of the
    DP matrix for its maximum. (On the 2,000 reference pairs the best-score hit then has miRanda's pairing for all
    but 2, both ties between two different alignments that miRanda settles the other way.)"""
    N, W = batch.score.shape
    cols = np.broadcast_to(np.arange(W), (N, W))
    return np.lexsort((cols, batch.end_i, -batch.score.astype(np.int64)), axis=1)


@dataclass
class Traceback:
    """Pairs of the traced hits: per miRNA position (index p-1 for Lp) the partner target position LTq (0 = none)
    and the kind (0 none, 1 Watson-Crick, 2 G:U); per target position (index q-1 for LTq) the partner Lp."""

    mirna_partner: np.ndarray  # (K, Lmax) int16
    mirna_kind: np.ndarray  # (K, Lmax) int8
    target_partner: np.ndarray  # (K, Wmax) int16
    target_kind: np.ndarray  # (K, Wmax) int8


def traceback(batch: AlignmentBatch, pair: np.ndarray, column: np.ndarray) -> Traceback:
    """Trace the candidate hits ``(pair[k], column[k])`` (0-based column) all at once, in lockstep."""
    pair = np.asarray(pair, dtype=np.int64)
    column = np.asarray(column, dtype=np.int64)
    K = len(pair)
    L = batch.q.shape[1]
    W = batch.t.shape[1]
    n = batch.mirna_lens[pair]
    m = batch.target_lens[pair]
    i = batch.end_i[pair, column].astype(np.int64)
    j = column + 1
    st = batch.end_state[pair, column].astype(np.int64)
    active = batch.score[pair, column] > 0
    q_partner = np.zeros((K, L + 1), dtype=np.int64)  # query row -> target column
    q_kind = np.zeros((K, L + 1), dtype=np.int8)
    M, X, Y, S, f = batch.M, batch.X, batch.Y, batch.S, batch.factor
    go, ge = batch.scoring.gap_open, batch.scoring.gap_extend
    ks = np.arange(K)
    for _ in range(L + W + 2):
        if not active.any():
            break
        a = ks[active]
        p, ii, jj, ss = pair[a], i[a], j[a], st[a]
        is_m, is_x = ss == STATE_M, ss == STATE_X
        # pair cells
        am = a[is_m]
        if len(am):
            pm, im, jm = p[is_m], ii[is_m], jj[is_m]
            kind = _KIND[batch.q[pm, im - 1], batch.t[pm, jm - 1]]
            q_partner[am, im] = np.where(kind > 0, jm, 0)
            q_kind[am, im] = kind
            prev = M[pm, im, jm] - S[pm, im, jm]
            stop = prev <= 0
            nxt = np.where(M[pm, im - 1, jm - 1] == prev, STATE_M,
                           np.where(Y[pm, im - 1, jm - 1] == prev, STATE_Y, STATE_X))
            active[am[stop]] = False
            st[am] = nxt
            i[am] -= 1
            j[am] -= 1
        ax = a[is_x]
        if len(ax):
            px, ix, jx = p[is_x], ii[is_x], jj[is_x]
            opened = X[px, ix, jx] == M[px, ix - 1, jx] + go * f[px, ix]
            st[ax] = np.where(opened, STATE_M, STATE_X)
            i[ax] -= 1
        ay = a[~is_m & ~is_x]
        if len(ay):
            py, iy, jy = p[~is_m & ~is_x], ii[~is_m & ~is_x], jj[~is_m & ~is_x]
            opened = Y[py, iy, jy] == M[py, iy, jy - 1] + go * f[py, iy]
            st[ay] = np.where(opened, STATE_M, STATE_Y)
            j[ay] -= 1
        active &= (i > 0) & (j > 0)
    # rows -> miRNA positions, columns -> LT positions
    Lmax = int(batch.mirna_lens.max()) if len(batch) else 0
    Wmax = int(batch.target_lens.max()) if len(batch) else 0
    mp = np.zeros((K, max(Lmax, 1)), dtype=np.int16)
    mk = np.zeros((K, max(Lmax, 1)), dtype=np.int8)
    tp = np.zeros((K, max(Wmax, 1)), dtype=np.int16)
    tk = np.zeros((K, max(Wmax, 1)), dtype=np.int8)
    rr, ri = np.nonzero(q_partner)
    if len(rr):
        lpos = n[rr] - ri + 1  # Lp
        tcol = q_partner[rr, ri]
        ltpos = m[rr] - tcol + 1  # LTq
        mp[rr, lpos - 1] = ltpos
        mk[rr, lpos - 1] = q_kind[rr, ri]
        tp[rr, ltpos - 1] = lpos
        tk[rr, ltpos - 1] = q_kind[rr, ri]
    return Traceback(mp, mk, tp, tk)
