"""Scanning miRNAs against long targets (3'UTRs): windows, batched scoring, site and gene summaries.

The scan goes miRNA by miRNA (the original tool's order) and streams the target FASTA once per miRNA, so memory
stays bounded by one batch whatever the file size. Results are kept as atomically written chunks
(:class:`mirlens.tables.ChunkStore`); an interrupted scan continues where it stopped.

Window semantics of the pairing family (``ScanSettings.windows``): ``context`` (the default) scores every window
of the grid with its real flanks, in one pass over each UTR (:mod:`mirlens.predict.utr_pass`: the anchors near a
window's edges read the UTR's nucleotides beyond the window); ``padded`` cuts each window out and pads it with N,
as the original tool and mirlens before the whole-UTR pass did (kept to reproduce earlier outputs). Both give the
same score to a target no longer than the model's slot. miTAR models always score padded windows (their
recurrence has no per-anchor form); the setting does not apply to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mirlens.data.alphabet import tokenize
from mirlens.data.encoding import MIRNA_SLOT, decode_tokens, encode_pairs
from mirlens.data.fasta import FastaRecord, iter_fasta
from mirlens.errors import InputError
from mirlens.model.architecture import MiTAR
from mirlens.predict.score import score_tokens
from mirlens.predict.sliding import SlidingScorer, sliding_is_cheaper
from mirlens.predict.windows import WINDOW_MODES, check_windows, window_starts, window_tokens  # noqa: F401
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
    sites: tuple[int, ...] | None = None
    """Site type codes (:data:`mirlens.genes.sites.SITE_TYPES`): score only windows holding such a candidate site;
    None: every window (the original tool's grid)."""
    windows: str = "context"
    """Window semantics of the pairing family: ``context`` (real flanks, the whole-UTR pass) or ``padded`` (each
    window cut out and padded with N, the earlier semantics); see the module doc. miTAR models ignore it."""
    call_rule: tuple[float, float | None, float] | None = None
    """With a pairing-family model and context windows: the gene-level call rule (:class:`mirlens.predict.
    site_calls.CallRule` as ``(site_logit, utr_intercept, utr_per_log10_nt)``), applied to every target in the same
    pass that scores its windows (:func:`scan_calls`); None: no call."""


CALLS_OFFSET = 1_000_000
"""Chunk ``CALLS_OFFSET + c`` of a scan's store holds the gene-level calls of window chunk ``c``."""
CALL_TABLE_COLUMNS = ("mirna_id", "target_id", "n_called_sites", "best_site_logit", "site_call")


def uses_context(model, settings: ScanSettings) -> bool:
    """Whether a scan scores its windows with the whole-UTR pass (pairing family, ``windows="context"``)."""
    from mirlens.predict.utr_pass import is_pairing

    return is_pairing(model) and check_windows(settings.windows) == "context"


def scan_pass(model, mirna: str, *, before: int = 0, after: int = 0):
    """The whole-UTR pass a scan uses for one miRNA. By default it reaches only the windows of the grid (no window
    before a UTR or past its last window, so the UTRs of a block sit closer together); a caller that reads more off
    the same pass (site windows, which may start up to ``slot - 5`` nt before a UTR: ``before=None, after=None``
    for a whole pool each way) widens it."""
    from mirlens.predict.utr_pass import UtrPass

    return UtrPass(model, mirna, before=before, after=after)


def mirna_prefix(mirna: str, *, name: str = "miRNA") -> np.ndarray:
    """Tokens of the miRNA part of the model input (reversed, padded to 26)."""
    return encode_pairs([mirna], ["N"], 1, names=[name])[0, :MIRNA_SLOT]


SITE_CHOICES = {"8mer": (0,), "7mer": (1, 2), "7mer-m8": (1,), "7mer-a1": (2,), "6mer": (3,), "offset6mer": (4,),
                "offset-6mer": (4,), "noncanonical": (5,)}
"""``--sites`` words and the site types (:data:`mirlens.genes.sites.SITE_TYPES` codes) each one keeps."""


def parse_sites(spec: str | None) -> tuple[int, ...] | None:
    """Site type codes of a ``--sites`` list (``8mer,7mer,6mer,offset6mer,noncanonical``; ``7mer`` is both 7mers),
    or None for ``all-windows`` / None (every window of the grid)."""
    if spec is None or spec.strip().lower() in ("all-windows", "all"):
        return None
    codes: set[int] = set()
    for word in spec.lower().replace(" ", "").split(","):
        if not word:
            continue
        if word not in SITE_CHOICES:
            raise InputError(f"unknown site type {word!r} in --sites: choose from 8mer, 7mer, 7mer-m8, 7mer-A1, "
                             "6mer, offset6mer, noncanonical, or all-windows")
        codes.update(SITE_CHOICES[word])
    if not codes:
        raise InputError("--sites names no site type")
    return tuple(sorted(codes))


def _site_params(settings: ScanSettings) -> dict:
    return {} if settings.sites is None else {"sites": list(settings.sites)}


def _window_params(model, settings: ScanSettings) -> dict:
    """Chunk-store params of the window semantics: ``context`` scans are told apart from padded ones (whose params
    stay those of scans made before the whole-UTR pass, so an old partial scan resumes with ``--windows padded``
    and is never mixed into a context scan); with gene-level calls, their rule."""
    if not uses_context(model, settings):
        return {}
    return {"windows": "context", **({} if settings.call_rule is None else {"call_rule": list(settings.call_rule)})}


def calls_wanted(model, settings: ScanSettings) -> bool:
    """Whether the scan calls targets in its pass (pairing family, context windows, a call rule)."""
    return settings.call_rule is not None and uses_context(model, settings)


def windows_with_sites(mirna_tok: np.ndarray, target_tok: np.ndarray, starts: np.ndarray, window: int,
                       types: tuple[int, ...]) -> np.ndarray:
    """Mask of the windows (0-based ``starts``, ``window`` nt) that hold a candidate site of one of ``types``
    (:mod:`mirlens.genes.sites`): every target nucleotide facing miRNA positions 2-8 of the site lies in the window
    (positions before the target's start or past its end are not needed)."""
    from mirlens.data.seeds import find_sites_tokens

    sites = find_sites_tokens(mirna_tok, target_tok, noncanonical=5 in types)
    anchor = sites.anchor[np.isin(sites.type, types)]
    if not len(anchor):
        return np.zeros(len(starts), dtype=bool)
    lo = np.maximum(anchor - 7, 0)
    hi = np.minimum(anchor - 1, len(target_tok) - 1)
    return ((starts[:, None] <= lo[None, :]) & (hi[None, :] <= starts[:, None] + window - 1)).any(axis=1)


def _scan_block(
    model: MiTAR, mirna: FastaRecord, prefix: np.ndarray, sliding: SlidingScorer | None, targets: list[FastaRecord],
    settings: ScanSettings, utr_pass=None, on_block=None, calls: list | None = None,
) -> pd.DataFrame:
    """Window table of one miRNA on a block of targets: with ``utr_pass`` (a :class:`mirlens.predict.utr_pass.
    UtrPass`, pairing family with context windows) every window is scored from one pass over its UTR; for miTAR
    models, windows that overlap densely share their target steps (:class:`SlidingScorer`), sparse ones are scored
    row by row — whichever costs fewer operations; padded pairing windows are scored row by row. With
    ``settings.sites`` only the windows holding a candidate site are scored and listed (they keep their number in
    the full grid). ``on_block(block, logits)`` (with ``utr_pass`` only) is handed every block of the pass with its
    anchor features and the window logits of its UTRs (:meth:`mirlens.predict.utr_pass.UtrPass.window_logits`;
    ``block.utrs`` index ``targets``), so that more can be read off the same pass. With ``calls`` (a list; needs
    ``utr_pass`` and ``settings.call_rule``) the gene-level call of every target, read off the same pass
    (:mod:`mirlens.predict.site_calls`), is appended to it as a table (:data:`CALL_TABLE_COLUMNS`)."""
    window = model.config.target_slot
    mirna_tok = tokenize(mirna.seq) if settings.sites is not None else None
    seqs, starts_per, ids, idx, starts_all, ends = [], [], [], [], [], []
    for rec in targets:
        seq = tokenize(rec.seq)
        starts = window_starts(len(seq), window, settings.step)
        number = np.arange(len(starts))
        if mirna_tok is not None:
            keep = windows_with_sites(mirna_tok, seq, starts, window, settings.sites)
            starts, number = starts[keep], number[keep]
        seqs.append(seq)
        starts_per.append(starts)
        ids.append(np.full(len(starts), rec.id, dtype=object))
        idx.append(number)
        starts_all.append(starts + 1)
        ends.append(np.minimum(starts + window, len(rec.seq)))
    n_windows = sum(len(s) for s in starts_per)
    if calls is not None and utr_pass is not None and settings.call_rule is not None:
        on_block = _calling(utr_pass, mirna, targets, seqs, settings, calls, on_block)
    if utr_pass is not None and (n_windows or on_block is not None):
        logits = np.concatenate(utr_pass.window_logits(seqs, starts_per, on_block=on_block,
                                                       scores=calls is not None and settings.call_rule is not None))
        prob = torch.sigmoid(torch.from_numpy(logits)).numpy()
    elif n_windows == 0:
        prob = np.zeros(0, dtype=np.float32)
    elif sliding is not None and sliding_is_cheaper(model.config, n_windows,
                                                    sum(max(len(s), window) for s in seqs)):
        prob = sliding.score(seqs, starts_per, batch_size=settings.batch_size)
    else:
        target_part = np.concatenate([window_tokens(q, s, window) for q, s in zip(seqs, starts_per)])
        tokens = np.empty((len(target_part), MIRNA_SLOT + window), dtype=np.uint8)
        tokens[:, :MIRNA_SLOT] = prefix
        tokens[:, MIRNA_SLOT:] = target_part
        prob = score_tokens(model, tokens, batch_size=settings.batch_size)
    return pd.DataFrame({
        "mirna_id": mirna.id,
        "target_id": np.concatenate(ids),
        "window": np.concatenate(idx).astype(np.int64),
        "start": np.concatenate(starts_all).astype(np.int64),
        "end": np.concatenate(ends).astype(np.int64),
        "probability": prob,
    })


def _calling(utr_pass, mirna: FastaRecord, targets: list[FastaRecord], tokens: list[np.ndarray],
             settings: ScanSettings, calls: list, inner=None):
    """An ``on_block`` callback that reads the gene-level call of every target of the block off the pass; the
    block's calls (in target order) are appended to ``calls`` once every target has been seen."""
    from mirlens.predict.site_calls import (CallRule, block_site_calls, block_tokens, utr_call_summary)

    rule = CallRule(*settings.call_rule)
    m_tok = tokenize(mirna.seq)
    n = len(targets)
    n_called = np.zeros(n, np.int64)
    best = np.full(n, np.nan)
    call = np.zeros(n, bool)
    seen = np.zeros(n, bool)

    def on_block(block, logits):
        sites = block_site_calls(utr_pass, block, block_tokens(block, tokens), m_tok)
        summary = utr_call_summary(sites.assign(utr=sites["block_utr"]), block.lengths, rule)
        n_called[block.utrs] = summary["n_called_sites"].to_numpy()
        best[block.utrs] = summary["best_site_logit"].to_numpy()
        call[block.utrs] = summary["site_call"].to_numpy()
        seen[block.utrs] = True
        if seen.all():
            calls.append(pd.DataFrame({"mirna_id": mirna.id, "target_id": [t.id for t in targets],
                                       "n_called_sites": n_called, "best_site_logit": best, "site_call": call}))
        if inner is not None:
            inner(block, logits)

    return on_block


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


def scan_store(model: MiTAR, mirnas: list[FastaRecord], targets_fasta: Path, store_dir: Path,
               settings: ScanSettings, params: dict | None = None) -> tuple[ChunkStore, int]:
    """The chunk store of a scan (chunk ``m_index * n_blocks + b_index`` holds miRNA ``m_index`` on target block
    ``b_index``) and the number of target blocks."""
    if not mirnas:
        raise InputError("no miRNA to scan")
    n_targets = count_records(targets_fasta)
    n_blocks = -(-n_targets // settings.targets_per_chunk)
    store = ChunkStore(store_dir, {**(params or {}), "step": settings.step, "window": model.config.target_slot,
                                   "targets_per_chunk": settings.targets_per_chunk, "n_targets": n_targets,
                                   "mirnas": [(m.id, m.seq) for m in mirnas], **_site_params(settings),
                                   **_window_params(model, settings)})
    return store, n_blocks


def scan_mirnas_on_block(model: MiTAR, mirnas: list[tuple[int, FastaRecord]], block: list[FastaRecord],
                         b_index: int, n_blocks: int, settings: ScanSettings) -> dict[int, pd.DataFrame]:
    """Window tables of some miRNAs (with their index in the scan) on one block of targets, by chunk index: the
    unit of work of a scan run on a cluster (:mod:`mirlens.cluster.jobs`)."""
    model.eval()
    out = {}
    for m_index, mirna in mirnas:
        prefix, sliding, utr_pass = _scorers(model, mirna, settings)
        calls: list = []
        chunk = m_index * n_blocks + b_index
        out[chunk] = _scan_block(model, mirna, prefix, sliding, block, settings, utr_pass,
                                 calls=calls if calls_wanted(model, settings) else None)
        if calls:
            out[CALLS_OFFSET + chunk] = calls[0]
    return out


def _scorers(model, mirna: FastaRecord, settings: ScanSettings):
    """The miRNA's prefix tokens and the scorer of its windows: a SlidingScorer (miTAR), a UtrPass (pairing family,
    context windows) or neither (padded pairing windows, row by row)."""
    prefix = mirna_prefix(mirna.seq, name=f"miRNA {mirna.id}")
    sliding = SlidingScorer(model, prefix) if isinstance(model, MiTAR) else None
    if not uses_context(model, settings):
        return prefix, sliding, None
    # site windows of the gene-level call may start before a UTR: a whole pool of reach each way
    reach = {"before": None, "after": None} if settings.call_rule is not None else {}
    return prefix, sliding, scan_pass(model, mirna.seq, **reach)


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
    """Score every window of every target for every miRNA (with ``settings.sites``: only windows holding a
    candidate site); returns the window table (``WINDOW_COLUMNS``; ``attrs["n_grid"]`` = windows of the full grid).

    Finished blocks of targets are kept in ``store_dir`` and skipped when the same scan is run again.
    ``progress(n)`` is told how many targets each finished block covered.
    """
    model.eval()
    store, n_blocks = scan_store(model, mirnas, targets_fasta, store_dir, settings, params)
    done = store.done()
    with_calls = calls_wanted(model, settings)
    n_grid = 0
    for m_index, mirna in enumerate(mirnas):
        prefix, sliding, utr_pass = _scorers(model, mirna, settings)
        for b_index, block in enumerate(_blocks(iter_fasta(targets_fasta, allow_bare=True),
                                                settings.targets_per_chunk)):
            chunk = m_index * n_blocks + b_index
            n_grid += grid_size(block, model.config.target_slot, settings.step)
            if chunk not in done or (with_calls and CALLS_OFFSET + chunk not in done):
                calls: list = []
                windows = _scan_block(model, mirna, prefix, sliding, block, settings, utr_pass,
                                      calls=calls if with_calls else None)
                if with_calls:  # the calls first: a finished window chunk means both are there
                    store.write(CALLS_OFFSET + chunk, calls[0])
                store.write(chunk, windows)
            if progress is not None:
                progress(len(block))
    return scan_windows(store, n_grid)


def grid_size(block: list[FastaRecord], window: int, step: int) -> int:
    """Windows of the full grid (every window, no site prefilter) of a block of targets: ``len(window_starts(...))``
    counted without building the starts."""
    if window < 1 or step < 1:
        raise InputError(f"window ({window}) and step ({step}) must be positive")
    lengths = np.fromiter((len(rec.seq) for rec in block), dtype=np.int64, count=len(block))
    over = np.maximum(lengths - window, 0)
    return int(np.sum(np.where(over > 0, -(-over // step) + 1, 1)))


def scan_windows(store: ChunkStore, n_grid: int) -> pd.DataFrame:
    """The window table of a finished scan (chunks in order); ``attrs["n_grid"]``: windows of the full grid; with
    gene-level calls ``attrs["calls"]`` holds their table (:func:`scan_calls`)."""
    done = store.done()
    windows = store.read([c for c in done if c < CALLS_OFFSET])
    windows = windows[WINDOW_COLUMNS] if len(windows) else pd.DataFrame(columns=WINDOW_COLUMNS)
    windows.attrs["n_grid"] = int(n_grid)
    calls = [c for c in done if c >= CALLS_OFFSET]
    if calls:
        windows.attrs["calls"] = scan_calls(store, calls)
    return windows


def scan_calls(store: ChunkStore, chunks) -> pd.DataFrame:
    """The gene-level calls of a scan (:data:`CALL_TABLE_COLUMNS`), miRNA-major in scan order."""
    table = store.read(sorted(chunks))
    return table[list(CALL_TABLE_COLUMNS)] if len(table) else pd.DataFrame(columns=list(CALL_TABLE_COLUMNS))


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
