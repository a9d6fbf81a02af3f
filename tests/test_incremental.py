"""The incremental (LSTM-aware) mutagenesis engine returns the full engine's numbers (max abs diff <= 1e-5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mirlens.data.coordinates import parse_region
from mirlens.explain import PairSet, mutated_probabilities, region_effects
from mirlens.explain.mutagenesis.engine import ENGINES
from mirlens.explain.mutagenesis.incremental import changed_span, incremental_engine
from mirlens.explain.mutagenesis.mutants import Mutants, region_mutants, window_grid
from mirlens.model.architecture import MiTAR, MiTARConfig
from mirlens.model.keras_import import import_keras

TOL = 1e-5


def random_pairs(n: int, max_target: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        m, t = int(rng.integers(17, 27)), int(rng.integers(20, max_target + 1))
        rows.append((f"m{i}", "".join(rng.choice(list("ACGU"), m)), f"t{i}", "".join(rng.choice(list("ACGU"), t)), 1))
    return pd.DataFrame(rows, columns=["mirna_id", "mirna", "target_id", "target", "label"])


def random_model(slot: int, seed: int) -> MiTAR:
    torch.manual_seed(seed)
    model = MiTAR(MiTARConfig(target_slot=slot)).eval()
    with torch.no_grad():  # make the recurrent path matter: larger recurrent weights than the default init
        model.lstm.recurrent.mul_(3.0)
    return model


def assert_engines_agree(model, ps: PairSet, mutants: Mutants) -> float:
    full = mutated_probabilities(model, ps.tokens, mutants, engine="full", batch_size=1000)
    inc = mutated_probabilities(model, ps.tokens, mutants, engine="incremental", batch_size=257)
    diff = float(np.abs(full - inc).max())
    assert diff <= TOL, diff
    return diff


@pytest.mark.parametrize("slot", [40, 53])
def test_every_window_of_every_size_on_a_random_model(slot):
    model = random_model(slot, seed=slot)
    ps = PairSet.from_pairs(random_pairs(40, slot, seed=slot), model.config.input_len)
    grid = window_grid(np.arange(len(ps)), ps.mirna_lens, ps.target_lens, ps.width, range(1, 9), base=0)
    assert len(grid.mutants) > 10_000
    assert_engines_agree(model, ps, grid.mutants)
    g = window_grid(np.arange(len(ps)), ps.mirna_lens, ps.target_lens, ps.width, [3], base=4)  # to G
    assert_engines_agree(model, ps, g.mutants)


def test_mask_mutants_joint_regions_and_edges():
    model = random_model(40, seed=7)
    ps = PairSet.from_pairs(random_pairs(60, 40, seed=1), model.config.input_len)
    regions = [parse_region(r) for r in ("L2-6", "LT7-5")]  # two bands far apart: one span covering both
    joint = region_mutants(regions, ps.mirna_lens, ps.target_lens, ps.width, 0)
    lo, hi = changed_span(joint, ps.tokens)
    assert (hi - lo > 20).all()
    assert_engines_agree(model, ps, joint)
    # first and last tensor positions, and a row that changes nothing
    w = ps.width
    edge = Mutants(np.array([0, 1, 2, 3]), 4, w, lo=np.array([0, w - 1, 5, 0]), hi=np.array([1, w, 5, w]))
    assert_engines_agree(model, ps, edge)


def test_engine_is_registered_and_falls_back_for_other_models():
    assert ENGINES["incremental"] is incremental_engine
    ps = PairSet.from_pairs(random_pairs(5, 40, seed=2), 66)
    muts = Mutants(np.arange(5), 0, 66, lo=np.full(5, 10), hi=np.full(5, 12))
    out = mutated_probabilities(lambda t: (t == 0).mean(axis=1), ps.tokens, muts, engine="incremental")
    np.testing.assert_allclose(out, (muts.apply(ps.tokens) == 0).mean(axis=1), rtol=1e-6)


@pytest.mark.parametrize("name,file,slot", [
    ("miTAR1", "miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5", 53),
    ("miTAR2", "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5", 40),
])
def test_original_weights(keras_dir, mitar_data_dir, name, file, slot):
    from mirlens.data.datasets import load_dataset

    model = import_keras(keras_dir / file)[0]
    data = load_dataset("deepmirtar" if slot == 53 else "miraw", "test", data_dir=mitar_data_dir)
    ps = PairSet.from_pairs(data.iloc[:48], model.config.input_len)
    grid = window_grid(np.arange(len(ps)), ps.mirna_lens, ps.target_lens, ps.width, range(1, 9), base=0)
    assert_engines_agree(model, ps, grid.mutants)
    a = region_effects(model, ps, ["seed", "L13-4", "seed+L13-4"], engine="full").table
    b = region_effects(model, ps, ["seed", "L13-4", "seed+L13-4"], engine="incremental").table
    assert np.abs(a["mutated_mean"] - b["mutated_mean"]).max() <= TOL
