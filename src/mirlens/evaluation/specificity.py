"""Probe sets that ask whether a model tells a site from no site, and the figures that answer it.

* **site-free windows**: windows of real 3'UTRs that hold no canonical site of the miRNA (no Watson-Crick match to
  nucleotides 2-7 or 3-8, no N); a specific model calls few of them targets.
* **planted 8mers**: the same windows with a perfect 8mer (match to nucleotides 2-8 and an A facing position 1)
  written at a random offset; a model that reads the site calls them targets wherever the site sits.
* **shuffled positives**: real positives whose target was shuffled keeping its dinucleotides (no canonical site
  left); calling them targets means the model reads composition, not pairing.

UTR collections used for training negatives and for these probes must not overlap: :func:`split_utrs` splits a
collection into two halves by a seeded hash of the UTR id (stable when UTRs are added or removed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mirlens.data.negatives import UTRPool, reverse_complement, shuffled
from mirlens.data.pairs import make_pairs

PROBE_WINDOW = 40


def split_utrs(utrs: Mapping[str, str], *, salt: str = "mirlens-utr-split") -> tuple[dict, dict]:
    """(first half, second half) of a UTR collection by a hash of each id: the first half for training negatives,
    the second for probes. Deterministic and independent of the collection's order."""
    first, second = {}, {}
    for uid, seq in utrs.items():
        h = hashlib.sha256(f"{salt}:{uid}".encode()).digest()[0]
        (first if h < 128 else second)[uid] = seq
    return first, second


def site_free_windows(mirnas: Mapping[str, str], utrs: Mapping[str, str], *, per_mirna: int = 100,
                      length: int = PROBE_WINDOW, seed: int = 0) -> pd.DataFrame:
    """``per_mirna`` random site-free UTR windows of ``length`` nt for every miRNA (``{id: sequence}``), as an
    unlabelled-looking pair table with label 0 (``source`` "probe:site-free")."""
    pool = UTRPool(utrs)
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {"mirna_id": [], "mirna": [], "target_id": [], "target": []}
    for mid, m in mirnas.items():
        for _ in range(per_mirna):
            found = pool.site_free_window(rng, m, length)
            if found is None:  # the collection has (almost) no site-free window for this miRNA
                break
            cols["mirna_id"].append(mid)
            cols["mirna"].append(m)
            cols["target_id"].append(found[0])
            cols["target"].append(found[1])
    n = len(cols["mirna"])
    return make_pairs(**cols, label=[0] * n, source="probe:site-free", record=np.arange(1, n + 1))


def eight_mer(mirna: str) -> str:
    """The target 8-mer (5'->3') of a miRNA: Watson-Crick partner of nucleotides 2-8, then an A facing position 1."""
    return reverse_complement(mirna[1:8]) + "A"


def plant_8mers(windows: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Each window with its miRNA's 8mer written at a uniformly random offset (label 1, ``source``
    "probe:planted-8mer"); ``offset`` column: 0-based start of the 8mer in the window."""
    rng = np.random.default_rng(seed)
    targets, offsets = [], []
    for m, w in zip(windows["mirna"], windows["target"]):
        site = eight_mer(m)
        o = int(rng.integers(0, len(w) - len(site) + 1))
        targets.append(w[:o] + site + w[o + len(site):])
        offsets.append(o)
    n = len(windows)
    out = make_pairs(mirna_id=windows["mirna_id"].tolist(), mirna=windows["mirna"].tolist(),
                     target_id=[f"{t}+8mer@{o + 1}" for t, o in zip(windows["target_id"], offsets)],
                     target=targets, label=[1] * n, source="probe:planted-8mer", record=np.arange(1, n + 1))
    out["offset"] = offsets
    return out


def shuffled_positives(pairs: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """The positives of ``pairs`` with their targets k=2-shuffled to site-free sequences (label 0)."""
    pos = pairs[pairs["label"] == 1].reset_index(drop=True)
    out = shuffled(pos, np.random.default_rng(seed))
    out["source"] = "probe:shuffled-positive"
    return out


def called_fractions(pairs: pd.DataFrame, probability: Sequence[float], *, threshold: float = 0.5) -> dict:
    """Fraction of rows called (probability > threshold): overall, mean over miRNAs, worst miRNA (its id)."""
    called = pd.Series(np.asarray(probability) > threshold, index=pairs.index)
    per = called.groupby(pairs["mirna_id"]).mean()
    return {"n": int(len(called)), "called": float(called.mean()), "mean_over_mirnas": float(per.mean()),
            "worst_mirna": float(per.max()), "worst_mirna_id": str(per.idxmax()), "n_mirnas": int(len(per))}


SEED_CLASS_SCORE = {"8mer": 3, "7mer-m8": 2, "7mer-A1": 2, "6mer": 1, "offset-6mer": 1}
"""The seed-class rule: 8mer > 7mer > 6mer (offset-6mers count as 6mers) > no canonical site."""


def seed_class_scores(pairs: pd.DataFrame) -> np.ndarray:
    """The seed-class rule's score of every pair: its best canonical site anywhere in the target (3, 2, 1, 0)."""
    from mirlens.data.alphabet import tokenize
    from mirlens.data.seeds import SITE_TYPES, find_sites_tokens, mirna_tokens

    out = np.zeros(len(pairs), dtype=np.float64)
    for i, (m, t) in enumerate(zip(pairs["mirna"], pairs["target"])):
        sites = find_sites_tokens(mirna_tokens(m), tokenize(t))
        if len(sites):
            out[i] = max(SEED_CLASS_SCORE[SITE_TYPES[c]] for c in sites.type)
    return out


