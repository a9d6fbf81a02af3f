"""Opening the model up, one subpackage per question (every analysis returns tidy tables; :mod:`mirlens.report`
draws them):

* :mod:`mirlens.explain.mutagenesis` -- which nucleotides does the model rely on? The paper's in-silico mutagenesis
  (Results 1, 3-5): region effects, k-nt scans, accumulated impact, features, joint effects, the paper's presets.
* :mod:`mirlens.explain.attribution` -- beyond the paper: gradient attributions (Integrated Gradients,
  DeepLIFT-SHAP), where they disagree with the N-scan, saturation mutagenesis, the compensatory-pairing test.
* :mod:`mirlens.explain.layers` -- do the layers encode binding free energy? (Table 1, Supp. Table 1.)

Shared by all three: :class:`~mirlens.explain.pairset.PairSet` (the pairs an analysis runs on, tokenised for one
model width) and :mod:`mirlens.explain.stats` (standard errors, Mann-Whitney U, bootstrap).

The mutagenesis API is re-exported here (imported on first use)::

    >>> ps = PairSet.from_pairs(pairs, model.config.input_len)
    >>> region_effects(model, ps, ["seed", "L13-4", "seed+L13-4"]).table
    >>> scan = run_scan(model, ps, ks="1-6", out_dir="scan/")        # per-pair chunks + scan.summary
    >>> impact, contexts = accumulative_impact(scan.summary)
    >>> call_features(impact, peaks_per_side=2, length=4)
    >>> joint_effects(model, ps, ["seed", "L4-4", "L13-4"], n_boot=1000, seed=0).table
"""

from __future__ import annotations

__all__ = [
    "ENGINES", "JointEffects", "Mutants", "PRESETS", "PairSet", "Preset", "RegionEffects", "RegionSet", "ScanResult",
    "accumulative_impact", "as_scorer", "base_token", "call_features", "extracted_subset", "get_preset",
    "impact_peaks", "joint_effects", "load_pairs", "model_width", "mutated_probabilities", "parse_region_set",
    "parse_subset", "region_effects", "region_mutants", "register_engine", "resolve_subset", "run_scan",
    "scan_drop_profile", "score_tokens", "select_label", "window_grid", "with_joint",
]


def __getattr__(name: str):
    """The re-exported names, imported on first use (``import mirlens.explain.layers`` loads no mutagenesis)."""
    if name in ("PairSet", "load_pairs"):
        from mirlens.explain import pairset as module
    elif name in __all__:
        from mirlens.explain import mutagenesis as module
    else:
        raise AttributeError(f"module 'mirlens.explain' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value
