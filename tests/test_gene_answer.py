"""The gene-level answer of the default model: site calls on whole UTRs, the repression model with the model's own
sites and a calibrated probability, the gene table and its sites table, predict-genes vs predict, resuming."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import require
from mirlens.cli.app import _register, app
from mirlens.data.examples import example_path
from mirlens.data.fasta import pairs_from_fasta, read_fasta
from mirlens.evaluation.specificity import utr_call_rule
from mirlens.genes.calls import SAME_SITE, CallRule, site_calls
from mirlens.genes.repression import (CANONICAL_KEY, PAIRING_KEY, NoncanonicalTerm, RepressionModel,
                                      fit_calibration, fit_repression, load_repression, save_repression)
from mirlens.genes.sites import N_CANONICAL, find_sites
from mirlens.genes.table import gene_table, parts
from mirlens.model.store import load_model
from mirlens.predict.utr_pass import PEAK_SHIFT, UtrPass

_register()
runner = CliRunner()
LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
PLANTED = {("hsa-let-7a-5p", "UTR_let7_two_sites"), ("hsa-let-7a-5p", "UTR_short"),
           ("hsa-miR-21-5p", "UTR_miR21_one_site"), ("hsa-miR-21-5p", "UTR_miR155_miR21"),
           ("hsa-miR-155-5p", "UTR_miR155_miR21")}


@pytest.fixture(scope="module")
def pairing():
    return load_model("pairing", with_meta=True)


@pytest.fixture(scope="module")
def example_pairs():
    return pairs_from_fasta(example_path("mirnas.fa"), example_path("utrs.fa"))


def _random_utr(rng, n: int) -> str:
    return "".join(rng.choice(list("ACGU"), n))


# ---- site calls --------------------------------------------------------------------------------------------------

def test_site_calls_find_the_planted_8mers_where_they_are(pairing, example_pairs):
    net, _ = pairing
    utrs = [r.seq for r in read_fasta(example_path("utrs.fa"))]
    sites = site_calls(net, LET7, utrs)
    canon = sites[sites["type"] < N_CANONICAL]
    for i, u in enumerate(utrs):
        expected = find_sites(LET7, u)
        assert canon[canon["utr"] == i]["anchor"].tolist() == expected.anchor.tolist()
    # the two planted 8mers of the two-site UTR are called, nothing on the control UTR is
    two = sites[sites["utr"] == 0]
    assert (two[two["type"] == 0]["site_logit"] > CallRule(np.log(9)).site_logit).all()
    assert (sites[sites["utr"] == 3]["site_logit"] < np.log(9)).all()


def test_model_sites_are_peaks_of_their_own_window_and_not_canonical_sites(pairing):
    net, _ = pairing
    rng = np.random.default_rng(5)
    utr = _random_utr(rng, 3000)
    sites = site_calls(net, LET7, [utr])
    nc = sites[sites["type"] == N_CANONICAL]["anchor"].to_numpy()
    assert len(nc) > 10
    # no two model sites share a site window (a peak is the best anchor of the 52 its window pools)
    assert (np.diff(nc) > 0).all()
    pas = UtrPass(net, LET7)
    canon = find_sites(LET7, utr).anchor
    for a in nc:
        assert not len(canon) or np.abs(canon - a).min() > SAME_SITE
    # single-anchor scores: each model site is the best anchor of its window
    from mirlens.data.alphabet import tokenize

    blk = next(pas.blocks([tokenize(utr)]))
    single = pas.anchor_logits_in(blk, 0, 0, len(utr) + PEAK_SHIFT + 1)
    for a in nc:
        b = a + PEAK_SHIFT
        lo, hi = max(b - (pas.site_offset + PEAK_SHIFT), 0), min(b + pas.pool - pas.site_offset - PEAK_SHIFT,
                                                                 len(utr) + PEAK_SHIFT + 1)
        assert single[b] >= single[lo:hi].max() - 1e-6


def test_utrs_in_one_pass_do_not_leak_into_each_other(pairing):
    net, _ = pairing
    rng = np.random.default_rng(2)
    utrs = [_random_utr(rng, n) for n in (300, 12, 900, 60)]
    together = site_calls(net, LET7, utrs)
    for i, u in enumerate(utrs):
        alone = site_calls(net, LET7, [u])
        mine = together[together["utr"] == i].reset_index(drop=True)
        assert mine["anchor"].tolist() == alone["anchor"].tolist()
        np.testing.assert_allclose(mine["site_logit"], alone["site_logit"], atol=1e-5)
    # blocks of one UTR each give the same
    small = site_calls(net, LET7, utrs, block_nt=1)
    np.testing.assert_allclose(small["site_logit"], together["site_logit"], atol=1e-5)


def test_call_rule_from_card_and_utr_threshold():
    meta = {"card": {"scan_threshold": {"value": 0.9}, "utr_call": {"intercept": -1.0, "per_log10_nt": 1.0}}}
    rule = CallRule.from_card(meta)
    assert rule.site_logit == pytest.approx(np.log(9))
    t = rule.utr_threshold([100, 10_000, 1_000_000])
    assert t[0] == pytest.approx(np.log(9)) and t[1] == pytest.approx(3.0) and t[2] == pytest.approx(5.0)
    assert CallRule.from_card({}).utr_threshold([10])[0] == 0.0


def test_utr_call_rule_recovers_an_exponential_tail():
    rng = np.random.default_rng(0)
    # site logits with rate 1e-3 per nt above 2 and an exponential tail of rate kappa = 2
    n_nt = 2_000_000
    logits = 2.0 + rng.exponential(0.5, size=2000)
    fit = utr_call_rule(logits, n_nt, 2.0, grid=np.arange(2.0, 4.01, 0.25))
    assert fit["kappa"] == pytest.approx(2.0, rel=0.15)
    # lambda(t(L)) * L = 1%: at L = 10 nt... the threshold where 1e-3 * exp(-2 (t - 2)) * L = 0.01
    t = fit["intercept"] + fit["per_log10_nt"] * np.log10(1e4)
    assert t == pytest.approx(2.0 + np.log(1e-3 * 1e4 / 0.01) / 2.0, abs=0.3)


# ---- the repression model ---------------------------------------------------------------------------------------

def _model(**kw) -> RepressionModel:
    return RepressionModel(("local_au",), np.array([-0.3, -0.2, -0.15, -0.05, -0.02]), np.zeros((5, 1)),
                           np.zeros((5, 1)), {}, **kw)


def test_only_the_best_noncanonical_site_of_a_gene_contributes():
    m = _model(noncanonical=NoncanonicalTerm(-0.1, 1.0))
    sites = pd.DataFrame({"pair": [0, 0, 0, 1, 1], "type": [0, 5, 5, 5, 5], "local_au": 0.5,
                          "site_logit": [5.0, 0.0, 3.0, -1.0, -2.0], "anchor": 10})
    fc = m.site_log2fc(sites)
    assert fc[0] == pytest.approx(-0.3)
    assert fc[1] == 0.0 and fc[2] == pytest.approx(-0.1 * np.logaddexp(0, 2.0))
    assert fc[3] == pytest.approx(-0.1 * np.logaddexp(0, -2.0)) and fc[4] == 0.0
    scores = m.gene_scores(sites, 3)
    assert scores[0] > scores[1] > scores[2] == 0.0
    # without the term, non-canonical sites contribute nothing
    assert _model().site_log2fc(sites)[1:].tolist() == [0.0] * 4


def test_fit_recovers_the_noncanonical_effect_net_of_utr_length():
    rng = np.random.default_rng(1)
    n = 4000
    length = 10 ** rng.uniform(2, 4, n)
    best = rng.normal(0, 1.5, n) + 0.8 * np.log10(length)  # longer UTRs reach higher logits by chance
    y = 0.05 * np.log10(length) - 0.03 * np.logaddexp(0, best - 1.0) + rng.normal(0, 0.02, n)
    canon = pd.DataFrame({"pair": np.arange(n, n + 50), "type": np.repeat(np.arange(5), 10), "local_au": 0.5,
                          "site_logit": 4.0, "anchor": 10})
    nc = pd.DataFrame({"pair": np.arange(n), "type": 5, "local_au": 0.5, "site_logit": best, "anchor": 10})
    y_all = np.concatenate([y, -0.2 + rng.normal(0, 0.01, 50)])
    m = fit_repression(pd.concat([canon, nc], ignore_index=True), y_all, features=("local_au",),
                       utr_length=np.concatenate([length, np.full(50, 1000.0)]), noncanonical=True)
    assert m.noncanonical.beta == pytest.approx(-0.03, abs=0.005)
    assert m.info["noncanonical_fit"]["log10_length_covariate"] == pytest.approx(0.05, abs=0.01)
    # a positive effect (better site, less repression) is capped at 0
    m2 = fit_repression(pd.concat([canon, nc], ignore_index=True),
                        np.concatenate([0.03 * np.logaddexp(0, best - 1.0), y_all[n:]]),
                        features=("local_au",), utr_length=np.concatenate([length, np.full(50, 1000.0)]),
                        noncanonical=True)
    assert m2.noncanonical.beta == 0.0 and m2.info["noncanonical_fit"]["beta_unconstrained"] > 0


def test_calibration_fits_a_known_logistic_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    score = rng.exponential(0.3, 200_000)
    p = 1 / (1 + np.exp(-(-4.0 + 1.5 * np.log1p(10 * score))))
    down = rng.random(len(p)) < p
    cal = fit_calibration(score, down)
    assert cal.intercept == pytest.approx(-4.0, abs=0.15) and cal.slope == pytest.approx(1.5, abs=0.1)
    m = _model(noncanonical=NoncanonicalTerm(-0.02, 1.0), calibration=cal)
    save_repression({PAIRING_KEY: m, CANONICAL_KEY: _model()}, tmp_path / "r.json")
    back = load_repression(tmp_path / "r.json", kind=PAIRING_KEY)
    assert back.calibration == cal and back.noncanonical == m.noncanonical
    assert load_repression(tmp_path / "r.json", kind=CANONICAL_KEY).calibration is None
    probs = back.probability(np.array([0.0, 0.1, 1.0]))
    assert (np.diff(probs) > 0).all() and 0 < probs[0] < probs[-1] < 1


def test_shipped_repression_models():
    pair = load_repression(kind=PAIRING_KEY)
    canon = load_repression(kind=CANONICAL_KEY)
    assert "site_logit" in pair.features and pair.noncanonical is not None and pair.noncanonical.beta < 0
    assert pair.calibration is not None and pair.calibration.slope > 0
    assert not canon.needs_site_logits
    assert len(pair.info["fitted_on"]) == 20 and len(pair.info["families"]) == 16
    # every canonical type represses, the stronger the type the more (with average context)
    assert (pair.intercept < 0).all() and pair.intercept[0] < pair.intercept[1] < pair.intercept[3]


# ---- the gene table ------------------------------------------------------------------------------------------------

def test_example_calls_exactly_the_planted_pairs_and_ranks_them_first(pairing, example_pairs):
    net, meta = pairing
    genes, sites = gene_table(net, example_pairs, meta)
    called = {(m, u) for m, u, c in zip(genes["mirna_id"], genes["target_id"], genes["is_target"]) if c}
    assert called == PLANTED
    for mirna, group in genes.groupby("mirna_id"):
        assert sorted(group["rank"]) == list(range(1, len(group) + 1))  # no ties
        top = group.sort_values("rank")
        n_planted = sum(1 for m, _ in PLANTED if m == mirna)
        assert set(top["target_id"].iloc[:n_planted]) == {u for m, u in PLANTED if m == mirna}
    assert genes["ranking_score"].notna().all() and ((genes["probability"] > 0) & (genes["probability"] < 1)).all()
    # planted 8mers: more likely to go down than the control
    let7 = genes[genes["mirna_id"] == "hsa-let-7a-5p"].set_index("target_id")
    assert let7.loc["UTR_let7_two_sites", "probability"] > let7.loc["UTR_control", "probability"]
    assert let7.loc["UTR_let7_two_sites", "n_8mer"] == 2
    # the sites table and the sites column say the same, and contributions add up to the ranking score
    listed = genes["sites"].str.split(";").map(lambda items: [i for i in items if i])
    assert listed.map(len).sum() == len(sites) == genes["n_sites"].sum()
    total = sites.groupby(["mirna_id", "target_id"])["contribution"].sum()
    for (m, u), value in total.items():
        row = genes[(genes["mirna_id"] == m) & (genes["target_id"] == u)].iloc[0]
        assert row["ranking_score"] == pytest.approx(value, abs=1e-5)
    eight = sites[(sites["target_id"] == "UTR_let7_two_sites") & (sites["type"] == "8mer")
                  & (sites["mirna_id"] == "hsa-let-7a-5p")]
    utr = {r.id: r.seq for r in read_fasta(example_path("utrs.fa"))}["UTR_let7_two_sites"]
    for start, end in zip(eight["start"], eight["end"]):
        assert utr[start - 1:end] == "CUACCUCA"  # the 8mer of let-7a, 1-based inclusive
    assert eight["called"].all()


def test_sort_by_rank_and_ids_carried(pairing, example_pairs):
    net, meta = pairing
    genes, sites = gene_table(net, example_pairs.assign(gene_name="G"), meta, sort="rank")
    assert genes["mirna_id"].tolist() == sorted(genes["mirna_id"], key=list(dict.fromkeys(
        example_pairs["mirna_id"])).index)
    for _, g in genes.groupby("mirna_id", sort=False):
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
    assert "gene_name" in genes
    key = list(zip(genes["mirna_id"], genes["target_id"]))
    first_site = list(dict.fromkeys(zip(sites["mirna_id"], sites["target_id"])))
    assert first_site == [k for k in key if k in set(first_site)]


def test_parts_keep_one_mirna_each():
    pairs = pd.DataFrame({"mirna": list("ABAB") * 3})
    blocks = parts(pairs, per_part=4)
    assert [pairs["mirna"].iloc[b].nunique() for b in blocks] == [1] * len(blocks)
    assert sorted(np.concatenate(blocks).tolist()) == list(range(12))


def test_short_and_tiny_utrs_get_rows(pairing):
    net, meta = pairing
    pairs = pd.DataFrame({"mirna_id": "let-7", "mirna": LET7, "target_id": ["one", "three", "eight"],
                          "target": ["A", "ACG", "CUACCUCA"]})
    genes, _ = gene_table(net, pairs, meta)
    assert len(genes) == 3 and genes.loc[2, "n_8mer"] == 1 and genes.loc[2, "is_target"]


def test_predict_genes_and_predict_agree_on_every_pair(tmp_path):
    out = tmp_path / "g.tsv"
    r = runner.invoke(app, ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--targets",
                            str(example_path("utrs.fa")), "-o", str(out)])
    assert r.exit_code == 0, r.output
    genes = pd.read_csv(out, sep="\t")
    r = runner.invoke(app, ["predict", "--example", "-o", str(tmp_path / "w.tsv")])
    assert r.exit_code == 0, r.output
    summary = pd.read_csv(tmp_path / "w.genes.tsv", sep="\t")
    merged = genes.merge(summary, on=["mirna_id", "target_id"], suffixes=("_genes", "_predict"))
    assert len(merged) == 25
    assert (merged["is_target_genes"] == merged["is_target_predict"]).all()
    assert {(m, u) for m, u, c in zip(merged["mirna_id"], merged["target_id"], merged["is_target_genes"]) if c} \
        == PLANTED
    assert (tmp_path / "g.sites.tsv").is_file()


def test_predict_genes_resumes_from_finished_parts(tmp_path, monkeypatch, pairing, example_pairs):
    from mirlens.genes import table as table_module
    from mirlens.tables import ChunkStore

    net, meta = pairing
    store = ChunkStore(tmp_path / "parts", {"job": "t"})
    first, _ = gene_table(net, example_pairs, meta, store=store)
    assert len(store.done()) == 5

    def boom(*a, **k):
        raise AssertionError("a finished part was computed again")

    monkeypatch.setattr(table_module, "score_part", boom)
    again, _ = gene_table(net, example_pairs, meta, store=store)
    pd.testing.assert_frame_equal(first, again)


def test_a_scan_calls_its_targets_in_the_same_pass_as_the_gene_table(pairing, example_pairs, tmp_path):
    from mirlens.predict.scan import ScanSettings, scan

    net, meta = pairing
    genes, _ = gene_table(net, example_pairs, meta)
    rule = CallRule.from_card(meta)
    settings = ScanSettings(call_rule=(rule.site_logit, rule.utr_intercept, rule.utr_per_log10_nt),
                            targets_per_chunk=2)
    windows = scan(net, read_fasta(example_path("mirnas.fa")), example_path("utrs.fa"), tmp_path / "s", settings)
    calls = windows.attrs["calls"]
    merged = genes.merge(calls, on=["mirna_id", "target_id"])
    assert len(merged) == 25 and (merged["site_call"] == merged["is_target"]).all()
    np.testing.assert_allclose(merged["best_site_logit_x"], merged["best_site_logit_y"], atol=1e-5)
    # resumed: the stored calls come back with the windows
    again = scan(net, read_fasta(example_path("mirnas.fa")), example_path("utrs.fa"), tmp_path / "s", settings)
    pd.testing.assert_frame_equal(again.attrs["calls"], calls)


def test_paper_protocol_model_keeps_its_pipeline(tmp_path):
    out = tmp_path / "g.tsv"
    r = runner.invoke(app, ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--targets",
                            str(example_path("utrs.fa")), "-o", str(out), "-m", "combined"])
    assert r.exit_code == 0, r.output
    genes = pd.read_csv(out, sep="\t")
    assert {"miraw_probability", "is_target", "rank", "ranking_score", "probability"} <= set(genes.columns)
    assert (genes["is_target"] == (genes["miraw_probability"] > 0.5)).all()


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "p.tsv"
    pd.DataFrame({"mirna_id": ["m"], "mirna_seq": ["UGAG"], "mrna_id": ["u"], "mrna_seq": ["ACGUACGU"]}).to_csv(
        bad, sep="\t", index=False)
    out = tmp_path / "o.tsv"
    r = runner.invoke(app, ["predict-genes", str(bad), "-o", str(out)])
    assert r.exit_code == 1 and "at least 8" in r.output and "Traceback" not in r.output
    assert not out.exists() and not (tmp_path / "o.sites.tsv").exists()
    r = runner.invoke(app, ["predict-genes", str(bad), "-o", str(out), "-m", "no-such-model"])
    assert r.exit_code == 1 and "no-such-model" in r.output and len(r.output.strip().splitlines()) <= 2
    r = runner.invoke(app, ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--targets",
                            str(example_path("utrs.fa")), "-o", str(out), "--sort", "sideways"])
    assert r.exit_code == 1 and "--sort" in r.output


# ---- the development data (../shared) ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def both_sets(shared_dir):
    from mirlens.data.expression import load_functional_sets

    require(shared_dir / "data" / "functional_hela" / "experiments.tsv")
    return load_functional_sets(["hct116", "hela"], shared_dir / "data")


def test_shipped_canonical_model_is_the_fit_on_both_sets(both_sets):
    from mirlens.evaluation.functional import experiment_sites, fit_model

    shipped = load_repression(kind=CANONICAL_KEY)
    refit = fit_model(experiment_sites(both_sets, None), kind=CANONICAL_KEY)
    assert np.allclose(refit.intercept, shipped.intercept) and np.allclose(refit.coef, shipped.coef)
    assert np.isclose(refit.calibration.slope, shipped.calibration.slope, rtol=1e-4)
    assert np.isclose(refit.calibration.intercept, shipped.calibration.intercept, rtol=1e-4)
    assert shipped.info["fitted_on"] == [e.experiment_id for e in both_sets.experiments]


def test_leaving_a_family_out_beats_the_seed_count_rule(both_sets):
    from mirlens.evaluation.functional import SEED_WEIGHTS, cross_validate, experiment_sites, scored_metrics

    data = experiment_sites(both_sets, None)
    cv = cross_validate(data, kind=CANONICAL_KEY)
    seed = {d.experiment.experiment_id: np.bincount(d.sites["pair"], weights=SEED_WEIGHTS[d.sites["type"]],
                                                    minlength=d.n) for d in data}
    per = scored_metrics(data, {"seed": seed, "cv": cv.scores})
    per["set"] = ["hct116" if e.startswith("HCT116") else "hela" for e in per["experiment_id"]]
    m = per.groupby(["scorer", "set"])[["auroc_down", "neg_spearman", "top100_delta"]].mean()
    assert m.loc[("cv", "hela"), "auroc_down"] > m.loc[("seed", "hela"), "auroc_down"]
    for s in ("hela", "hct116"):
        assert m.loc[("cv", s), "neg_spearman"] > m.loc[("seed", s), "neg_spearman"]
        assert m.loc[("cv", s), "top100_delta"] < m.loc[("seed", s), "top100_delta"] - 0.05
    assert len(cv.probability) == 13  # the HeLa experiments, each from a model that never saw its family


def test_model_card_records_the_utr_call_rule(pairing):
    _, meta = pairing
    rule = meta["card"]["utr_call"]
    assert rule["per_log10_nt"] > 0 and rule["false_rate"] == 0.01
    assert json.dumps(rule)  # serialisable
