"""Scanning miRNAs against long targets (3'UTRs): windows, batched scoring, site and gene summaries.

The scan goes miRNA by miRNA (the original tool's order) and streams the target FASTA once per miRNA, so memory
stays bounded by one batch whatever the file size. Results are kept as atomically written chunks
(:class:`mirlens.tables.ChunkStore`); an interrupted scan continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.data.alphabet import tokenize
from mirlens.data.encoding import MIRNA_SLOT, decode_tokens, encode_pairs
from mirlens.data.fasta import FastaRecord, iter_fasta
from mirlens.errors import InputError
from mirlens.model.architecture import MiTAR
from mirlens.predict.score import score_tokens
from mirlens.predict.sliding import SlidingScorer, sliding_is_cheaper
from mirlens.predict.windows import window_starts, window_tokens
from mirlens.tables import ChunkStore

WINDOW_COLUMNS = ["mirna_id", "target_id", "window", "start", "end", "probability"]
DEFAULT_STEP = 15
"""The original tool's default step (its published test outputs used 22)."""


@dataclass(frozen=True)
class ScanSettings:
    step: int = DEFAULT_STEP
    threshold: float = 0.5
    min_sites: int = 1
    batch_size: int = 4096
    targets_per_chunk: int = 500


def mirna_prefix(mirna: str, *, name: str = "miRNA") -> np.ndarray:
    """Tokens of the miRNA part of the model input (reversed, padded to 26)."""
    return encode_pairs([mirna], ["N"], 1, names=[name])[0, :MIRNA_SLOT]


def _scan_block(
    model: MiTAR, mirna_id: str, prefix: np.ndarray, sliding: SlidingScorer | None, targets: list[FastaRecord],
    step: int, batch_size: int
) -> pd.DataFrame:
    """Window table of one miRNA on a block of targets: for miTAR models, windows that overlap densely share their
    target steps (:class:`SlidingScorer`), sparse ones are scored row by row — whichever costs fewer operations;
    other model families (``sliding`` None) score row by row."""
    window = model.config.target_slot
    seqs, starts_per, ids, idx, starts_all, ends = [], [], [], [], [], []
    for rec in targets:
        seq = tokenize(rec.seq)
        starts = window_starts(len(seq), window, step)
        seqs.append(seq)
        starts_per.append(starts)
        ids.append(np.full(len(starts), rec.id, dtype=object))
        idx.append(np.arange(len(starts)))
        starts_all.append(starts + 1)
        ends.append(np.minimum(starts + window, len(rec.seq)))
    n_windows = sum(len(s) for s in starts_per)
    if sliding is not None and sliding_is_cheaper(model.config, n_windows, sum(max(len(s), window) for s in seqs)):
        prob = sliding.score(seqs, starts_per, batch_size=batch_size)
    else:
        target_part = np.concatenate([window_tokens(q, s, window) for q, s in zip(seqs, starts_per)])
        tokens = np.empty((len(target_part), MIRNA_SLOT + window), dtype=np.uint8)
        tokens[:, :MIRNA_SLOT] = prefix
        tokens[:, MIRNA_SLOT:] = target_part
        prob = score_tokens(model, tokens, batch_size=batch_size)
    return pd.DataFrame({
        "mirna_id": mirna_id,
        "target_id": np.concatenate(ids),
        "window": np.concatenate(idx),
        "start": np.concatenate(starts_all),
        "end": np.concatenate(ends),
        "probability": prob,
    })


def _blocks(records: Iterable[FastaRecord], size: int) -> Iterator[list[FastaRecord]]:
    block: list[FastaRecord] = []
    for rec in records:
        block.append(rec)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def count_records(path: Path) -> int:
    """Number of FASTA records (header lines; 1 for a bare sequence), read in one streaming pass."""
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            n += line.startswith(b">")
    return max(n, 1)


