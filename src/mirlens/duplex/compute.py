"""Per-pair duplex energy and pairing with a chosen backend, cached, in chunks, optionally over processes.

:func:`compute_duplexes` returns one row per input pair (same order) with

``energy``           kcal/mol of the selected duplex (0.0 when no duplex forms; ``n_hits`` is then 0)
``n_hits``           miranda: hits with energy < 0 (``-sc 0 -en 0``); other backends: 1, or 0 without a duplex
``score``            miranda: alignment score of the selected (lowest-energy) hit; NaN for other backends
``mirna_pairing``    one character per miRNA position L1..Ln (5'->3'): ``|`` Watson-Crick, ``:`` G:U, ``.`` none
``target_pairing``   the same per target position LT1..LTm (LT1 = the target's 3'-end nucleotide)
``mirna_partner``    comma-separated LT position paired with each of L1..Ln (0 = unpaired)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from mirlens.duplex.alignment import GU, WC, accepted_hits, align, hit_order, traceback
from mirlens.duplex.cache import DuplexCache, normalise, pair_key
from mirlens.duplex.energy import (
    BACKENDS,
    duplexfold,
    duplexfold_partners,
    fold_energies,
    miranda_construct,
    rnahybrid,
    rnahybrid_available,
    turner1999,
)
from mirlens.errors import InputError, MirlensError

RESULT_COLUMNS = ["energy", "n_hits", "score", "mirna_pairing", "target_pairing", "mirna_partner"]
DEFAULT_CHUNK = 2048
_SYMBOL = np.array([".", "|", ":"])
_PAIR_KIND = {("G", "C"): WC, ("C", "G"): WC, ("A", "U"): WC, ("U", "A"): WC, ("G", "U"): GU, ("U", "G"): GU}


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise InputError(f"unknown energy backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "rnahybrid" and not rnahybrid_available():
        raise MirlensError("--energy-backend rnahybrid needs the RNAhybrid program on PATH (Debian/Ubuntu: apt "
                           "install rnahybrid); use miranda (paper) or duplexfold instead")
    return backend


def _strings(kind: np.ndarray, lens: np.ndarray) -> list[str]:
    sym = _SYMBOL[kind]
    return ["".join(row[:n]) for row, n in zip(sym, lens)]


def _frame(energy, n_hits, score, mk, mlen, tk, tlen, mp) -> pd.DataFrame:
    return pd.DataFrame({
        "energy": np.asarray(energy, dtype=np.float64),
        "n_hits": np.asarray(n_hits, dtype=np.int64),
        "score": np.asarray(score, dtype=np.float64),
        "mirna_pairing": _strings(mk, mlen),
        "target_pairing": _strings(tk, tlen),
        "mirna_partner": [",".join(map(str, row[:n])) for row, n in zip(mp.tolist(), mlen)],
    })


def _miranda(mirnas: list[str], targets: list[str]) -> pd.DataFrame:
    batch = align(mirnas, targets)
    N, W = batch.score.shape
    kept = accepted_hits(batch)
    order = hit_order(batch)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(W)[None, :].repeat(N, axis=0), axis=1)
    pi, ci = np.nonzero(kept)
    constructs = [miranda_construct(mirnas[p], targets[p], int(batch.ext_start[p, c]), int(batch.ext_end[p, c]))
                  for p, c in zip(pi.tolist(), ci.tolist())]
    with turner1999() as md:
        e = fold_energies(constructs, md)
    good = e < 0
    n_hits = np.bincount(pi[good], minlength=N)
    # lowest energy per pair; ties: the hit kept first
    sel = np.lexsort((rank[pi, ci], e, pi))
    sel = sel[good[sel]]
    first = sel[np.r_[True, pi[sel][1:] != pi[sel][:-1]]] if len(sel) else sel
    energy = np.zeros(N)
    score = np.full(N, np.nan)
    has = pi[first]
    energy[has] = e[first]
    score[has] = batch.score[has, ci[first]]
    tb = traceback(batch, has, ci[first])
    Lmax, Wmax = tb.mirna_partner.shape[1], tb.target_partner.shape[1]
    mk = np.zeros((N, Lmax), dtype=np.int8)
    mp = np.zeros((N, Lmax), dtype=np.int16)
    tk = np.zeros((N, Wmax), dtype=np.int8)
    mk[has], mp[has], tk[has] = tb.mirna_kind, tb.mirna_partner, tb.target_kind
    return _frame(energy, n_hits, score, mk, batch.mirna_lens, tk, batch.target_lens, mp)


def _from_pairs(mirnas: list[str], targets: list[str], results: list[tuple[float, list[tuple[int, int]]]]):
    """Rows from (energy, [(miRNA index, target index), ...]) per pair (0-based, 5'->3')."""
    N = len(mirnas)
    mlen = np.array([len(s) for s in mirnas])
    tlen = np.array([len(s) for s in targets])
    mk = np.zeros((N, max(mlen.max(initial=1), 1)), dtype=np.int8)
    mp = np.zeros_like(mk, dtype=np.int16)
    tk = np.zeros((N, max(tlen.max(initial=1), 1)), dtype=np.int8)
    energy = np.zeros(N)
    for k, (e, pairs) in enumerate(results):
        energy[k] = min(e, 0.0) if pairs else 0.0
        for qi, ti in pairs:
            kind = _PAIR_KIND.get((mirnas[k][qi], targets[k][ti]), 0)
            lt = tlen[k] - ti
            mk[k, qi] = kind
            mp[k, qi] = lt if kind else 0
            tk[k, lt - 1] = kind
    n_hits = (energy < 0).astype(np.int64)
    return _frame(energy, n_hits, np.full(N, np.nan), mk, mlen, tk, tlen, mp)


def _duplexfold(mirnas: list[str], targets: list[str]) -> pd.DataFrame:
    results = []
    for q, t in zip(mirnas, targets):
        e, structure, i, j = duplexfold(q, t)
        results.append((e, duplexfold_partners(structure, i, j, len(q))))
    return _from_pairs(mirnas, targets, results)


def _rnahybrid(mirnas: list[str], targets: list[str]) -> pd.DataFrame:
    results: list = [None] * len(mirnas)
    groups: dict[str, list[int]] = {}
    for k, q in enumerate(mirnas):
        groups.setdefault(q, []).append(k)
    for q, rows in groups.items():  # one RNAhybrid process per miRNA
        for k, res in zip(rows, rnahybrid(q, [targets[k] for k in rows])):
            results[k] = res
    return _from_pairs(mirnas, targets, results)


_RUNNERS = {"miranda": _miranda, "duplexfold": _duplexfold, "rnahybrid": _rnahybrid}


def _run_chunk(backend: str, mirnas: list[str], targets: list[str]) -> pd.DataFrame:
    return _RUNNERS[backend](mirnas, targets)


def compute_duplexes(
    mirnas: Sequence[str],
    targets: Sequence[str],
    backend: str = "miranda",
    *,
    cache: DuplexCache | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Energy and pairing of every (miRNA, target) pair (both 5'->3'); see the module docstring for the columns.
    Each distinct pair is computed once; with a cache, only pairs not cached yet are computed (then stored)."""
    check_backend(backend)
    if len(mirnas) != len(targets):
        raise InputError(f"{len(mirnas)} miRNAs but {len(targets)} targets")
    q = [normalise(s) for s in mirnas]
    t = [normalise(s) for s in targets]
    for name, seqs in (("miRNA", q), ("target", t)):
        for k, s in enumerate(seqs):
            if not s:
                raise InputError(f"empty {name} sequence", record=k + 1)
            bad = set(s) - set("ACGUN")
            if bad:
                raise InputError(f"{name} has letters {''.join(sorted(bad))!r} (A C G U T N expected)", record=k + 1)
    keys = [pair_key(a, b) for a, b in zip(q, t)]
    uniq = dict.fromkeys(keys)
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    known = cache.lookup(backend, list(uniq)) if cache is not None else pd.DataFrame()
    todo = [k for k in uniq if k not in known.index]
    if progress is not None and len(known):
        progress(sum(1 for k in keys if k in known.index))
    frames = [known[RESULT_COLUMNS]] if len(known) else []
    chunks = [todo[s : s + chunk_size] for s in range(0, len(todo), max(chunk_size, 1))]
    args = [(backend, [q[first[k]] for k in c], [t[first[k]] for k in c]) for c in chunks]
    count = {k: 0 for k in todo}
    for k in keys:
        if k in count:
            count[k] += 1

    def done(c: list[str], df: pd.DataFrame) -> None:
        df.index = pd.Index(c, name="key")
        if cache is not None:
            cache.store(backend, df.reset_index())
        frames.append(df)
        if progress is not None:
            progress(sum(count[k] for k in c))

    if jobs > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for c, df in zip(chunks, pool.map(_run_chunk, *zip(*args))):
                done(c, df)
    else:
        for c, a in zip(chunks, args):
            done(c, _run_chunk(*a))
    if not frames:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    table = pd.concat(frames)
    out = table.loc[keys, RESULT_COLUMNS].reset_index(drop=True)
    out["n_hits"] = out["n_hits"].astype(np.int64)
    return out
