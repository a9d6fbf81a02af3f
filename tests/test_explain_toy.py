"""The mutagenesis engine on toy models with a planted dependency: the analyses must find exactly it.

The toy model reads the token matrix like any model, but the toy pairs are built so that only two nucleotides
matter: every pair's only G on the miRNA side is at L7 and its only G on the target side is at LT9, with miRNA and
target lengths varying from pair to pair (so L7 / LT9 sit at different tensor indices in every pair). The model
says 0.9, minus 0.3 without a miRNA G, minus 0.2 without a target G, minus 0.1 more without both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mirlens.data.coordinates import MIRNA, TARGET, parse_region, position_index
from mirlens.errors import MirlensError
from mirlens.explain import (
    PairSet,
    Mutants,
    accumulative_impact,
    call_features,
    joint_effects,
    mutated_probabilities,
    region_effects,
    register_engine,
    resolve_subset,
    run_scan,
)
from mirlens.explain.mutagenesis.engine import ENGINES, full_engine
from mirlens.explain.mutagenesis.mutants import count_windows, window_grid

WIDTH = 66
G = 4


class PlantedToy:
    """0.9 - 0.3 [no G in the miRNA slot] - 0.2 [no G in the target slot] - 0.1 [neither]."""

    input_len = WIDTH

    def __init__(self):
        self.calls = 0

    def __call__(self, tokens: np.ndarray) -> np.ndarray:
        self.calls += len(tokens)
        a = ~(tokens[:, :26] == G).any(axis=1)
        b = ~(tokens[:, 26:] == G).any(axis=1)
        return 0.9 - 0.3 * a - 0.2 * b - 0.1 * (a & b)


def planted_pairs(n: int = 40, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        m_len, t_len = int(rng.integers(18, 27)), int(rng.integers(25, 41))
        mirna = list(rng.choice(list("ACU"), m_len))
        target = list(rng.choice(list("ACU"), t_len))
        mirna[7 - 1] = "G"  # L7: 7th nucleotide from the miRNA's 5' end
        target[t_len - 9] = "G"  # LT9: 9th nucleotide from the target's 3' end
        rows.append(("m%d" % i, "".join(mirna), "t%d" % i, "".join(target), int(i % 4 != 0)))
    return pd.DataFrame(rows, columns=["mirna_id", "mirna", "target_id", "target", "label"])


@pytest.fixture(scope="module")
def toy():
    return PlantedToy()


@pytest.fixture(scope="module")
def pairset():
    return PairSet.from_pairs(planted_pairs(), WIDTH, name="planted")


@pytest.fixture(scope="module")
def scan(toy, pairset):
    return run_scan(toy, pairset, ks="1-6", chunk_pairs=7, batch_size=333)


def test_pairs_have_the_plant_where_the_coordinates_say(pairset):
    for i in range(len(pairset)):
        m, t = int(pairset.mirna_lens[i]), int(pairset.target_lens[i])
        assert pairset.tokens[i, position_index(MIRNA, 7, m, t)] == G
        assert pairset.tokens[i, position_index(TARGET, 9, m, t)] == G
        assert (pairset.tokens[i] == G).sum() == 2


def test_region_effects_find_the_planted_positions(toy, pairset):
    eff = region_effects(toy, pairset, ["L7", "LT9", "seed", "L8-10", "LT1-8", "LT10..LT40", "L7+LT9"])
    t = eff.table.set_index("region_set")
    assert t.loc["L7", "reduction"] == pytest.approx(0.3)
    assert t.loc["seed", "reduction"] == pytest.approx(0.3)  # the seed L2..L7 holds L7
    assert t.loc["LT9", "reduction"] == pytest.approx(0.2)
    assert t.loc["L7+LT9", "reduction"] == pytest.approx(0.6)
    for name in ("L8-10", "LT1-8", "LT10-31"):
        assert t.loc[name, "reduction"] == pytest.approx(0.0, abs=1e-6)
        assert t.loc[name, "mwu_p"] == 1.0
    assert t.loc["L7", "mwu_p"] < 1e-10
    assert (t["p_bonferroni"] == np.minimum(t["mwu_p"] * len(t), 1)).all()
    assert list(t["significant"]) == [True, True, True, False, False, False, True]
    assert t.loc["L7", "raw_mean"] == pytest.approx(0.9)
    assert set(eff.per_pair["region_set"]) == set(t.index)


def test_mutating_to_a_base(toy, pairset):
    # mutating L7 to G changes nothing; the target's LT9 to A removes its G
    t = region_effects(toy, pairset, ["L7", "LT9"], to="G").table.set_index("region_set")
    assert t.loc["L7", "reduction"] == pytest.approx(0.0, abs=1e-6)
    assert t.loc["LT9", "reduction"] == pytest.approx(-0.0, abs=1e-6)  # LT9 already G
    assert t.loc["L7", "to"] == "G"
    t = region_effects(toy, pairset, ["LT9"], to="A").table
    assert t["reduction"].iloc[0] == pytest.approx(0.2)


def test_scan_drops_exactly_where_a_window_covers_the_plant(scan, pairset):
    s = scan.summary
    for side, planted, drop, n_pos in ((MIRNA, 7, 0.3, 26), (TARGET, 9, 0.2, 40)):
        for k in range(1, 7):
            sub = s[(s["side"] == side) & (s["k"] == k) & (s["position"] > 0)].set_index("position")
            covered = (sub.index >= planted) & (sub.index - k + 1 <= planted)
            present = sub["n"] > 0
            np.testing.assert_allclose(sub.loc[covered & present, "mean_change"], -drop, atol=1e-6)
            np.testing.assert_allclose(sub.loc[~covered & present, "mean_change"], 0, atol=1e-6)
            assert sub.index.max() == n_pos
    raw_rows = s[s["position"] == 0]
    assert (raw_rows["label"] == "L0").all() and np.allclose(raw_rows["mean_prob"], 0.9)
    # n counts the pairs that have the position
    l26 = s[(s["side"] == MIRNA) & (s["k"] == 1) & (s["position"] == 26)]["n"].iloc[0]
    assert l26 == (pairset.mirna_lens >= 26).sum()


def test_scan_records_equal_a_naive_loop(toy, scan, pairset):
    rec = scan.records.sample(300, random_state=1)
    for row in rec.itertuples():
        i = row.pair
        tokens = pairset.tokens[i].copy()
        for q in range(max(1, row.position - row.k + 1), row.position + 1):
            tokens[position_index(row.side, q, pairset.mirna_lens[i], pairset.target_lens[i])] = 0
        assert toy(tokens[None])[0] == pytest.approx(row.prob)
        assert row.raw == pytest.approx(0.9)


def test_scan_counts_and_clipped_windows_are_evaluated_once(toy, pairset):
    ks = range(1, 5)
    records, distinct = count_windows(pairset.mirna_lens, pairset.target_lens, WIDTH, ks)
    grid = window_grid(np.arange(len(pairset)), pairset.mirna_lens, pairset.target_lens, WIDTH, ks, 0)
    assert len(grid.record_pair) == records
    assert len(grid.mutants) == distinct
    assert records == 4 * (pairset.mirna_lens.sum() + pairset.target_lens.sum())
    assert distinct == records - len(pairset) * 2 * (1 + 2 + 3)  # clipped k>p windows repeat the p-nt window
    before = toy.calls
    result = run_scan(toy, pairset, ks=ks, chunk_pairs=1000)
    assert toy.calls - before == distinct + len(pairset) == result.passes


def test_impact_is_exactly_the_planted_nucleotides(scan):
    impact, contexts = accumulative_impact(scan.summary)
    imp = impact.set_index("label")["importance"]
    assert imp["L7"] == pytest.approx(0.3)
    assert imp["LT9"] == pytest.approx(0.2)
    others = imp.drop(["L7", "LT9"]).dropna()
    assert np.abs(others).max() < 1e-6
    # formulas 1 and 2 on the planted nucleotide, every context size
    ctx = contexts.set_index(["label", "context"])
    for c in range(0, 6):
        assert ctx.loc[("L7", c), "left"] == pytest.approx(-0.3)
        assert ctx.loc[("L7", c), "combined"] == pytest.approx(-0.3)
    assert ctx.loc[("L8", 2), "left"] == pytest.approx(0.0)
    assert ctx.loc[("L6", 2), "right"] == pytest.approx(0.0)


def test_features_are_the_planted_nucleotides(scan):
    impact, _ = accumulative_impact(scan.summary)
    feats = call_features(impact, peaks_per_side=2)
    assert sorted(feats["feature"]) == ["L7", "LT9"]
    assert set(feats["summit"]) == {"L7", "LT9"}


def test_joint_effects_show_the_planted_interaction(toy, pairset):
    j = joint_effects(toy, pairset, ["L7", "LT9", "L20-3"], n_boot=200, seed=1).table.set_index("region_set")
    assert j.loc["L7", "reduction"] == pytest.approx(0.3)
    assert j.loc["L7+LT9", "reduction"] == pytest.approx(0.6)
    assert j.loc["L7+LT9", "sum_of_singles"] == pytest.approx(0.5)
    assert j.loc["L7+LT9", "interaction"] == pytest.approx(0.1)
    assert j.loc["L7+LT9", "interaction_lo"] == pytest.approx(0.1)  # the same for every pair: a zero-width CI
    assert j.loc["L7+L20-3", "interaction"] == pytest.approx(0.0, abs=1e-6)
    assert list(j["kind"]) == ["single"] * 3 + ["joint"] * 3
    again = joint_effects(toy, pairset, ["L7", "LT9", "L20-3"], n_boot=200, seed=1).table
    pd.testing.assert_frame_equal(again, j.reset_index())


def test_subsets(toy, pairset):
    pos = resolve_subset(toy, pairset, "positives")
    assert len(pos) == (pairset.labels == 1).sum() and (pos.labels == 1).all()
    assert len(resolve_subset(toy, pairset, "negatives")) == (pairset.labels == 0).sum()
    assert len(resolve_subset(toy, pairset, "all")) == len(pairset)
    # the toy drops every pair by the same 0.3: none exceeds the mean alteration; a threshold picks them all
    assert len(resolve_subset(toy, pairset, "extracted:L7")) == 0
    ext = resolve_subset(toy, pairset, "extracted:L7>0.25")
    assert len(ext) == (pairset.labels == 1).sum() and ext.info["extracted_threshold"] == 0.25
    with pytest.raises(MirlensError):
        resolve_subset(toy, pairset, "some")


def test_engines_are_swappable(toy, pairset):
    calls = []

    def counting_engine(model, tokens, mutants, *, batch_size, progress):
        calls.append(len(mutants))
        return full_engine(model, tokens, mutants, batch_size=batch_size, progress=progress)

    register_engine("counting", counting_engine)
    try:
        a = region_effects(toy, pairset, ["L7"], engine="counting").table
        assert calls == [len(pairset)]
        b = region_effects(toy, pairset, ["L7"]).table
        pd.testing.assert_frame_equal(a, b)
    finally:
        ENGINES.pop("counting")
    with pytest.raises(MirlensError, match="unknown mutagenesis engine"):
        region_effects(toy, pairset, ["L7"], engine="nope")


def test_mutants_mask_and_interval_forms_agree(pairset):
    rng = np.random.default_rng(0)
    lo = rng.integers(0, WIDTH, 50)
    hi = np.minimum(lo + rng.integers(0, 8, 50), WIDTH)
    pair = rng.integers(0, len(pairset), 50)
    a = Mutants(pair, 0, WIDTH, lo=lo, hi=hi)
    b = Mutants(pair, 0, WIDTH, mask=a.masks())
    np.testing.assert_array_equal(a.apply(pairset.tokens), b.apply(pairset.tokens))
    np.testing.assert_array_equal(a.n_mutated(), b.n_mutated())
    np.testing.assert_array_equal(a.take(slice(3, 9)).apply(pairset.tokens), a.apply(pairset.tokens, slice(3, 9)))


def test_bad_inputs_are_clear_errors(toy, pairset):
    with pytest.raises(MirlensError):
        region_effects(toy, pairset, ["L0-3"])
    with pytest.raises(MirlensError):
        region_effects(toy, pairset, ["seed"], to="X")
    with pytest.raises(MirlensError):
        run_scan(toy, pairset, ks="0-3")
    with pytest.raises(MirlensError):
        run_scan(toy, pairset, ks="a-b")
    with pytest.raises(MirlensError, match="model input"):
        narrow = PairSet.from_pairs(planted_pairs(3), 79)
        region_effects(toy, narrow, ["L7"])
    with pytest.raises(MirlensError, match="empty"):
        region_effects(toy, pairset.subset(np.zeros(len(pairset), bool)), ["L7"])
    with pytest.raises(MirlensError):
        joint_effects(toy, pairset, ["L7"])
    with pytest.raises(MirlensError):
        mutated_probabilities(toy, pairset.tokens[:, :10], Mutants([0], 0, WIDTH, lo=np.array([0]),
                                                                   hi=np.array([1])))


def test_parse_region_in_sets():
    assert str(parse_region("L13-4")) == "L13-4"


def test_scan_store_resumes_and_refuses_other_jobs(toy, pairset, tmp_path):
    from mirlens.tables import ChunkStore

    first = run_scan(toy, pairset, ks="1-3", out_dir=tmp_path, chunk_pairs=7)
    assert first.records is None and sorted(first.store.done()) == list(range(6))
    again = run_scan(toy, pairset, ks="1-3", out_dir=tmp_path, chunk_pairs=7)
    assert again.passes == 0  # everything was stored
    pd.testing.assert_frame_equal(again.summary, first.summary)
    # an interrupted job: one chunk missing (and a stray temporary file from a killed write)
    first.store.chunk_path(2).unlink()
    (tmp_path / ".chunk-000002.parquet.x.tmp").write_bytes(b"partial")
    resumed = run_scan(toy, pairset, ks="1-3", out_dir=tmp_path, chunk_pairs=7)
    chunk = pairset.subset(np.arange(14, 21))
    assert resumed.passes == count_windows(chunk.mirna_lens, chunk.target_lens, WIDTH, range(1, 4))[1] + 7
    pd.testing.assert_frame_equal(resumed.summary, first.summary)
    records = resumed.read_records()
    assert len(records) == count_windows(pairset.mirna_lens, pairset.target_lens, WIDTH, range(1, 4))[0]
    assert set(records.columns) == {"pair", "side", "k", "position", "prob", "raw"}
    with pytest.raises(MirlensError, match="different job"):
        run_scan(toy, pairset, ks="1-4", out_dir=tmp_path, chunk_pairs=7)
    assert isinstance(first.store, ChunkStore)


def test_impact_weights_positions_by_coverage():
    """A position few pairs have (L25 of a rare long miRNA) must not become a feature through its noisy mean:
    the impact averages over all pairs (absent = unchanged) unless over="present" is asked for."""
    rows = []
    for k in (1, 2):
        for p in range(0, 26):
            n = 1000 if p <= 22 else 5  # L23..L25: 5 of 1,000 pairs
            drop = {11: 0.10, 25: 0.60}.get(p, 0.0) if k == 1 else {11: 0.12, 12: 0.10, 25: 0.6}.get(p, 0.0)
            rows.append({"side": "mirna", "k": k, "position": p, "n": n, "n_pairs": 1000,
                         "mean_change": -drop, "change_all": -drop * n / 1000})
    summary = pd.DataFrame(rows)
    weighted, _ = accumulative_impact(summary)
    feats = call_features(weighted, peaks_per_side=1)
    assert list(feats["summit"]) == ["L11"]
    unweighted, _ = accumulative_impact(summary, over="present")
    assert list(call_features(unweighted, peaks_per_side=1)["summit"]) == ["L25"]  # what coverage weighting fixes
    with pytest.raises(MirlensError):
        accumulative_impact(summary, over="some")


def test_paper_feature_sizes_place_mirAWs_features():
    """The miRAW impact of the published miTAR2 (x 1000, coverage-weighted, all 32,660 positives): windows of the
    paper's sizes (4 nt miRNA, 5 nt target) at the strongest stretch give its L10-4 and LT7-5; extending each
    summit to 0.5 x its value gives longer stretches with the same summits."""
    from mirlens.explain.mutagenesis.presets import PAPER_FEATURE_LENGTH, PRESETS

    mirna = {7: 18.4, 8: 23.2, 9: 35.6, 10: 56.4, 11: 66.8, 12: 61.4, 13: 52.2, 14: 40.4, 15: 22.3, 16: 6.8}
    target = {4: 3.9, 5: 25.2, 6: 33.5, 7: 40.6, 8: 53.5, 9: 41.3, 10: 51.8, 11: 42.2, 12: 10.5, 13: 5.4}
    rows = [{"side": side, "position": p, "importance": v / 1000}
            for side, d in (("mirna", mirna), ("target", target)) for p, v in d.items()]
    impact = pd.DataFrame(rows)
    feats = call_features(impact, **PRESETS["paper-miraw"].feature_params)
    assert sorted(feats["feature"]) == ["L10-4", "LT7-5"] and set(feats["summit"]) == {"L11", "LT8"}
    assert PRESETS["paper-deepmirtar"].feature_params["length"] == PAPER_FEATURE_LENGTH
    wide = call_features(impact, peaks_per_side=1, extend=0.5)
    assert sorted(wide["feature"]) == ["L9-6", "LT6-6"]
