"""mirlens: miRNA target prediction with the miTAR CNN+BiLSTM model, and tools that open the model up.

Python API (the CLI ``mirlens`` is built on the same functions)::

    import mirlens
    model = mirlens.load_model("combined")                # bundled model, a user model name, a directory or a .h5
    pairs = mirlens.read_pairs("pairs.tsv")               # miTAR data files, TSV/CSV/Parquet; 5'->3' in memory
    pairs["probability"] = mirlens.score_pairs(model, pairs)
    train = mirlens.load_dataset("miraw", "train")        # named data sets (see `mirlens data list`)
    mirnas = mirlens.resolve_mirnas("hsa-let-7a-5p,hsa-miR-21-5p")   # miRBase 22.1 names -> FastaRecords

Layers, bottom to top: a package imports only from the layers below its own (never from its row, never upward,
also not inside a function), so there is no import circle; tests/test_layers.py reads this table and checks every
import of every module::

    mirlens, errors   the package root (version; the public API above, imported by name on first use), errors
    tables            result tables on disk; chunked, resumable jobs and their tasks
    data              sequences, pair files, data sets, coordinates, encoding, seed-match typing
    model, duplex     the networks and their storage; duplex energies and base pairing
    predict           scoring pairs, sliding windows, target scans
    explain           mutagenesis (the paper), attribution (beyond it), layers vs energy
    genes             the gene-level answer on whole 3'UTRs
    evaluation        metrics, specificity probes, the functional check on expression data
    training          training and tuning models
    cluster, report   Dask runs of the work units handed to it; figures and HTML from tables (never computes)
    reproduce         the paper's analyses end to end, rendered by the report layer
    cli               the ``mirlens`` command line
"""

import os

# OpenMP threads that spin while waiting collapse throughput as soon as the cores are shared with anything else
# (measured on a busy 2-core machine: 485 -> 8,780 pairs/s at batch 1024, 3.3 -> 970 pairs/s one pair per call).
# Passive waiting must be chosen before torch loads its OpenMP runtime; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_API = {
    "load_dataset": "mirlens.data.datasets", "read_fasta": "mirlens.data.fasta", "read_pairs": "mirlens.data.readers",
    "MirlensError": "mirlens.errors", "load_model": "mirlens.model.store", "save_model": "mirlens.model.store",
    "score_pairs": "mirlens.predict.score", "score_tokens": "mirlens.predict.score",
    "resolve_mirnas": "mirlens.data.mirbase",
}
"""The public API, imported on first use (``import mirlens`` alone loads neither pandas nor torch, so that CLI
commands that need neither start fast)."""


def __getattr__(name: str):
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mirlens' has no attribute {name!r}")


__version__ = "0.1.0"
__all__ = ["load_dataset", "load_model", "read_fasta", "read_pairs", "save_model", "score_pairs", "score_tokens",
           "resolve_mirnas", "MirlensError", "__version__"]
