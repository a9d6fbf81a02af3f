"""Duplex free energy and base pairing of (miRNA, target) pairs (paper Results: Table 1 energies, Table 2 pairing).

>>> table = compute_duplexes(mirnas, targets, "miranda", cache=DuplexCache())
>>> region_pairing(table, "seed=L2-6,L13-4,LT7-5")

Backends: ``miranda`` (a re-implementation of miRanda 1.9's seed-weighted alignment with ViennaRNA energies of its
construct, the paper's choice), ``duplexfold`` (ViennaRNA) and ``rnahybrid`` (the RNAhybrid program).
"""

from mirlens.duplex.alignment import MIRANDA_19, Scoring, accepted_hits, align, traceback
from mirlens.duplex.cache import DuplexCache, default_cache_dir, pair_key
from mirlens.duplex.compute import RESULT_COLUMNS, check_backend, compute_duplexes
from mirlens.duplex.energy import BACKENDS, miranda_construct
from mirlens.duplex.pairing import paired_matrix, parse_named_regions, region_pairing

__all__ = [
    "BACKENDS", "DuplexCache", "MIRANDA_19", "RESULT_COLUMNS", "Scoring", "accepted_hits", "align",
    "check_backend", "compute_duplexes", "default_cache_dir", "miranda_construct", "pair_key", "paired_matrix",
    "parse_named_regions", "region_pairing", "traceback",
]
