"""k-let shuffles, generated negatives, UTR collections and specificity probes."""

from __future__ import annotations

import gzip
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from mirlens.data.negatives import (has_canonical_site, make_negatives, mirna_swap, parse_kinds, reverse_complement,
                                    seed_matches, with_negatives)
from mirlens.data.pairs import make_pairs
from mirlens.data.shuffle import klet_shuffle, kmer_counts
from mirlens.data.utrs import read_utrs
from mirlens.errors import InputError, MirlensError
from mirlens.evaluation.specificity import (called_fractions, eight_mer, plant_8mers, seed_class_scores,
                                            site_free_windows, split_utrs)

LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"
MIR155 = "UUAAUGCUAAUCGUGAUAGGGGUU"


def random_rna(rng, n):
    return "".join(rng.choice(list("ACGU"), size=n))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_klet_shuffle_keeps_kmers_and_ends(k):
    rng = np.random.default_rng(1)
    seq = random_rna(rng, 60)
    for _ in range(50):
        s = klet_shuffle(seq, k, rng)
        assert kmer_counts(s, k) == kmer_counts(seq, k)
        assert s[: k - 1] == seq[: k - 1] and s[len(s) - k + 1:] == seq[len(seq) - k + 1:]
    assert len({klet_shuffle(seq, k, rng) for _ in range(20)}) > 1  # it does shuffle


def test_dinucleotide_shuffle_is_uniform():
    # AACAGA has exactly six sequences with its dinucleotides, first and last letter: each must come up ~1/6
    rng = np.random.default_rng(0)
    counts = Counter(klet_shuffle("AACAGA", 2, rng) for _ in range(12000))
    assert len(counts) == 6
    assert all(abs(c / 12000 - 1 / 6) < 0.02 for c in counts.values())


def test_seed_matches_and_sites():
    a, b = seed_matches(LET7)
    assert a == reverse_complement(LET7[1:7]) == "UACCUC" and b == "CUACCU"
    assert has_canonical_site(LET7, "AAAA" + eight_mer(LET7) + "AAAA")
    assert not has_canonical_site(LET7, "A" * 40)
    assert eight_mer(LET7) == "CUACCUCA"


def pos_table(rows):
    n = len(rows)
    return make_pairs(mirna_id=[r[0] for r in rows], mirna=[r[1] for r in rows], target_id=[f"t{i}" for i in range(n)],
                      target=[r[2] for r in rows], label=[1] * n, source="x", record=np.arange(1, n + 1))


def test_negatives_are_balanced_site_free_and_deterministic():
    rng = np.random.default_rng(3)
    rows = []
    for name, m in (("let-7a", LET7), ("miR-21", MIR21), ("miR-155", MIR155)):
        for _ in range(20):
            rows.append((name, m, random_rna(rng, 30) + eight_mer(m) + random_rna(rng, 12)))
    pos = pos_table(rows)
    utrs = {f"u{i}": random_rna(rng, 300) for i in range(20)}
    neg = make_negatives(pos, "mirna-swap,shuffle,utr", seed=5, utrs=utrs)
    assert neg.attrs["negatives"] == {k: {"made": 60, "positives_without": 0} for k in ("mirna-swap", "shuffle", "utr")}
    assert (neg["label"] == 0).all()
    # every miRNA: as many negatives of each kind as it has positives
    assert set(neg.groupby(["source", "mirna_id"]).size()) == {20}
    assert not any(has_canonical_site(m, t) for m, t in zip(neg["mirna"], neg["target"]))
    swap = neg[neg["source"] == "negatives:mirna-swap"]
    own = dict(zip(pos["target"], pos["mirna_id"]))
    assert all(own[t] != m for t, m in zip(swap["target"], swap["mirna_id"]))  # another miRNA's target
    shuf = neg[neg["source"] == "negatives:shuffle"].reset_index(drop=True)
    assert all(kmer_counts(s, 2) == kmer_counts(t, 2) for s, t in zip(shuf["target"], pos["target"]))
    utr = neg[neg["source"] == "negatives:utr"]
    assert all(t in utrs[i.split(":")[0]] and len(t) == 50 for i, t in zip(utr["target_id"], utr["target"]))
    again = make_negatives(pos, "mirna-swap,shuffle,utr", seed=5, utrs=utrs)
    pd.testing.assert_frame_equal(neg, again)
    other = make_negatives(pos, "mirna-swap,shuffle,utr", seed=6, utrs=utrs)
    assert not neg["target"].equals(other["target"])
    # adding a kind leaves the others unchanged
    only_shuffle = make_negatives(pos, "shuffle", seed=5)
    assert only_shuffle["target"].tolist() == shuf["target"].tolist()
    both = with_negatives(pos, ["shuffle"], seed=5)
    assert len(both) == 120 and both.attrs["negatives"]["shuffle"]["made"] == 60