def scan(
    model: MiTAR,
    mirnas: list[FastaRecord],
    targets_fasta: Path,
    store_dir: Path,
    settings: ScanSettings = ScanSettings(),
    *,
    progress: Callable[[int], None] | None = None,
    params: dict | None = None,
) -> pd.DataFrame:
    """Score every window of every target for every miRNA; returns the window table (``WINDOW_COLUMNS``).

    Finished blocks of targets are kept in ``store_dir`` and skipped when the same scan is run again.
    ``progress(n)`` is told how many targets each finished block covered.
    """
    if not mirnas:
        raise InputError("no miRNA to scan")
    model.eval()
    n_targets = count_records(targets_fasta)
    n_blocks = -(-n_targets // settings.targets_per_chunk)
    store = ChunkStore(store_dir, {**(params or {}), "step": settings.step, "window": model.config.target_slot,
                                   "targets_per_chunk": settings.targets_per_chunk, "n_targets": n_targets,
                                   "mirnas": [(m.id, m.seq) for m in mirnas]})
    done = store.done()
    for m_index, mirna in enumerate(mirnas):
        prefix = mirna_prefix(mirna.seq, name=f"miRNA {mirna.id}")
        sliding = SlidingScorer(model, prefix) if isinstance(model, MiTAR) else None
        for b_index, block in enumerate(_blocks(iter_fasta(targets_fasta, allow_bare=True),
                                                settings.targets_per_chunk)):
            chunk = m_index * n_blocks + b_index
            if chunk not in done:
                store.write(chunk, _scan_block(model, mirna.id, prefix, sliding, block, settings.step,
                                               settings.batch_size))
            if progress is not None:
                progress(len(block))
    windows = store.read()
    return windows[WINDOW_COLUMNS] if len(windows) else pd.DataFrame(columns=WINDOW_COLUMNS)


def gene_summary(windows: pd.DataFrame, threshold: float, min_sites: int) -> pd.DataFrame:
    """One row per (miRNA, target): windows, sites (windows with probability > threshold, as the original),
    the best window, and ``is_target`` = at least ``min_sites`` sites (the original ``-ns k`` = ``min_sites k+1``)."""
    if windows.empty:
        return pd.DataFrame(columns=["mirna_id", "target_id", "n_windows", "n_sites", "max_probability",
                                     "best_window", "best_start", "best_end", "is_target"])
    w = windows.assign(site=windows["probability"] > threshold)
    keys = ["mirna_id", "target_id"]
    best = w.loc[w.groupby(keys, sort=False)["probability"].idxmax(), keys + ["window", "start", "end",
                                                                              "probability"]]
    agg = w.groupby(keys, sort=False).agg(n_windows=("window", "size"), n_sites=("site", "sum")).reset_index()
    out = agg.merge(best, on=keys).rename(columns={"probability": "max_probability", "window": "best_window",
                                                   "start": "best_start", "end": "best_end"})
    out["is_target"] = out["n_sites"] >= min_sites
    return out[["mirna_id", "target_id", "n_windows", "n_sites", "max_probability", "best_window", "best_start",
                "best_end", "is_target"]]


def sites_of_targets(windows: pd.DataFrame, genes: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Windows above threshold of the (miRNA, target) pairs called targets, in scan order."""
    called = genes.loc[genes["is_target"], ["mirna_id", "target_id", "n_sites"]]
    sites = windows[windows["probability"] > threshold]
    return sites.merge(called, on=["mirna_id", "target_id"], how="inner", sort=False)


def format_mitar(
    sites: pd.DataFrame, mirnas: list[FastaRecord], targets_fasta: Path, window: int, *, one_mirna: bool
) -> str:
    """The original tool's FASTA-like output: ``>miRNA|target|n_sites|window|probability`` then the model input
    (``>target|n_sites|window|probability`` when one miRNA was given, as the one-miRNA script writes)."""
    if sites.empty:
        return ""
    wanted = set(sites["target_id"])
    seqs = {r.id: r.seq for r in iter_fasta(targets_fasta, allow_bare=True) if r.id in wanted}
    prefix = {m.id: mirna_prefix(m.seq) for m in mirnas}
    lines = []
    for row in sites.itertuples(index=False):
        seq = seqs[row.target_id]
        start = int(row.start) - 1
        target_tok = window_tokens(tokenize(seq), np.array([start]), window)[0]
        text = decode_tokens(np.concatenate([prefix[row.mirna_id], target_tok])[None, :])[0]
        head = [row.target_id] if one_mirna else [row.mirna_id, row.target_id]
        prob = str(np.float32(row.probability))
        lines.append(">" + "|".join(head + [str(int(row.n_sites)), str(int(row.window)), prob]) + "\n" + text + "\n")
    return "".join(lines)
