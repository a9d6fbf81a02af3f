"""Sliding k-nt mutagenesis scans (paper Fig. 2, Fig. 4, Supp. Fig. 3).

For every pair, every window size k and every stop position p that the pair has, on the miRNA (L1..) and the
target (LT1..), the window ``p-k+1 .. p`` is set to N (or another base) and the model scores the mutant. At the
sequence start the window is clipped to ``1 .. p`` (the paper's "padding zero" at the edge); such clipped windows
equal shorter windows and are evaluated once. Results are recorded at the stop position, as in the paper.

Per-pair records (``pair, side, k, position, prob, raw``) go to a :class:`~mirlens.tables.ChunkStore` (one atomic
Parquet chunk per group of pairs; a rerun of the same job skips finished chunks) or stay in memory. The summary
has one row per (side, k, position): ``n`` pairs having that position, mean mutated probability and its standard
error, mean raw probability of those pairs, mean change (mutated - raw) and its SE, and ``change_all`` = summed
change / all pairs (pairs lacking the position count as unchanged). Position 0 (``L0``) carries the raw
probability of all pairs, once per k.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.data.alphabet import TOKENS
from mirlens.data.coordinates import MIRNA, TARGET
from mirlens.errors import InputError
from mirlens.explain.mutagenesis.engine import (DEFAULT_BATCH, DEFAULT_ENGINE, model_fingerprint, mutated_probabilities,
                                                score_tokens)
from mirlens.explain.mutagenesis.mutants import SIDES, base_token, count_windows, side_positions, window_grid
from mirlens.explain.pairset import PairSet
from mirlens.tables import ChunkRunner, ChunkStore, Task

PREFIX = {MIRNA: "L", TARGET: "LT"}
DEFAULT_CHUNK_PAIRS = 512


def position_label(side: str, position: int) -> str:
    """``L7``, ``LT9``; position 0 is ``L0`` (the raw sequence) on either side."""
    return "L0" if position == 0 else f"{PREFIX[side]}{position}"


def parse_ks(spec: str | int | Sequence[int]) -> list[int]:
    """Window sizes from ``"1-8"``, ``"1,2,5"``, ``6`` or a sequence."""
    if isinstance(spec, (int, np.integer)):
        ks = [int(spec)]
    elif isinstance(spec, str):
        ks = []
        for part in spec.replace(" ", "").split(","):
            if not part:
                continue
            try:
                if "-" in part or ".." in part:
                    a, b = part.replace("..", "-").split("-", 1)
                    ks.extend(range(int(a), int(b) + 1))
                else:
                    ks.append(int(part))
            except ValueError:
                raise InputError(f"cannot read window sizes {spec!r}: write e.g. 1-8 or 1,2,3") from None
    else:
        ks = [int(k) for k in spec]
    ks = sorted(set(ks))
    if not ks or ks[0] < 1:
        raise InputError(f"window sizes must be positive integers, got {spec!r}")
    return ks


def parse_sides(spec: str | Sequence[str]) -> list[str]:
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    aliases = {"mirna": MIRNA, "l": MIRNA, "target": TARGET, "lt": TARGET, "both": "both"}
    out: list[str] = []
    for item in items:
        key = aliases.get(item.strip().lower())
        if key is None:
            raise InputError(f"unknown side {item!r}: choose mirna, target or both")
        out.extend(SIDES if key == "both" else [key])
    return [s for s in SIDES if s in out]


class _Accumulator:
    """Running sums per (side, k, position) so the summary never needs all records in memory."""

    def __init__(self, max_k: int, max_pos: int):
        shape = (2, max_k + 1, max_pos + 1)
        self.n = np.zeros(shape)
        self.prob = np.zeros(shape)
        self.prob2 = np.zeros(shape)
        self.raw = np.zeros(shape)
        self.change = np.zeros(shape)
        self.change2 = np.zeros(shape)
        self.pairs = 0
        self.raw_sum = 0.0
        self.raw_sum2 = 0.0

    def add(self, rec: pd.DataFrame) -> None:
        side = rec["side"].cat.codes.to_numpy() if hasattr(rec["side"], "cat") else \
            (rec["side"].to_numpy() == TARGET).astype(np.int64)
        idx = (side, rec["k"].to_numpy(np.int64), rec["position"].to_numpy(np.int64))
        prob = rec["prob"].to_numpy(np.float64)
        raw = rec["raw"].to_numpy(np.float64)
        change = prob - raw
        for arr, val in ((self.n, 1.0), (self.prob, prob), (self.prob2, prob * prob), (self.raw, raw),
                         (self.change, change), (self.change2, change * change)):
            np.add.at(arr, idx, val)
        _, first = np.unique(rec["pair"].to_numpy(), return_index=True)
        self.pairs += len(first)
        self.raw_sum += raw[first].sum()
        self.raw_sum2 += (raw[first] ** 2).sum()

    def summary(self, ks: Sequence[int], sides: Sequence[str], max_pos: dict[str, int]) -> pd.DataFrame:
        rows = []
        npairs = self.pairs
        raw_mean = self.raw_sum / npairs if npairs else np.nan
        raw_se = _se(self.raw_sum2, raw_mean, npairs)
        for k in ks:
            rows.append((MIRNA, k, 0, "L0", npairs, raw_mean, raw_se, raw_mean, 0.0, 0.0, 0.0))
            for s_code, side in enumerate(SIDES):
                if side not in sides:
                    continue
                for p in range(1, max_pos[side] + 1):
                    n = self.n[s_code, k, p]
                    if n == 0:
                        rows.append((side, k, p, position_label(side, p), 0) + (np.nan,) * 5 + (0.0,))
                        continue
                    mp, mc = self.prob[s_code, k, p] / n, self.change[s_code, k, p] / n
                    sp = _se(self.prob2[s_code, k, p], mp, n)
                    sc = _se(self.change2[s_code, k, p], mc, n)
                    rows.append((side, k, p, position_label(side, p), int(n), mp, sp, self.raw[s_code, k, p] / n,
                                 mc, sc, self.change[s_code, k, p] / npairs))
        df = pd.DataFrame(rows, columns=["side", "k", "position", "label", "n", "mean_prob", "se_prob", "mean_raw",
                                         "mean_change", "se_change", "change_all"])
        df["n_pairs"] = npairs
        df.attrs["kind"] = "scan"
        return df


def _se(sum2: float, mean: float, n: float) -> float:
    if n < 2:
        return float("nan")
    var = max(sum2 / n - mean * mean, 0.0) * n / (n - 1)
    return float(np.sqrt(var / n))


@dataclass
class ScanResult:
    summary: pd.DataFrame
    records: pd.DataFrame | None  # in memory when no store was used
    store: ChunkStore | None
    n_pairs: int
    passes: int  # forward passes run by this call (raw + mutants); 0 when everything was already stored
    seconds: float

    @property
    def passes_per_second(self) -> float:
        return self.passes / self.seconds if self.seconds > 0 else float("nan")

    def read_records(self, columns: list[str] | None = None) -> pd.DataFrame:
        if self.records is not None:
            return self.records if columns is None else self.records[columns]
        return self.store.read(columns=columns)


def scan_params(model, pairset: PairSet, ks, sides, base, chunk_pairs) -> dict:
    return {"analysis": "scan", "model": model_fingerprint(model), "pairs": pairset.fingerprint(),
            "n_pairs": len(pairset), "width": pairset.width, "ks": list(ks), "sides": list(sides),
            "to": TOKENS[base], "chunk_pairs": chunk_pairs}


def run_scan(
    model,
    pairset: PairSet,
    *,
    ks: str | Sequence[int] = "1-8",
    sides: str | Sequence[str] = SIDES,
    to: str | int = "N",
    out_dir: str | Path | None = None,
    chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
    engine: str = DEFAULT_ENGINE,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
    set_total: Callable[[int], None] | None = None,
    overwrite: bool = False,
    runner: ChunkRunner | None = None,
) -> ScanResult:
    """Run (or resume) a sliding-window scan; see the module doc. ``progress(n)`` counts forward passes;
    ``set_total(total)`` is told the number of passes still to run before the first one. ``runner``: runs the
    chunks elsewhere, as tasks of :func:`scan_task` (:func:`mirlens.cluster.engine.chunk_runner`: on a Dask
    cluster; needs ``out_dir``)."""
    ks, sides, base = parse_ks(ks), parse_sides(sides), base_token(to)
    if len(pairset) == 0:
        raise InputError("no pairs to scan (the chosen subset is empty)")
    if chunk_pairs < 1:
        raise InputError("chunk size must be at least one pair")
    width = pairset.width
    max_pos = {side: side_positions(side, width) for side in SIDES}
    store = None
    if out_dir is not None:
        store = ChunkStore(out_dir, scan_params(model, pairset, ks, sides, base, chunk_pairs), overwrite=overwrite)
    n_chunks = -(-len(pairset) // chunk_pairs)
    done = store.done() if store is not None else set()
    todo = [c for c in range(n_chunks) if c not in done]

    def chunk_passes(c: int) -> int:
        sl = slice(c * chunk_pairs, min((c + 1) * chunk_pairs, len(pairset)))
        return count_windows(pairset.mirna_lens[sl], pairset.target_lens[sl], width, ks, sides)[1] + \
            sl.stop - sl.start

    if set_total is not None:
        set_total(sum(chunk_passes(c) for c in todo))
    acc = _Accumulator(max(ks), max(max_pos.values()))
    for c in sorted(done):
        acc.add(store.read([c]))
    kept: list[pd.DataFrame] = []
    passes, t0 = 0, time.perf_counter()
    options = dict(ks=ks, sides=sides, base=base, engine=engine, batch_size=batch_size)
    if runner is not None:
        if store is None:
            raise InputError("a scan on a cluster keeps its records on disk: give an output directory (--out)")
        passes = sum(chunk_passes(c) for c in todo)
        runner(store, scan_tasks(pairset, todo, chunk_pairs, options, chunk_passes), progress)
        for c in todo:
            acc.add(store.read([c]))
        todo = []
    for c in todo:
        sl = slice(c * chunk_pairs, min((c + 1) * chunk_pairs, len(pairset)))
        rec = scan_chunk(model, pairset.tokens[sl], pairset.mirna_lens[sl], pairset.target_lens[sl], sl.start,
                         progress=progress, **options)
        passes += chunk_passes(c)
        if store is not None:
            store.write(c, rec)
        else:
            kept.append(rec)
        acc.add(rec)
    seconds = time.perf_counter() - t0
    summary = acc.summary(ks, sides, max_pos)
    summary.attrs.update({"to": TOKENS[base], "ks": ks})
    records = pd.concat(kept, ignore_index=True) if store is None else None
    return ScanResult(summary, records, store, len(pairset), passes, seconds)


def scan_chunk(model, tokens: np.ndarray, mirna_lens: np.ndarray, target_lens: np.ndarray, first: int, *,
               ks: Sequence[int], sides: Sequence[str], base: int, engine: str, batch_size: int,
               progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Per-pair records of one chunk: the pairs ``first, first + 1, ...`` whose tokens and lengths are given."""
    rows = np.arange(len(tokens))
    raw = score_tokens(model, tokens, batch_size=batch_size, progress=progress)
    width = tokens.shape[1]
    grid = window_grid(rows, mirna_lens, target_lens, width, ks, base, sides)
    prob = mutated_probabilities(model, tokens, grid.mutants, engine=engine, batch_size=batch_size,
                                 progress=progress)
    return pd.DataFrame({
        "pair": (grid.record_pair + first).astype(np.int32),
        "side": pd.Categorical.from_codes(grid.record_side, dtype=pd.CategoricalDtype(list(SIDES))),
        "k": grid.record_k.astype(np.int8),
        "position": grid.record_position,
        "prob": prob[grid.record_row],
        "raw": raw[grid.record_pair],
    })


