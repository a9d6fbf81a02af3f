"""The gene-level answer: one row per (miRNA, gene) -- which of my genes does this miRNA repress?

For the default site model (the pairing family) every pair of a pair table (``mirna``/``target`` = miRNA and whole
3'UTR, 5'->3') gets, from one whole-UTR pass per miRNA (:func:`mirlens.genes.calls.site_calls`):

==================  ===========================================================================================
``rank``            1 = the gene predicted to go down most among the genes of the same miRNA; no ties (equal
                    scores go to the higher ``best_site_logit``, then to input order)
``ranking_score``   predicted repression, -log2 fold change (:mod:`mirlens.genes.repression`): canonical sites by
                    type and context, plus the model's best non-canonical site; > 0 for every gene with a site
``probability``     calibrated chance that the gene goes down (FDR < 0.05) when the miRNA is raised
``is_target``       the UTR holds a site the site model calls (:class:`mirlens.genes.calls.CallRule`: the model
                    card's scan threshold, and its UTR-level rule) -- what ``mirlens predict`` calls a target
``n_8mer`` ..       canonical sites per type; ``n_noncanonical``: the model's own sites that it calls
``n_sites``         sites listed in ``sites``
``utr_length``      nucleotides
``best_site_logit`` the highest site logit on the UTR
``sites``           ``START-END:TYPE:LOGIT:CONTRIB;...`` in UTR order: 1-based inclusive positions of the
                    nucleotides facing miRNA positions 8..1, site type, site logit, contribution to
                    ``ranking_score``
==================  ===========================================================================================

Listed sites: every canonical site, every non-canonical site the model calls, and the gene's best non-canonical
site (it carries the gene's non-canonical contribution). The same sites, one row each, form the sites table
(:data:`SITE_TABLE_COLUMNS`). Paper-protocol models (the miTAR family) keep their own gene-level pipeline
(:mod:`mirlens.genes.predict`) and its miRAW-benchmark probability (``miraw_probability``), with the ranking
columns of the model-free (``canonical``) repression model.

Work goes in *parts* (the pairs of one miRNA, in blocks of UTRs): :func:`score_part` returns a part's gene rows with
their sites as list columns (so a part is one Parquet chunk: resumable, and the unit of a cluster task);
:func:`assemble` ranks over the whole table and splits off the sites table.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mirlens.errors import InputError
from mirlens.genes.calls import CallRule, site_calls
from mirlens.genes.repression import CANONICAL_KEY, PAIRING_KEY, RepressionModel, load_repression
from mirlens.genes.sites import MIN_MIRNA_LEN, N_CANONICAL, SEED_SPAN, SITE_TYPES
from mirlens.predict.utr_pass import is_pairing

ID_COLUMNS = ("record", "mirna_id", "target_id", "gene_id", "gene_name", "transcript_id")
"""Input columns carried into the gene table when present."""
COUNT_COLUMNS = tuple(f"n_{t.lower().replace('-', '_')}" for t in SITE_TYPES)
"""``n_8mer``, ``n_7mer_m8``, ``n_7mer_a1``, ``n_6mer``, ``n_offset_6mer``, ``n_noncanonical``."""
GENE_COLUMNS = ("rank", "ranking_score", "probability", "is_target", *COUNT_COLUMNS, "n_sites", "utr_length",
                "best_site_logit", "sites")
SITE_TABLE_COLUMNS = ("record", "mirna_id", "target_id", "start", "end", "anchor", "type", "site_logit", "called",
                      "contribution")
LIST_COLUMNS = ("site_anchor", "site_type", "site_logit", "site_called", "site_contribution")
PAIRS_PER_PART = 2000
"""Pairs of one miRNA scored in one part (one chunk of a resumable run, one task on a cluster)."""


@dataclass(frozen=True)
class GeneModels:
    """What turns sites into the gene-level answer."""

    repression: RepressionModel
    rule: CallRule


def gene_models(meta: dict, repression: RepressionModel | None = None) -> GeneModels:
    """The shipped repression model (``pairing``) and the model card's call rule, unless given."""
    return GeneModels(repression if repression is not None else load_repression(kind=PAIRING_KEY),
                      CallRule.from_card(meta))


