"""The pairing model family: its input map, its layers, training, storage, and every analysis running on it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.coordinates import MIRNA, position_index
from mirlens.data.encoding import MIRNA_SLOT, encode_pairs
from mirlens.data.negatives import reverse_complement
from mirlens.evaluation.specificity import eight_mer
from mirlens.explain.mutagenesis.engine import DEFAULT_ENGINE, mutated_probabilities
from mirlens.explain.mutagenesis.mutants import Mutants
from mirlens.model.families import build_model, config_from_dict
from mirlens.model.pairing import CHANNELS, PairingConfig, PairingModel
from mirlens.model.store import load_model, save_model
from mirlens.predict.score import score_pair_table, score_tokens

_register()
runner = CliRunner()
LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"


def tokens_of(mirnas, targets, slot=50):
    return torch.from_numpy(encode_pairs(list(mirnas), list(targets), slot).astype(np.int64))


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return PairingModel(PairingConfig()).eval()


def test_pairing_map_of_an_8mer(net):
    site = eight_mer(LET7)  # pairs L2..L8, with an A facing L1 (L1 = U: an A:U pair)
    target = "C" * 10 + site + "C" * 10
    x = net.pairing_map(tokens_of([LET7], [target]))[0]
    h = net.config.combine_width // 2
    anchor = 10 + 7  # the A facing L1
    cells = x[anchor + h]  # row 0 of the map is anchor -h
    gc, au, gu, mm = (CHANNELS.index(c) for c in ("GC", "AU", "GU", "mismatch"))
    expected = {"G": gc, "C": gc, "A": au, "U": au}
    for p in range(1, 9):
        assert cells[p - 1, expected[LET7[p - 1]]] == 1 and cells[p - 1, :4].sum() == 1
    assert cells[8, mm] == 1  # L9 (U) faces a C
    assert cells[len(LET7):, :4].sum() == 0  # positions beyond the miRNA: nothing to pair
    # target identity channels hold the target nucleotide facing each position
    assert cells[0, CHANNELS.index("tA")] == 1 and cells[1, CHANNELS.index("tC")] == 1
    # an N (mutated position) pairs with nothing
    mutated = tokens_of([LET7], [target])
    mutated[0, MIRNA_SLOT + anchor - 3] = 0  # the target nucleotide facing L4
    cells = net.pairing_map(mutated)[0, anchor + h]
    assert cells[3].sum() == 0


def test_mirna_positions_follow_the_coordinates_module(net):
    for mirna in ("UGAGGUAGUAGGUUGUAUAGUU", "UAGCUUAUCAGACUGAUGUUGAUU", "ACGUACGUACGUACGUA"):
        tok = tokens_of([mirna], ["A" * 30])
        m5 = net.mirna_5prime(tok)[0]
        for p in range(1, net.config.mirna_positions + 1):
            idx = position_index(MIRNA, p, len(mirna), 30)
            assert int(m5[p - 1]) == (int(tok[0, idx]) if idx is not None else 0)


def test_diagonal_layer_equals_the_explicit_map_in_value_and_gradient():
    torch.manual_seed(1)
    model = PairingModel(PairingConfig(target_slot=40))
    tok = torch.randint(0, 5, (64, MIRNA_SLOT + 40))
    x = model.pairing_map(tok)
    b, a = x.shape[:2]
    explicit = torch.relu(model.diagonal(x.reshape(b, a, -1)))
    fast = model.diagonal_features(tok)
    assert torch.allclose(fast, explicit, atol=1e-5)
    g1 = torch.autograd.grad(fast.sum(), model.diagonal.weight)[0]
    g2 = torch.autograd.grad(explicit.sum(), model.diagonal.weight)[0]
    assert torch.allclose(g1, g2, atol=1e-4)
    # layer outputs and the forward pass agree
    with torch.no_grad():
        model.eval()
        out = model.layer_outputs(tok)
        assert torch.allclose(out["output"], torch.sigmoid(model(tok)), atol=1e-6)
        assert out["pool"].shape == (64, model.config.combine_units)


def test_a_site_scores_the_same_anywhere_in_the_slot():
    # a target placed anywhere in the slot (N around it) gives the same logit exactly, as long as every anchor whose
    # combine window reaches it is pooled (a miRNA reach of 12 positions keeps that true over many offsets)
    torch.manual_seed(2)
    model = PairingModel(PairingConfig(mirna_positions=12)).eval()
    core = "AUUC" + eight_mer(MIR21) + "UUAA"
    h = model.config.combine_width // 2
    reach = len(core) + model.config.mirna_positions - 2 + h
    offsets = [d for d in range(40) if d >= h and d + reach < model.config.anchors]
    assert len(offsets) >= 10
    tok = tokens_of([MIR21] * len(offsets), ["N" * d + core for d in offsets])
    with torch.no_grad():
        logits = model(tok)
    assert torch.allclose(logits, logits[0].expand(len(offsets)), atol=1e-5)
    with torch.no_grad():  # and the site is what it reads: without it the score changes
        assert not torch.isclose(model(tokens_of([MIR21], ["N" * 10 + "AUUCCCCCCCCCUUAA"]))[0], logits[0])


def test_build_save_load_round_trip(tmp_path, net):
    assert isinstance(build_model({"architecture": "pairing", "target_slot": 50}), PairingModel)
    assert type(build_model({"target_slot": 40})).__name__ == "MiTAR"  # no key: a miTAR model
    with pytest.raises(ValueError, match="unknown model architecture"):
        config_from_dict({"architecture": "transformer"})
    save_model(net, tmp_path / "m", name="m", card={"x": 1})
    again, meta = load_model(tmp_path / "m", with_meta=True)
    assert isinstance(again, PairingModel) and meta["config"]["architecture"] == "pairing"
    tok = tokens_of([LET7, MIR21], ["ACGU" * 10, eight_mer(MIR21) * 3])
    with torch.no_grad():
        assert torch.equal(again(tok), net(tok))


def test_full_mutagenesis_engine_runs_on_it(net):
    tok = tokens_of([LET7] * 3, ["A" * 20 + eight_mer(LET7) + "U" * 12] * 3).numpy().astype(np.uint8)
    masks = np.zeros((3, tok.shape[1]), dtype=bool)
    masks[1, 3:9] = True
    masks[2, MIRNA_SLOT + 20:MIRNA_SLOT + 28] = True
    got = mutated_probabilities(net, tok, Mutants(pair=np.arange(3), base=0, width=tok.shape[1], mask=masks))
    mutated = tok.copy()
    mutated[masks] = 0
    assert np.allclose(got, score_tokens(net, mutated), atol=1e-6)
    assert DEFAULT_ENGINE == "incremental"  # the default engine hands models other than miTAR to the full engine


def test_long_targets_keep_their_best_window(net):
    pairs = pd.DataFrame({"mirna_id": ["a", "b"], "mirna": [LET7, MIR21], "target_id": ["t1", "t2"],
                          "target": ["ACGU" * 20 + eight_mer(LET7), "CCAUGU" * 5], "label": [1, 0],
                          "source": "x", "record": [1, 2]})
    got = score_pair_table(net, pairs, windows="padded")  # each window cut out and padded (the earlier semantics)
    long = pairs["target"].iloc[0]
    windows = [long[s:s + 50] for s in range(len(long) - 49)]
    manual = score_tokens(net, tokens_of([LET7] * len(windows), windows).numpy(), logits=True)
    # context windows (the default): every window with its real flanks, from the whole-target model's anchors
    ctx = score_pair_table(net, pairs)
    with torch.no_grad():
        comb = net.with_target_slot(len(long)).layer_outputs(tokens_of([LET7], [long], len(long)))["combine"][0]
        flanked = net.head(torch.stack([comb[s:s + 52].amax(0) for s in range(len(windows))])).numpy()
    assert ctx["n_windows"].tolist() == [len(windows), 1]
    assert ctx["logit"].iloc[0] == pytest.approx(flanked.max(), abs=1e-5)
    assert ctx["window_start"].iloc[0] == int(np.argmax(flanked)) + 1
    assert ctx["logit"].iloc[1] == pytest.approx(got["logit"].iloc[1], abs=1e-6)  # fits the slot: same either way
    assert got["n_windows"].tolist() == [len(windows), 1]
    assert got["logit"].iloc[0] == pytest.approx(manual.max(), abs=1e-5)
    assert got["window_start"].iloc[0] == int(np.argmax(manual)) + 1
    assert got["window_end"].iloc[0] == got["window_start"].iloc[0] + 49
    assert got["probability"].iloc[0] == pytest.approx(1 / (1 + np.exp(-manual.max())), rel=1e-5)
    assert (got["window_start"].iloc[1], got["window_end"].iloc[1]) == (1, 30)


def toy_pairs(n, seed):
    """Positives: random 40-nt targets holding the miRNA's 8mer at a random offset; negatives come from --negatives."""
    rng = np.random.default_rng(seed)
    mirnas = {"let-7a": LET7, "miR-21": MIR21, "miR-1": "UGGAAUGUAAAGAAGUAUGUAU", "miR-122": "UGGAGUGUGACAAUGGUGUUUG"}
    rows = []
    for i in range(n):
        name = list(mirnas)[i % 4]
        m = mirnas[name]
        t = list(rng.choice(list("ACGU"), 40))
        o = int(rng.integers(0, 33))
        t[o:o + 8] = eight_mer(m)
        rows.append({"mirna_id": name, "mirna": m, "target_id": f"t{i}", "target": "".join(t), "label": 1})
    return pd.DataFrame(rows)