def test_mirna_swap_respects_seed_family():
    # two miRNAs of one seed family (same nt 2-8) never swap with each other: with no other family, no negatives
    rng = np.random.default_rng(0)
    fam = [("a", LET7, random_rna(rng, 40)), ("b", LET7[:10] + "CCCCCCCCCCCC", random_rna(rng, 40))]
    out = mirna_swap(pos_table(fam * 5), np.random.default_rng(0))
    assert len(out) == 0


def test_negative_kinds_are_checked():
    assert parse_kinds("shuffle, mirna-swap,shuffle") == ["shuffle", "mirna-swap"]
    with pytest.raises(MirlensError, match="unknown kind of negatives 'swap'"):
        parse_kinds("swap")
    with pytest.raises(MirlensError, match="UTR collection"):
        make_negatives(pos_table([("x", LET7, "A" * 40)]), "utr", seed=0)


def test_read_utrs_from_fasta_and_tables(tmp_path):
    fa = tmp_path / "u.fa"
    fa.write_text(">g1 desc\nACGT\nTTAA\n>g2\nGGGCCC\n")
    assert read_utrs(fa) == {"g1": "ACGUUUAA", "g2": "GGGCCC"}
    tsv = tmp_path / "u.tsv.gz"
    with gzip.open(tsv, "wt") as fh:
        fh.write("gene_id\tutr\nENSG1\tacgtn\nENSG2\tAAAA\nENSG1\tACGTN\n")
    assert read_utrs(tsv) == {"ENSG1": "ACGUN", "ENSG2": "AAAA"}
    bad = tmp_path / "bad.tsv"
    bad.write_text("mrna_id\tmrna_seq\nx\tACGX\n")
    with pytest.raises(InputError, match=r"bad.tsv, record 2: unknown letter 'X'"):
        read_utrs(bad)
    clash = tmp_path / "clash.tsv"
    clash.write_text("id\tsequence\nx\tAC\nx\tGG\n")
    with pytest.raises(InputError, match="occurs twice with different sequences"):
        read_utrs(clash)
    nocol = tmp_path / "nocol.tsv"
    nocol.write_text("name\tseq\nx\tAC\n")
    with pytest.raises(InputError, match="needs an id column"):
        read_utrs(nocol)


def test_probes_site_free_planted_and_seed_rule():
    rng = np.random.default_rng(1)
    utrs = {f"u{i}": random_rna(rng, 400) for i in range(40)}
    first, second = split_utrs(utrs)
    assert first.keys() | second.keys() == utrs.keys() and not first.keys() & second.keys()
    assert split_utrs(dict(reversed(list(utrs.items())))) == (first, second)  # order does not matter
    mirnas = {"let-7a": LET7, "miR-21": MIR21}
    sf = site_free_windows(mirnas, second, per_mirna=30, seed=2)
    assert len(sf) == 60 and set(sf.groupby("mirna_id").size()) == {30}
    assert not any(has_canonical_site(m, t) for m, t in zip(sf["mirna"], sf["target"]))
    assert (sf["target"].str.len() == 40).all()
    pl = plant_8mers(sf, seed=0)
    assert all(t[o:o + 8] == eight_mer(m) for m, t, o in zip(pl["mirna"], pl["target"], pl["offset"]))
    assert pl["offset"].nunique() > 10  # sites at many offsets
    assert (seed_class_scores(pl) == 3).all() and (seed_class_scores(sf) == 0).all()
    f = called_fractions(sf, np.r_[np.ones(3), np.zeros(57)])
    assert f["called"] == pytest.approx(0.05) and f["worst_mirna"] == pytest.approx(0.1)
    assert f["worst_mirna_id"] == "let-7a" and f["mean_over_mirnas"] == pytest.approx(0.05)
