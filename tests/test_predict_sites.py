"""``mirlens predict --sites``: only windows holding a candidate seed-match site are scored, the others are
counted as skipped; the default (all-windows) is the original grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.alphabet import tokenize
from mirlens.data.examples import example_path
from mirlens.data.fasta import read_fasta
from mirlens.errors import InputError
from mirlens.genes.sites import SITE_TYPES, find_sites
from mirlens.model.store import load_model
from mirlens.predict.scan import ScanSettings, parse_sites, scan, windows_with_sites

_register()
runner = CliRunner()


def test_parse_sites():
    assert parse_sites("all-windows") is None and parse_sites(None) is None
    assert [SITE_TYPES[c] for c in parse_sites("8mer,7mer")] == ["8mer", "7mer-m8", "7mer-A1"]
    assert [SITE_TYPES[c] for c in parse_sites("offset6mer, noncanonical,6mer")] == ["6mer", "offset-6mer",
                                                                                     "noncanonical"]
    assert parse_sites("7mer-A1") == (2,)
    with pytest.raises(InputError, match="unknown site type '9mer'"):
        parse_sites("8mer,9mer")


def brute_force_holds(mirna: str, utr: str, start: int, window: int, types) -> bool:
    """Independent check: some site of a kept type has all its nucleotides facing miRNA positions 2-8 that lie on
    the UTR inside [start, start + window)."""
    sites = find_sites(mirna, utr, noncanonical=True)
    for anchor, t in zip(sites.anchor, sites.type):
        if t not in types:
            continue
        facing = [anchor - (k - 1) for k in range(2, 9)]
        on_utr = [i for i in facing if 0 <= i < len(utr)]
        if all(start <= i < start + window for i in on_utr):
            return True
    return False


@pytest.mark.parametrize("spec", ["8mer,7mer", "6mer,offset6mer,noncanonical", "noncanonical"])
def test_sites_keeps_exactly_the_windows_holding_a_site(tmp_path, spec):
    model = load_model("pairing")
    mirnas = read_fasta(example_path("mirnas.fa"))
    utrs = {r.id: r.seq for r in read_fasta(example_path("utrs.fa"))}
    types = parse_sites(spec)
    every = scan(model, mirnas, example_path("utrs.fa"), tmp_path / "all", ScanSettings(step=5))
    kept = scan(model, mirnas, example_path("utrs.fa"), tmp_path / spec, ScanSettings(step=5, sites=types))
    assert every.attrs["n_grid"] == len(every) == kept.attrs["n_grid"]
    assert 0 < len(kept) < len(every)
    seqs = {m.id: m.seq for m in mirnas}
    key = ["mirna_id", "target_id", "window"]
    merged = every.merge(kept, on=key, how="left", suffixes=("", "_kept"), indicator=True)
    for mirna_id, target_id, start, merge in zip(merged["mirna_id"], merged["target_id"], merged["start"],
                                                 merged["_merge"]):
        holds = brute_force_holds(seqs[mirna_id], utrs[target_id], start - 1, 50, types)
        assert holds == (merge == "both"), (mirna_id, target_id, start)
    both = merged[merged["_merge"] == "both"]
    assert (both["start"] == both["start_kept"]).all() and (both["end"] == both["end_kept"]).all()
    np.testing.assert_allclose(both["probability_kept"], both["probability"], atol=2e-6)
    # kept windows come in scan order (a subsequence of the full table)
    order = every.reset_index().merge(kept, on=key)["index"].to_numpy()
    assert (np.diff(order) > 0).all()


def test_windows_with_sites_counts_sites_cut_by_the_utr_ends():
    mirna = "UGAGGUAGUAGGUUGUAUAGUU"  # let-7: seed 2-8 GAGGUAG, 8mer site CUACCUCA
    utr = tokenize("CUACCUCA" + "G" * 60)
    starts = np.array([0, 1, 10])
    keep = windows_with_sites(tokenize(mirna), utr, starts, 20, parse_sites("8mer,7mer"))
    assert keep.tolist() == [True, False, False]


def test_predict_sites_reports_skipped_windows(tmp_path):
    out = tmp_path / "w.tsv"
    result = runner.invoke(app, ["predict", "--example", "-o", str(out), "--sites", "8mer,7mer,6mer"])
    assert result.exit_code == 0, result.output
    windows = pd.read_csv(out, sep="\t")
    every = runner.invoke(app, ["predict", "--example", "-o", str(tmp_path / "all.tsv")])
    n_all = len(pd.read_csv(tmp_path / "all.tsv", sep="\t"))
    assert f"scored {len(windows):,} of {n_all:,} windows, skipped {n_all - len(windows):,}" in result.output
    assert every.exit_code == 0 and "skipped" not in every.output
    bad = runner.invoke(app, ["predict", "--example", "-o", str(out), "--sites", "7mers"])
    assert bad.exit_code == 1 and "unknown site type '7mers'" in bad.output
