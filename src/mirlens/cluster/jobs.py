"""The partitions of each command run on a cluster, and their assembly into the single-machine result.

* ``score``: pair chunks (:data:`PAIRS_PER_TASK` pairs); chunk ``i`` holds the scores of pairs
  ``i*PAIRS_PER_TASK ...`` in input order.
* ``predict``: (miRNA block x target block); every miRNA of a task gets its own chunk, numbered as the
  single-machine scan numbers them (:func:`mirlens.predict.scan.scan_store`), so either kind of run resumes the other.
* ``predict-genes``: pair chunks; a pair's gene-level result depends on its miRNA and UTR only.
* ``explain scan``: the scan's own chunks of ``--chunk-pairs`` pairs (:func:`mirlens.explain.scan.run_scan`).

Every task scores its partition with the functions the single-machine path uses on the same rows, so the
assembled tables are the single-machine tables (tested in tests/test_cluster.py).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.cluster.engine import ModelRef, Task, run_tasks
from mirlens.data.fasta import FastaRecord, iter_fasta
from mirlens.tables import ChunkStore

PAIRS_PER_TASK = 16_384
"""Pairs per ``score`` task (~1 s of work on one core)."""
GENE_PAIRS_PER_TASK = 256
"""(miRNA, UTR) pairs per ``predict-genes`` task."""
WINDOWS_PER_TASK = 400_000
"""Aim of a ``predict`` task: about this many windows (several miRNAs on one target block)."""


def table_fingerprint(pairs: pd.DataFrame, columns=("mirna", "target")) -> str:
    """Hash of a pair table's sequences (identifies a job's input in its manifest)."""
    h = hashlib.sha256()
    for col in columns:
        h.update(pd.util.hash_pandas_object(pairs[col], index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


# ---- score -------------------------------------------------------------------------------------------------------

def _score_part(model, part: pd.DataFrame, chunk: int, batch_size: int,
                windows: str = "context") -> dict[int, pd.DataFrame]:
    from mirlens.predict.score import score_pair_table

    return {chunk: score_pair_table(model, part, batch_size=batch_size, windows=windows).reset_index(drop=True)}


def score_on_cluster(client, ref: ModelRef, table: pd.DataFrame, store_dir: Path, *, model_name: str,
                     batch_size: int, progress: Callable[[int], None] | None = None, windows: str = "context",
                     net=None) -> pd.DataFrame:
    """:func:`mirlens.predict.score.score_pair_table` of ``table``, computed in pair chunks on the cluster
    (index of ``table``); ``progress(n)`` counts pairs. Context scores of long targets are kept apart from padded
    ones (the store's params say ``windows``); ``net`` (the model, loaded here) narrows that to where it matters (a
    pairing model and targets longer than its slot), so that other jobs keep the params they had before."""
    from mirlens.predict.utr_pass import is_pairing

    params = {"job": "score", "model": model_name, "n_pairs": len(table), "pairs": table_fingerprint(table),
              "pairs_per_task": PAIRS_PER_TASK}
    if windows == "context" and (net is None or (
            is_pairing(net) and bool((table["target"].str.len() > net.config.target_slot).any()))):
        params["windows"] = "context"
    store = ChunkStore(store_dir, params)
    cols = [c for c in ("mirna_id", "mirna", "target_id", "target", "source", "record") if c in table]
    tasks = []
    for chunk, lo in enumerate(range(0, len(table), PAIRS_PER_TASK)):
        part = table.iloc[lo:lo + PAIRS_PER_TASK][cols].reset_index(drop=True)
        tasks.append(Task(_score_part, (part, chunk, batch_size, windows), [chunk], weight=len(part)))
    run_tasks(client, ref, store, tasks, progress)
    scores = store.read()
    scores.index = table.index
    return scores


# ---- predict (window scan) ---------------------------------------------------------------------------------------

def _scan_part(model, mirnas: list[tuple[int, FastaRecord]], block: list[FastaRecord], b_index: int,
               n_blocks: int, settings) -> dict[int, pd.DataFrame]:
    from mirlens.predict.scan import scan_mirnas_on_block

    return scan_mirnas_on_block(model, mirnas, block, b_index, n_blocks, settings)


def scan_on_cluster(client, ref: ModelRef, model, mirnas: list[FastaRecord], targets_fasta: Path, store_dir: Path,
                    settings, *, params: dict | None = None,
                    progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """:func:`mirlens.predict.scan.scan` on the cluster: tasks of (miRNA block x target block), same store and
    chunks; ``progress(n)`` counts (miRNA, target) pairs."""
    from mirlens.predict.scan import _blocks, grid_size, scan_store, scan_windows

    store, n_blocks = scan_store(model, mirnas, targets_fasta, store_dir, settings, params)
    window = model.config.target_slot
    n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
    tasks, n_grid = [], 0
    for b_index, block in enumerate(_blocks(iter_fasta(targets_fasta, allow_bare=True), settings.targets_per_chunk)):
        grid = grid_size(block, window, settings.step)
        n_grid += grid * len(mirnas)
        per_task = max(1, min(WINDOWS_PER_TASK // max(grid, 1), -(-len(mirnas) * n_blocks // (4 * n_workers))))
        for lo in range(0, len(mirnas), per_task):
            group = list(enumerate(mirnas))[lo:lo + per_task]
            tasks.append(Task(_scan_part, (group, block, b_index, n_blocks, settings),
                              [m * n_blocks + b_index for m, _ in group], weight=len(group) * len(block)))
    run_tasks(client, ref, store, tasks, progress)
    return scan_windows(store, n_grid)


# ---- predict-genes -----------------------------------------------------------------------------------------------

def _genes_part(model, part: pd.DataFrame, chunk: int, settings, model_name: str | None) -> dict[int, pd.DataFrame]:
    from mirlens.genes.predict import predict_genes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the driver says once whether a calibrator was found
        out = predict_genes(model, part, settings, model_name=model_name)
    return {chunk: out.drop(columns=["label"], errors="ignore")}


def genes_on_cluster(client, ref: ModelRef, model, pairs: pd.DataFrame, store_dir: Path, settings, *,
                     model_name: str | None, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """:func:`mirlens.genes.predict.predict_genes` on the cluster, in pair chunks; ``progress(n)`` counts UTR nt.
    Warns (here, once) as the single-machine call does when no calibrator fits the model."""
    from mirlens.genes.predict import calibrator_for

    cal, why = calibrator_for(model, model_name, settings.noncanonical)
    if cal is None:
        warnings.warn(f"{why}; the gene probability is the best candidate site's probability (uncalibrated)",
                      stacklevel=2)
    store = ChunkStore(store_dir, {"job": "predict-genes", "model": model_name, "n_pairs": len(pairs),
                                   "pairs": table_fingerprint(pairs), "settings": repr(settings),
                                   "pairs_per_task": GENE_PAIRS_PER_TASK})
    pairs = pairs.reset_index(drop=True)
    cols = [c for c in ("record", "mirna_id", "mirna", "target_id", "target", "source") if c in pairs]
    tasks = []
    for chunk, lo in enumerate(range(0, len(pairs), GENE_PAIRS_PER_TASK)):
        part = pairs.iloc[lo:lo + GENE_PAIRS_PER_TASK][cols].reset_index(drop=True)
        tasks.append(Task(_genes_part, (part, chunk, settings, model_name), [chunk],
                          weight=int(part["target"].str.len().sum())))
    run_tasks(client, ref, store, tasks, progress)
    out = store.read()
    if "ranking_score" in out:  # each part ranked its own pairs: rank within each miRNA over the whole table
        out["rank"] = out["ranking_score"].groupby(pairs["mirna"].to_numpy()).rank(
            method="min", ascending=False).astype("int64").to_numpy()
    if "label" in pairs and pairs["label"].notna().any():
        keep = [c for c in ("record", "mirna_id", "target_id") if c in out]
        out.insert(len(keep), "label", pairs["label"].to_numpy())
    return out


# ---- explain scan ------------------------------------------------------------------------------------------------

def _mutagenesis_part(model, tokens: np.ndarray, mirna_lens: np.ndarray, target_lens: np.ndarray, first: int,
                      chunk: int, options: dict) -> dict[int, pd.DataFrame]:
    from mirlens.explain.scan import scan_chunk

    return {chunk: scan_chunk(model, tokens, mirna_lens, target_lens, first, **options)}


def mutagenesis_tasks(pairset, todo: list[int], chunk_pairs: int, options: dict, passes_of) -> list[Task]:
    """Tasks of the explain scan chunks ``todo`` (each ships its own pairs' tokens)."""
    tasks = []
    for c in todo:
        sl = slice(c * chunk_pairs, min((c + 1) * chunk_pairs, len(pairset)))
        tasks.append(Task(_mutagenesis_part, (pairset.tokens[sl], pairset.mirna_lens[sl], pairset.target_lens[sl],
                                              sl.start, c, options), [c], weight=passes_of(c)))
    return tasks


def run_mutagenesis_tasks(client, ref: ModelRef, store: ChunkStore, tasks: list[Task],
                          progress: Callable[[int], None] | None) -> None:
    run_tasks(client, ref, store, tasks, progress)


def run_genes_on_cluster(spec: str, model_spec: str, model, pairs: pd.DataFrame, output: Path, settings, meta: dict,
                         progress: Callable[[int], None] | None = None, say: Callable[[str], None] = print
                         ) -> pd.DataFrame:
    """``predict-genes --cluster``: connect, run :func:`genes_on_cluster` with its parts next to ``output``
    (removed once the table is complete)."""
    import shutil

    from mirlens.cluster.engine import connect

    work = output.parent / f".{output.name}.parts"
    with connect(spec, say=say) as client:
        table = genes_on_cluster(client, ModelRef.of(model_spec), model, pairs, work, settings,
                                 model_name=meta.get("name"), progress=progress)
    shutil.rmtree(work, ignore_errors=True)
    return table
