"""Gene-level prediction: seed-match typing, site windows, aggregation, calibration, the pipeline and its commands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.alphabet import tokenize
from mirlens.errors import InputError
from mirlens.genes import aggregate as agg
from mirlens.genes.calibrate import (LogisticCalibrator, cross_val_predict, fit_logistic, load_calibrators,
                                     save_calibrators, stratified_folds)
from mirlens.genes.predict import GeneSettings, predict_genes, score_sites
from mirlens.genes.sites import SITE_TYPES, find_sites
from mirlens.genes.windows import default_offsets, site_windows
from mirlens.model.architecture import MiTAR, MiTARConfig
from mirlens.model.store import save_model

_register()
runner = CliRunner()

LET7 = "UGAGGUAGUAGGUUGUAUAGUU"  # hsa-let-7a-5p; seed (2-8) GAGGUAG
_COMP = str.maketrans("ACGU", "UGCA")


def rc(seq: str) -> str:
    return seq.translate(_COMP)[::-1]


M2_8 = rc(LET7[1:8])  # CUACCUC: faces miRNA 8..2 on the UTR, 5'->3'
M2_7 = rc(LET7[1:7])  # UACCUC
M3_8 = rc(LET7[2:8])  # CUACCU
FLANK = "GGGGG"  # G faces neither miRNA position 1 (needs A) nor position 8 of let-7 (G; needs C) -- checked below


def _only_site(utr: str, noncanonical: bool = False) -> tuple[int, str]:
    sites = find_sites(LET7, utr, noncanonical=noncanonical)
    assert len(sites) == 1, (utr, sites.anchor, sites.type_names)
    return int(sites.anchor[0]), sites.type_names[0]


@pytest.mark.parametrize(
    "utr,anchor,kind",
    [
        (FLANK + M2_8 + "A" + FLANK, 12, "8mer"),
        (FLANK + M2_8 + "G" + FLANK, 12, "7mer-m8"),
        (FLANK + "G" + M2_7 + "A" + FLANK, 12, "7mer-A1"),
        (FLANK + "G" + M2_7 + "G" + FLANK, 12, "6mer"),
        (FLANK + M3_8 + "G" + "G" + FLANK, 12, "offset-6mer"),  # position 2 (G) faces G: unpaired
        (FLANK + M2_8, 12, "7mer-m8"),  # seed match ending the UTR: anchor = len(utr), no A1 nucleotide
    ],
)
def test_canonical_types_on_hand_made_sites(utr, anchor, kind):
    assert _only_site(utr) == (anchor, kind)


def test_a_match_is_typed_once_strongest_first_and_anchor_marks_position_1():
    utr = FLANK + M2_8 + "A" + FLANK
    sites = find_sites(LET7, utr)
    assert sites.type_names == ["8mer"]
    a = int(sites.anchor[0])
    assert utr[a] == "A"  # the nucleotide facing miRNA position 1
    assert utr[int(sites.start[0]):a] == M2_8 and int(sites.end[0]) == a + 1


def test_noncanonical_allows_wobble_and_one_mismatch_only():
    # miRNA position 4 is G: a U on the UTR instead of C is a G:U wobble
    wobble = M2_8[:4] + "U" + M2_8[5:]  # index 4 of M2_8 faces miRNA position 8 - 4 = 4
    assert LET7[3] == "G" and M2_8[4] == "C"
    utr = FLANK + wobble + "G" + FLANK
    assert find_sites(LET7, utr).type_names == []  # not canonical
    assert _only_site(utr, noncanonical=True) == (12, "noncanonical")
    # index i of M2_8 faces miRNA position 8 - i; position 7 is A, so C there is a plain mismatch
    one_mismatch = M2_8[:1] + "C" + M2_8[2:]
    assert _only_site(FLANK + one_mismatch + "G" + FLANK, noncanonical=True) == (12, "noncanonical")
    two_mismatches = M2_8[:1] + "C" + M2_8[2:5] + "C" + M2_8[6:]  # positions 7 and 3 (both A) face C
    assert len(find_sites(LET7, FLANK + two_mismatches + "G" + FLANK, noncanonical=True)) == 0


def test_noncanonical_candidates_next_to_canonical_sites_are_dropped():
    utr = FLANK + M2_8 + "A" + FLANK
    assert find_sites(LET7, utr, noncanonical=True).type_names == ["8mer"]


def test_n_never_pairs_and_short_mirna_is_an_input_error():
    assert len(find_sites(LET7, "N" * 30, noncanonical=True)) == 0
    assert len(find_sites(LET7, FLANK + M2_8.replace("A", "N") + "A" + FLANK)) == 0
    with pytest.raises(InputError, match="at least 8"):
        find_sites("UGAGGUA", "ACGU")


def test_site_windows_put_the_anchor_where_training_sites_sat():
    assert default_offsets(40) == (35,)
    utr = "A" * 10 + M2_8 + "A" + "C" * 60
    sites = find_sites(LET7, utr)
    tok = tokenize(utr)
    win = site_windows(tok, sites.anchor, 40, default_offsets(40))
    assert win.shape == (1, 40)
    # anchor (A1) at index 35, the seed match just 5' of it, 4 nt of 3' flank after it
    assert "".join("NAUCG"[t] for t in win[0, 28:36]) == M2_8 + "A"
    # near the UTR start the window is padded with N (token 0)
    assert (win[0, :35 - 17] == 0).all() and (win[0, 35 - 17:] != 0).all()
    two = site_windows(tok, sites.anchor, 40, (35, 36))
    assert two.shape == (2, 40) and np.array_equal(two[1, 1:], two[0, :-1])
    with pytest.raises(InputError):
        site_windows(tok, sites.anchor, 40, (40,))


def test_group_reductions():
    p = np.array([0.5, 0.9, 0.2, 0.5, 0.1])
    g = np.array([0, 0, 0, 2, 2])
    assert agg.group_max(p, g, 3).tolist() == [0.9, 0.0, 0.5]
    np.testing.assert_allclose(agg.noisy_or(p, g, 3), [1 - 0.5 * 0.1 * 0.8, 0.0, 1 - 0.5 * 0.9])
    np.testing.assert_allclose(agg.topk_mean(p, g, 3, 2), [(0.9 + 0.5) / 2, 0.0, (0.5 + 0.1) / 2])
    np.testing.assert_allclose(agg.topk_mean(p, g, 3, 5), [1.6 / 5, 0.0, 0.6 / 5])  # padded with zeros
    assert agg.group_count(g, 3).tolist() == [3, 0, 2]
    assert agg.group_count(g, 3, p > 0.4).tolist() == [2, 0, 1]
    counts = agg.type_counts(np.array([0, 5, 5, 1, 0]), g, 3)
    assert counts.shape == (3, len(SITE_TYPES))
    assert counts[0].tolist() == [1, 0, 0, 0, 0, 2] and counts[2].tolist() == [1, 1, 0, 0, 0, 0]
    with pytest.raises(ValueError):
        agg.group_max(p, np.array([0, 0, 0, 3, 3]), 3)


def test_features_have_one_row_per_pair_and_named_columns():
    p = np.array([0.5, 0.9, 0.2])
    t = np.array([0, 5, 3])
    g = np.array([0, 0, 1])
    bg = agg.background_stats(np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0.5, 0.5, 0.5]]))
    assert bg.shape == (3, 2) and bg[2, 0] == pytest.approx(0.0)
    x = agg.features(p, t, g, 3, [100, 200, 300], bg)
    assert x.shape == (3, len(agg.FEATURES))
    col = dict(zip(agg.FEATURES, x.T))
    np.testing.assert_allclose(col["logit_max"][:2], agg.logit([0.9, 0.2]))
    assert col["log_n_canonical"].tolist() == pytest.approx(np.log1p([1, 1, 0]).tolist())
    assert col["mean_logit"][2] == pytest.approx(agg.logit(agg.EPS))  # no sites: the least evidence
    assert col["background_mean_logit"][2] == pytest.approx(0.0)
    np.testing.assert_allclose(col["mean_logit"][0], agg.logit([0.5, 0.9]).mean())
    assert np.isfinite(x).all()


def test_logistic_calibrator_fits_cross_validates_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(int)
    X = np.column_stack([y * 2.0 + rng.normal(size=400), rng.normal(size=400)])
    cal = fit_logistic(X, y, ("signal", "noise"), l2=1.0)
    assert cal.coef[0] > 1.0 and abs(cal.coef[1]) < 0.5
    prob = cal.predict(X)
    # balanced weighting: 0.5 separates the classes evenly despite 20% positives
    assert (prob[y == 1] > 0.5).mean() > 0.75 and (prob[y == 0] <= 0.5).mean() > 0.75
    folds = stratified_folds(y, 5)
    assert sorted(np.bincount(folds[y == 1])) [-1] - sorted(np.bincount(folds[y == 1]))[0] <= 1
    cv = cross_val_predict(X, y, ("signal", "noise"), k=5)
    assert cv.shape == (400,) and ((cv > 0) & (cv < 1)).all()
    path = save_calibrators({"m": cal}, tmp_path / "cal.json")
    back = load_calibrators(path)["m"]
    assert isinstance(back, LogisticCalibrator)
    np.testing.assert_allclose(back.predict(X), prob)


def _tiny_model(seed: int = 0) -> MiTAR:
    torch.manual_seed(seed)
    return MiTAR(MiTARConfig(target_slot=40, conv_filters=8, lstm_units=4, dense_units=4)).eval()


def test_joined_utrs_give_the_same_sites_as_one_utr_at_a_time():
    rng = np.random.default_rng(1)
    utrs = ["".join(rng.choice(list("ACGU"), size=n)) for n in (5, 300, 41, 1000)]
    utrs[1] = M2_8 + utrs[1] + M3_8 + "G"  # sites at both ends
    mirnas = [LET7, LET7, "UAGCAGCACGUAAAUAUUGGCG", LET7]
    model = _tiny_model()
    scores = score_sites(model, mirnas, utrs, GeneSettings(block_nt=350))
    sites = scores.sites
    assert scores.background.shape == (4, 2)
    assert scores.background[0].tolist() == scores.background[1].tolist() != scores.background[2].tolist()
    for i, (m, u) in enumerate(zip(mirnas, utrs)):
        one = find_sites(m, u, noncanonical=True)
        mine = sites[sites["pair"] == i].sort_values("anchor")
        assert mine["anchor"].tolist() == one.anchor.tolist()
        assert mine["type"].tolist() == one.type.tolist()
    assert sites["probability"].between(0, 1).all()
    # a site's probability does not depend on which block or neighbours it was scored with
    alone = score_sites(model, [mirnas[1]], [utrs[1]]).sites
    mine = sites[sites["pair"] == 1].sort_values("anchor")
    np.testing.assert_allclose(alone.sort_values("anchor")["probability"], mine["probability"], rtol=1e-5)


def test_small_flushes_and_several_offsets_give_the_same_scores(monkeypatch):
    from mirlens.genes import predict

    rng = np.random.default_rng(2)
    utrs = ["".join(rng.choice(list("ACGU"), size=n)) for n in (400, 700, 90)]
    mirnas = [LET7, "UAGCAGCACGUAAAUAUUGGCG", LET7]
    model = _tiny_model()
    at35 = score_sites(model, mirnas, utrs, GeneSettings(offsets=(35,)))
    at36 = score_sites(model, mirnas, utrs, GeneSettings(offsets=(36,)))
    monkeypatch.setattr(predict, "FLUSH_WINDOWS", 7)
    both = score_sites(model, mirnas, utrs, GeneSettings(offsets=(35, 36), block_nt=100))
    key = ["pair", "anchor"]
    a = at35.sites.sort_values(key).reset_index(drop=True)
    b = at36.sites.sort_values(key).reset_index(drop=True)
    m = both.sites.sort_values(key).reset_index(drop=True)
    assert m[key].equals(a[key])
    np.testing.assert_allclose(m["probability"], (a["probability"] + b["probability"]) / 2, rtol=1e-5)
    np.testing.assert_allclose(both.background, at35.background, rtol=1e-5)


def _pairs_table(rows) -> pd.DataFrame:
    from mirlens.data.pairs import make_pairs

    return make_pairs(mirna_id=[r[0] for r in rows], mirna=[r[1] for r in rows], target_id=[r[2] for r in rows],
                      target=[r[3] for r in rows], label=[r[4] for r in rows], source="t",
                      record=range(1, len(rows) + 1))


def test_predict_genes_keeps_every_row_in_order():
    rows = [("let7", LET7, "g1", FLANK + M2_8 + "A" + FLANK * 10, 1),
            ("let7", LET7, "g2", "C" * 50, 0),  # no candidate site at all
            ("m16", "UAGCAGCACGUAAAUAUUGGCG", "g1", FLANK + M2_8 + "A" + FLANK * 10, 0),
            ("let7", LET7, "g3", FLANK + M2_7 + "G" + M2_8 + "A" + FLANK, 1)]
    out = predict_genes(_tiny_model(), _pairs_table(rows), calibrator=None)
    assert out["target_id"].tolist() == ["g1", "g2", "g1", "g3"]
    assert out["mirna_id"].tolist() == ["let7", "let7", "m16", "let7"]
    assert out["label"].tolist() == [1, 0, 0, 1]
    assert out["probability"].between(0, 1).all()
    assert out["n_canonical"].tolist()[:2] == [1, 0] and out["n_canonical"][3] == 2
    assert out["n_sites"][1] == 0 and out["probability"][1] == 0.0 and out["best_sites"][1] == ""
    assert out["best_type"][0] == "8mer" and (out["best_start"][0], out["best_end"][0]) == (6, 13)
    assert out["best_sites"][3].count(";") <= 2


def _write_model(tmp_path):
    return save_model(_tiny_model(), tmp_path / "tiny", name="tiny")


def test_predict_genes_command_writes_rows_in_order(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n"
                     f"let7\t{LET7}\tg1\t{(FLANK + rc(LET7[1:8]) + 'A' + FLANK).replace('U', 'T')}\t1\n"
                     f"let7\t{LET7}\tg2\t{'C' * 80}\t0\n"
                     f"m16\tUAGCAGCACGUAAAUAUUGGCG\tg0\t{'ACGT' * 100}\t\n")
    out = tmp_path / "genes.tsv"
    result = runner.invoke(app, ["predict-genes", str(pairs), "-m", str(_write_model(tmp_path)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, sep="\t")
    assert table["target_id"].tolist() == ["g1", "g2", "g0"]
    assert "2 labelled pairs (1 positive): AUROC of miraw_probability" in " ".join(result.output.split())
    # the paper-protocol pipeline: its miRAW probability and best window sites beside the gene-table columns
    assert {"miraw_probability", "probability", "ranking_score", "rank", "n_sites", "best_site_probability",
            "best_sites", "is_target", "sites"} <= set(table.columns)
    assert (table["is_target"] == (table["miraw_probability"] > 0.5)).all()


def test_label_summary_splits_the_auroc_by_mirna():
    from mirlens.cli.genes import label_summary

    table = pd.DataFrame({"mirna_id": ["a", "a", "a", "b", "b", "c"], "label": [1, 1, 0, 0, 0, None],
                          "probability": [0.6, 0.7, 0.8, 0.1, 0.2, 0.9]})
    text = label_summary(table, 0.5)
    assert text.startswith("5 labelled pairs (2 positive): AUROC of probability 0.6667, balanced accuracy 0.8333 "
                           "(threshold 0.5)")
    called = label_summary(table.assign(is_target=[True, False, False, False, False, True]), 0.5)
    assert "balanced accuracy 0.7500 (is_target)" in called  # positives 1 of 2 called, negatives 3 of 3 not
    assert "Within one miRNA AUROC 0.0000 (33.3% of the positive-negative comparisons), across miRNAs 1.0000." in text
    assert "mostly measures" not in text
    assert label_summary(table.assign(label=1), 0.5) == ""  # one class: nothing to say
    assert label_summary(table.drop(columns="label"), 0.5) == ""
    apart = label_summary(table.assign(mirna_id=["a", "a", "b", "c", "c", "d"]), 0.5)
    assert apart.endswith("the AUROC only ranks miRNAs against each other.")


def test_predict_gene_level_uses_the_fasta_inputs(tmp_path):
    (tmp_path / "m.fa").write_text(f">let7\n{LET7}\n>m16\nUAGCAGCACGUAAAUAUUGGCG\n")
    (tmp_path / "u.fa").write_text(f">g1\n{FLANK + M2_8 + 'A' + FLANK}\n>g2\n{'C' * 80}\n")
    out = tmp_path / "g.tsv"
    model = str(_write_model(tmp_path))
    for cmd in (["predict-genes", "--mirna", str(tmp_path / "m.fa"), "--targets", str(tmp_path / "u.fa")],
                ["predict", "--gene-level", "--mirna", str(tmp_path / "m.fa"), "--targets", str(tmp_path / "u.fa")]):
        result = runner.invoke(app, [*cmd, "-m", model, "-o", str(out)])
        assert result.exit_code == 0, result.output
        table = pd.read_csv(out, sep="\t")
        assert list(zip(table["mirna_id"], table["target_id"])) == [("let7", "g1"), ("let7", "g2"),
                                                                    ("m16", "g1"), ("m16", "g2")]


@pytest.mark.parametrize(
    "content,message",
    [
        ("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\nm\tUGAGGUA\tg\tACGUACGU\n", "p.tsv, line 2 (m / g): miRNA is 7 nt"),
        ("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\nm\tUGAGGUAGUAG\tg\tACGXACGU\n",
         "p.tsv, record 2: target sequence: unknown letter 'X'"),
        ("mirna_id\tmirna_seq\tmrna_id\n", "missing required column"),
    ],
)
def test_bad_gene_level_input_gives_one_line_errors(tmp_path, content, message):
    (tmp_path / "p.tsv").write_text(content)
    result = runner.invoke(app, ["predict-genes", str(tmp_path / "p.tsv"), "-m", str(_write_model(tmp_path)),
                                 "-o", str(tmp_path / "o.tsv")])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_gene_level_option_errors(tmp_path):
    model = str(_write_model(tmp_path))
    result = runner.invoke(app, ["predict-genes", "-m", model, "-o", str(tmp_path / "o.tsv")])
    assert result.exit_code == 1 and "give a pair table (PAIRS), or --mirna and --targets" in result.output
    result = runner.invoke(app, ["predict", "--gene-level", "--example", "--format", "mitar", "-m", model,
                                 "-o", str(tmp_path / "o.txt")])
    assert result.exit_code == 1 and "does not apply to --gene-level" in result.output


def test_runs_on_the_development_pairs(gene_level_dir):
    from mirlens.data.readers import read_pairs

    pairs = read_pairs(gene_level_dir / "dev_gene_level.tsv").iloc[:40].reset_index(drop=True)
    out = predict_genes(_tiny_model(), pairs, calibrator=None)
    assert len(out) == 40 and out["target_id"].tolist() == pairs["target_id"].tolist()
    assert (out["n_sites"] > 0).mean() > 0.9  # nearly every real UTR has candidate sites


def test_shipped_calibrator_is_used_only_for_the_weights_it_was_fitted_on(tmp_path, monkeypatch):
    from mirlens.genes import calibrate, predict
    from mirlens.genes.calibrate import calibrator_key, weights_key

    model = _tiny_model()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, len(agg.FEATURES)))
    y = (X[:, 0] > 0).astype(int)
    cal = fit_logistic(X, y, agg.FEATURES)
    cal.info["weights_key"] = weights_key(model)
    path = save_calibrators({calibrator_key("tiny", True): cal}, tmp_path / "calibration.json")
    monkeypatch.setattr(calibrate, "calibration_path", lambda: path)
    found, _ = predict.calibrator_for(model, "tiny", True)
    assert found is not None
    assert predict.calibrator_for(model, "tiny", False)[0] is None  # fitted with non-canonical sites only
    other, why = predict.calibrator_for(_tiny_model(seed=1), "tiny", True)
    assert other is None and "other weights" in why
    assert predict.calibrator_for(model, "renamed", True)[0] is not None  # same weights under another name
    assert predict.calibrator_for(model, "renamed", False)[0] is None
    pairs = _pairs_table([("let7", LET7, "g1", FLANK + M2_8 + "A" + FLANK, 1)])
    with pytest.warns(UserWarning, match="no gene-level calibrator"):
        predict_genes(_tiny_model(seed=1), pairs, model_name="unknown")
    out = predict_genes(model, pairs, model_name="tiny")
    scores = score_sites(model, [LET7], [pairs["target"][0]])
    expected = cal.predict(predict.site_features(scores, [len(pairs["target"][0])]))
    np.testing.assert_allclose(out["probability"], expected, rtol=1e-6)


def test_shipped_calibration_file_is_well_formed():
    cals = load_calibrators()
    for name, cal in cals.items():
        assert tuple(cal.features) == agg.FEATURES, name
        assert len(cal.coef) == len(agg.FEATURES) and np.isfinite(cal.coef).all()
        assert "weights_key" in cal.info


def test_nonnegative_evidence_coefficients():
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.5).astype(int)
    X = np.column_stack([-2.0 * y + rng.normal(size=300), y + rng.normal(size=300)])
    free = fit_logistic(X, y, ("a", "b"))
    assert free.coef[0] < 0
    mono = fit_logistic(X, y, ("a", "b"), nonnegative=("a",))
    assert mono.coef[0] >= 0 and mono.coef[1] > 0
    with pytest.raises(ValueError, match="unknown features"):
        fit_logistic(X, y, ("a", "b"), nonnegative=("c",))
    assert set(agg.EVIDENCE_FEATURES) | set(agg.CONTEXT_FEATURES) == set(agg.FEATURES)


@pytest.mark.parametrize("name", ["miraw", "combined", "pairing"])
def test_shipped_calibrators_fit_the_bundled_weights(name):
    """A bundled model retrained without refitting its gene-level calibrator would silently lose calibration."""
    from mirlens.genes.calibrate import calibrator_key, weights_key
    from mirlens.model.store import load_model

    cals = load_calibrators()
    key = weights_key(load_model(name))
    for noncanonical in (True, False):
        assert cals[calibrator_key(name, noncanonical)].info["weights_key"] == key


def test_error_messages_keep_square_brackets(tmp_path):
    bad = tmp_path / "pairs[old].tsv"  # rich would read "[old]" as markup and drop it
    bad.write_text("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\nm\tUGAGGUAGUAG\tg\tACGXACGU\n")
    result = runner.invoke(app, ["predict-genes", str(bad), "-m", str(_write_model(tmp_path)),
                                 "-o", str(tmp_path / "o.tsv")])
    assert result.exit_code == 1
    assert "pairs[old].tsv, record 2: target sequence: unknown letter 'X'" in " ".join(result.output.split())
