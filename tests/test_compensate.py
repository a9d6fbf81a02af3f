"""The compensatory-pairing test: constructed models that read only pairing recover ~1, motif readers do not."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.alphabet import TOKENS
from mirlens.data.encoding import MIRNA_SLOT
from mirlens.duplex import compute_duplexes
from mirlens.evaluation.specificity import eight_mer
from mirlens.explain import PairSet
from mirlens.explain.attribution.compensate import MIN_DROP, compensation, watson_crick_partners

_register()
runner = CliRunner()
LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"
SLOT = 40
FLANK = 12  # the site's A (facing L1) sits at target index FLANK + 7
ANCHOR = FLANK + 7
WC = {("A", "U"), ("U", "A"), ("G", "C"), ("C", "G")}
IDX = {c: i for i, c in enumerate(TOKENS)}
PAIRS_WC = torch.zeros(5, 5)
for a, b in WC:
    PAIRS_WC[IDX[a], IDX[b]] = 1.0


class Toy(torch.nn.Module):
    """Reads the nucleotides of L2..L8 and the target nucleotides facing them at the fixed anchor."""

    def __init__(self, kind: str, wild_type: torch.Tensor | None = None):
        super().__init__()
        self.kind = kind
        self.config = SimpleNamespace(mirna_slot=MIRNA_SLOT, target_slot=SLOT, input_len=MIRNA_SLOT + SLOT)
        self.wild_type = wild_type  # (1, width) tokens of the motif the motif readers look for

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n_m = 22
        mi = torch.tensor([n_m - p for p in range(2, 9)])  # tensor index of Lp (miRNA written reversed)
        ti = torch.tensor([MIRNA_SLOT + ANCHOR - (p - 1) for p in range(2, 9)])
        m, t = tokens[:, mi], tokens[:, ti]
        if self.kind == "pairing":
            return 3.0 * PAIRS_WC[m, t].sum(dim=1) - 15.0
        wt = self.wild_type
        same_t = (t == wt[:, ti]).float().sum(dim=1)
        if self.kind == "target-motif":
            return 3.0 * same_t - 15.0
        same_m = (m == wt[:, mi]).float().sum(dim=1)
        return 3.0 * (same_t + same_m) - 30.0  # both sequences as motifs


def planted(mirna: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        left = "".join(rng.choice(list("CA"), FLANK))
        right = "".join(rng.choice(list("CA"), SLOT - FLANK - 8))
        rows.append({"mirna_id": "m", "mirna": mirna, "target_id": f"t{i}", "target": left + eight_mer(mirna) + right,
                     "label": 1})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def let7_pairs():
    pairs = planted(LET7, 30, 0)
    ps = PairSet.from_pairs(pairs, MIRNA_SLOT + SLOT)
    duplexes = compute_duplexes(pairs["mirna"].tolist(), pairs["target"].tolist(), "miranda")
    return ps, duplexes


def test_partners_come_from_the_duplex(let7_pairs):
    ps, duplexes = let7_pairs
    sites = watson_crick_partners(duplexes, range(2, 9))
    # the planted 8mer: L2..L8 pair with LT(len - ANCHOR + p - 1) in every pair
    assert len(sites) >= 7 * 30 * 0.9
    row = sites[sites["pair"] == 0].set_index("position")["partner"]
    assert all(row[p] == SLOT - ANCHOR + p - 1 for p in range(2, 9) if p in row.index)


def test_a_pairing_reader_recovers_and_motif_readers_do_not(let7_pairs):
    ps, duplexes = let7_pairs
    kw = dict(positions=range(2, 9), n_boot=200, seed=0)
    pairing = compensation(Toy("pairing"), ps, duplexes, **kw).table.set_index("position")
    assert (pairing["drop_mirna"] >= 2.9).all() and (pairing["drop_double"].abs() < 1e-6).all()
    assert np.allclose(pairing["recovery_mirna"], 1.0) and np.allclose(pairing["recovery_target"], 1.0)
    assert (pairing["recovery_mirna_low"] > 0.99).all()

    wt = torch.from_numpy(ps.tokens[:1].astype(np.int64))
    motif = compensation(Toy("target-motif", wt), ps, duplexes, **kw)
    t = motif.table.set_index("position")
    assert np.allclose(t["recovery_target"], 0.0)  # the swap does not bring the target motif back
    assert t["recovery_mirna"].isna().all()  # changing the miRNA alone costs nothing: nothing to recover
    assert (t["drop_mirna"] < MIN_DROP).all()

    both = compensation(Toy("both-motifs", wt), ps, duplexes, **kw).table
    assert np.allclose(both["recovery_mirna"], -1.0) and np.allclose(both["recovery_target"], -1.0)
    assert (both["recovery_mirna_high"] < 0).all()
    per_pair = motif.per_pair
    assert set(per_pair["pair_type"]) <= {"A:U", "U:A", "G:C", "C:G"}
    assert {"logit_wt", "logit_mirna", "logit_target", "logit_double"} <= set(per_pair.columns)


def test_bundled_pairing_model_reads_seed_pairing_cli(tmp_path, let7_pairs):
    pairs = pd.concat([planted(LET7, 15, 1), planted(MIR21, 15, 2)], ignore_index=True)
    pairs["target_id"] = [f"t{i}" for i in range(len(pairs))]
    f = tmp_path / "p.tsv"
    pairs.to_csv(f, sep="\t", index=False)
    out = tmp_path / "comp.tsv"
    res = runner.invoke(app, ["explain", "compensate", "--model", "pairing", "--data", str(f), "--positions",
                              "L2-6", "--n-boot", "100", "--no-cache", "-o", str(out), "--plot", str(tmp_path)])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out, sep="\t").set_index("position")
    assert list(t.index) == [f"L{p}" for p in range(2, 8)] and (t["model"] == "pairing").all()
    # the default model reads the seed as pairing: swapping a seed pair restores most of the score
    assert (t["recovery_mirna"] > 0.7).all() and (t["recovery_target"] > 0.7).all()
    assert (tmp_path / "compensation.png").is_file()
    res = runner.invoke(app, ["explain", "compensate", "--model", "pairing", "--data", str(f), "--positions",
                              "LT2-5", "-o", str(out)])
    assert res.exit_code == 1 and "must be miRNA positions" in res.output
