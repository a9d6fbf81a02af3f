"""Gene tables of the ``mirlens predict-genes`` schema, made without a model, for the gene report tests.

:func:`example_tables` types the candidate sites of the shipped examples (5 miRNAs x 5 synthetic UTRs with planted
8mers: let-7a on the two-site UTR and on the 45-nt fragment, miR-21 on its two UTRs, miR-155 on its UTR) with
:func:`mirlens.genes.sites.find_sites` and gives every site a logit and contribution by its type, so the planted
pairs -- and only they -- are called and ranked first. :func:`synthetic_tables` makes a 20,000-gene table of the
same schema with random sites, for the page's load test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mirlens.data.examples import example_path
from mirlens.data.fasta import pairs_from_fasta
from mirlens.genes.sites import SEED_SPAN, SITE_TYPES, find_sites

COUNT_COLUMNS = ["n_8mer", "n_7mer_m8", "n_7mer_a1", "n_6mer", "n_offset_6mer", "n_noncanonical"]
LOGIT = {"8mer": 6.0, "7mer-m8": 3.5, "7mer-A1": 2.5, "6mer": 0.5, "offset-6mer": -0.5, "noncanonical": -2.0}
CONTRIB = {"8mer": 0.45, "7mer-m8": 0.3, "7mer-A1": 0.2, "6mer": 0.02, "offset-6mer": 0.0, "noncanonical": 0.0}
PLANTED = {("hsa-let-7a-5p", "UTR_let7_two_sites"), ("hsa-let-7a-5p", "UTR_short"),
           ("hsa-miR-21-5p", "UTR_miR21_one_site"), ("hsa-miR-21-5p", "UTR_miR155_miR21"),
           ("hsa-miR-155-5p", "UTR_miR155_miR21")}


def example_pairs() -> pd.DataFrame:
    return pairs_from_fasta(example_path("mirnas.fa"), example_path("utrs.fa"))


def _gene_rows(site_rows: pd.DataFrame, keys: pd.DataFrame, lengths: np.ndarray) -> pd.DataFrame:
    """Gene table rows (schema of predict-genes) from a sites table; ``keys``: record, mirna_id, target_id."""
    n = len(keys)
    genes = keys.reset_index(drop=True).copy()
    pair = site_rows["_pair"].to_numpy()
    contrib = site_rows["contribution"].to_numpy(np.float64)
    logit = site_rows["site_logit"].to_numpy(np.float64)
    score = np.bincount(pair, weights=contrib, minlength=n)
    best = np.full(n, -np.inf)
    np.maximum.at(best, pair, logit)
    called = np.bincount(pair, weights=site_rows["called"].to_numpy(np.float64), minlength=n) > 0
    # rank within the miRNA by score, no ties (then input order)
    order = pd.DataFrame({"m": genes["mirna_id"], "s": -score, "i": np.arange(n)}).sort_values(["m", "s", "i"])
    rank = np.empty(n, dtype=np.int64)
    rank[order["i"].to_numpy()] = order.groupby("m").cumcount().to_numpy() + 1
    genes["rank"] = rank
    genes["ranking_score"] = score
    genes["probability"] = np.where(np.isfinite(best), 1 / (1 + np.exp(-(best - 3.0))), 0.01)
    genes["is_target"] = called
    types = site_rows["type"].to_numpy(dtype=object)
    code_of = {t: i for i, t in enumerate(SITE_TYPES)}
    codes = np.fromiter((code_of[t] for t in types), dtype=np.int64, count=len(types))
    for i, col in enumerate(COUNT_COLUMNS):
        genes[col] = np.bincount(pair[codes == i], minlength=n).astype(np.int64)
    genes["utr_length"] = lengths.astype(np.int64)
    genes["best_site_logit"] = np.where(np.isfinite(best), best, np.nan)
    assert (np.diff(pair) >= 0).all(), "sites must be grouped by pair"
    items = [f"{s}-{e}:{t}:{lg:.4f}:{c:.4f}" for s, e, t, lg, c in
             zip(site_rows["start"].tolist(), site_rows["end"].tolist(), types, logit.tolist(), contrib.tolist())]
    bounds = np.searchsorted(pair, np.arange(n + 1))
    genes["sites"] = [";".join(items[bounds[i]:bounds[i + 1]]) for i in range(n)]
    return genes


def example_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(genes, sites, pairs) of the shipped examples, in input order (see the module doc)."""
    pairs = example_pairs()
    rows = []
    for k, r in enumerate(pairs.itertuples()):
        s = find_sites(r.mirna, r.target, noncanonical=True)
        jitter = np.random.default_rng(k).uniform(-0.3, 0.3, len(s))
        for a, t, j in zip(s.anchor.tolist(), s.type_names, jitter):
            logit = LOGIT[t] + float(j)
            rows.append({"_pair": k, "record": r.record, "mirna_id": r.mirna_id, "target_id": r.target_id,
                         "start": max(a - (SEED_SPAN - 1), 0) + 1, "end": min(a + 1, len(r.target)), "anchor": a,
                         "type": t, "site_logit": logit, "called": logit > 2.0, "contribution": CONTRIB[t]})
    sites = pd.DataFrame(rows)
    genes = _gene_rows(sites, pairs[["record", "mirna_id", "target_id"]], pairs["target"].str.len().to_numpy())
    genes.insert(0, "record", genes.pop("record"))
    return genes, sites.drop(columns="_pair"), pairs