SCAN_THRESHOLD_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
MAX_SCAN_FALSE_RATE = 5e-4
"""A scan calls a UTR a target when any window passes the threshold, so per-window false calls add up: at 1 in
2,000 site-free windows, a 1,500-nt UTR scanned with step 15 (~100 windows) is called by chance ~5% of the time."""


def scan_threshold(site_free_probability: Sequence[float], planted_probability: Sequence[float], *,
                   max_false_rate: float = MAX_SCAN_FALSE_RATE,
                   grid: Sequence[float] = SCAN_THRESHOLD_GRID) -> dict:
    """The smallest probability threshold of ``grid`` at which at most ``max_false_rate`` of site-free windows
    are called, with the called fractions of site-free and planted-8mer windows at every grid point."""
    sf = np.asarray(site_free_probability)
    pl = np.asarray(planted_probability)
    table = [{"threshold": t, "site_free_called": float(np.mean(sf > t)), "planted_called": float(np.mean(pl > t))}
             for t in grid]
    ok = [r for r in table if r["site_free_called"] <= max_false_rate]
    chosen = ok[0]["threshold"] if ok else grid[-1]
    return {"value": chosen, "max_false_rate": max_false_rate, "n_site_free": int(len(sf)),
            "n_planted": int(len(pl)), "grid": table}


# ---- whole 3'UTRs: the gene-level probes ---------------------------------------------------------------------

MIN_PROBE_UTR = 20


def site_free_utrs(mirnas: Mapping[str, str], utrs: Mapping[str, str], *, per_mirna: int = 20,
                   seed: int = 0) -> pd.DataFrame:
    """``per_mirna`` whole UTRs (at least :data:`MIN_PROBE_UTR` nt, no N) without any canonical site of each miRNA
    (no Watson-Crick match to its nucleotides 2-7 or 3-8), drawn at random (seeded), as a pair table with label
    0 (``source`` "probe:site-free-utr")."""
    from mirlens.data.seeds import find_sites

    ids = sorted(utrs)
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {"mirna_id": [], "mirna": [], "target_id": [], "target": []}
    for mid, m in mirnas.items():
        found = 0
        for i in rng.permutation(len(ids)):
            u = utrs[ids[i]]
            if len(u) < MIN_PROBE_UTR or "N" in u or len(find_sites(m, u)):
                continue
            for col, value in zip(cols, (mid, m, ids[i], u)):
                cols[col].append(value)
            found += 1
            if found == per_mirna:
                break
    n = len(cols["mirna"])
    return make_pairs(**cols, label=[0] * n, source="probe:site-free-utr", record=np.arange(1, n + 1))


def plant_8mer_utrs(pairs: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """The same UTRs with the miRNA's 8mer written over 8 nt at a uniformly random position (label 1)."""
    rng = np.random.default_rng(seed)
    targets = []
    for m, u in zip(pairs["mirna"], pairs["target"]):
        pos = int(rng.integers(0, len(u) - 7))
        targets.append(u[:pos] + eight_mer(m) + u[pos + 8:])
    return pairs.assign(target=targets, label=1, source="probe:planted-8mer-utr")


def utr_call_rule(site_logits: np.ndarray, n_nt: int, site_threshold: float, *, false_rate: float = 0.01,
                  grid: Sequence[float] = tuple(np.arange(1.0, 3.01, 0.25))) -> dict:
    """A UTR-level call rule from the candidate-site logits of site-free UTRs (``n_nt`` nucleotides in all).

    A UTR of ``L`` nt is called when one of its sites passes ``t(L) = max(site_threshold, intercept +
    per_log10_nt * log10(L))``, chosen so that a site-free UTR is called with probability about ``false_rate``:
    the rate of site logits above ``t`` per nucleotide, ``lambda(t)``, is fitted as ``lambda_0 * exp(-kappa (t -
    site_threshold))`` on ``grid``, and ``lambda(t(L)) * L = false_rate``."""
    logits = np.asarray(site_logits, dtype=np.float64)
    rates = np.array([max((logits > t).sum(), 0.5) / n_nt for t in grid])
    slope, const = np.polyfit(np.asarray(grid) - site_threshold, np.log(rates), 1)
    kappa = -slope
    if kappa <= 0:
        raise ValueError("the site logits of site-free UTRs do not thin out with the threshold")
    intercept = site_threshold + (const - np.log(false_rate)) / kappa
    return {"intercept": float(intercept), "per_log10_nt": float(np.log(10) / kappa), "false_rate": false_rate,
            "kappa": float(kappa), "rate_at_site_threshold": float(np.exp(const)), "n_nt": int(n_nt),
            "n_sites": int(len(logits)), "grid": [float(g) for g in grid], "rates": rates.tolist()}
