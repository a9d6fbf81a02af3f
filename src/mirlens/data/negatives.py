"""Negative pairs that take away the miRNA-identity shortcut: every kind gives each positive exactly one negative
*with the positive's own miRNA*, so every miRNA is as frequent among negatives as among positives and its identity
says nothing about the label (miRBench's cure for the "miRNA frequency class bias" of miRAW and DeepMirTar).

==============  ================================================================================================
kind            the negative of a positive (miRNA m, target t)
==============  ================================================================================================
``mirna-swap``  m with the target of another positive whose miRNA is of another seed family (nt 2-8, or the
                data set's family column) and that holds no canonical site of m (as miRBench builds them)
``shuffle``     m with a dinucleotide-preserving (k = 2) shuffle of t that holds no canonical site of m
``utr``         m with a window of a real 3'UTR (the user's UTR file), as long as t, that holds no canonical
                site of m and no N
==============  ================================================================================================

"No canonical site" means no Watson-Crick match to miRNA nucleotides 2-7 or 3-8 (so no 6mer, offset-6mer, 7mer or
8mer). Everything is drawn from one seeded :class:`numpy.random.Generator` (``seed``): same input, same seed,
same negatives. A positive for which no negative can be found (a tiny data set, a UTR pool without site-free
windows) gets none; the counts are in ``attrs["negatives"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mirlens.data.pairs import concat_pairs, make_pairs
from mirlens.data.shuffle import klet_shuffle
from mirlens.errors import MirlensError

KINDS: tuple[str, ...] = ("mirna-swap", "shuffle", "utr")
MAX_TRIES = 64
_COMPLEMENT = str.maketrans("ACGU", "UGCA")


def reverse_complement(seq: str) -> str:
    return seq.translate(_COMPLEMENT)[::-1]


def seed_matches(mirna: str) -> tuple[str, str]:
    """The target 6-mers (5'->3') that pair with miRNA nucleotides 2-7 and 3-8."""
    return reverse_complement(mirna[1:7]), reverse_complement(mirna[2:8])


def has_canonical_site(mirna: str, target: str) -> bool:
    """Whether ``target`` holds a Watson-Crick match to nucleotides 2-7 or 3-8 of ``mirna`` (both 5'->3')."""
    a, b = seed_matches(mirna)
    return a in target or b in target


def seed_family(mirna: str) -> str:
    """nt 2-8 (the seed family key TargetScan uses)."""
    return mirna[1:8]


def parse_kinds(text: str | Sequence[str]) -> list[str]:
    """``"mirna-swap,shuffle"`` -> ``["mirna-swap", "shuffle"]`` (checked, order kept, no repeats)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    kinds = []
    for item in (s.strip() for s in items):
        if not item:
            continue
        if item not in KINDS:
            raise MirlensError(f"unknown kind of negatives {item!r}; choose from {', '.join(KINDS)}")
        if item not in kinds:
            kinds.append(item)
    return kinds


def _negatives(pos: pd.DataFrame, rows: list[int], targets: list[str], target_ids: list[str], kind: str) -> pd.DataFrame:
    sub = pos.iloc[rows]
    return make_pairs(mirna_id=sub["mirna_id"].tolist(), mirna=sub["mirna"].tolist(), target_id=target_ids,
                      target=targets, label=[0] * len(rows), source=f"negatives:{kind}",
                      record=np.arange(1, len(rows) + 1))


