"""Mutagenesis with the imported original miTAR1/miTAR2 weights reproduces the Keras references to 1e-4.

References (../shared/refs/keras): conventions.json (``A:*`` = per-pair biological coordinates, reduction = mean
raw - mean mutated over all positives) and scan1_*_convA.tsv (1-nt scan, 3,000 positives drawn by
``np.random.default_rng(0).choice(n, 3000, replace=False)``, mean drop over all 3,000 pairs with absent positions
counted as unchanged). Pair sets: miTAR1 -- the 3,908 positives of the DeepMirTar training file; miTAR2 -- all
32,660 miRAW positives. Everything runs on the full sets (about a minute of forward passes on 2 cores).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mirlens.data.datasets import load_dataset
from mirlens.explain import PairSet, region_effects, run_scan, scan_drop_profile, select_label
from mirlens.model.keras_import import import_keras

KERAS_FILES = {"miTAR1": "miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5", "miTAR2": "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5"}
DATA = {"miTAR1": ("deepmirtar", "pool", 3908), "miTAR2": ("miraw", "all", 32660)}
REGIONS = {"miTAR1": ["seed", "L4-4", "L13-4", "seed+L13-4", "L4-4+L13-4", "seed+L4-4"],
           "miTAR2": ["seed", "LT7-5", "L10-4", "seed+L10-4", "L10-4+LT7-5", "seed+LT7-5"]}
TOL = 1e-4


@pytest.fixture(scope="module")
def refs(keras_refs):
    return json.loads((keras_refs / "conventions.json").read_text())


@pytest.fixture(scope="module", params=["miTAR1", "miTAR2"])
def case(request, keras_dir, mitar_data_dir):
    name = request.param
    model = import_keras(keras_dir / KERAS_FILES[name])[0]
    dataset, part, n = DATA[name]
    pairs = PairSet.from_pairs(load_dataset(dataset, part, data_dir=mitar_data_dir), model.config.input_len)
    positives = select_label(pairs, "positives")
    assert len(positives) == n
    return name, model, positives


def test_region_effects_match_keras(case, refs):
    name, model, pairs = case
    ref = refs[name]
    eff = region_effects(model, pairs, REGIONS[name])
    t = eff.table.set_index("region_set")
    assert t["n"].eq(ref["n"]).all()
    assert abs(t["raw_mean"].iloc[0] - ref["raw_mean"]) <= TOL
    for region in REGIONS[name]:
        assert abs(t.loc[region, "reduction"] - ref[f"A:{region}"]) <= TOL, region
    # the reference p-value underflowed to 0.0 in its run; ours (scipy's asymptotic method) is tiny but finite
    assert ref["A:seed:mwu_p"] == 0.0 and t.loc["seed", "mwu_p"] < 1e-100
    assert t["significant"].loc[["seed", REGIONS[name][1], REGIONS[name][2]]].all()
    # the seed mutated to G (Supp. Fig. 1), reusing the raw probabilities
    g = region_effects(model, pairs, ["seed"], to="G", raw=eff.raw).table
    assert abs(g["reduction"].iloc[0] - ref["A:seed->G"]) <= TOL


def test_one_nucleotide_scan_matches_keras(case, refs, keras_refs):
    name, model, pairs = case
    sample = pairs.sample(3000, seed=0)
    result = run_scan(model, sample, ks=[1])
    ours = scan_drop_profile(result.summary, 1, over="all")
    ref = pd.read_csv(keras_refs / f"scan1_{name}_convA.tsv", sep="\t").set_index("position")["mean_drop"]
    assert list(ours.index) == list(ref.index)
    assert np.abs(ours - ref).max() <= TOL
    top = [label for label, _ in refs[name]["A:scan1_top"]]
    assert list(ours.sort_values(ascending=False).index[:len(top)]) == top
