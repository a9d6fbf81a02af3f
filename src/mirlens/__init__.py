"""mirlens: miRNA target prediction with the miTAR CNN+BiLSTM model, and tools that open the model up.

Python API (the CLI ``mirlens`` is built on the same functions)::

    import mirlens
    model = mirlens.load_model("combined")                # bundled model, a user model name, a directory or a .h5
    pairs = mirlens.read_pairs("pairs.tsv")               # miTAR data files, TSV/CSV/Parquet; 5'->3' in memory
    pairs["probability"] = mirlens.score_pairs(model, pairs)
    train = mirlens.load_dataset("miraw", "train")        # named data sets (see `mirlens data list`)
"""

import os

# OpenMP threads that spin while waiting collapse throughput as soon as the cores are shared with anything else
# (measured on a busy 2-core machine: 485 -> 8,780 pairs/s at batch 1024, 3.3 -> 970 pairs/s one pair per call).
# Passive waiting must be chosen before torch loads its OpenMP runtime; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mirlens.data.datasets import load_dataset  # noqa: E402
from mirlens.data.fasta import read_fasta  # noqa: E402
from mirlens.data.readers import read_pairs  # noqa: E402
from mirlens.errors import MirlensError  # noqa: E402
from mirlens.model.store import load_model, save_model  # noqa: E402
from mirlens.predict.score import score_pairs, score_tokens  # noqa: E402

__version__ = "0.1.0"
__all__ = ["load_dataset", "load_model", "read_fasta", "read_pairs", "save_model", "score_pairs", "score_tokens",
           "MirlensError", "__version__"]