def scan_task(model, tokens: np.ndarray, mirna_lens: np.ndarray, target_lens: np.ndarray, first: int, chunk: int,
              options: dict) -> dict[int, pd.DataFrame]:
    """A :class:`~mirlens.tables.Task` function: chunk ``chunk`` of a scan (:func:`scan_chunk`)."""
    return {chunk: scan_chunk(model, tokens, mirna_lens, target_lens, first, **options)}


def scan_tasks(pairset: PairSet, todo: list[int], chunk_pairs: int, options: dict,
               passes_of: Callable[[int], int]) -> list[Task]:
    """The tasks of the scan chunks ``todo`` (each carries its own pairs' tokens; weight: its forward passes)."""
    tasks = []
    for c in todo:
        sl = slice(c * chunk_pairs, min((c + 1) * chunk_pairs, len(pairset)))
        tasks.append(Task(scan_task, (pairset.tokens[sl], pairset.mirna_lens[sl], pairset.target_lens[sl], sl.start,
                                      c, options), [c], weight=passes_of(c)))
    return tasks


def scan_drop_profile(summary: pd.DataFrame, k: int = 1, *, over: str = "all") -> pd.Series:
    """Mean drop (raw - mutated) per position label for one k: over all pairs (absent positions count as
    unchanged; ``over="all"``) or over the pairs having the position (``over="present"``)."""
    sub = summary[(summary["k"] == k) & (summary["position"] > 0)]
    col = "change_all" if over == "all" else "mean_change"
    return pd.Series(-sub[col].to_numpy(), index=sub["label"].to_numpy(), name=f"drop_k{k}")
