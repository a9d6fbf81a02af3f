"""mirlens: miRNA target prediction with the miTAR CNN+BiLSTM model, and tools that open the model up.

Python API (the CLI ``mirlens`` is built on the same functions)::

    import mirlens
    model = mirlens.load_model("combined")                # bundled model, a user model name, a directory or a .h5
    pairs = mirlens.read_pairs("pairs.tsv")               # miTAR data files, TSV/CSV/Parquet; 5'->3' in memory
    pairs["probability"] = mirlens.score_pairs(model, pairs)
    train = mirlens.load_dataset("miraw", "train")        # named data sets (see `mirlens data list`)
"""

from mirlens.data.datasets import load_dataset
from mirlens.data.fasta import read_fasta
from mirlens.data.readers import read_pairs
from mirlens.errors import MirlensError
from mirlens.model.store import load_model, save_model
from mirlens.predict.score import score_pairs, score_tokens

__version__ = "0.1.0"
__all__ = ["load_dataset", "load_model", "read_fasta", "read_pairs", "save_model", "score_pairs", "score_tokens",
           "MirlensError", "__version__"]
