"""Gene ranking: site context, the repression model, expression experiments and the functional check."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import require
from mirlens.cli import app
from mirlens.cli.app import _register
from mirlens.data.alphabet import tokenize
from mirlens.data.expression import (load_functional_set, locate_functional_set, read_expression_table,
                                     read_functional_set)
from mirlens.errors import DataSetError, InputError, ModelFileError
from mirlens.evaluation.functional import (SEED_WEIGHTS, cross_validate, evaluate_functional,
                                           experiment_metrics, experiment_sites, fit_model, reliability,
                                           scored_metrics, seed_count_scores, seed_family,
                                           summary, top_delta)
from mirlens.genes.context import local_au, site_context, supplementary_pairing
from mirlens.genes.predict import site_table
from mirlens.genes.repression import CANONICAL_KEY, RepressionModel, fit_repression, load_repression
from mirlens.genes.sites import SITE_TYPES, find_sites

_register()
runner = CliRunner()
LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
COMP = str.maketrans("ACGU", "UGCA")


def rc(s: str) -> str:
    return s.translate(COMP)[::-1]


EIGHTMER = rc(LET7[1:8]) + "A"  # positions 2-8 matched + A1


# ---- site context -----------------------------------------------------------------------------------------------

def test_local_au_is_one_in_an_au_flank_and_zero_in_a_gc_flank():
    for flank, expected in (("AU", 1.0), ("GC", 0.0)):
        utr = flank * 20 + EIGHTMER + flank * 20
        sites = find_sites(LET7, utr)
        assert list(sites.type_names) == ["8mer"]
        tok = tokenize(utr)
        au = local_au(tok, sites.anchor, np.array([0]), np.array([len(utr)]))
        assert au[0] == pytest.approx(expected)


def test_local_au_counts_nucleotides_beyond_the_utr_as_not_au():
    utr = EIGHTMER + "A" * 40  # nothing 5' of the site: the upstream half of the weights finds no A/U
    sites = find_sites(LET7, utr)
    au = local_au(tokenize(utr), sites.anchor, np.array([0]), np.array([len(utr)]))
    assert au[0] == pytest.approx(0.5)


def test_supplementary_pairing_scores_a_paired_13_16_and_nothing_without_it():
    # target 5' of the seed match, ungapped register (offset 0): the nucleotide facing miRNA position k sits at
    # anchor - (k - 1); pair positions 12-17 (13-16 score 1 each, 12 and 17 half a point)
    anchor = 40
    utr = ["C"] * 60
    for k in range(12, 18):
        utr[anchor - (k - 1)] = LET7[k - 1].translate(COMP)
    for k in (11, 18):  # the run ends here: the miRNA's own letter never pairs with it
        utr[anchor - (k - 1)] = LET7[k - 1]
    utr[anchor - 7:anchor + 1] = list(EIGHTMER)
    utr = "".join(utr)
    sites = find_sites(LET7, utr)
    assert SITE_TYPES[sites.type[0]] == "8mer" and sites.anchor[0] == anchor
    score = supplementary_pairing(tokenize(LET7), tokenize(utr), sites.anchor)
    assert score[0] == pytest.approx(5.0)
    plain = "N" * 32 + EIGHTMER + "N" * 20  # N pairs with nothing
    s2 = find_sites(LET7, plain)
    assert supplementary_pairing(tokenize(LET7), tokenize(plain), s2.anchor)[0] == 0.0


def test_supplementary_pairing_penalises_a_target_loop():
    anchor, off = 45, 4  # 4 extra target nt between the seed match and the 3' pairing: penalty 0.5 * (4 - 2)
    utr = ["C"] * 70
    for k in range(13, 17):
        utr[anchor - (k - 1) - off] = LET7[k - 1].translate(COMP)
    for k in (12, 17):
        utr[anchor - (k - 1) - off] = LET7[k - 1]
    utr[anchor - 7:anchor + 1] = list(EIGHTMER)
    utr = "".join(utr)
    sites = find_sites(LET7, utr)
    assert supplementary_pairing(tokenize(LET7), tokenize(utr), sites.anchor)[0] == pytest.approx(4.0 - 1.0)


def test_site_table_context_distance_length_and_cooperative_neighbours():
    gap = "C" * 20
    near = "C" * 30 + EIGHTMER + gap + EIGHTMER + "C" * 30  # two 8mers 28 nt apart: cooperative
    far = "C" * 300 + EIGHTMER + "C" * 60 + EIGHTMER + "C" * 30  # 68 nt apart: not
    table = site_table([LET7, LET7], [near, far])
    assert list(table["type"]) == [0, 0, 0, 0]
    assert list(table["n_coop"]) == [1, 1, 0, 0]
    assert list(table["utr_length"]) == [len(near)] * 2 + [len(far)] * 2
    first = table.iloc[0]
    assert first["min_dist"] == first["anchor"] == 37
    assert table.iloc[3]["min_dist"] == len(far) - table.iloc[3]["anchor"] == 31


def test_site_table_does_not_read_context_across_joined_utrs():
    # the first UTR ends with what would pair with miRNA 13-16 of a site at the very start of the second UTR
    pairing_tail = "".join(LET7[k - 1].translate(COMP) for k in range(17, 12, -1))
    first = "C" * 30 + pairing_tail
    second = EIGHTMER + "C" * 30
    joined = site_table([LET7, LET7], [first, second])
    alone = site_table([LET7], [second])
    assert joined["supp3"].tolist() == alone["supp3"].tolist() == [0.0]
    assert joined["local_au"].tolist() == pytest.approx(alone["local_au"].tolist())


def test_site_context_columns():
    tok = tokenize("C" * 10 + EIGHTMER + "C" * 10)
    ctx = site_context(tokenize(LET7), tok, np.array([17]), np.array([0]), np.array([0]), np.array([len(tok)]),
                       np.array([True]))
    assert list(ctx.columns) == ["local_au", "supp3", "min_dist", "utr_length", "n_coop"]


# ---- repression model -----------------------------------------------------------------------------------------

def _model(intercepts, coef=0.0):
    k = 1
    return RepressionModel(("local_au",), np.asarray(intercepts, float), np.full((5, k), coef), np.zeros((5, k)))


def test_repression_sums_capped_canonical_sites_per_gene():
    m = _model([-0.3, -0.2, -0.1, 0.2, -0.05])  # a 6mer would *raise* the mRNA: capped at 0
    sites = pd.DataFrame({"pair": [0, 0, 1, 2, 2], "type": [0, 1, 3, 5, 4], "local_au": 0.5, "min_dist": 100,
                          "utr_length": 1000, "supp3": 0.0, "n_coop": 0})
    assert m.site_log2fc(sites).tolist() == pytest.approx([-0.3, -0.2, 0.0, 0.0, -0.05])
    scores = m.gene_scores(sites, 4)
    assert scores.tolist() == pytest.approx([0.5, 0.0, 0.05, 0.0])
    assert not np.signbit(scores).any()  # no -0.0 in the output tables


def test_repression_round_trip_and_malformed_parameters(tmp_path):
    m = load_repression()
    assert m.noncanonical is not None and m.calibration is not None
    again = RepressionModel.from_dict(json.loads(json.dumps(m.to_dict())))
    assert again.features == m.features and np.allclose(again.coef, m.coef)
    assert again.noncanonical == m.noncanonical and again.calibration == m.calibration
    bad = m.to_dict()
    bad["coef"] = bad["coef"][:2]
    with pytest.raises(ModelFileError):
        RepressionModel.from_dict(bad)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ModelFileError):
        load_repression(tmp_path / "broken.json")


def test_fit_repression_recovers_the_effects_it_was_generated_with():
    rng = np.random.default_rng(0)
    n = 3000
    types = rng.integers(0, 5, n)
    au = rng.uniform(0.2, 0.9, n)
    true_intercept = np.array([-0.4, -0.25, -0.2, -0.05, -0.02])
    true_slope = np.array([-0.6, -0.4, -0.3, -0.1, 0.0])
    y = true_intercept[types] + true_slope[types] * (au - 0.55) + rng.normal(0, 0.02, n)
    # every pair holds one canonical site; extra pairs with two sites must be ignored by the fit
    sites = pd.DataFrame({"pair": np.arange(n), "type": types, "local_au": au, "min_dist": 100, "utr_length": 1000,
                          "supp3": 0.0, "n_coop": 0})
    extra = pd.DataFrame({"pair": [n, n], "type": [0, 0], "local_au": 0.5, "min_dist": 100, "utr_length": 1000,
                          "supp3": 0.0, "n_coop": 0})
    model = fit_repression(pd.concat([sites, extra], ignore_index=True), np.append(y, 5.0),
                           features=("local_au",), l2=0.0)
    fitted_at = model.intercept + model.coef[:, 0] * (0.55 - model.mean[:, 0])
    assert fitted_at == pytest.approx(true_intercept, abs=0.01)
    assert model.coef[:, 0] == pytest.approx(true_slope, abs=0.03)
    assert model.info["n_single_site_genes"]["8mer"] == (types == 0).sum()


# ---- metrics --------------------------------------------------------------------------------------------------

def test_top_delta_shares_ties_at_the_cut():
    score = np.array([3.0, 2.0, 2.0, 2.0, 0.0])
    values = np.array([-1.0, 0.0, -3.0, 0.0, 4.0])
    # top 2: the 3.0 and a third of each of the three tied 2.0s -> (-1 + (0 - 3 + 0) / 3) / 2 = -1
    assert top_delta(score, values, n=2) == pytest.approx(-1.0 - values.mean())


def test_experiment_metrics_direction_and_fdr():
    table = pd.DataFrame({"gene_id": list("abcdef"), "logFC": [-2.0, -1.0, 0.0, 0.1, 0.5, 1.0],
                          "FDR": [0.01, 0.01, 0.5, 0.9, 0.9, 0.01]})
    score = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    oe = experiment_metrics(score, table, -1.0)
    assert oe["neg_spearman"] == pytest.approx(1.0)
    assert oe["auroc_down"] == pytest.approx(1.0) and oe["n_down"] == 2
    kd = experiment_metrics(score, table, 1.0)  # after a knock-down targets go up: this score is backwards
    assert kd["neg_spearman"] == pytest.approx(-1.0)
    assert kd["n_down"] == 1 and kd["auroc_down"] == pytest.approx(0.0)
    no_fdr = experiment_metrics(score, table.assign(FDR=np.nan), -1.0)
    assert np.isnan(no_fdr["auroc_down"])


# ---- expression data ------------------------------------------------------------------------------------------

def _write_set(folder, experiments: dict[str, tuple[str, pd.DataFrame]], utrs: dict[str, str]):
    (folder / "experiments").mkdir(parents=True)
    pd.DataFrame([{"experiment_id": k, "mirna_id": f"miR-{k}", "mirna_seq": m} for k, (m, _) in
                  experiments.items()]).to_csv(folder / "experiments.tsv", sep="\t", index=False)
    for k, (_, t) in experiments.items():
        with gzip.open(folder / "experiments" / f"{k}.tsv.gz", "wt") as fh:
            t.to_csv(fh, sep="\t", index=False)
    pd.DataFrame({"gene_id": list(utrs), "utr": list(utrs.values())}).to_csv(folder / "utrs.tsv", sep="\t",
                                                                            index=False)


def _synthetic_set(folder, n_genes=400, seed=0):
    """Two transfections whose targets (genes with a seed match) go down, more for 8mers in A/U-rich context."""
    rng = np.random.default_rng(seed)
    mirnas = {"e1": LET7, "e2": "UAGCAGCACGUAAAUAUUGGCG"}
    utrs, tables = {}, {k: [] for k in mirnas}
    for i in range(n_genes):
        body = "".join(rng.choice(list("ACGU"), 300))
        owner = i % 3  # 0: a let-7 site, 1: a miR-16 site, 2: none
        if owner < 2:
            m = list(mirnas.values())[owner]
            kind = (i // 3) % 5  # 8mer, 7mer-m8, 7mer-A1, 6mer, offset-6mer
            site = [rc(m[1:8]) + "A", rc(m[1:8]) + "C", "G" + rc(m[1:7]) + "A", "G" + rc(m[1:7]) + "C",
                    rc(m[2:8]) + "GC"][kind]
            body = body[:150] + site + body[150:]
        utrs[f"G{i}"] = body
    for k, m in mirnas.items():
        sites = site_table([m] * n_genes, list(utrs.values()))
        effect = np.zeros(n_genes)
        per_type = np.array([-0.8, -0.5, -0.4, -0.15, -0.05, 0.0])
        np.add.at(effect, sites["pair"].to_numpy(), per_type[sites["type"].to_numpy()])
        logfc = effect + rng.normal(0, 0.2, n_genes)
        tables[k] = pd.DataFrame({"gene_id": list(utrs), "logFC": logfc.round(4)})
    _write_set(folder, {k: (mirnas[k], tables[k]) for k in mirnas}, utrs)
    return folder


def test_read_expression_table_errors_name_the_line(tmp_path):
    p = tmp_path / "e.tsv"
    p.write_text("gene_id\tlogFC\tFDR\nA\t-0.5\t0.01\nB\tnope\t0.2\n")
    with pytest.raises(InputError, match=r"line 3 \(B\).*logFC 'nope'"):
        read_expression_table(p)
    p.write_text("gene_id\tlogFC\tFDR\nA\t-0.5\t1.5\n")
    with pytest.raises(InputError, match=r"line 2.*FDR"):
        read_expression_table(p)
    p.write_text("gene_id\tlogFC\nA\t-0.5\nA\t0.1\n")
    with pytest.raises(InputError, match="gene A appears twice"):
        read_expression_table(p)
    p.write_text("gene\tlogFC\nA\t-0.5\n")
    with pytest.raises(InputError, match="missing column"):
        read_expression_table(p)
    p.write_text("gene_id\tlogFC\nA\t-0.5\nB\tN/A\n")
    with pytest.raises(InputError, match="line 3"):
        read_expression_table(p)
    p.write_text("gene_id\tlogFC\nA\t-0.5\nB\t0.25\n")
    t = read_expression_table(p)
    assert t["logFC"].tolist() == [-0.5, 0.25] and t["FDR"].isna().all()


def test_functional_set_folder_and_bad_utr_letter(tmp_path):
    folder = _synthetic_set(tmp_path / "set")
    fset = read_functional_set(folder)
    assert [e.experiment_id for e in fset.experiments] == ["e1", "e2"]
    assert len(fset.utrs) == 400 and fset.experiments[0].direction == -1.0
    listing = pd.read_csv(folder / "experiments.tsv", sep="\t")
    listing.assign(type=["Transfection", "knockdown"]).to_csv(folder / "experiments.tsv", sep="\t", index=False)
    assert [e.direction for e in read_functional_set(folder).experiments] == [-1.0, 1.0]
    listing.assign(type=["OE", "sideways"]).to_csv(folder / "experiments.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="experiments.tsv, e2: type 'sideways'"):
        read_functional_set(folder)
    listing.to_csv(folder / "experiments.tsv", sep="\t", index=False)
    (folder / "utrs.tsv").write_text("gene_id\tutr\nG1\tACGUX\n")
    with pytest.raises(InputError, match=r"line 2 \(G1\).*'X'"):
        read_functional_set(folder)


def test_named_set_needs_the_folder_and_checks_its_contents(tmp_path):
    with pytest.raises(DataSetError, match="no folder functional"):
        locate_functional_set("hct116", tmp_path)
    with pytest.raises(DataSetError, match="unknown functional set"):
        locate_functional_set("nope", tmp_path)
    fake = tmp_path / "functional"
    _synthetic_set(fake, n_genes=30)
    with pytest.raises(DataSetError, match="missing|sha256"):
        locate_functional_set("hct116", tmp_path)


def test_functional_check_on_synthetic_experiments_ranks_the_planted_targets(tmp_path):
    fset = read_functional_set(_synthetic_set(tmp_path / "set"))
    data = experiment_sites(fset, None)
    cv = cross_validate(data, kind=CANONICAL_KEY, features=("local_au",))
    seed = {d.experiment.experiment_id: np.bincount(d.sites["pair"], weights=SEED_WEIGHTS[d.sites["type"]],
                                                    minlength=d.n) for d in data}
    s = summary(scored_metrics(data, {"seed-count": seed, "fitted (leave one family out)": cv.scores}))
    s = s.set_index("scorer")
    assert s.loc["seed-count", "neg_spearman"] > 0.4
    assert s.loc["fitted (leave one family out)", "neg_spearman"] > 0.4
    assert s.loc["seed-count", "top100_delta"] < -0.2
    # the same metrics through the scorer interface
    per = evaluate_functional(fset, {"seed-count": seed_count_scores})
    assert summary(per)["neg_spearman"].iloc[0] == pytest.approx(s.loc["seed-count", "neg_spearman"])
    # a random score does not rank them
    rng = np.random.default_rng(1)
    per_r = evaluate_functional(fset, {"random": lambda m, utrs: rng.normal(size=len(utrs))})
    assert abs(per_r["neg_spearman"].mean()) < 0.15


def test_cross_validation_never_fits_on_the_held_out_family(tmp_path, monkeypatch):
    fset = read_functional_set(_synthetic_set(tmp_path / "set"))
    data = experiment_sites(fset, None)
    import mirlens.evaluation.functional as fm

    seen = []
    real = fm.fit_ranking

    def spy(train, **kw):
        seen.append({d.family for d in train})
        return real(train, **kw)

    monkeypatch.setattr(fm, "fit_ranking", spy)
    cv = fm.cross_validate(data, kind=CANONICAL_KEY, features=("local_au",))
    assert set(cv.scores) == {"e1", "e2"}
    families = {seed_family(e.mirna_seq) for e in fset.experiments}
    # each outer fit (and its nested calibration fits) saw one family at most: never the held-out one
    assert all(len(s) <= 1 for s in seen) and len(families) == 2


def test_calibration_summary_and_reliability():
    p = np.array([0.01, 0.01, 0.3, 0.3, 0.8])
    y = np.array([0, 0, 1, 0, 1])
    rel = reliability(p, y)
    row = rel[(rel["bin_low"] == 0.2)].iloc[0]
    assert row["n_genes"] == 2 and row["observed"] == 0.5 and row["predicted"] == pytest.approx(0.3)
    assert rel["n_genes"].sum() == 5


def test_fit_model_calibrates_only_where_fdrs_exist(tmp_path):
    fset = read_functional_set(_synthetic_set(tmp_path / "set"))
    data = experiment_sites(fset, None)
    m = fit_model(data, kind=CANONICAL_KEY, features=("local_au",))
    assert m.calibration is None  # the synthetic set has no FDRs: no probability
    assert m.info["fitted_on"] == ["e1", "e2"]


def test_cli_single_experiment_table(tmp_path):
    folder = _synthetic_set(tmp_path / "set")
    table = tmp_path / "e1.tsv"
    with gzip.open(folder / "experiments" / "e1.tsv.gz", "rt") as fh:
        table.write_text(fh.read())
    out = tmp_path / "one"
    r = runner.invoke(app, ["evaluate-functional", "--table", str(table), "--mirna-seq", LET7, "--utrs",
                            str(folder / "utrs.tsv"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    per = pd.read_csv(out / "per_experiment.tsv", sep="\t")
    assert per["experiment_id"].unique().tolist() == ["e1"] and (per["neg_spearman"] > 0.4).all()
    r = runner.invoke(app, ["evaluate-functional", "--table", str(table), "-o", str(out)])
    assert r.exit_code == 1 and "--mirna-seq" in r.output


# ---- predict-genes ranking ------------------------------------------------------------------------------------

def test_predict_genes_ranks_the_genes_of_each_mirna(tmp_path):
    utrs = {"two_8mers": "C" * 30 + EIGHTMER + "AUAUAUAUAUAUAUAUAUAU" + EIGHTMER + "C" * 200,
            "one_6mer": "C" * 30 + rc(LET7[1:7]) + "C" * 200, "none": "C" * 300}
    pairs = tmp_path / "p.tsv"
    pd.DataFrame({"mirna_id": "let-7", "mirna_seq": LET7, "mrna_id": list(utrs), "mrna_seq": list(utrs.values())}
                 ).to_csv(pairs, sep="\t", index=False)
    r = runner.invoke(app, ["predict-genes", str(pairs), "-o", str(tmp_path / "g.tsv"), "-m", "pairing"])
    assert r.exit_code == 0, r.output
    g = pd.read_csv(tmp_path / "g.tsv", sep="\t")
    assert g["rank"].tolist() == [1, 2, 3]
    assert g["ranking_score"].iloc[0] > g["ranking_score"].iloc[1] > g["ranking_score"].iloc[2] >= 0
    assert g["ranking_score"].iloc[2] < 0.05  # no canonical site: only the model's best site, a small term


# ---- the development data (../shared) --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hct116(shared_dir):
    require(shared_dir / "data" / "functional" / "experiments.tsv")
    return load_functional_set("hct116", shared_dir / "data")


def test_hct116_seed_count_rule_figure(hct116):
    per = evaluate_functional(hct116, {"seed": seed_count_scores})
    assert summary(per).set_index("scorer").loc["seed", "neg_spearman"] == pytest.approx(0.217, abs=0.001)