def synthetic_tables(n_genes: int = 20_000, seed: int = 0, mirna_id: str = "hsa-miR-1-3p"
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(genes, sites) of one miRNA on ``n_genes`` synthetic genes with Ensembl-like ids and symbols, UTR lengths
    and site densities of human 3'UTRs (canonical ~1 per 1.5 kb, non-canonical candidates ~1 per 25 nt)."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(1200), 0.9, n_genes), 60, 20_000).astype(np.int64)
    keys = pd.DataFrame({"record": np.arange(1, n_genes + 1), "mirna_id": mirna_id,
                         "target_id": [f"ENST{i:011d}" for i in range(1, n_genes + 1)]})
    n_can = rng.poisson(lengths / 1500)
    n_non = rng.poisson(lengths / 25)
    per = n_can + n_non
    pair = np.repeat(np.arange(n_genes), per)
    first = np.concatenate([[0], np.cumsum(per)[:-1]])
    canonical = np.arange(len(pair)) - first[pair] < n_can[pair]  # each gene's first n_can sites
    codes = np.where(canonical, rng.choice(5, len(pair), p=[0.1, 0.2, 0.2, 0.35, 0.15]), 5)
    types = np.asarray(SITE_TYPES)[codes]
    anchor = (rng.random(len(pair)) * (lengths[pair] - SEED_SPAN)).astype(np.int64) + SEED_SPAN - 1
    logit = np.array([LOGIT[t] for t in SITE_TYPES])[codes] + rng.normal(0, 1.0, len(pair))
    called = logit > 2.0
    contrib = np.where(called | (codes < 5), np.clip(logit, 0, None) * 0.05, 0.0)
    sites = pd.DataFrame({"_pair": pair, "record": keys["record"].to_numpy()[pair], "mirna_id": mirna_id,
                          "target_id": keys["target_id"].to_numpy()[pair], "start": anchor - SEED_SPAN + 2,
                          "end": anchor + 1, "anchor": anchor, "type": types, "site_logit": logit,
                          "called": called, "contribution": contrib})
    sites = sites.sort_values(["_pair", "anchor"], kind="stable", ignore_index=True)
    genes = _gene_rows(sites, keys, lengths)
    genes.insert(3, "gene_id", [f"ENSG{i:011d}" for i in range(1, n_genes + 1)])
    genes.insert(4, "gene_name", [f"GENE{i}" for i in range(1, n_genes + 1)])
    genes.insert(5, "transcript_id", genes["target_id"])
    return genes, sites.drop(columns="_pair")


def synthetic_details(genes: pd.DataFrame, sites: pd.DataFrame, seed: int = 0, top: int = 200,
                      sites_per_gene: int = 10, mirna_len: int = 22, window: int = 50) -> pd.DataFrame:
    """A details table (:data:`mirlens.genes.details.DETAIL_COLUMNS`) for the sites :func:`choose_sites` picks,
    with random letters and attributions of the real sizes (no model: for the page's size and load test)."""
    from mirlens.genes.details import DETAIL_COLUMNS, choose_sites

    rng = np.random.default_rng(seed)
    d = choose_sites(genes, sites, top=top, sites_per_gene=sites_per_gene)
    n = len(d)
    letters = np.array(list("ACGU"))
    word = lambda k: "".join(rng.choice(letters, k))  # noqa: E731
    d = d.assign(duplex_backend="ungapped", duplex_energy=np.nan)
    d["duplex_mirna"] = [word(mirna_len) for _ in range(n)]
    d["duplex_match"] = ["".join(rng.choice(np.array(list("|: ")), mirna_len)) for _ in range(n)]
    d["duplex_target"] = [word(mirna_len) for _ in range(n)]
    d["mirna_columns"] = [list(range(mirna_len, 0, -1))] * n
    d["target_columns"] = [list(range(int(a) - mirna_len + 2, int(a) + 2)) for a in d["anchor"]]
    d["model"], d["method"], d["reference"] = "pairing", "deeplift-shap", "N"
    d["window_start"] = d["anchor"] - (window - 5)
    d["window"] = [word(window) for _ in range(n)]
    d["window_logit"] = rng.normal(0, 3, n)
    d["reference_logit"] = -0.49
    d["mirna_attribution"] = [rng.normal(0, 0.2, mirna_len).tolist() for _ in range(n)]
    d["target_attribution"] = [rng.normal(0, 0.2, window).tolist() for _ in range(n)]
    return d[DETAIL_COLUMNS]
