"""In-silico mutagenesis: which nucleotides the model relies on (paper Results 1, 3-5; Methods "in-silico
mutagenesis").

Every analysis scores its mutants through one function, :func:`mutated_probabilities`, whose engine can be swapped
(:func:`register_engine`; ``incremental``, registered here, reuses the unmutated pass). Modules: ``engine`` and
``incremental`` (scoring mutants), ``mutants`` (generating them), ``regions`` / ``joint`` (named regions, Fig. 1 and
6), ``scan`` (k-nt scans, Fig. 2 and 4), ``impact`` and ``features`` (accumulated impact and its peaks, Fig. 3 and
5), ``subsets`` (which pairs), ``presets`` (the paper's settings and reported numbers).
"""

from mirlens.explain.mutagenesis.engine import (
    ENGINES,
    as_scorer,
    model_width,
    mutated_probabilities,
    register_engine,
    score_tokens,
)
from mirlens.explain.mutagenesis import incremental as _incremental  # noqa: F401  (registers engine="incremental")
from mirlens.explain.mutagenesis.features import call_features, impact_peaks
from mirlens.explain.mutagenesis.impact import accumulative_impact
from mirlens.explain.mutagenesis.joint import JointEffects, joint_effects
from mirlens.explain.mutagenesis.mutants import Mutants, base_token, region_mutants, window_grid
from mirlens.explain.mutagenesis.presets import PRESETS, Preset, get_preset
from mirlens.explain.mutagenesis.regions import (
    RegionEffects,
    RegionSet,
    parse_region_set,
    region_effects,
    with_joint,
)
from mirlens.explain.mutagenesis.scan import ScanResult, run_scan, scan_drop_profile
from mirlens.explain.mutagenesis.subsets import extracted_subset, parse_subset, resolve_subset, select_label
from mirlens.explain.pairset import PairSet, load_pairs

__all__ = [
    "ENGINES", "JointEffects", "Mutants", "PRESETS", "PairSet", "Preset", "RegionEffects", "RegionSet", "ScanResult",
    "accumulative_impact", "as_scorer", "base_token", "call_features", "extracted_subset", "get_preset",
    "impact_peaks", "joint_effects", "load_pairs", "model_width", "mutated_probabilities", "parse_region_set",
    "parse_subset", "region_effects", "region_mutants", "register_engine", "resolve_subset", "run_scan",
    "scan_drop_profile", "score_tokens", "select_label", "window_grid", "with_joint",
]
