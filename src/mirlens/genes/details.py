"""Details of the sites a gene report shows: the duplex as text and the model's per-nucleotide attributions.

:func:`site_details` takes a gene table (``mirlens predict-genes``), its sites table (``STEM.sites.tsv``, see
:mod:`mirlens.genes.sidecars`), the sequences (a pair table with ``mirna`` and ``target``) and a model, and computes
for the chosen sites (:func:`choose_sites`):

* the **duplex** of the miRNA on the site, from :mod:`mirlens.duplex` (backend ``miranda`` by default) run on the
  UTR stretch facing the miRNA (from ``len(miRNA) + 6`` nt 5' of the anchor to 3 nt 3' of it), laid out as text:
  the miRNA 3'->5' over the target 5'->3', ``|`` Watson-Crick, ``:`` G:U, ``-`` a gap (bulge). When the backend
  forms no duplex whose seed (miRNA positions 2-8) pairs at this site -- at least :data:`MIN_SEED_AT_SITE` of
  them facing the site's own nucleotides -- the layout is the site's ungapped seed alignment (L_p facing the
  nucleotide ``anchor - (p - 1)``), ``duplex_backend`` says ``ungapped`` and the energy is NaN;
* the model's **per-nucleotide attributions** on both strands: DeepLIFT-SHAP against the all-N reference
  (:func:`mirlens.explain.deeplift.deeplift_shap`, exact summation to ``logit - reference logit``), on the model
  window in which gene-level prediction scores the site (the anchor ``TAIL`` nt from the window's 3' end, see
  :mod:`mirlens.genes.windows`; outside the UTR the window reads N, whose attribution is 0). The window is scored on
  its own, N beyond it, so its logit (``window_logit``) differs from the site logit of ``predict-genes``, which
  reads the UTR's flanks too (:mod:`mirlens.predict.utr_pass`); attributions of that context-window score would
  need the pooling restricted to the window's anchors inside a wider slot, which the model does not offer. miRNA
  attributions are per L1..Ln, target attributions per window nucleotide 5'->3' (``window_start`` is the 0-based
  UTR index of the window's first nucleotide; LTq of the window is index ``len(window) - q``).

Which sites: attributions cost about 20 ms per site on two cores, so details are computed for the genes ranked
``top`` or better within their miRNA (default :data:`DETAILS_TOP`) and, in each, for at most ``sites_per_gene``
sites (default :data:`SITES_PER_GENE`): called sites first, then by contribution to the ranking score, site type
(strongest first) and logit. The report says so for every other gene or site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mirlens.errors import InputError
from mirlens.genes.sites import SITE_TYPES

DETAILS_TOP = 200
"""Genes per miRNA (by rank) whose sites get details."""
SITES_PER_GENE = 10
"""Most sites per gene that get details."""
MIN_SEED_AT_SITE = 4
"""A backend duplex is kept when at least this many of miRNA positions 2-8 pair with the site's own nucleotides."""
FLANK_5P = 6
FLANK_3P = 3
DETAIL_COLUMNS = [
    "record", "mirna_id", "target_id", "start", "end", "anchor", "type", "site_logit", "called", "contribution",
    "duplex_backend", "duplex_energy", "duplex_mirna", "duplex_match", "duplex_target", "mirna_columns",
    "target_columns", "model", "method", "reference", "window_start", "window", "window_logit", "reference_logit",
    "mirna_attribution", "target_attribution",
]
"""Columns of the details table (``STEM.details.parquet``). The first ten repeat the site's row of the sites table.
``duplex_mirna`` / ``duplex_match`` / ``duplex_target``: the three text lines (same length; miRNA 3'->5', target
5'->3'); ``mirna_columns`` / ``target_columns``: per text column the miRNA position L (1-based) and the UTR position
(1-based) shown there, 0 for a gap or blank; ``window``: the model window's sequence (N outside the UTR);
``mirna_attribution``: L1..Ln; ``target_attribution``: per window nucleotide, 5'->3'."""
KEY = ["record", "mirna_id", "target_id"]

