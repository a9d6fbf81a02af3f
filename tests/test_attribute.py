"""Integrated Gradients per nucleotide: one-hot forward paths, completeness, coordinates, the N-scan agreement."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.coordinates import index_position
from mirlens.data.encoding import MIRNA_SLOT
from mirlens.explain import PairSet
from mirlens.explain.attribution.attribute import agreement, integrated_gradients, n_scan_drops, reference_tokens
from mirlens.model.architecture import MiTAR, MiTARConfig
from mirlens.model.pairing import PairingConfig, PairingModel

_register()
runner = CliRunner()


def random_pairs(n: int, seed: int, tlen=(20, 40)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"mirna_id": f"m{i}", "mirna": "".join(rng.choice(list("ACGU"), int(rng.integers(18, 24)))),
             "target_id": f"t{i}", "target": "".join(rng.choice(list("ACGU"), int(rng.integers(*tlen)))), "label": 1}
            for i in range(n)]
    return pd.DataFrame(rows)


class Linear(torch.nn.Module):
    """A model linear in the one-hot input: Integrated Gradients is exact for it."""

    def __init__(self, width: int):
        super().__init__()
        torch.manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(width, 5))
        self.config = SimpleNamespace(mirna_slot=MIRNA_SLOT, target_slot=width - MIRNA_SLOT, input_len=width)

    def forward_onehot(self, x, tokens=None):
        return (x * self.w).sum(dim=(1, 2))

    def forward(self, tokens):
        return self.forward_onehot(F.one_hot(tokens.long(), 5).to(self.w.dtype))


def test_one_hot_paths_equal_the_forward_pass():
    torch.manual_seed(3)
    tok = torch.from_numpy(PairSet.from_pairs(random_pairs(12, 1), MIRNA_SLOT + 40).tokens.astype(np.int64))
    for model in (MiTAR(MiTARConfig(target_slot=40)).eval(), PairingModel(PairingConfig(target_slot=40)).eval()):
        with torch.no_grad():
            assert torch.allclose(model.forward_onehot(F.one_hot(tok, 5).float(), tok), model(tok), atol=1e-5)


def test_exact_for_a_linear_model_and_in_biological_coordinates():
    ps = PairSet.from_pairs(random_pairs(6, 2), MIRNA_SLOT + 40)
    model = Linear(ps.width)
    a = integrated_gradients(model, ps, steps=8)
    assert np.abs(a.pairs["delta"]).max() < 1e-6  # exact up to Captum's float32 step weights
    w = model.w.detach().double().numpy()
    x = np.eye(5)[ps.tokens]
    expected = ((x - np.eye(5)[0]) * w).sum(axis=-1)  # reference: every position N
    pos = a.positions
    assert len(pos) == int((ps.mirna_lens + ps.target_lens).sum())  # only the pairs' real nucleotides
    for row in pos.sample(40, random_state=0).itertuples():
        m, t = ps.mirna_lens[row.pair], ps.target_lens[row.pair]
        idx = (m - row.position) if row.side == "mirna" else (MIRNA_SLOT + t - row.position)
        assert index_position(idx, m, t) == (row.side, row.position)
        assert row.attribution == pytest.approx(expected[row.pair, idx])
        seq = ps.pairs.loc[row.pair, "mirna" if row.side == "mirna" else "target"]
        assert row.nucleotide == (seq[row.position - 1] if row.side == "mirna" else seq[len(seq) - row.position])


def test_completeness_improves_with_steps_on_a_pairing_model():
    torch.manual_seed(4)
    model = PairingModel(PairingConfig(target_slot=40)).eval()
    ps = PairSet.from_pairs(random_pairs(6, 3), MIRNA_SLOT + 40)
    coarse = integrated_gradients(model, ps, steps=8)
    fine = integrated_gradients(model, ps, steps=256)
    for a in (coarse, fine):  # the reported delta is exactly what completeness leaves over
        p = a.pairs
        assert np.allclose(p["attribution_sum"] - (p["logit"] - p["reference_logit"]), p["delta"], atol=1e-8)
    assert np.abs(fine.pairs["delta"]).mean() < np.abs(coarse.pairs["delta"]).mean()
    assert np.abs(fine.pairs["delta"]).max() < 0.05
    # a shuffled-target reference keeps the miRNA: its nucleotides get no attribution
    shuffled = integrated_gradients(model, ps, reference="shuffle", steps=16, seed=1)
    assert (shuffled.positions.loc[shuffled.positions["side"] == "mirna", "attribution"] == 0).all()
    ref = reference_tokens(ps, "shuffle", seed=1)
    assert (ref[:, :MIRNA_SLOT] == ps.tokens[:, :MIRNA_SLOT]).all()
    assert not (ref[:, MIRNA_SLOT:] == ps.tokens[:, MIRNA_SLOT:]).all()
    # agreement with the 1-nt N-scan on logits, one rho per pair
    rho = agreement(fine, n_scan_drops(model, ps))
    assert len(rho) == len(ps) and rho["spearman"].between(-1, 1).all()


def test_attribute_cli(tmp_path):
    f = tmp_path / "p.tsv"
    random_pairs(5, 5).to_csv(f, sep="\t", index=False)
    out = tmp_path / "a.parquet"
    res = runner.invoke(app, ["explain", "attribute", "--model", "pairing", "--data", str(f), "--steps", "16",
                              "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "completeness" in res.output and "Spearman with the 1-nt N-scan" in res.output
    pos = pd.read_parquet(out)
    pairs = pd.read_csv(tmp_path / "a.pairs.tsv", sep="\t")
    assert {"pair", "side", "position", "nucleotide", "attribution", "mirna_id", "model"} <= set(pos.columns)
    assert {"delta", "spearman", "steps"} <= set(pairs.columns) and len(pairs) == 5
    res = runner.invoke(app, ["explain", "attribute", "--model", "pairing", "--data", str(f), "--steps", "16",
                              "--tolerance", "1e-2", "--max-steps", "128", "--no-cache", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "steps per pair median" in res.output and "(cap 128)" in res.output
    pairs = pd.read_csv(tmp_path / "a.pairs.tsv", sep="\t")
    assert pairs["steps"].between(16, 128).all() and "delta_bound" in pairs
    assert (pairs["delta"].abs() <= pairs["delta_bound"] + 1e-9).all()


class ReadsL2(torch.nn.Module):
    """logit = 5 if miRNA position L2 is G, else 0 (all miRNAs here are 22 nt)."""

    def __init__(self, width: int):
        super().__init__()
        self.config = SimpleNamespace(mirna_slot=MIRNA_SLOT, target_slot=width - MIRNA_SLOT, input_len=width)

    def forward(self, tokens):
        return 5.0 * (tokens[:, 22 - 2] == 4).float()  # token 4 = G; L2 of a 22-nt miRNA is tensor index 20


def test_saturation_and_logo_matrix():
    from mirlens.explain.attribution.saturation import importance, saturation

    pairs = random_pairs(40, 7)
    pairs["mirna"] = [m[:1] + ("G" if i % 2 else "A") + m[2:21] + "U" for i, m in enumerate(pairs["mirna"].str.ljust(22, "C"))]
    ps = PairSet.from_pairs(pairs, MIRNA_SLOT + 40)
    sat = saturation(ReadsL2(ps.width), ps)
    assert len(sat) == 3 * int((ps.mirna_lens + ps.target_lens).sum())
    assert (sat["to"] != sat["nucleotide"]).all()
    l2 = sat[(sat["side"] == "mirna") & (sat["position"] == 2)]
    assert np.allclose(l2.loc[l2["nucleotide"] == "G", "delta"], -5.0)
    assert np.allclose(l2.loc[(l2["nucleotide"] == "A") & (l2["to"] == "G"), "delta"], 5.0)
    assert (sat.loc[~((sat["side"] == "mirna") & (sat["position"] == 2)), "delta"] == 0).all()
    logo = importance(sat, "mirna", 22)
    assert logo.loc[2, "G"] == pytest.approx(0.5 * 5.0) and logo.loc[2, "A"] == pytest.approx(-0.5 * 5.0 / 3)
    assert (logo.drop(index=2).to_numpy() == 0).all() and list(logo.columns) == ["A", "C", "G", "U"]


def test_saturate_cli(tmp_path):
    f = tmp_path / "p.tsv"
    random_pairs(4, 8).to_csv(f, sep="\t", index=False)
    out = tmp_path / "s.parquet"
    res = runner.invoke(app, ["explain", "saturate", "--model", "pairing", "--data", str(f), "-o", str(out),
                              "--plot", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "saturation.png").is_file()
    logo = pd.read_csv(tmp_path / "s.mirna_logo.tsv", sep="\t")
    assert list(logo.columns) == ["position", "A", "C", "G", "U"] and len(logo) == 22


def test_adaptive_steps_bound_the_completeness_per_pair():
    torch.manual_seed(5)
    model = PairingModel(PairingConfig(target_slot=40)).eval()
    ps = PairSet.from_pairs(random_pairs(4, 9), MIRNA_SLOT + 40)
    fixed = integrated_gradients(model, ps, steps=16)
    a = integrated_gradients(model, ps, steps=16, tolerance=1e-4, max_steps=4096)
    p = a.pairs
    assert (p["delta_bound"] <= 1e-4).all() and (p["delta"].abs() <= p["delta_bound"] + 1e-9).all()
    assert (p["steps"] >= 16).all() and (p["steps"] <= 4096).all() and (p["steps"] % 8 == 0).all()
    assert np.abs(fixed.pairs["delta"]).max() > 1e-4  # the fixed rule with as many starting steps is not enough
    # the cap is honoured: with a tolerance out of reach every pair stops at max_steps
    capped = integrated_gradients(model, ps, steps=16, tolerance=1e-12, max_steps=64)
    assert (capped.pairs["steps"] <= 64).all() and (capped.pairs["delta_bound"] > 1e-12).all()


@pytest.mark.parametrize("family", ["mitar", "pairing"])
def test_deeplift_shap_sums_to_the_difference_from_the_reference_mean(family):
    from mirlens.explain.attribution.deeplift import captum_on_plain_model, deeplift_network, deeplift_shap

    torch.manual_seed(6)
    model = (MiTAR(MiTARConfig(target_slot=40)) if family == "mitar" else PairingModel(PairingConfig(target_slot=40)))
    model.eval()
    with torch.no_grad():  # Keras' initial weights give a near-constant miTAR: scale up to a non-trivial function
        for w in model.parameters():
            w.mul_(3.0)
    ps = PairSet.from_pairs(random_pairs(5, 10), MIRNA_SLOT + 40)
    tok = torch.from_numpy(ps.tokens.astype(np.int64))
    with torch.no_grad():  # the module-nonlinearity twin computes the same function
        twin = deeplift_network(model)(F.one_hot(tok, 5).double(), tok)
        assert torch.allclose(twin, model.double().forward_onehot(F.one_hot(tok, 5).double(), tok), atol=1e-10)
    model.float()
    for ref, k in (("N", 1), ("shuffle", 3)):
        a = deeplift_shap(model, ps, reference=ref, n_references=k, seed=2)
        p = a.pairs
        assert (p["steps"] == k).all() and np.abs(p["delta"]).max() < 1e-9  # summation-to-delta, to rounding
        assert np.abs(p["logit"] - p["reference_logit"]).max() > 0.05  # a difference to share out
    # the reference logit of the shuffled case is the mean over the shuffles
    from mirlens.explain.attribution.attribute import _logits
    exact = model.double()
    means = np.mean([_logits(exact, reference_tokens(ps, "shuffle", 2 + j)) for j in range(3)], axis=0)
    assert np.allclose(a.pairs["reference_logit"], means)
    # Captum on the model as written (functional relu, clip, max, products) does not add up
    assert np.abs(captum_on_plain_model(model, ps)).max() > 1e-2


def test_deeplift_on_the_original_mitar2_weights(keras_dir):
    from mirlens.explain.attribution.deeplift import deeplift_shap
    from mirlens.model.keras_import import import_keras

    model, _ = import_keras(keras_dir / "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5")
    ps = PairSet.from_pairs(random_pairs(8, 11), model.config.input_len)
    a = deeplift_shap(model, ps)
    assert np.abs(a.pairs["delta"]).max() < 1e-8
    assert np.abs(a.pairs["logit"] - a.pairs["reference_logit"]).max() > 1.0
    ig = integrated_gradients(model, ps.subset(np.arange(2)), steps=32)
    assert np.abs(ig.pairs["delta"]).max() > 1e-3  # IG's quadrature on the same weights is far from exact


def test_attribute_cli_both_methods_and_disagreement(tmp_path):
    f = tmp_path / "p.tsv"
    random_pairs(9, 12).to_csv(f, sep="\t", index=False)
    out = tmp_path / "a.parquet"
    res = runner.invoke(app, ["explain", "attribute", "--model", "pairing", "--data", str(f), "--steps", "16",
                              "--method", "both", "--no-cache", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "deeplift-shap: completeness" in res.output and "ig: completeness" in res.output
    assert "disagree" in res.output
    pairs = pd.read_csv(tmp_path / "a.pairs.tsv", sep="\t")
    assert set(pairs["method"]) == {"ig", "deeplift-shap"} and len(pairs) == 18
    assert {"single_share", "seed_pairs", "spearman"} <= set(pairs.columns)
    dis = pd.read_csv(tmp_path / "a.disagreement.tsv", sep="\t")
    assert set(dis["measure"]) == {"single_share", "logit", "seed_pairs"}
    assert {"rho_ig", "rho_deeplift-shap"} <= set(dis.columns)
    assert (dis.loc[dis["bin"] != "rank correlation", "n"].groupby(dis["measure"]).sum() == 9).all()
    res = runner.invoke(app, ["explain", "attribute", "--model", "pairing", "--data", str(f), "--method", "lrp"])
    assert res.exit_code == 1 and "--method must be one of" in res.output


def test_adaptive_completeness_on_the_bundled_pairing_weights():
    from mirlens.model.store import load_model

    model = load_model("pairing")
    ps = PairSet.from_pairs(random_pairs(1, 13), model.config.input_len)
    ps.pairs.loc[0, "target"] = "AAAA" + "".join(  # a seed match, so that the logit is far from the all-N one
        {"A": "U", "C": "G", "G": "C", "U": "A"}[c] for c in reversed(ps.pairs.loc[0, "mirna"][1:8])) + "AAAAAAAA"
    ps = PairSet.from_pairs(ps.pairs, model.config.input_len)
    fixed = integrated_gradients(model, ps, steps=64)
    a = integrated_gradients(model, ps, steps=64, tolerance=1e-2, max_steps=2048)
    p = a.pairs
    assert abs(float(p["logit"].iloc[0] - p["reference_logit"].iloc[0])) > 1.0
    assert (p["delta"].abs() <= p["delta_bound"] + 1e-9).all() and (p["delta"].abs() <= 1e-2).all()
    assert abs(float(a.pairs["delta"].iloc[0])) < abs(float(fixed.pairs["delta"].iloc[0]))
