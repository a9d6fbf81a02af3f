"""Duplex energy and pairing: hand-made duplexes, designed energy ordering, and agreement with real miRanda 1.9,
ViennaRNA and RNAhybrid outputs in ../shared/refs/energy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mirlens.duplex import DuplexCache, compute_duplexes, parse_named_regions, region_pairing
from mirlens.duplex import compute as compute_mod
from mirlens.duplex.energy import duplexfold, duplexfold_partners, parse_rnahybrid_compact
from mirlens.errors import InputError

LET7 = "UGAGGUAGUAGGUUGUAUGGUU"
_COMP = str.maketrans("ACGU", "UGCA")


def revcomp(s: str) -> str:
    return s.translate(_COMP)[::-1]


def perfect_site(mirna: str, flank5: str = "CCCCCC", flank3: str = "CCCC") -> str:
    return flank5 + revcomp(mirna) + flank3


def one(mirna: str, target: str, backend: str = "miranda") -> pd.Series:
    return compute_duplexes([mirna], [target], backend).iloc[0]


def test_perfect_match_pairs_every_position_with_the_right_target_position():
    r = one(LET7, perfect_site(LET7))
    assert r["mirna_pairing"] == "|" * 22
    # L_p pairs with LT_(p+4): the 4-nt 3' flank holds LT1..LT4
    assert [int(x) for x in r["mirna_partner"].split(",")] == [p + 4 for p in range(1, 23)]
    assert r["target_pairing"] == "...." + "|" * 22 + "......"
    assert r["energy"] < -30 and r["n_hits"] >= 1


def test_gu_wobble_counts_as_paired():
    site = list(revcomp(LET7))
    site[-5] = "U"  # opposite L5 (G): C -> U makes a G:U wobble
    r = one(LET7, "CCCCCC" + "".join(site) + "CCCC")
    assert r["mirna_pairing"][4] == ":"
    assert r["mirna_pairing"].count("|") == 21
    seed = region_pairing(pd.DataFrame([r]), "seed")
    assert seed["paired_pct"].iloc[0] == 100.0


def test_target_bulge_leaves_one_target_nucleotide_unpaired():
    site = revcomp(LET7)
    bulged = site[:10] + "A" + site[10:]  # an extra target nt between L12 and L13
    r = one(LET7, "CCCCCC" + bulged + "CCCC")
    assert r["mirna_pairing"].count(".") <= 1  # every miRNA nt still paired (one may shift next to the bulge)
    inner = r["target_pairing"][4:27]  # LT5..LT27 covers the site
    assert inner.count(".") == 1
    assert r["energy"] > one(LET7, perfect_site(LET7))["energy"]


def test_hits_end_more_than_a_mirna_length_apart():
    # two 8-nt seed sites: kept as two hits only when their end columns are more than n (= 22) apart
    from mirlens.duplex import accepted_hits, align

    seed_site = revcomp(LET7[:8])
    far = "A" * 4 + seed_site + "A" * 18 + seed_site + "A" * 2  # end columns 12 and 38: 26 apart
    near = "A" * 4 + seed_site + "A" * 10 + seed_site + "A" * 10  # end columns 12 and 30: 18 apart
    batch = align([LET7, LET7], [far, near])
    kept = accepted_hits(batch)
    assert [int(c) + 1 for c in np.nonzero(kept[0])[0]] == [12, 38]
    near_cols = np.nonzero(kept[1])[0] + 1
    assert not {12, 30} <= set(near_cols.tolist())  # the two sites block each other
    assert (np.diff(near_cols) > len(LET7)).all()  # whatever else is kept ends far enough away
    assert compute_duplexes([LET7], [far], "miranda")["n_hits"].iloc[0] == 2


def test_hits_may_share_at_most_four_aligned_columns():
    from mirlens.duplex.alignment import MAX_SHARED_COLUMNS, AlignmentBatch, accepted_hits

    # two candidates far enough apart (end columns 10 and 40, n = 22) whose aligned stretches share k columns
    def batch(k):
        score = np.zeros((1, 40), dtype=np.int32)
        start_j = np.ones((1, 40), dtype=np.int64)
        score[0, 9], start_j[0, 9] = 100, 3  # columns 3..10
        score[0, 39], start_j[0, 39] = 90, 11 - k  # columns (11 - k)..40
        z = np.zeros((1, 40), dtype=np.int64)
        return AlignmentBatch(None, None, np.array([22]), np.array([40]), None, None, None, None, None, score,
                              z + 22, z, z + 1, start_j, z, z, None)

    assert accepted_hits(batch(MAX_SHARED_COLUMNS))[0, [9, 39]].all()
    kept = accepted_hits(batch(MAX_SHARED_COLUMNS + 1))[0]
    assert kept[9] and not kept[39]


def test_equal_scores_go_to_the_lower_end_row_then_the_5prime_column():
    from mirlens.duplex.alignment import align, hit_order

    batch = align([LET7], ["A" * 4 + revcomp(LET7[:8]) + "A" * 6 + revcomp(LET7[:8]) + "A" * 2])
    order = hit_order(batch)[0]
    top = batch.score[0, order[0]]
    tied = [c for c in order if batch.score[0, c] == top]
    rows = batch.end_i[0, tied]
    assert list(rows) == sorted(rows)
    assert tied[0] == min(c for c in tied if batch.end_i[0, c] == rows[0])


def test_seed_weighting_prefers_a_seed_match():
    # two candidate sites: an 8-nt seed match and a 3' match of the same length; the seed one is selected
    seed_site = revcomp(LET7[:8])
    three_site = revcomp(LET7[12:20])
    r = compute_duplexes([LET7], ["AAAAAAAA" + three_site + "AAAAAAAAAAAA" + seed_site + "A"], "miranda",
                         ).iloc[0]
    assert r["mirna_pairing"][1:8] == "|" * 7


@pytest.mark.parametrize("backend", ["miranda", "duplexfold"])
def test_energy_sign_and_ordering_on_designed_pairs(backend):
    rng = np.random.default_rng(0)
    mirnas = [LET7] * 3
    seed_only = "".join(rng.choice(list("AC"), 20)) + revcomp(LET7[:8]) + "AAAA"
    no_site = "A" * 32
    res = compute_duplexes(mirnas, [perfect_site(LET7), seed_only, no_site], backend)
    e = res["energy"].to_numpy()
    assert (e <= 0).all()
    assert e[0] < e[1] < e[2] + 1e-9
    assert e[0] < -25


def test_bad_letters_and_lengths_are_input_errors():
    with pytest.raises(InputError, match="letters"):
        compute_duplexes([LET7], ["ACGUXZ"], "miranda")
    with pytest.raises(InputError):
        compute_duplexes([LET7, LET7], ["ACGU"], "miranda")
    with pytest.raises(InputError, match="unknown energy backend"):
        compute_duplexes([LET7], ["ACGU"], "vienna")


def test_region_parsing_and_counting_only_existing_positions():
    named = parse_named_regions("seed=L2-6,L13-4,LT7-5,L23")
    assert [(n, str(r)) for n, r in named] == [("seed", "L2-6"), ("L13-4", "L13-4"), ("LT7-5", "LT7-5"),
                                               ("L23", "L23")]
    table = pd.DataFrame({"mirna_pairing": ["|" * 22, "." * 23], "target_pairing": ["." * 6 + "|" * 5, "." * 11]})
    t = region_pairing(table, named).set_index("region")
    assert t.loc["seed", "paired_pct"] == 50.0
    assert t.loc["LT7-5", "paired_pct"] == 50.0
    assert t.loc["L23", "n_positions"] == 1 and t.loc["L23", "paired_pct"] == 0.0
    with pytest.raises(InputError):
        parse_named_regions("x=Q2")


def test_cache_returns_stored_results_without_recomputing(tmp_path, monkeypatch):
    cache = DuplexCache(tmp_path)
    first = compute_duplexes([LET7, LET7], [perfect_site(LET7), "A" * 30], "miranda", cache=cache)

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setitem(compute_mod._RUNNERS, "miranda", boom)
    again = compute_duplexes([LET7, LET7], [perfect_site(LET7), "A" * 30], "miranda", cache=DuplexCache(tmp_path))
    pd.testing.assert_frame_equal(first, again)


# ------------------------------------------------------------------------------------------ reference outputs


@pytest.fixture(scope="module")
def refs(shared_dir):
    from conftest import require

    d = require(shared_dir / "refs" / "energy")
    read = lambda name: pd.read_csv(d / name, sep="\t", keep_default_na=False, dtype=str)  # noqa: E731
    return {"miranda19": read("miranda19_2000.tsv"), "vienna": read("vienna_2000.tsv"),
            "rnahybrid": read("rnahybrid_2000.tsv")}


def _bits(s: pd.Series) -> pd.Series:
    return s.str.replace("|", "1").str.replace(":", "1").str.replace(".", "0")


@pytest.fixture(scope="module")
def ours_1000(refs):
    ref = refs["miranda19"].iloc[:1000]  # the 1,000 positives
    return ref, compute_duplexes(ref["mirna"].tolist(), ref["target"].tolist(), "miranda")


def test_miranda_pairing_and_energy_agree_with_miranda_19(ours_1000):
    ref, ours = ours_1000
    same = (_bits(ours["mirna_pairing"]) == ref["pairing"]).mean()
    same_t = (_bits(ours["target_pairing"]).str[::-1] == ref["tpairing"]).mean()
    rho = stats.spearmanr(ours["energy"], ref["min_energy"].astype(float)).statistic
    assert same >= 0.99 and same_t >= 0.99  # 99.5% on these 1,000; 99.0% on all 2,000
    assert rho >= 0.98
    assert np.abs(ours["energy"] - ref["min_energy"].astype(float)).median() < 0.1  # 0.02 kcal/mol


@pytest.fixture(scope="module")
def ours_2000(refs):
    ref = refs["miranda19"]
    return ref, compute_duplexes(ref["mirna"].tolist(), ref["target"].tolist(), "miranda")


def test_hit_lists_and_selected_pairing_agree_with_miranda_19_on_all_2000(ours_2000):
    """Hit enumeration (by decreasing score -- ties: lower end row, then 5'-most column -- a candidate is kept
    when its end column is more than n columns from every kept hit's and their aligned stretches share at most 5
    target columns) and selection of the lowest-energy hit: 99.0% of the 2,000 pairs get miRanda 1.9's pairing
    string, 98.55% its number of hits, energy Spearman 0.996. The 20 other pairings: both hits are the ones
    miRanda lists, but their energy order flips (ViennaRNA 2.8 is not miRanda's bundled library; see
    mirlens.duplex.energy). The 29 other hit counts: 9 second hits whose energy is 0 here but slightly negative in
    miRanda, 20 small second hits (19 inside the best hit's aligned stretch) that miRanda does not list -- their
    energies are above the best hit's, so the selected pairing is unaffected."""
    ref, ours = ours_2000
    same = (_bits(ours["mirna_pairing"]) == ref["pairing"]).mean()
    same_t = (_bits(ours["target_pairing"]).str[::-1] == ref["tpairing"]).mean()
    hits = (ours["n_hits"] == ref["n_hits"].astype(int)).mean()
    rho = stats.spearmanr(ours["energy"], ref["min_energy"].astype(float)).statistic
    assert same >= 0.985 and same_t >= 0.985, (same, same_t)
    assert hits >= 0.98, hits
    assert ours["n_hits"].max() == 2 == ref["n_hits"].astype(int).max()  # 40-nt targets hold at most two hits
    assert rho >= 0.99, rho
    # the linker hairpin mismatch of miRanda's library: most energies equal miRanda's to 0.05 kcal/mol
    close = (np.abs(ours["energy"] - ref["min_energy"].astype(float)) <= 0.051).mean()
    assert close >= 0.7, close


def test_table2_mirAW_column_close_to_the_paper(ours_1000):
    _, ours = ours_1000
    paper = {"L7": 95.39, "L14": 59.53, "L4-4": 96.07, "L13-4": 58.48, "seed": 94.46, "L10-4": 56.36,
             "LT7-5": 86.49}
    t = region_pairing(ours, "L7,L14,L4-4,L13-4,seed=L2-6,L10-4,LT7-5").set_index("region")["paired_pct"]
    for name, value in paper.items():
        assert abs(t[name] - value) <= 2.0, (name, t[name], value)
    # and within 0.5 points of what miRanda 1.9 itself gives on these pairs (table2_check.txt)
    miranda19 = {"L7": 94.90, "L14": 61.20, "L4-4": 95.22, "L13-4": 59.23, "seed": 93.77, "L10-4": 57.55,
                 "LT7-5": 86.22}
    for name, value in miranda19.items():
        assert abs(t[name] - value) <= 0.5, (name, t[name], value)


def test_duplexfold_matches_viennarna_reference(refs):
    ref = refs["vienna"].iloc[:60]
    pairs = refs["miranda19"].iloc[:60]
    for (_, v), (_, p) in zip(ref.iterrows(), pairs.iterrows()):
        e, structure, i, j = duplexfold(p["mirna"], p["target"])
        assert e == pytest.approx(float(v["dup_energy"]), abs=0.01)
        partners = duplexfold_partners(structure, i, j, len(p["mirna"]))
        bits = ["0"] * len(p["mirna"])
        for qi, _ in partners:
            bits[qi] = "1"
        assert "".join(bits) == v["dup_pairing"]


def test_rnahybrid_compact_parser_matches_reference(refs):
    rh = refs["rnahybrid"].iloc[:200]
    pairs = refs["miranda19"].iloc[:200]
    for (_, r), (_, p) in zip(rh.iterrows(), pairs.iterrows()):
        line = f"t:{len(p['target'])}:q:{len(p['mirna'])}:{r['rh_energy']}:{r['rh_pvalue']}:{r['rh_pos']}:" \
               + r["rh_compact"]
        mfe, partners = parse_rnahybrid_compact(line)
        assert mfe == float(r["rh_energy"])
        q = ["0"] * len(p["mirna"])
        t = ["0"] * len(p["target"])
        for qi, ti in partners:
            q[qi] = "1"
            t[ti] = "1"
        assert "".join(q) == r["rh_pairing"] and "".join(t) == r["rh_tpairing"]