def test_train_cli_pairing_with_generated_negatives(tmp_path):
    data = tmp_path / "pairs.tsv"
    toy_pairs(400, 0).to_csv(data, sep="\t", index=False)
    out = tmp_path / "run"
    args = ["train", "-d", str(data), "-o", str(out), "--arch", "pairing", "--negatives", "shuffle,mirna-swap",
            "--max-epochs", "12", "--patience", "12", "--batch-size", "32", "--lr", "0.003", "--split", "target",
            "--test-frac", "0.2", "--threads", "1", "--clip-norm", "1", "--seed", "3"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    card = json.loads((out / "model.json").read_text())
    assert card["config"]["architecture"] == "pairing" and card["config"]["target_slot"] == 50
    neg = card["card"]["negatives"]
    assert neg["kinds"] == ["shuffle", "mirna-swap"] and neg["made"]["train"]["shuffle"]["made"] > 200
    assert card["card"]["settings"]["clip_norm"] == 1.0
    metrics = pd.read_csv(out / "metrics.tsv", sep="\t").set_index("part")
    # held-out targets with 8mers vs their shuffles and swaps: the model reads the site
    assert metrics.loc["test", "accuracy"] > 0.9 and metrics.loc["test", "auroc"] > 0.95
    model = load_model(out)
    site_free = tokens_of([LET7] * 20, ["".join(np.random.default_rng(i).choice(list("ACU"), 40)) for i in range(20)])
    planted = tokens_of([LET7] * 20, ["AC" * 3 + eight_mer(LET7) + "CA" * 13] * 20)
    with torch.no_grad():
        assert (torch.sigmoid(model(planted)) > 0.5).all()
        assert (torch.sigmoid(model(site_free)) < 0.5).float().mean() > 0.8
    # rerun: the finished run is found, nothing retrained
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "finished run found" in res.output


def test_score_cli_writes_logits_and_best_windows(tmp_path, net):
    save_model(net, tmp_path / "m", name="m")
    pairs = tmp_path / "p.tsv"
    pd.DataFrame({"mirna_id": ["a", "b"], "mirna": [LET7, MIR21], "target_id": ["x", "y"],
                  "target": ["ACGU" * 20, "ACGUUU" * 4]}).to_csv(pairs, sep="\t", index=False)
    res = runner.invoke(app, ["score", str(pairs), "-o", str(tmp_path / "s.tsv"), "-m", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert "longer than the model's 50-nt slot" in res.output
    out = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    assert {"logit", "probability", "window_start", "window_end", "n_windows"} <= set(out.columns)
    assert out["n_windows"].tolist() == [31, 1]
    assert np.allclose(out["probability"], 1 / (1 + np.exp(-out["logit"])), atol=1e-6)


def test_predict_scan_runs_on_a_pairing_model(tmp_path, net):
    save_model(net, tmp_path / "m", name="m")
    mir = tmp_path / "m.fa"
    mir.write_text(f">let-7a\n{LET7}\n")
    utr = tmp_path / "u.fa"
    seq = "ACGUU" * 30 + reverse_complement(LET7[1:8]) + "A" + "UUGCA" * 20
    utr.write_text(f">u1\n{seq}\n")
    res = runner.invoke(app, ["predict", "--mirna", str(mir), "--targets", str(utr), "-o", str(tmp_path / "w.tsv"),
                              "-m", str(tmp_path / "m"), "--step", "7", "--windows", "padded"])
    assert res.exit_code == 0, res.output
    w = pd.read_csv(tmp_path / "w.tsv", sep="\t")
    starts = w["start"].to_numpy() - 1
    direct = score_tokens(net, tokens_of([LET7] * len(w), [seq[s:s + 50] for s in starts]).numpy())
    assert np.allclose(w["probability"], direct, atol=1e-6)
    # the default, context windows: the head of the maximum over each window's anchors of the whole-UTR model
    res = runner.invoke(app, ["predict", "--mirna", str(mir), "--targets", str(utr), "-o", str(tmp_path / "c.tsv"),
                              "-m", str(tmp_path / "m"), "--step", "7"])
    assert res.exit_code == 0, res.output
    c = pd.read_csv(tmp_path / "c.tsv", sep="\t")
    assert c[["window", "start", "end"]].equals(w[["window", "start", "end"]])
    with torch.no_grad():
        comb = net.with_target_slot(len(seq)).layer_outputs(tokens_of([LET7], [seq], len(seq)))["combine"][0]
        flanked = torch.sigmoid(net.head(torch.stack([comb[s:s + 52].amax(0) for s in starts]))).numpy()
    assert np.allclose(c["probability"], flanked, atol=1e-6)
    assert not np.allclose(c["probability"], direct, atol=1e-3)


def test_layer_energy_correlations_on_pairing_layers(net):
    from mirlens.explain.layers.correlate import layer_energy_correlations, layers_of, table1

    rng = np.random.default_rng(0)
    targets = ["".join(rng.choice(list("ACGU"), 40)) for _ in range(60)]
    tok = tokens_of([LET7] * 60, targets).numpy().astype(np.uint8)
    with torch.no_grad():
        pool = net.layer_outputs(torch.from_numpy(tok.astype(np.int64)))["pool"].numpy()
    energy = -pool[:, 3].astype(np.float64)  # an "energy" that is exactly minus unit 3 of the pool layer
    assert layers_of(net) == ("diagonal", "combine", "pool", "dense")
    units = layer_energy_correlations(net, tok, energy, layers=layers_of(net), batch_size=16)
    assert set(units["layer"]) == {"diagonal", "combine", "pool", "dense"}
    pool_units = units[(units["layer"] == "pool") & (units["level"] == "unit")].set_index("unit")
    assert pool_units.loc["u3", "rho"] == pytest.approx(-1.0)
    a = net.config.anchors
    assert ((units["layer"] == "combine") & (units["level"] == "unit")).sum() == a * net.config.combine_units
    assert {"unit", "feature_map", "all"} == set(units.loc[units["layer"] == "diagonal", "level"])
    t1 = table1(units)
    assert t1.set_index(["layer", "level"]).loc[("pool", "unit"), "MinCor"] == pytest.approx(-1.0)
    with pytest.raises(Exception, match="unknown layer"):
        layer_energy_correlations(net, tok, energy, layers=["bilstm"])


def test_default_example_calls_only_the_planted_pairs(tmp_path):
    # the README's one-command run: the bundled default model, its scan threshold, the example UTRs
    res = runner.invoke(app, ["predict", "--example", "-o", str(tmp_path / "p.tsv")])
    assert res.exit_code == 0, res.output
    assert "model card's scan threshold" in res.output
    genes = pd.read_csv(tmp_path / "p.genes.tsv", sep="\t")
    called = set(map(tuple, genes.loc[genes["is_target"], ["mirna_id", "target_id"]].to_numpy()))
    assert called == {("hsa-let-7a-5p", "UTR_let7_two_sites"), ("hsa-let-7a-5p", "UTR_short"),
                      ("hsa-miR-21-5p", "UTR_miR21_one_site"), ("hsa-miR-21-5p", "UTR_miR155_miR21"),
                      ("hsa-miR-155-5p", "UTR_miR155_miR21")}


def test_bundled_default_is_specific_and_ranks_clip_pairs(shared_dir):
    """The shipped weights keep the figures of their card: site-free UTR windows (the probe half) rarely called,
    planted 8mers called at any offset, miRBench Hejret test ranked above the published tools."""
    from conftest import require
    from mirlens.data.mirbench import load_mirbench
    from mirlens.data.utrs import read_utrs
    from mirlens.evaluation.metrics import auprc, auroc
    from mirlens.evaluation.specificity import called_fractions, plant_8mers, site_free_windows, split_utrs

    gene_level = require(shared_dir / "data" / "miraw_gene_level" / "dev_gene_level.tsv")
    model, meta = load_model("pairing", with_meta=True)
    assert meta["card"]["scan_threshold"]["value"] == 0.9
    dev = pd.read_csv(gene_level, sep="\t", usecols=["mirna_id", "mirna_seq"]).drop_duplicates("mirna_id")
    mirnas = dict(zip(dev["mirna_id"].iloc[:40], dev["mirna_seq"].iloc[:40].str.replace("T", "U")))
    _, probe = split_utrs(read_utrs(gene_level))
    site_free = site_free_windows(mirnas, probe, per_mirna=25, seed=3)
    f = called_fractions(site_free, score_pair_table(model, site_free)["probability"])
    assert f["mean_over_mirnas"] <= 0.05 and f["worst_mirna"] <= 0.2
    planted = plant_8mers(site_free, seed=3)
    assert called_fractions(planted, score_pair_table(model, planted)["probability"])["called"] >= 0.9
    test = load_mirbench("hejret2023", "test", data_dir=require(shared_dir / "data" / "mirbench"))
    s = score_pair_table(model, test)["logit"].to_numpy()
    y = test["label"].to_numpy(dtype=int)
    assert auprc(y, s) >= 0.80 and auroc(y, s) >= 0.77


def test_a_wider_slot_scores_the_same_and_fits_long_targets(net):
    from mirlens.model.families import fit_target_slot

    rng = np.random.default_rng(4)
    targets = ["".join(rng.choice(list("ACGU"), n)) for n in (12, 20, 30)]
    wide = fit_target_slot(net, 60)
    assert wide.config.target_slot == 60 and fit_target_slot(net, 40) is net
    with torch.no_grad():
        assert torch.allclose(net(tokens_of([LET7] * 3, targets)), wide(tokens_of([LET7] * 3, targets, 60)), atol=1e-6)
    mitar = build_model({"target_slot": 40})
    assert fit_target_slot(mitar, 53) is mitar  # miTAR weights depend on the slot: never widened
