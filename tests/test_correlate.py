"""Layer-energy correlations: the vectorised Spearman against SciPy, and Table 1 on a toy model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from mirlens.explain.layers.correlate import benjamini_hochberg, layer_energy_correlations, spearman_columns, table1
from mirlens.model.architecture import MiTAR, MiTARConfig


def test_spearman_matches_scipy_including_ties_and_constants():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 30))
    x[:, 3] = rng.integers(0, 4, 200)  # many ties
    x[:, 5] = 0.0  # constant: no correlation
    x[:, 7] = np.maximum(x[:, 7], 0)  # relu-like, ties at 0
    y = rng.normal(size=200).round(1)  # ties in y too
    rho, p = spearman_columns(x, y)
    for j in range(30):
        if j == 5:
            assert np.isnan(rho[j])
            continue
        ref = stats.spearmanr(x[:, j], y)
        assert rho[j] == pytest.approx(ref.statistic, abs=1e-12)
        assert p[j] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


def test_bh_matches_scipy():
    p = np.random.default_rng(1).uniform(size=50) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p))


def _toy_model() -> MiTAR:
    """A model whose conv filter 0 counts G and C (a stand-in for pairing strength); the rest is random."""
    torch.manual_seed(0)
    model = MiTAR(MiTARConfig(target_slot=40)).eval()
    with torch.no_grad():
        model.embedding.weight.copy_(torch.eye(5))  # one-hot tokens N A U C G
        model.conv.weight[0] = 0.0
        model.conv.weight[0, 3:5, :] = 1.0  # filter 0 = number of C/G in its 12-nt window
        model.conv.bias[0] = 0.0
    return model


def test_table1_finds_the_unit_built_to_track_energy():
    rng = np.random.default_rng(2)
    tokens = rng.integers(1, 5, size=(300, 66)).astype(np.uint8)
    gc = np.isin(tokens, (3, 4)).sum(axis=1)
    energy = -1.5 * gc + rng.normal(scale=0.5, size=300)  # more G/C, lower (stronger) energy
    units = layer_energy_correlations(_toy_model(), tokens, energy, layers=("conv", "pool", "bilstm", "dense"),
                                      filters_per_block=64)
    summary = table1(units).set_index(["layer", "level"])
    assert summary.loc[("conv", "feature_map"), "MinUnit"] == "f0"
    assert summary.loc[("conv", "feature_map"), "MinCor"] < -0.9
    assert summary.loc[("pool", "feature_map"), "MinUnit"] == "f0"
    # unit counts: conv 55 x 320 = 17,600 units, pool 27 x 320 = 8,640, minus constant (always-zero) units
    conv = units[(units.layer == "conv") & (units.level == "unit")]
    assert len(conv) == 55 * 320
    assert summary.loc[("conv", "unit"), "UnitCount"] + summary.loc[("conv", "unit"), "ConstantUnits"] == 17600
    assert summary.loc[("bilstm", "unit"), "UnitCount"] + summary.loc[("bilstm", "unit"), "ConstantUnits"] == 64
    assert set(units[units.layer == "bilstm"]["level"]) == {"unit", "all", "direction", "all_signed"}
    # unit names put filter and position together: a single conv unit of filter 0 correlates strongly too
    f0 = conv[conv["unit"].str.startswith("f0:")]
    assert f0["rho"].min() < -0.2
    # adjusted p-values: Bonferroni over the tested units of that layer and level
    tested = conv["rho"].notna().sum()
    row = conv.loc[conv["rho"].idxmin()]
    assert row["pval_bonferroni"] == pytest.approx(min(row["pval"] * tested, 1.0))


def test_unit_values_equal_the_layer_outputs():
    """The per-filter-block recomputation of conv/pool units gives the same correlations as the full layer."""
    model = _toy_model()
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, 5, size=(64, 66)).astype(np.uint8)
    energy = rng.normal(size=64)
    units = layer_energy_correlations(model, tokens, energy, layers=("pool",), filters_per_block=7)
    pool = model.layer_outputs(torch.from_numpy(tokens).long())["pool"].double().numpy()  # (B, T, F)
    rho, _ = spearman_columns(pool[:, 4, :], energy)  # position 4 of every filter
    got = units[(units.level == "unit") & units["unit"].str.endswith(":p4")].set_index("unit")["rho"]
    np.testing.assert_allclose(got[[f"f{i}:p4" for i in range(320)]].to_numpy(), rho, equal_nan=True)


def test_sign_split_sums_are_the_papers_table1_layout():
    """feature_map_signed / all_signed: per filter (and over the layer) the units correlating positively summed
    apart from those correlating negatively -- recomputed here by hand from the layer outputs."""
    rng = np.random.default_rng(3)
    tokens = rng.integers(1, 5, size=(150, 66)).astype(np.uint8)
    energy = -np.isin(tokens, (3, 4)).sum(axis=1) + rng.normal(scale=0.5, size=150)
    model = _toy_model()
    units = layer_energy_correlations(model, tokens, energy, layers=("conv", "bilstm"), filters_per_block=64)
    with torch.no_grad():
        out = model.layer_outputs(torch.from_numpy(tokens.astype(np.int64)))
    conv = out["conv"].double().numpy()  # (n, positions, filters)
    n = len(tokens)
    rho, _ = spearman_columns(conv.reshape(n, -1), energy)
    rho = rho.reshape(conv.shape[1], conv.shape[2])
    fm = units[(units.layer == "conv") & (units.level == "feature_map_signed")].set_index("unit")
    for f in (0, 1, 17):
        for sign, mask in (("+", rho[:, f] > 0), ("-", rho[:, f] < 0)):
            if mask.any():
                want = stats.spearmanr(conv[:, mask, f].sum(axis=1), energy).statistic
                assert fm.loc[f"f{f}{sign}", "rho"] == pytest.approx(want, abs=1e-9)
    n_maps = int((rho > 0).any(axis=0).sum() + (rho < 0).any(axis=0).sum())
    assert len(fm) == n_maps <= 2 * 320  # the paper's 640 (632 where some filters lack one sign)
    al = units[(units.layer == "conv") & (units.level == "all_signed")].set_index("unit")["rho"]
    flat, r = conv.reshape(n, -1), rho.ravel()
    assert al["positive"] == pytest.approx(stats.spearmanr(flat[:, r > 0].sum(axis=1), energy).statistic, abs=1e-9)
    assert al["negative"] == pytest.approx(stats.spearmanr(flat[:, r < 0].sum(axis=1), energy).statistic, abs=1e-9)
    assert al["negative"] < -0.5 < 0.0 < al["positive"]  # G/C-counting filter: more G/C, lower energy
    bi = out["bilstm"].double().numpy()
    rb, _ = spearman_columns(bi, energy)
    got = units[(units.layer == "bilstm") & (units.level == "all_signed")].set_index("unit")["rho"]
    assert got["positive"] == pytest.approx(stats.spearmanr(bi[:, rb > 0].sum(axis=1), energy).statistic, abs=1e-9)
    summary = table1(units).set_index(["layer", "level"])
    assert summary.loc[("conv", "all_signed"), "UnitCount"] == 2


def test_correlate_cli_with_the_papers_energies(keras_dir, tmp_path):
    """--mirna-as-written: energies of the miRNA as the data files write it (reversed), the Table 1 energies."""
    import pandas as pd
    from typer.testing import CliRunner

    from mirlens.cli.app import _register, app
    from mirlens.data.examples import example_path

    _register()
    h5 = str(keras_dir / "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5")
    outs = {}
    for flag in ([], ["--mirna-as-written"]):
        out = tmp_path / ("written" if flag else "5to3")
        result = CliRunner().invoke(app, ["explain", "correlate", "--model", h5, "--data",
                                          str(example_path("pairs.tsv")), "--all", "--layers", "conv,bilstm",
                                          "--no-cache", "-o", str(out), *flag])
        assert result.exit_code == 0, result.output
        outs["written" if flag else "5to3"] = out
    t = pd.read_csv(outs["written"] / "table1.tsv", sep="\t")
    assert set(t["energy"]) == {"as_written"} and {"feature_map_signed", "all_signed"} <= set(t["level"])
    e1 = pd.read_csv(outs["5to3"] / "energies.tsv", sep="\t")["energy"]
    e2 = pd.read_csv(outs["written"] / "energies.tsv", sep="\t")["energy"]
    assert len(e1) == len(e2) and (e1 != e2).any()
    assert e1.mean() < e2.mean()  # the real duplexes bind more strongly than the reversed-miRNA ones
