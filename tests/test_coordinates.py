"""Biological positions <-> tensor indices (convention A), region parsing and masks."""

from __future__ import annotations

import numpy as np
import pytest

from mirlens.data.coordinates import (
    MIRNA,
    TARGET,
    Region,
    index_position,
    parse_region,
    parse_regions,
    position_index,
    position_indices,
    region_mask,
)
from mirlens.data.encoding import encode_pairs
from mirlens.errors import InputError


@pytest.mark.parametrize("seed", range(5))
def test_index_position_round_trip(seed):
    rng = np.random.default_rng(seed)
    slot = int(rng.choice([40, 53]))
    m, t = int(rng.integers(1, 27)), int(rng.integers(1, slot + 1))
    seen = set()
    for p in range(1, m + 1):
        i = position_index(MIRNA, p, m, t)
        assert 0 <= i < m and index_position(i, m, t) == (MIRNA, p)
        seen.add(i)
    for q in range(1, t + 1):
        i = position_index(TARGET, q, m, t)
        assert 26 <= i < 26 + t and index_position(i, m, t) == (TARGET, q)
        seen.add(i)
    assert len(seen) == m + t  # a bijection onto the real nucleotides
    for i in range(26 + slot):
        if i not in seen:
            assert index_position(i, m, t) is None  # padding
    assert position_index(MIRNA, m + 1, m, t) is None and position_index(MIRNA, 0, m, t) is None
    assert position_index(TARGET, t + 1, m, t) is None


def test_positions_name_the_right_nucleotides():
    mirna, target = "UGAGGUAGUAGGUUGUAUAGUU", "ACGUACGUACGUACGUACGUACGUACGUAAGGCC"
    tokens = encode_pairs([mirna], [target], 40)[0]
    letters = np.array(list("NAUCG"))[tokens]
    for p in range(1, len(mirna) + 1):  # Lp = p-th nucleotide from the miRNA's 5' end
        assert letters[position_index(MIRNA, p, len(mirna), len(target))] == mirna[p - 1]
    for q in range(1, len(target) + 1):  # LTq = q-th nucleotide from the target's 3' end
        assert letters[position_index(TARGET, q, len(mirna), len(target))] == target[-q]


def test_vectorised_indices_match_scalar():
    rng = np.random.default_rng(7)
    m = rng.integers(15, 27, 200)
    t = rng.integers(10, 41, 200)
    for side in (MIRNA, TARGET):
        for p in (1, 5, 17, 22, 26, 31, 40):
            idx = position_indices(side, p, m, t)
            expect = [position_index(side, p, a, b) for a, b in zip(m, t)]
            assert list(idx) == [-1 if e is None else e for e in expect]
        # array positions broadcast with the lengths (used for sliding windows)
        ps = rng.integers(1, 30, 200)
        idx = position_indices(side, ps, m, t)
        assert list(idx) == [position_indices(side, int(p), [a], [b])[0] for p, a, b in zip(ps, m, t)]


@pytest.mark.parametrize("text,expected", [
    ("L2-6", Region(MIRNA, 2, 6)), ("L2..L7", Region(MIRNA, 2, 6)), ("LT7-5", Region(TARGET, 7, 5)),
    ("LT7..LT11", Region(TARGET, 7, 5)), ("L7", Region(MIRNA, 7, 1)), ("lt9", Region(TARGET, 9, 1)),
    (" L13-4 ", Region(MIRNA, 13, 4)),
])
def test_parse_region(text, expected):
    r = parse_region(text)
    assert r == expected
    assert parse_region(str(r)) == r


def test_region_positions_and_names():
    r = parse_region("L13-4")
    assert list(r.positions) == [13, 14, 15, 16] and r.stop == 16 and str(r) == "L13-4"
    assert str(parse_region("LT9")) == "LT9"
    assert parse_regions("L2-6, LT7-5") == [Region(MIRNA, 2, 6), Region(TARGET, 7, 5)]


@pytest.mark.parametrize("bad", ["", "X7", "L", "L0", "L3-0", "L7..LT9", "L7..L3", "L2-", "seed", "L2-6-1", "T7"])
def test_parse_region_errors(bad):
    with pytest.raises(InputError):
        parse_region(bad)


def test_region_mask_on_hand_made_pairs():
    # pair 0: 22-nt miRNA, 30-nt target; pair 1: 20-nt miRNA, 40-nt target
    m, t = np.array([22, 20]), np.array([30, 40])
    mask = region_mask(parse_region("L2-6"), m, t, 66)
    assert list(np.nonzero(mask[0])[0]) == list(range(22 - 7, 22 - 1))  # L7..L2 -> indices 15..20
    assert list(np.nonzero(mask[1])[0]) == list(range(13, 19))
    mask = region_mask(parse_region("LT7-5"), m, t, 66)
    assert list(np.nonzero(mask[0])[0]) == list(range(26 + 30 - 11, 26 + 30 - 6))  # LT11..LT7
    assert list(np.nonzero(mask[1])[0]) == list(range(26 + 40 - 11, 26 + 40 - 6))
    # positions a pair lacks are left out: L21..L23 exist only partly for a 22-nt miRNA, not at all for 20 nt
    mask = region_mask(parse_region("L21-3"), m, t, 66)
    assert list(np.nonzero(mask[0])[0]) == [0, 1] and not mask[1].any()
    # several regions at once
    both = region_mask([parse_region("L2-6"), parse_region("LT7-5")], m, t, 66)
    assert both.sum(axis=1).tolist() == [11, 11]