def mirna_swap(pos: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One ``mirna-swap`` negative per positive of ``pos`` (see the module doc)."""
    mirnas, targets, ids = pos["mirna"].tolist(), pos["target"].tolist(), pos["target_id"].tolist()
    family = (pos["mirna_family"].tolist() if "mirna_family" in pos else [seed_family(m) for m in mirnas])
    n = len(pos)
    rows, out_t, out_id = [], [], []
    for i in range(n):
        a, b = seed_matches(mirnas[i])
        for j in rng.integers(n, size=MAX_TRIES) if n > 1 else ():
            t = targets[j]
            if family[j] != family[i] and a not in t and b not in t:
                rows.append(i)
                out_t.append(t)
                out_id.append(ids[j])
                break
    return _negatives(pos, rows, out_t, out_id, "mirna-swap")


def shuffled(pos: pd.DataFrame, rng: np.random.Generator, k: int = 2) -> pd.DataFrame:
    """One ``shuffle`` negative per positive of ``pos``: a k-let shuffle of its target without a canonical site."""
    rows, out_t, out_id = [], [], []
    for i, (m, t, tid) in enumerate(zip(pos["mirna"], pos["target"], pos["target_id"])):
        a, b = seed_matches(m)
        for _ in range(MAX_TRIES):
            s = klet_shuffle(t, k, rng)
            if a not in s and b not in s:
                rows.append(i)
                out_t.append(s)
                out_id.append(f"{tid}~shuffle{k}")
                break
    return _negatives(pos, rows, out_t, out_id, "shuffle")


class UTRPool:
    """Random windows of a UTR collection: a UTR drawn with probability proportional to its usable windows."""

    def __init__(self, utrs: Mapping[str, str]):
        items = [(uid, seq) for uid, seq in utrs.items() if seq]
        if not items:
            raise MirlensError("the UTR collection is empty")
        self.ids = [uid for uid, _ in items]
        self.seqs = [seq for _, seq in items]
        self.lengths = np.array([len(s) for s in self.seqs], dtype=np.int64)

    def draw(self, rng: np.random.Generator, length: int) -> tuple[str, int] | None:
        """(UTR index, start) of a random window of ``length`` nt; None when no UTR is long enough."""
        usable = np.clip(self.lengths - length + 1, 0, None)
        total = usable.sum()
        if total == 0:
            return None
        k = int(rng.integers(total))
        idx = int(np.searchsorted(np.cumsum(usable), k, side="right"))
        start = k - int(usable[:idx].sum())
        return idx, start

    def window(self, idx: int, start: int, length: int) -> tuple[str, str]:
        """(window id ``UTR:start-end`` 1-based inclusive, sequence)."""
        return f"{self.ids[idx]}:{start + 1}-{start + length}", self.seqs[idx][start:start + length]

    def site_free_window(self, rng: np.random.Generator, mirna: str, length: int,
                         tries: int = MAX_TRIES) -> tuple[str, str] | None:
        """(id, sequence) of a random window of ``length`` nt without N and without a canonical site of ``mirna``;
        None when ``tries`` draws found none (or no UTR is long enough)."""
        a, b = seed_matches(mirna)
        for _ in range(tries):
            drawn = self.draw(rng, length)
            if drawn is None:
                return None
            wid, w = self.window(*drawn, length)
            if "N" not in w and a not in w and b not in w:
                return wid, w
        return None


def utr_windows(pos: pd.DataFrame, utrs: Mapping[str, str] | UTRPool, rng: np.random.Generator,
                length: int | None = None) -> pd.DataFrame:
    """One ``utr`` negative per positive of ``pos``: a site-free window (no N) of a real UTR, as long as the
    positive's target (or ``length``)."""
    pool = utrs if isinstance(utrs, UTRPool) else UTRPool(utrs)
    rows, out_t, out_id = [], [], []
    for i, (m, t) in enumerate(zip(pos["mirna"], pos["target"])):
        found = pool.site_free_window(rng, m, length or len(t))
        if found is not None:
            rows.append(i)
            out_id.append(found[0])
            out_t.append(found[1])
    return _negatives(pos, rows, out_t, out_id, "utr")


def make_negatives(pairs: pd.DataFrame, kinds: str | Sequence[str], *, seed: int | Sequence[int],
                   utrs: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The negatives of every kind in ``kinds`` for the positives (label 1) of ``pairs``, stacked in that order.

    Each kind draws from its own generator (``default_rng([*seed, i])`` for the i-th kind of :data:`KINDS`; an
    int seed is ``[seed]``), so adding a kind does not change the negatives of the others. ``attrs["negatives"]``: per kind, how many
    negatives were made and how many positives got none."""
    kinds = parse_kinds(kinds)
    if "utr" in kinds and not utrs:
        raise MirlensError("negatives of kind 'utr' need a UTR collection (--utrs FILE: FASTA or table)")
    pos = pairs[pairs["label"] == 1].reset_index(drop=True)
    made, counts = [], {}
    for kind in kinds:
        rng = np.random.default_rng([*([seed] if isinstance(seed, int) else seed), KINDS.index(kind)])
        if kind == "mirna-swap":
            neg = mirna_swap(pos, rng)
        elif kind == "shuffle":
            neg = shuffled(pos, rng)
        else:
            neg = utr_windows(pos, utrs, rng)
        made.append(neg)
        counts[kind] = {"made": len(neg), "positives_without": len(pos) - len(neg)}
    out = concat_pairs(made)
    out.attrs["negatives"] = counts
    return out


def with_negatives(pairs: pd.DataFrame, kinds: str | Sequence[str], *, seed: int | Sequence[int],
                   utrs: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``pairs`` followed by :func:`make_negatives` of its positives (columns beyond the pair table's are kept
    for the input rows and empty for the negatives)."""
    neg = make_negatives(pairs, kinds, seed=seed, utrs=utrs)
    out = pd.concat([pairs, neg], ignore_index=True)
    out.attrs = {**pairs.attrs, "negatives": neg.attrs["negatives"]}
    return out
