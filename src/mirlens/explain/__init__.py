"""In-silico mutagenesis: what the model relies on (paper Results 1, 3-5; Methods "in-silico mutagenesis").

Every analysis returns tidy pandas tables (figures are drawn by :mod:`mirlens.report`) and scores mutants through
one function, :func:`mutated_probabilities`, whose engine can be swapped (:func:`register_engine`).

>>> ps = PairSet.from_pairs(pairs, model.config.input_len)
>>> region_effects(model, ps, ["seed", "L13-4", "seed+L13-4"]).table
>>> scan = run_scan(model, ps, ks="1-6", out_dir="scan/")        # per-pair chunks + scan.summary
>>> impact, contexts = accumulative_impact(scan.summary)
>>> call_features(impact, peaks_per_side=2, length=4)
>>> joint_effects(model, ps, ["seed", "L4-4", "L13-4"], n_boot=1000, seed=0).table
"""

from mirlens.explain.engine import (
    ENGINES,
    as_scorer,
    model_width,
    mutated_probabilities,
    register_engine,
    score_tokens,
)
from mirlens.explain import incremental as _incremental  # noqa: F401  (registers engine="incremental")
from mirlens.explain.features import call_features, impact_peaks
from mirlens.explain.impact import accumulative_impact
from mirlens.explain.joint import JointEffects, joint_effects
from mirlens.explain.mutants import Mutants, base_token, region_mutants, window_grid
from mirlens.explain.pairset import PairSet, load_pairs
from mirlens.explain.presets import PRESETS, Preset, get_preset
from mirlens.explain.regions import RegionEffects, RegionSet, parse_region_set, region_effects, with_joint
from mirlens.explain.scan import ScanResult, run_scan, scan_drop_profile
from mirlens.explain.subsets import extracted_subset, parse_subset, resolve_subset, select_label

__all__ = [
    "ENGINES", "JointEffects", "Mutants", "PRESETS", "PairSet", "Preset", "RegionEffects", "RegionSet", "ScanResult",
    "accumulative_impact", "as_scorer", "base_token", "call_features", "extracted_subset", "get_preset",
    "impact_peaks", "joint_effects", "load_pairs", "model_width", "mutated_probabilities", "parse_region_set",
    "parse_subset", "region_effects", "region_mutants", "register_engine", "resolve_subset", "run_scan",
    "scan_drop_profile", "score_tokens", "select_label", "window_grid", "with_joint",
]