_PAIRS = {("A", "U"): "|", ("U", "A"): "|", ("G", "C"): "|", ("C", "G"): "|", ("G", "U"): ":", ("U", "G"): ":"}


@dataclass(frozen=True)
class Layout:
    mirna: str
    match: str
    target: str
    mirna_columns: list[int]
    target_columns: list[int]


def duplex_layout(mirna: str, utr: str, aligned: list[tuple[int, int]], lo: int, hi: int) -> Layout:
    """Text layout of a duplex: ``aligned`` = (miRNA index, UTR index) facing each other (0-based, 5'->3'), in any
    order (must be co-linear: the miRNA index falls as the UTR index rises); ``[lo, hi)`` the UTR stretch shown.
    Unaligned nucleotides between two aligned columns face each other where both strands have some, the rest face
    gaps (``-``); the miRNA's unaligned 3' end faces the stretch's 5' flank (right-aligned), its 5' end the 3' flank."""
    if not aligned:
        raise ValueError("a duplex layout needs at least one aligned column")
    aligned = sorted(aligned, key=lambda x: -x[0])
    for (j1, i1), (j2, i2) in zip(aligned, aligned[1:]):
        if not (j2 < j1 and i2 > i1):
            raise ValueError("aligned columns are not co-linear")
    m_cols: list[int] = []  # miRNA index (0-based) or -1
    t_cols: list[int] = []  # UTR index (0-based) or -1

    def block(ms: list[int], ts: list[int], right: bool) -> None:
        w = max(len(ms), len(ts))
        pad_m, pad_t = [-1] * (w - len(ms)), [-1] * (w - len(ts))
        m_cols.extend(pad_m + ms if right else ms + pad_m)
        t_cols.extend(pad_t + ts if right else ts + pad_t)

    j0, i0 = aligned[0]
    block(list(range(len(mirna) - 1, j0, -1)), list(range(max(lo, 0), i0)), right=True)
    for k, (j, i) in enumerate(aligned):
        if k:
            jp, ip = aligned[k - 1]
            gap_m, gap_t = list(range(jp - 1, j, -1)), list(range(ip + 1, i))
            common = min(len(gap_m), len(gap_t))  # mismatches face each other, the rest faces gaps
            block(gap_m[:common], gap_t[:common], right=False)
            block(gap_m[common:], gap_t[common:], right=False)
        m_cols.append(j)
        t_cols.append(i)
    jl, il = aligned[-1]
    block(list(range(jl - 1, -1, -1)), list(range(il + 1, min(hi, len(utr)))), right=False)
    # gaps inside the duplex are '-', blanks outside it (flanks) are ' '
    first = next(c for c, j in enumerate(m_cols) if j == j0)
    last = next(c for c in range(len(m_cols) - 1, -1, -1) if m_cols[c] == jl)
    inside = [first <= c <= last for c in range(len(m_cols))]
    m_text = "".join(mirna[j] if j >= 0 else ("-" if ins else " ") for j, ins in zip(m_cols, inside))
    t_text = "".join(utr[i] if i >= 0 else ("-" if ins else " ") for i, ins in zip(t_cols, inside))
    match = "".join(_PAIRS.get((mirna[j], utr[i]), " ") if j >= 0 and i >= 0 else " " for j, i in zip(m_cols, t_cols))
    return Layout(m_text, match, t_text, [j + 1 if j >= 0 else 0 for j in m_cols],
                  [i + 1 if i >= 0 else 0 for i in t_cols])


def ungapped_layout(mirna: str, utr: str, anchor: int) -> Layout:
    """The site's seed alignment without gaps: miRNA position L_p faces UTR index ``anchor - (p - 1)``."""
    aligned = [(j, anchor - j) for j in range(len(mirna)) if 0 <= anchor - j < len(utr)]
    if not aligned:
        raise InputError(f"site anchor {anchor} lies outside the {len(utr)}-nt UTR")
    return duplex_layout(mirna, utr, aligned, min(i for _, i in aligned), max(i for _, i in aligned) + 1)