def check_pairs(pairs: pd.DataFrame, mirna_slot: int) -> None:
    """One-line errors naming the pair (file, line, ids) for sequences the gene level cannot take."""
    from mirlens.predict.score import pair_names

    names = pair_names(pairs)
    mirna_len = pairs["mirna"].str.len().to_numpy()
    target_len = pairs["target"].str.len().to_numpy()
    for bad, why in ((target_len == 0, lambda i: "empty 3'UTR"), (mirna_len == 0, lambda i: "empty miRNA"),
                     (mirna_len < MIN_MIRNA_LEN, lambda i: f"miRNA is {mirna_len[i]} nt; seed-match typing needs "
                                                           f"at least {MIN_MIRNA_LEN}"),
                     (mirna_len > mirna_slot, lambda i: f"miRNA is {mirna_len[i]} nt; the model allows at most "
                                                        f"{mirna_slot}")):
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(why(i), record=names[i])


def site_label(anchor: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-based inclusive start and end on the UTR of a site's nucleotides facing miRNA positions 8..1."""
    start = np.maximum(anchor - (SEED_SPAN - 1), 0) + 1
    end = np.minimum(anchor + 1, length)
    return start, end


def score_part(model, mirna: str, utrs: list[str], models: GeneModels, *,
               progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Gene rows of one miRNA on some UTRs (row ``i`` = ``utrs[i]``): :data:`GENE_COLUMNS` but ``rank``, and the
    sites as list columns (:data:`LIST_COLUMNS`)."""
    n = len(utrs)
    lengths = np.array([len(u) for u in utrs], dtype=np.int64)
    sites = site_calls(model, mirna, utrs, progress=progress).rename(columns={"utr": "pair"})
    pair = sites["pair"].to_numpy(np.int64)
    types = sites["type"].to_numpy(np.int64)
    logit = sites["site_logit"].to_numpy(np.float64)
    contribution = -models.repression.site_log2fc(sites)
    score = np.bincount(pair, weights=contribution, minlength=n) if len(sites) else np.zeros(n)
    called = logit > models.rule.site_logit
    is_target = np.zeros(n, dtype=bool)
    hit = logit > models.rule.utr_threshold(lengths[pair])
    is_target[pair[hit]] = True
    best = np.full(n, -np.inf)
    np.maximum.at(best, pair, logit)
    # listed: canonical, called non-canonical, and the non-canonical site that carries the gene's contribution
    listed = (types < N_CANONICAL) | called | (contribution > 0)
    counts = np.zeros((n, len(SITE_TYPES)), dtype=np.int64)
    counted = (types < N_CANONICAL) | called
    np.add.at(counts, (pair[counted], types[counted]), 1)
    out = pd.DataFrame({"ranking_score": score, "probability": models.repression.probability(score),
                        "is_target": is_target, **{c: counts[:, k] for k, c in enumerate(COUNT_COLUMNS)}})
    keep = sites[listed]
    kp = keep["pair"].to_numpy(np.int64)
    out["n_sites"] = np.bincount(kp, minlength=n)
    out["utr_length"] = lengths
    out["best_site_logit"] = np.where(np.isfinite(best), best, np.nan)
    groups = np.split(np.arange(len(kp)), np.searchsorted(kp, np.arange(1, n)))
    anchor = keep["anchor"].to_numpy(np.int64)
    ktype = keep["type"].to_numpy(np.int8)
    klogit = keep["site_logit"].to_numpy(np.float32)
    kcalled = called[listed]
    kcontrib = contribution[listed].astype(np.float32)
    out["site_anchor"] = [anchor[g] for g in groups]
    out["site_type"] = [ktype[g] for g in groups]
    out["site_logit"] = [klogit[g] for g in groups]
    out["site_called"] = [kcalled[g] for g in groups]
    out["site_contribution"] = [kcontrib[g] for g in groups]
    out["sites"] = [";".join(f"{s}-{e}:{SITE_TYPES[t]}:{lg:.2f}:{c:.3f}" for s, e, t, lg, c in
                             zip(*site_label(anchor[g], np.full(len(g), lengths[i])), ktype[g], klogit[g],
                                 kcontrib[g]))
                    for i, g in enumerate(groups)]
    return out


def parts(pairs: pd.DataFrame, per_part: int = PAIRS_PER_PART) -> list[np.ndarray]:
    """Row indices of each part: the pairs of one miRNA (by sequence, in order of first appearance), in blocks."""
    codes, _ = pd.factorize(pairs["mirna"], sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    out = []
    for rows in np.split(order, bounds):
        out.extend(rows[i:i + per_part] for i in range(0, len(rows), per_part))
    return out


def assemble(pairs: pd.DataFrame, scored: pd.DataFrame, *, sort: str = "input") -> tuple[pd.DataFrame,
                                                                                          pd.DataFrame]:
    """The gene table (input ids, ``label`` when given, :data:`GENE_COLUMNS`) and the sites table of scored parts
    (``scored``: the parts' rows concatenated, with a ``row`` column = input row). ``sort``: ``input`` (input order)
    or ``rank`` (by miRNA in order of first appearance, then rank)."""
    scored = scored.sort_values("row", kind="stable").reset_index(drop=True)
    if len(scored) != len(pairs) or not (scored["row"].to_numpy() == np.arange(len(pairs))).all():
        raise ValueError("the scored parts do not cover the pair table exactly once")
    pairs = pairs.reset_index(drop=True)
    codes, _ = pd.factorize(pairs["mirna"], sort=False)
    order = np.lexsort((np.arange(len(pairs)), -scored["best_site_logit"].fillna(-np.inf).to_numpy(),
                        -scored["ranking_score"].to_numpy(), codes))
    rank = np.empty(len(pairs), dtype=np.int64)
    first = np.r_[True, codes[order][1:] != codes[order][:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank[order] = np.arange(len(order)) - start + 1
    ids = pairs[[c for c in ID_COLUMNS if c in pairs]].copy()
    if "label" in pairs and pairs["label"].notna().any():
        ids["label"] = pairs["label"]
    genes = pd.concat([ids, scored.drop(columns=["row"])], axis=1)
    genes.insert(len(ids.columns), "rank", rank)
    n_sites = scored["site_anchor"].map(len).to_numpy()
    rows = np.repeat(np.arange(len(pairs)), n_sites)
    cat = (lambda col, dtype: np.concatenate(scored[col].to_numpy()).astype(dtype) if n_sites.sum()
           else np.zeros(0, dtype))
    anchor = cat("site_anchor", np.int64)
    start_, end_ = site_label(anchor, scored["utr_length"].to_numpy()[rows])
    sites = pd.DataFrame({"record": ids["record"].to_numpy()[rows] if "record" in ids else rows + 1,
                          "mirna_id": ids["mirna_id"].to_numpy()[rows] if "mirna_id" in ids else "",
                          "target_id": ids["target_id"].to_numpy()[rows] if "target_id" in ids else "",
                          "start": start_, "end": end_, "anchor": anchor,
                          "type": [SITE_TYPES[t] for t in cat("site_type", np.int64)],
                          "site_logit": cat("site_logit", np.float32), "called": cat("site_called", bool),
                          "contribution": cat("site_contribution", np.float32)})
    genes = genes.drop(columns=list(LIST_COLUMNS))
    if sort == "rank":
        key = np.lexsort((rank, codes))
        genes = genes.iloc[key].reset_index(drop=True)
        sites = sites.iloc[np.argsort(np.argsort(key)[rows], kind="stable")].reset_index(drop=True)
    elif sort != "input":
        raise InputError(f"--sort must be 'input' or 'rank' (got {sort!r})")
    return genes, sites


def gene_table(model, pairs: pd.DataFrame, meta: dict, *, repression: RepressionModel | None = None,
               sort: str = "input", progress: Callable[[int], None] | None = None,
               store=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The gene table and sites table of a pair table with a pairing-family model (see the module doc).
    ``store``: a :class:`mirlens.tables.ChunkStore` keeping finished parts (a rerun skips them); ``progress(n)``
    gets UTR nt."""
    if not is_pairing(model):
        raise TypeError("gene_table needs a pairing-family model (paper-protocol models: paper_gene_table)")
    check_pairs(pairs, model.config.mirna_slot)
    models = gene_models(meta, repression)
    pairs = pairs.reset_index(drop=True)
    done = store.done() if store is not None else set()
    results = []
    for k, rows in enumerate(parts(pairs)):
        if k in done:
            part = store.read([k])
            if progress is not None:
                progress(int(pairs["target"].iloc[rows].str.len().sum()))
        else:
            mirna = pairs["mirna"].iloc[rows[0]]
            part = score_part(model, mirna, pairs["target"].iloc[rows].tolist(), models, progress=progress)
            part.insert(0, "row", rows)
            if store is not None:
                store.write(k, part)
        results.append(part)
    scored = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=["row"])
    return assemble(pairs, scored, sort=sort)


def paper_gene_table(model, pairs: pd.DataFrame, meta: dict, *, threshold: float = 0.5, sort: str = "input",
                     progress: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The gene table of a paper-protocol (miTAR) model: the original gene-level pipeline of
    :mod:`mirlens.genes.predict` -- its probability, calibrated on the miRAW gene-level benchmark, becomes
    ``miraw_probability`` and ``is_target`` = ``miraw_probability > threshold`` -- with the ranking columns of the
    model-free repression model (canonical sites and their context)."""
    from mirlens.genes.predict import GeneSettings, predict_genes, site_table

    check_pairs(pairs, model.config.mirna_slot)
    pairs = pairs.reset_index(drop=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = predict_genes(model, pairs, GeneSettings(), model_name=meta.get("name"), repression=None,
                            progress=progress)
    for w in caught:
        warnings.warn(str(w.message), stacklevel=2)
    repression = load_repression(kind=CANONICAL_KEY)
    results = []
    for rows in parts(pairs):
        mirna = pairs["mirna"].iloc[rows[0]]
        utrs = pairs["target"].iloc[rows].tolist()
        sites = site_table([mirna] * len(utrs), utrs)
        sites = sites[sites["type"].to_numpy() < N_CANONICAL].reset_index(drop=True)
        n = len(utrs)
        pair = sites["pair"].to_numpy(np.int64)
        contribution = -repression.site_log2fc(sites)
        score = np.bincount(pair, weights=contribution, minlength=n) if len(sites) else np.zeros(n)
        counts = np.zeros((n, len(SITE_TYPES)), dtype=np.int64)
        np.add.at(counts, (pair, sites["type"].to_numpy(np.int64)), 1)
        lengths = np.array([len(u) for u in utrs], dtype=np.int64)
        part = pd.DataFrame({"row": rows, "ranking_score": score, "probability": repression.probability(score),
                             "miraw_probability": old["probability"].to_numpy()[rows],
                             "is_target": old["probability"].to_numpy()[rows] > threshold,
                             **{c: counts[:, k] for k, c in enumerate(COUNT_COLUMNS)},
                             "n_sites": np.bincount(pair, minlength=n), "utr_length": lengths,
                             "best_site_logit": np.nan})
        groups = np.split(np.arange(len(pair)), np.searchsorted(pair, np.arange(1, n)))
        anchor = sites["anchor"].to_numpy(np.int64)
        types = sites["type"].to_numpy(np.int8)
        part["site_anchor"] = [anchor[g] for g in groups]
        part["site_type"] = [types[g] for g in groups]
        part["site_logit"] = [np.full(len(g), np.nan, np.float32) for g in groups]
        part["site_called"] = [np.zeros(len(g), bool) for g in groups]
        part["site_contribution"] = [contribution[g].astype(np.float32) for g in groups]
        part["sites"] = [";".join(f"{s}-{e}:{SITE_TYPES[t]}:nan:{c:.3f}" for s, e, t, c in
                                  zip(*site_label(anchor[g], np.full(len(g), lengths[i])), types[g],
                                      contribution[g])) for i, g in enumerate(groups)]
        results.append(part)
    genes, sites = assemble(pairs, pd.concat(results, ignore_index=True), sort="input")
    # paper protocol: the miRAW-calibrated probability and the window probability of its best sites
    for col in ("best_sites", "best_site_probability"):
        if col in old:
            genes[col] = old[col].to_numpy()
    if sort == "rank":
        codes, _ = pd.factorize(pairs["mirna"], sort=False)
        key = np.lexsort((genes["rank"].to_numpy(), codes))
        genes = genes.iloc[key].reset_index(drop=True)
    return genes, sites

