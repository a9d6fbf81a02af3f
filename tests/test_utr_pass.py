"""The whole-UTR pass of the pairing family (mirlens.predict.utr_pass): every anchor's features equal the model's
own on the whole UTR, windows are the head of the maximum over their anchors (real flanks), short targets score as
before, UTRs joined in a block do not see each other, and `predict` / `score` use it (`--windows padded`: the
earlier path)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.alphabet import tokenize
from mirlens.data.encoding import encode_pairs
from mirlens.data.examples import example_path
from mirlens.data.fasta import FastaRecord, read_fasta
from mirlens.errors import InputError
from mirlens.model.pairing import PairingConfig, PairingModel
from mirlens.model.store import load_model, save_model
from mirlens.predict.scan import ScanSettings, _scan_block, check_windows, mirna_prefix, scan, scan_pass
from mirlens.predict.score import score_pair_table, score_tokens
from mirlens.predict.score import padded_window_logits
from mirlens.predict.utr_pass import UtrPass
from mirlens.predict.windows import window_starts

_register()
runner = CliRunner()
LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"
SHORT = "UGAGGUAGUAGG"  # 12 nt: positions L13..L24 read N


@pytest.fixture(scope="module")
def net() -> PairingModel:
    return load_model("pairing")


@pytest.fixture(scope="module")
def random_net() -> PairingModel:
    """Random weights, K = 20 (not a multiple of the 3 positions of a lookup): large logits, nothing saturated."""
    torch.manual_seed(7)
    return PairingModel(PairingConfig(mirna_positions=20)).eval()


def random_utr(rng, n: int, n_runs: int = 2) -> np.ndarray:
    toks = rng.integers(1, 5, n).astype(np.uint8)
    for _ in range(n_runs if n > 20 else 0):  # runs of N (masked or unknown nucleotides)
        a = int(rng.integers(0, n - 10))
        toks[a:a + int(rng.integers(1, 10))] = 0
    return toks


def text(toks: np.ndarray) -> str:
    return "".join("NAUCG"[t] for t in toks)


@pytest.fixture(scope="module")
def real_utrs(shared_dir) -> list[np.ndarray]:
    """Six real 3'UTRs (functional set), one with a run of N written in, one cut shorter than the slot."""
    path = shared_dir / "data" / "functional" / "utrs.tsv.gz"
    if not path.exists():
        pytest.skip(f"{path} missing")
    with gzip.open(path, "rt") as fh:
        rows = [next(fh) for _ in range(8)][1:]
    seqs = [tokenize(r.split("\t")[1].strip().upper().replace("T", "U")) for r in rows]
    seqs = [s[:1200] for s in seqs[:6]]
    seqs[1] = seqs[1].copy()
    seqs[1][100:130] = 0
    seqs[2] = seqs[2][:37]
    return seqs


def model_combine(model: PairingModel, mirna: str, utr: np.ndarray, slot: int | None = None) -> torch.Tensor:
    """The model's own combine features of a whole UTR: anchors 0 .. slot + overhang - 1 of the slot-wide model."""
    slot = max(len(utr), 1) if slot is None else slot
    tokens = torch.from_numpy(encode_pairs([mirna], [text(utr)], slot).astype(np.int64))
    return model.with_target_slot(slot).layer_outputs(tokens)["combine"][0]