def choose_sites(genes: pd.DataFrame, sites: pd.DataFrame, *, top: int = DETAILS_TOP,
                 sites_per_gene: int = SITES_PER_GENE) -> pd.DataFrame:
    """The rows of ``sites`` that get details (module doc), in gene order then UTR order."""
    if top <= 0 or sites_per_gene <= 0 or not len(sites):
        return sites.iloc[:0]
    chosen = genes.loc[genes["rank"] <= top, KEY]
    s = sites.merge(chosen, on=KEY, how="inner")
    code = s["type"].map({t: i for i, t in enumerate(SITE_TYPES)}).fillna(99)
    s = s.assign(_code=code.to_numpy()).sort_values([*KEY, "called", "contribution", "_code", "site_logit"],
                                                    ascending=[True, True, True, False, False, True, False],
                                                    kind="stable")
    s = s.groupby(KEY, sort=False).head(sites_per_gene)
    return s.drop(columns="_code").sort_values([*KEY, "start"], kind="stable").reset_index(drop=True)


def _sequences(genes_sites: pd.DataFrame, pairs: pd.DataFrame) -> tuple[list[str], list[str]]:
    """miRNA and UTR sequence of every row of ``genes_sites`` (joined on record, mirna_id, target_id)."""
    missing = [c for c in (*KEY, "mirna", "target") if c not in pairs]
    if missing:
        raise InputError(f"the pair table has no {', '.join(missing)} column(s)")
    seqs = pairs[[*KEY, "mirna", "target"]].drop_duplicates(KEY)
    joined = genes_sites[KEY].merge(seqs, on=KEY, how="left")
    lost = joined["mirna"].isna()
    if lost.any():
        r = joined[lost].iloc[0]
        raise InputError(f"no sequences for {r['mirna_id']} x {r['target_id']} (record {r['record']}): the sites "
                         "do not belong to these pairs")
    return joined["mirna"].tolist(), joined["target"].tolist()


