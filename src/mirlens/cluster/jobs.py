"""The partitions of each command run on a cluster, and their assembly into the single-machine result.

* ``score``: pair chunks (:data:`PAIRS_PER_TASK` pairs); chunk ``i`` holds the scores of pairs
  ``i*PAIRS_PER_TASK ...`` in input order.
* ``predict``: (miRNA block x target block); every miRNA of a task gets its own chunk, numbered as the
  single-machine scan numbers them (:func:`mirlens.predict.scan.scan_store`), so either kind of run resumes the other.
* ``predict-genes``: pair chunks; a pair's gene-level result depends on its miRNA and UTR only.
* ``explain scan`` cuts its own work into tasks (:func:`mirlens.explain.mutagenesis.scan.run_scan`, run by
  :func:`mirlens.cluster.engine.chunk_runner`).

Every task scores its partition with the functions the single-machine path uses on the same rows, so the
assembled tables are the single-machine tables (tested in tests/test_cluster.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.cluster.engine import ModelRef, Task, run_tasks
from mirlens.data.fasta import FastaRecord, iter_fasta
from mirlens.tables import ChunkStore, table_fingerprint

PAIRS_PER_TASK = 16_384
"""Pairs per ``score`` task (~1 s of work on one core)."""
GENE_PAIRS_PER_TASK = 500
"""(miRNA, UTR) pairs per ``predict-genes`` task (pairs of one miRNA)."""
WINDOWS_PER_TASK = 400_000
"""Aim of a ``predict`` task: about this many windows (several miRNAs on one target block)."""


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
    from mirlens.predict.scan import CALLS_OFFSET, _blocks, calls_wanted, grid_size, scan_store, scan_windows

    store, n_blocks = scan_store(model, mirnas, targets_fasta, store_dir, settings, params)
    with_calls = calls_wanted(model, settings)
    window = model.config.target_slot
    n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
    tasks, n_grid = [], 0
    for b_index, block in enumerate(_blocks(iter_fasta(targets_fasta, allow_bare=True), settings.targets_per_chunk)):
        grid = grid_size(block, window, settings.step)
        n_grid += grid * len(mirnas)
        per_task = max(1, min(WINDOWS_PER_TASK // max(grid, 1), -(-len(mirnas) * n_blocks // (4 * n_workers))))
        for lo in range(0, len(mirnas), per_task):
            group = list(enumerate(mirnas))[lo:lo + per_task]
            chunks = [m * n_blocks + b_index for m, _ in group]
            if with_calls:  # each task also writes the gene-level calls of its chunks
                chunks += [CALLS_OFFSET + c for c in chunks]
            tasks.append(Task(_scan_part, (group, block, b_index, n_blocks, settings), chunks,
                              weight=len(group) * len(block)))
    run_tasks(client, ref, store, tasks, progress)
    return scan_windows(store, n_grid)


# ---- predict-genes -----------------------------------------------------------------------------------------------

def _genes_part(model, mirna: str, utrs: list[str], rows: np.ndarray, chunk: int, meta: dict,
                repression: dict | None) -> dict[int, pd.DataFrame]:
    from mirlens.genes.repression import RepressionModel
    from mirlens.genes.table import gene_models, score_part

    models = gene_models(meta, None if repression is None else RepressionModel.from_dict(repression))
    part = score_part(model, mirna, utrs, models)
    part.insert(0, "row", rows)
    return {chunk: part}


def genes_on_cluster(client, ref: ModelRef, model, pairs: pd.DataFrame, store_dir: Path, meta: dict,
                     repression=None, *, sort: str = "input", progress: Callable[[int], None] | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The gene table and sites table of :func:`mirlens.genes.table.gene_table` on the cluster: its parts (the
    pairs of one miRNA, in blocks) are the tasks, ranks are computed over the assembled table; ``progress(n)``
    counts UTR nt. The repression model (None: the shipped one) travels with each task as parameters."""
    from mirlens.genes.table import assemble, check_pairs, parts

    check_pairs(pairs, model.config.mirna_slot)
    pairs = pairs.reset_index(drop=True)
    rep = None if repression is None else repression.to_dict()
    card = {"card": {k: meta.get("card", {}).get(k) for k in ("scan_threshold", "utr_call")}}
    store = ChunkStore(store_dir, {"job": "predict-genes", "model": meta.get("name"), "n_pairs": len(pairs),
                                   "pairs": table_fingerprint(pairs), "repression": rep, **card,
                                   "pairs_per_task": GENE_PAIRS_PER_TASK})
    tasks = []
    for chunk, rows in enumerate(parts(pairs, GENE_PAIRS_PER_TASK)):
        utrs = pairs["target"].iloc[rows].tolist()
        tasks.append(Task(_genes_part, (pairs["mirna"].iloc[rows[0]], utrs, rows, chunk, card, rep), [chunk],
                          weight=sum(len(u) for u in utrs)))
    run_tasks(client, ref, store, tasks, progress)
    return assemble(pairs, store.read(), sort=sort)


def run_genes_on_cluster(spec: str, model_spec: str, model, pairs: pd.DataFrame, output: Path, meta: dict,
                         repression=None, *, sort: str = "input", progress: Callable[[int], None] | None = None,
                         say: Callable[[str], None] = print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``predict-genes --cluster``: connect, run :func:`genes_on_cluster` with its parts next to ``output``
    (removed once the table is complete)."""
    import shutil

    from mirlens.cluster.engine import connect

    work = output.parent / f".{output.name}.parts"
    with connect(spec, say=say) as client:
        out = genes_on_cluster(client, ModelRef.of(model_spec), model, pairs, work, meta, repression, sort=sort,
                               progress=progress)
    shutil.rmtree(work, ignore_errors=True)
    return out