def independent_windows(model: PairingModel, mirna: str, utr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Window logits computed independently: the head of the maximum of the whole-UTR model's features over the
    window's anchors s .. s + slot + overhang - 1."""
    slot = model.config.target_slot
    pool = slot + model.config.overhang
    comb = model_combine(model, mirna, utr, max(len(utr), slot))
    with torch.no_grad():
        return model.head(torch.stack([comb[s:s + pool].amax(0) for s in starts])).numpy()


# ------------------------------------------------------------------ features and windows


@pytest.mark.parametrize("mirna", [LET7, SHORT])
def test_every_anchor_equals_the_model_on_the_whole_utr_random(random_net, mirna):
    rng = np.random.default_rng(1)
    utrs = [random_utr(rng, n) for n in (3, 49, 50, 51, 333, 2000)]
    utrs.append(np.zeros(60, np.uint8))  # all N
    p = UtrPass(random_net, mirna, tile=97)  # tiles far smaller than a UTR: their seams are inside the UTRs
    blocks = list(p.blocks(utrs))
    assert len(blocks) == 1
    block = blocks[0]
    spread = 0.0
    for w, utr in enumerate(utrs):
        want = model_combine(random_net, mirna, utr)
        a = int(block.starts[w])
        got = block.combine[a:a + len(want)]
        assert torch.allclose(got, want, atol=1e-5), (len(utr), (got - want).abs().max())
        assert torch.allclose(p.combine(utr)[:len(utr)], want[:len(utr)], atol=1e-5)
        spread = max(spread, float((want - want.mean(0)).abs().max()))
    assert spread > 0.05  # features differ from anchor to anchor: not a vacuous comparison


def test_every_anchor_equals_the_model_on_real_utrs(net, real_utrs):
    p = UtrPass(net, MIR21)
    block = next(p.blocks(real_utrs))
    for w, utr in enumerate(real_utrs):
        want = model_combine(net, MIR21, utr)
        a = int(block.starts[w])
        assert torch.allclose(block.combine[a:a + len(want)], want, atol=1e-5)


@pytest.mark.parametrize("step", [1, 2, 15])
def test_window_logits_equal_an_independent_computation(random_net, net, real_utrs, step):
    rng = np.random.default_rng(step)
    cases = [(random_net, LET7, [random_utr(rng, n) for n in (20, 50, 64, 400, 1500)]),
             (random_net, SHORT, [random_utr(rng, 300)]),
             (net, LET7, real_utrs)]
    for model, mirna, utrs in cases:
        slot = model.config.target_slot
        starts = [window_starts(len(u), slot, step) for u in utrs]
        for kw in ({}, {"before": 0, "after": 0}, {"tile": 50}, {"group": 1}, {"group": 4}):
            got = UtrPass(model, mirna, **kw).window_logits(utrs, starts)
            for utr, s, g in zip(utrs, starts, got):
                want = independent_windows(model, mirna, utr, s)
                np.testing.assert_allclose(g, want, atol=1e-5)
                assert s[0] == 0 and s[-1] == max(len(utr) - slot, 0)  # both ends of the UTR are covered


def test_windows_in_any_order_and_beyond_the_utr_ends(random_net):
    rng = np.random.default_rng(3)
    utr = random_utr(rng, 500)
    p = UtrPass(random_net, LET7)
    starts = np.array([400, -52, 3, 450, 0, 17, 17, 499, 500])  # before the start, past the end, repeated, unsorted
    got = p.window_logits([utr], [starts])[0]
    front, back = 60, 110
    padded = np.concatenate([np.zeros(front, np.uint8), utr, np.zeros(back, np.uint8)])
    want = independent_windows(random_net, LET7, padded, starts + front)
    np.testing.assert_allclose(got, want, atol=1e-5)
    block = next(p.blocks([utr]))
    np.testing.assert_allclose(p.window_logits_in(block, 0, starts), want, atol=1e-5)
    np.testing.assert_allclose(p.site_logits_in(block, 0, starts + 45), want, atol=1e-5)
    with pytest.raises(ValueError, match="window start outside"):
        UtrPass(random_net, LET7, before=0, after=0).window_logits([utr], [np.array([-1])])


def test_short_targets_score_exactly_as_the_window_path(net, random_net):
    rng = np.random.default_rng(5)
    for model in (net, random_net):
        targets = [random_utr(rng, n, n_runs=1) for n in (1, 8, 22, 37, 49, 50)]
        got = np.concatenate(UtrPass(model, LET7).window_logits(targets, [np.zeros(1, np.int64)] * len(targets)))
        tokens = encode_pairs([LET7] * len(targets), [text(t) for t in targets], 50)
        want = score_tokens(model, tokens, logits=True)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_utrs_joined_in_a_block_do_not_see_each_other(random_net):
    rng = np.random.default_rng(11)
    utr = random_utr(rng, 230)
    starts = [np.arange(-52, 233), np.arange(0, 181)]
    for before, after, s in ((None, None, starts[0]), (0, 0, starts[1])):
        p = UtrPass(random_net, LET7, before=before, after=after)
        for fill in (1, 4):  # neighbours of all A, all G: whatever they hold
            other = np.full(180, fill, np.uint8)
            short = np.full(7, fill, np.uint8)  # a short neighbour right before: its windows reach past its end
            joined = [other, short, utr, short, other]
            each = [np.arange(0, 131), np.zeros(1, np.int64), s, np.zeros(1, np.int64), np.arange(0, 131)]
            got = p.window_logits(joined, each)
            for u, st, g in zip(joined, each, got):
                np.testing.assert_allclose(g, p.window_logits([u], [st])[0], atol=1e-5)
        # the joined block was one array (the test would pass trivially with one block per UTR)
        assert len(list(p.blocks([other, short, utr, short, other]))) == 1


def test_on_block_hands_over_the_features_of_the_same_pass(random_net):
    rng = np.random.default_rng(2)
    utrs = [random_utr(rng, n) for n in (300, 90, 700)]
    starts = [window_starts(len(u), 50, 15) for u in utrs]
    p = UtrPass(random_net, MIR21, block_nt=800)
    seen = []

    def on_block(block, logits):
        seen.append(block.utrs.tolist())
        for w, u in enumerate(block.utrs):
            np.testing.assert_allclose(logits[w], p.window_logits_in(block, w, starts[u]), atol=1e-5)
            single = p.anchor_logits_in(block, w)
            assert len(single) == len(utrs[u]) + 2

    got = p.window_logits(utrs, starts, on_block=on_block)
    assert seen == [[0, 1], [2]]  # two blocks of at most 800 nt
    for utr, s, g in zip(utrs, starts, got):
        np.testing.assert_allclose(g, independent_windows(random_net, MIR21, utr, s), atol=1e-5)


def test_a_scan_block_hands_its_pass_to_a_callback(net, real_utrs):
    """What a gene-level call in the same pass needs: each block's features, its UTRs and their window logits."""
    recs = [FastaRecord(f"u{i}", "", text(u), 1, 1) for i, u in enumerate(real_utrs)]
    rec = FastaRecord("let-7", "", LET7, 1, 1)
    utr_pass = scan_pass(net, LET7, before=None, after=None)  # site windows may start before a UTR
    seen = {}

    def on_block(block, logits):
        for w, u in enumerate(block.utrs):
            anchors = np.array([0, 7, int(block.lengths[w]) - 1])
            seen[recs[u].id] = (logits[w], utr_pass.site_logits_in(block, w, anchors))

    settings = ScanSettings(step=15)
    table = _scan_block(net, rec, mirna_prefix(LET7), None, recs, settings, utr_pass, on_block=on_block)
    plain = _scan_block(net, rec, mirna_prefix(LET7), None, recs, settings, scan_pass(net, LET7))
    np.testing.assert_allclose(table["probability"], plain["probability"], atol=1e-6)
    assert sorted(seen) == sorted(r.id for r in recs)
    for i, utr in enumerate(real_utrs):
        logits, sites = seen[f"u{i}"]
        rows = table["target_id"] == f"u{i}"
        np.testing.assert_allclose(1 / (1 + np.exp(-logits)), table.loc[rows, "probability"], atol=1e-6)
        starts = np.array([0, 7, len(utr) - 1]) - 45
        front = 45
        want = independent_windows(net, LET7, np.concatenate([np.zeros(front, np.uint8), utr,
                                                              np.zeros(60, np.uint8)]), starts + front)
        np.testing.assert_allclose(sites, want, atol=1e-5)
    # a block whose windows were all filtered out (--sites) still reaches the callback
    seen.clear()
    none = ScanSettings(step=15, sites=(0,))
    empty = _scan_block(net, rec, mirna_prefix(LET7), None, [FastaRecord("x", "", "ACGU" * 30, 1, 1)], none,
                        utr_pass, on_block=on_block)
    assert len(empty) == 0 and list(seen) == ["u0"]


def test_padded_window_logits_are_the_window_path(net, real_utrs):
    utr = real_utrs[0]
    starts = window_starts(len(utr), 50, 15)
    got = padded_window_logits(net, LET7, utr, starts)
    rec = FastaRecord("let-7", "", LET7, 1, 1)
    table = _scan_block(net, rec, mirna_prefix(LET7), None, [FastaRecord("u", "", text(utr), 1, 1)],
                        ScanSettings(windows="padded"))
    np.testing.assert_allclose(1 / (1 + np.exp(-got)), table["probability"], atol=1e-6)
    flanked = UtrPass(net, LET7).window_logits([utr], [starts])[0]
    assert np.abs(flanked - got)[1:-1].max() > 0.05  # inside a UTR the two semantics differ


# ------------------------------------------------------------------ predict and score


def test_scan_context_and_padded(tmp_path, net):
    mirnas = read_fasta(example_path("mirnas.fa"))
    targets = example_path("utrs.fa")
    utrs = read_fasta(targets)
    ctx = scan(net, mirnas, targets, tmp_path / "c", ScanSettings(step=15, targets_per_chunk=3))
    pad = scan(net, mirnas, targets, tmp_path / "p", ScanSettings(step=15, targets_per_chunk=3, windows="padded"))
    assert ctx[["mirna_id", "target_id", "window", "start", "end"]].equals(pad[["mirna_id", "target_id", "window",
                                                                               "start", "end"]])
    for m in mirnas:
        p = UtrPass(net, m.seq)
        for rec in utrs:
            rows = (ctx["mirna_id"] == m.id) & (ctx["target_id"] == rec.id)
            toks = tokenize(rec.seq)
            s = window_starts(len(toks), 50, 15)
            want = torch.sigmoid(torch.from_numpy(p.window_logits([toks], [s])[0])).numpy()
            np.testing.assert_allclose(ctx.loc[rows, "probability"], want, atol=1e-6)
            padded = 1 / (1 + np.exp(-padded_window_logits(net, m.seq, toks, s)))
            np.testing.assert_allclose(pad.loc[rows, "probability"], padded, atol=1e-6)
    short = ctx["target_id"].map({r.id: len(r.seq) for r in utrs}) <= 50
    assert short.any()
    np.testing.assert_allclose(ctx.loc[short, "probability"], pad.loc[short, "probability"], atol=1e-6)
    assert (ctx["probability"] - pad["probability"]).abs().max() > 1e-3
    # a partial context scan is never mixed into a padded one (the chunk store's params differ)
    from mirlens.errors import MirlensError

    with pytest.raises(MirlensError, match="different job"):
        scan(net, mirnas, targets, tmp_path / "c", ScanSettings(step=15, targets_per_chunk=3, windows="padded"))


def test_predict_and_score_commands_take_windows(tmp_path, net):
    out = tmp_path / "w.tsv"
    res = runner.invoke(app, ["predict", "--example", "-o", str(out), "--step", "20"])
    assert res.exit_code == 0, res.output
    res_p = runner.invoke(app, ["predict", "--example", "-o", str(tmp_path / "p.tsv"), "--step", "20",
                                "--windows", "padded"])
    assert res_p.exit_code == 0, res_p.output
    ctx, pad = pd.read_csv(out, sep="\t"), pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert list(ctx.columns) == list(pad.columns) == ["mirna_id", "target_id", "window", "start", "end",
                                                       "probability"]
    assert len(ctx) == len(pad) and not np.allclose(ctx["probability"], pad["probability"], atol=1e-3)
    bad = runner.invoke(app, ["predict", "--example", "-o", str(out), "--windows", "flanked"])
    assert bad.exit_code == 1 and "unknown --windows 'flanked'" in bad.output and "Traceback" not in bad.output
    pairs = tmp_path / "pairs.tsv"
    utr = read_fasta(example_path("utrs.fa"))[0].seq
    pd.DataFrame({"mirna_id": ["a", "b"], "mirna": [LET7, MIR21], "target_id": ["x", "y"],
                  "target": [utr[:300], utr[:40]]}).to_csv(pairs, sep="\t", index=False)
    res = runner.invoke(app, ["score", str(pairs), "-o", str(tmp_path / "s.tsv")])
    assert res.exit_code == 0 and "real flanks" in res.output, res.output
    res = runner.invoke(app, ["score", str(pairs), "-o", str(tmp_path / "sp.tsv"), "--windows", "padded"])
    assert res.exit_code == 0 and "padded with N" in res.output, res.output
    s, sp = pd.read_csv(tmp_path / "s.tsv", sep="\t"), pd.read_csv(tmp_path / "sp.tsv", sep="\t")
    assert s["n_windows"].tolist() == sp["n_windows"].tolist() == [251, 1]
    want = independent_windows(net, LET7, tokenize(utr[:300]), np.arange(251))
    assert s["logit"].iloc[0] == pytest.approx(want.max(), abs=1e-5)
    assert s["window_start"].iloc[0] == int(np.argmax(want)) + 1
    assert s["logit"].iloc[1] == pytest.approx(sp["logit"].iloc[1], abs=1e-6)
    bad = runner.invoke(app, ["score", str(pairs), "-o", str(tmp_path / "x.tsv"), "--windows", "x"])
    assert bad.exit_code == 1 and "unknown --windows" in bad.output and "Traceback" not in bad.output


def test_score_pair_table_context_many_pairs_in_batches(random_net):
    rng = np.random.default_rng(9)
    targets = [text(random_utr(rng, int(n))) for n in rng.integers(20, 400, 40)]
    mirnas = [[LET7, MIR21, SHORT][i % 3] for i in range(40)]
    pairs = pd.DataFrame({"mirna_id": "m", "mirna": mirnas, "target_id": "t", "target": targets})
    got = score_pair_table(random_net, pairs)
    from mirlens.predict import score as score_module

    small = score_module._context_windows(random_net, pairs, np.flatnonzero(pairs["target"].str.len() > 50),
                                          pairs["target"].str.len().to_numpy(), score_module.pair_names(pairs),
                                          batch_nt=500)
    assert np.allclose(got["logit"].to_numpy()[small[1]], small[0], atol=1e-6)
    for i in range(40):
        t = tokenize(targets[i])
        s = np.arange(max(len(t) - 49, 1))
        want = independent_windows(random_net, mirnas[i], t, s)
        assert got["logit"].iloc[i] == pytest.approx(want.max(), abs=1e-5)
        assert got["n_windows"].iloc[i] == len(s)
        assert abs(want[got["window_start"].iloc[i] - 1] - want.max()) < 1e-5


def test_windows_word_is_checked():
    assert check_windows(" Padded ") == "padded"
    with pytest.raises(InputError, match="unknown --windows"):
        check_windows("both")


def test_pairing_model_saved_and_loaded_scans_the_same(tmp_path, random_net):
    save_model(random_net, tmp_path / "m", name="m")
    loaded = load_model(tmp_path / "m")
    utr = random_utr(np.random.default_rng(4), 300)
    s = window_starts(300, 50, 1)
    assert np.array_equal(UtrPass(loaded, LET7).window_logits([utr], [s])[0],
                          UtrPass(random_net, LET7).window_logits([utr], [s])[0])


def test_grid_size_counts_the_window_grid():
    from mirlens.predict.scan import grid_size

    rng = np.random.default_rng(0)
    for _ in range(300):
        length, window, step = int(rng.integers(1, 400)), int(rng.integers(1, 60)), int(rng.integers(1, 30))
        block = [FastaRecord("a", "", "A" * length, 1, 1), FastaRecord("b", "", "C" * (length // 2 + 1), 1, 1)]
        want = sum(len(window_starts(len(r.seq), window, step)) for r in block)
        assert grid_size(block, window, step) == want, (length, window, step)