def site_details(
    genes: pd.DataFrame,
    sites: pd.DataFrame,
    pairs: pd.DataFrame,
    model,
    *,
    model_name: str = "",
    top: int = DETAILS_TOP,
    sites_per_gene: int = SITES_PER_GENE,
    backend: str = "miranda",
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """The details table (:data:`DETAIL_COLUMNS`) of the sites :func:`choose_sites` picks (module doc)."""
    from mirlens.data.encoding import MIRNA_SLOT
    from mirlens.duplex import compute_duplexes
    from mirlens.explain.attribution.deeplift import deeplift_shap
    from mirlens.explain.pairset import PairSet
    from mirlens.genes.windows import default_offsets

    for name, table, cols in (("gene", genes, [*KEY, "rank"]),
                              ("sites", sites, [*KEY, "start", "end", "anchor", "type", "site_logit", "called",
                                                "contribution"])):
        missing = [c for c in cols if c not in table]
        if missing:
            raise InputError(f"the {name} table has no {', '.join(missing)} column(s)")
    if not hasattr(model, "forward_onehot"):
        raise InputError(f"model {model_name!r} has no differentiable one-hot input (forward_onehot)")
    chosen = choose_sites(genes, sites, top=top, sites_per_gene=sites_per_gene)
    if not len(chosen):
        return pd.DataFrame({c: [] for c in DETAIL_COLUMNS})
    mirnas, utrs = _sequences(chosen, pairs)
    anchors = chosen["anchor"].to_numpy(np.int64)
    for k, (u, a) in enumerate(zip(utrs, anchors)):
        if not 0 <= a <= len(u):
            r = chosen.iloc[k]
            raise InputError(f"site anchor {a} lies outside the {len(u)}-nt UTR of {r['mirna_id']} x "
                             f"{r['target_id']}: the sites table does not belong to these sequences")

    # duplexes on the stretch facing the miRNA
    lo = [max(0, int(a) - len(m) - FLANK_5P) for m, a in zip(mirnas, anchors)]
    hi = [min(len(u), int(a) + FLANK_3P + 1) for u, a in zip(utrs, anchors)]
    dup = compute_duplexes(mirnas, [u[a:b] for u, a, b in zip(utrs, lo, hi)], backend)
    layouts, used, energy = [], [], []
    for k in range(len(chosen)):
        m, u, a = mirnas[k], utrs[k], int(anchors[k])
        seg_len = hi[k] - lo[k]
        partners = [int(x) for x in str(dup["mirna_partner"].iat[k]).split(",") if x != ""]
        aligned = [(j, lo[k] + seg_len - q) for j, q in enumerate(partners) if q > 0]
        at_site = sum(1 for j, i in aligned if 1 <= j <= 7 and i == a - j)
        if int(dup["n_hits"].iat[k]) > 0 and at_site >= MIN_SEED_AT_SITE:
            layouts.append(duplex_layout(m, u, aligned, lo[k], hi[k]))
            used.append(backend)
            energy.append(float(dup["energy"].iat[k]))
        else:
            layouts.append(ungapped_layout(m, u, a))
            used.append("ungapped")
            energy.append(float("nan"))

    # attributions in the scoring window
    window = int(model.config.target_slot)
    offset = default_offsets(window)[0]
    starts = anchors - offset
    windows = ["".join(u[i] if 0 <= i < len(u) else "N" for i in range(s, s + window))
               for u, s in zip(utrs, starts.tolist())]
    ps = PairSet.from_pairs(pd.DataFrame({"mirna": mirnas, "target": windows}), MIRNA_SLOT + window)
    attr = deeplift_shap(model, ps, reference="N", batch_size=batch_size, progress=progress)
    pos = attr.positions
    m_attr = [[] for _ in range(len(chosen))]
    t_attr = [np.zeros(window) for _ in range(len(chosen))]
    mp = pos[pos["side"] == "mirna"].sort_values(["pair", "position"])
    for pair, g in mp.groupby("pair", sort=False):
        m_attr[pair] = g["attribution"].astype(float).tolist()
    tp = pos[pos["side"] == "target"]
    idx = window - tp["position"].to_numpy(np.int64)
    for pair, i, v in zip(tp["pair"].to_numpy(), idx, tp["attribution"].to_numpy(np.float64)):
        t_attr[pair][i] = v
    out = chosen[DETAIL_COLUMNS[:10]].reset_index(drop=True).copy()
    out["duplex_backend"] = used
    out["duplex_energy"] = np.asarray(energy, dtype=np.float64)
    out["duplex_mirna"] = [x.mirna for x in layouts]
    out["duplex_match"] = [x.match for x in layouts]
    out["duplex_target"] = [x.target for x in layouts]
    out["mirna_columns"] = [x.mirna_columns for x in layouts]
    out["target_columns"] = [x.target_columns for x in layouts]
    out["model"] = model_name
    out["method"] = attr.method
    out["reference"] = attr.reference
    out["window_start"] = starts.astype(np.int64)
    out["window"] = windows
    out["window_logit"] = attr.pairs["logit"].to_numpy(np.float64)
    out["reference_logit"] = attr.pairs["reference_logit"].to_numpy(np.float64)
    out["mirna_attribution"] = m_attr
    out["target_attribution"] = [a.tolist() for a in t_attr]
    return out[DETAIL_COLUMNS]


def details_info(details: pd.DataFrame, *, top: int, sites_per_gene: int, model_name: str,
                 backend: str, file: str) -> dict:
    """The ``details`` entry of the run description (:mod:`mirlens.genes.sidecars`)."""
    return {"file": file, "top": top, "sites_per_gene": sites_per_gene, "model": model_name,
            "method": "deeplift-shap", "reference": "N", "duplex_backend": backend, "n_sites": int(len(details))}
