"""The paper-protocol gene-level pipeline (miTAR models): is this whole 3'UTR a target of this miRNA?

Pipeline, per block of UTRs that share a miRNA (vectorised with numpy; only the model runs in batches):

1. the UTRs are joined into one token array, separated by runs of N one window long;
2. candidate sites are typed in one pass (:func:`mirlens.genes.sites.find_sites_tokens`);
3. each site gets windows with its anchor where training sites sat (:mod:`mirlens.genes.windows`), scored through
   :func:`mirlens.predict.score.score_tokens` (windows from many miRNAs are pooled into full batches);
4. per pair, the site scores are summarised (:mod:`mirlens.genes.aggregate`) and turned into one probability by
   the model's calibrator (:mod:`mirlens.genes.calibrate`), or, when no calibrator was fitted for the model, by the
   best site's probability (uncalibrated).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mirlens.data.alphabet import tokenize
from mirlens.data.encoding import MIRNA_SLOT, encode_pairs
from mirlens.errors import InputError, ModelFileError
from mirlens.genes.aggregate import FEATURES, background_stats, features, group_count, group_max
from mirlens.genes.calibrate import LogisticCalibrator, calibrator_key, load_calibrators, weights_key
from mirlens.genes.context import CONTEXT_COLUMNS, CONTEXT_REACH, site_context
from mirlens.genes.repression import CANONICAL_KEY, RepressionModel, load_repression
from mirlens.genes.sites import MIN_MIRNA_LEN, N_CANONICAL, SEED_SPAN, SITE_TYPES, find_sites_tokens
from mirlens.genes.windows import N_BACKGROUND, background_windows, default_offsets, site_windows
from mirlens.model.architecture import MiTAR
from mirlens.predict.score import score_tokens

SITE_COLUMNS = ["pair", "anchor", "type", "probability"]
FLUSH_WINDOWS = 65_536
"""Windows gathered (over blocks and miRNAs) before they are scored: full batches, bounded memory."""


@dataclass(frozen=True)
class GeneSettings:
    noncanonical: bool = True
    """Also score non-canonical extended-seed candidates (G:U wobbles, one mismatch)."""
    offsets: tuple[int, ...] | None = None
    """Anchor index(es) inside the window; None: where training sites sat (window - 5)."""
    batch_size: int = 1024
    block_nt: int = 2_000_000
    """UTR nucleotides joined and typed at once (bounds memory)."""
    n_best: int = 3
    """Best sites listed per pair."""
    n_background: int = N_BACKGROUND
    """Background windows scored per miRNA (see :func:`mirlens.genes.windows.background_windows`)."""


@dataclass
class SiteScores:
    sites: pd.DataFrame
    """One row per candidate site: ``SITE_COLUMNS``."""
    background: np.ndarray
    """``(n_pairs, 2)`` background statistics of each pair's miRNA (:func:`aggregate.background_stats`)."""


def _pair_names(n: int, names: Sequence[str] | None) -> list[str]:
    return list(names) if names is not None else [f"pair {i + 1}" for i in range(n)]


def _check_inputs(mirnas: Sequence[str], utrs: Sequence[str], names: list[str]) -> None:
    if len(mirnas) != len(utrs):
        raise InputError(f"{len(mirnas)} miRNAs but {len(utrs)} UTRs")
    for i, (m, u) in enumerate(zip(mirnas, utrs)):
        if not m or not u:
            raise InputError("empty sequence", record=names[i])
        if len(m) < MIN_MIRNA_LEN:
            raise InputError(f"miRNA is {len(m)} nt; seed-match typing needs at least {MIN_MIRNA_LEN}",
                             record=names[i])
        if len(m) > MIRNA_SLOT:
            raise InputError(f"miRNA is {len(m)} nt; the model allows at most {MIRNA_SLOT}", record=names[i])


@dataclass
class SiteBlock:
    """Candidate sites of one block of UTRs that share a miRNA, typed on the UTRs joined by runs of N."""

    mirna_index: int
    """Index of the miRNA among the distinct miRNAs, in order of first appearance."""
    joined: np.ndarray
    """Token array of the block's UTRs joined (and flanked) by runs of N one window long."""
    pair: np.ndarray
    """Input row of each site."""
    anchor: np.ndarray
    """Anchor of each site on its UTR (0-based, see :mod:`mirlens.genes.sites`)."""
    joined_anchor: np.ndarray
    """Anchor of each site in ``joined``."""
    type: np.ndarray
    context: pd.DataFrame
    """:data:`mirlens.genes.context.CONTEXT_COLUMNS` of each site."""
    n_nt: int
    """UTR nucleotides in the block."""


def locate_sites(mirnas: Sequence[str], utrs: Sequence[str], *, noncanonical: bool, spacer: int,
                 block_nt: int = GeneSettings.block_nt) -> Iterator[tuple[str, list[SiteBlock]]]:
    """Type every candidate site of every pair, block by block: yields each distinct miRNA with the blocks of its
    UTRs (``spacer``: length of the N runs between UTRs, at least one model window)."""
    by_mirna: dict[str, list[int]] = {}
    for i, m in enumerate(mirnas):
        by_mirna.setdefault(m, []).append(i)
    gap = "N" * spacer
    for m_index, (mirna, rows) in enumerate(by_mirna.items()):
        m_tok = tokenize(mirna)
        blocks: list[SiteBlock] = []
        block: list[int] = []
        size = 0
        for j, row in enumerate(rows):
            block.append(row)
            size += len(utrs[row])
            if size < block_nt and j < len(rows) - 1:
                continue
            lengths = np.array([len(utrs[r]) for r in block], dtype=np.int64)
            joined = tokenize(gap + gap.join(utrs[r] for r in block) + gap)
            starts = spacer + np.concatenate([[0], np.cumsum(lengths + spacer)[:-1]])
            sites = find_sites_tokens(m_tok, joined, noncanonical=noncanonical)
            which = np.searchsorted(starts, sites.anchor, side="right") - 1
            local = sites.anchor - starts[np.maximum(which, 0)]
            keep = (which >= 0) & (local <= lengths[np.maximum(which, 0)])
            which, anchors, types = which[keep], sites.anchor[keep], sites.type[keep]
            context = site_context(m_tok, joined, anchors, which, starts[which], lengths[which],
                                   types < N_CANONICAL)
            blocks.append(SiteBlock(m_index, joined, np.asarray(block, dtype=np.int64)[which], local[keep],
                                    anchors, types, context, int(size)))
            block, size = [], 0
        yield mirna, blocks


def site_table(mirnas: Sequence[str], utrs: Sequence[str], *, noncanonical: bool = False,
               names: Sequence[str] | None = None) -> pd.DataFrame:
    """Every candidate site of every (miRNA, UTR) pair with its context, without a model: ``pair``, ``anchor``,
    ``type`` and :data:`mirlens.genes.context.CONTEXT_COLUMNS` (sorted by pair, then anchor)."""
    names = _pair_names(len(mirnas), names)
    _check_inputs(mirnas, utrs, names)
    parts = [pd.concat([pd.DataFrame({"pair": b.pair, "anchor": b.anchor, "type": b.type.astype(np.int8)}),
                        b.context], axis=1)
             for _, blocks in locate_sites(mirnas, utrs, noncanonical=noncanonical, spacer=CONTEXT_REACH)
             for b in blocks]
    columns = ["pair", "anchor", "type", *CONTEXT_COLUMNS]
    if not parts:
        return pd.DataFrame({c: np.zeros(0, np.int64) for c in columns}).astype({"type": np.int8})
    return pd.concat(parts, ignore_index=True).sort_values(["pair", "anchor"], kind="stable",
                                                           ignore_index=True)


def site_logits(model: MiTAR, mirna: str, utrs: Sequence[str], sites: pd.DataFrame, *,
                batch_size: int = 1024) -> np.ndarray:
    """The model's logit of each site of a :func:`site_table` of one miRNA (window placed as in :func:`score_sites`,
    averaged over the default anchor offsets)."""
    window = model.config.target_slot
    offsets = default_offsets(window)
    if not len(sites):
        return np.zeros(0, np.float32)
    lengths = np.array([len(u) for u in utrs], dtype=np.int64)
    joined = tokenize("N" * window + ("N" * window).join(utrs) + "N" * window)
    starts = window + np.concatenate([[0], np.cumsum(lengths + window)[:-1]])
    anchors = starts[sites["pair"].to_numpy(np.int64)] + sites["anchor"].to_numpy(np.int64)
    win = site_windows(joined, anchors, window, offsets)
    tokens = np.empty((len(win), MIRNA_SLOT + window), dtype=np.uint8)
    tokens[:, :MIRNA_SLOT] = encode_pairs([mirna], ["N"], 1)[0, :MIRNA_SLOT]
    tokens[:, MIRNA_SLOT:] = win
    out = score_tokens(model, tokens, batch_size=batch_size, logits=True)
    return out.reshape(len(offsets), len(sites)).mean(axis=0)


def score_sites(
    model: MiTAR,
    mirnas: Sequence[str],
    utrs: Sequence[str],
    settings: GeneSettings = GeneSettings(),
    *,
    names: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SiteScores:
    """Every candidate site of every (miRNA, UTR) pair with its model probability and context (``SITE_COLUMNS``
    and :data:`mirlens.genes.context.CONTEXT_COLUMNS`; ``anchor`` is 0-based on the UTR, see
    :mod:`mirlens.genes.sites`), and each miRNA's background statistics. ``progress(n)`` gets the UTR nt typed
    per block."""
    names = _pair_names(len(mirnas), names)
    _check_inputs(mirnas, utrs, names)
    window = model.config.target_slot
    offsets = tuple(settings.offsets) if settings.offsets else default_offsets(window)
    n_mirnas = len(dict.fromkeys(mirnas))

    width = MIRNA_SLOT + window
    n_off = len(offsets)
    bg = background_windows(window, settings.n_background)
    bg_stats = np.zeros((n_mirnas, 2))
    pair_parts, anchor_parts, type_parts, prob_parts, context_parts = [], [], [], [], []
    pending: list[tuple[str, int, np.ndarray]] = []  # ("bg", miRNA index, tokens) or ("sites", n, tokens)
    n_pending = 0

    def flush() -> None:
        nonlocal pending, n_pending
        if not pending:
            return
        prob = score_tokens(model, np.concatenate([t for _, _, t in pending]), batch_size=settings.batch_size)
        at = 0
        for kind, info, toks in pending:
            part, at = prob[at:at + len(toks)], at + len(toks)
            if kind == "bg":
                bg_stats[info] = background_stats(part[None, :])[0]
            else:
                prob_parts.append(part.reshape(n_off, info).mean(axis=0))
        pending, n_pending = [], 0

    def add(kind: str, info: int, toks: np.ndarray) -> None:
        nonlocal n_pending
        pending.append((kind, info, toks))
        n_pending += len(toks)
        if n_pending >= FLUSH_WINDOWS:
            flush()

    located = locate_sites(mirnas, utrs, noncanonical=settings.noncanonical, spacer=window,
                           block_nt=settings.block_nt)
    for m_index, (mirna, blocks) in enumerate(located):
        prefix = encode_pairs([mirna], ["N"], 1)[0, :MIRNA_SLOT]
        bg_tokens = np.empty((len(bg), width), dtype=np.uint8)
        bg_tokens[:, :MIRNA_SLOT] = prefix
        bg_tokens[:, MIRNA_SLOT:] = bg
        add("bg", m_index, bg_tokens)
        for b in blocks:
            win = site_windows(b.joined, b.joined_anchor, window, offsets)  # offset-major
            tokens = np.empty((len(win), width), dtype=np.uint8)
            tokens[:, :MIRNA_SLOT] = prefix
            tokens[:, MIRNA_SLOT:] = win
            pair_parts.append(b.pair)
            anchor_parts.append(b.anchor)
            type_parts.append(b.type)
            context_parts.append(b.context)
            add("sites", len(b.pair), tokens)
            if progress is not None:
                progress(b.n_nt)
    flush()
    mirna_index = {m: i for i, m in enumerate(dict.fromkeys(mirnas))}
    background = bg_stats[[mirna_index[m] for m in mirnas]] if len(mirnas) else np.zeros((0, 2))
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))
    sites = pd.DataFrame({"pair": cat(pair_parts, np.int64), "anchor": cat(anchor_parts, np.int64),
                          "type": cat(type_parts, np.int8), "probability": cat(prob_parts, np.float32)})
    context = (pd.concat(context_parts, ignore_index=True) if context_parts
               else pd.DataFrame({c: np.zeros(0, np.int64) for c in CONTEXT_COLUMNS}))
    return SiteScores(pd.concat([sites, context], axis=1), background)


def site_features(scores: SiteScores, utr_lengths: Sequence[int]) -> np.ndarray:
    """Feature matrix (:data:`mirlens.genes.aggregate.FEATURES`) of :func:`score_sites` results."""
    sites = scores.sites
    return features(sites["probability"].to_numpy(), sites["type"].to_numpy(), sites["pair"].to_numpy(),
                    len(utr_lengths), utr_lengths, scores.background)


def fallback_probability(sites: pd.DataFrame, n_pairs: int) -> np.ndarray:
    """Gene probability without a fitted calibrator: the best candidate site's probability (0 without sites)."""
    return group_max(sites["probability"].to_numpy(), sites["pair"].to_numpy(), n_pairs)


def calibrator_for(model: MiTAR, model_name: str | None, noncanonical: bool = True
                   ) -> tuple[LogisticCalibrator | None, str]:
    """The shipped calibrator fitted for this model's very weights and site mode, or ``None`` and the reason.

    Found by the model's name, or by its weights under any name (e.g. an original Keras file loaded by path)."""
    key = calibrator_key(model_name or "", noncanonical)
    calibrators = load_calibrators()
    mine = weights_key(model)
    cal = calibrators.get(key)
    if cal is not None and cal.info.get("weights_key") in (None, mine):
        return cal, ""
    for name, other in calibrators.items():
        if other.info.get("weights_key") == mine and name == calibrator_key(name.split("/")[0], noncanonical):
            return other, ""
    if cal is not None:
        return None, (f"the gene-level calibrator for {key!r} was fitted on other weights than this model's "
                      "(refit it with benchmarks/bench_miraw_gene_level.py --fit-out)")
    return None, f"no gene-level calibrator was fitted for model {key!r}"


def summarise(
    scores: SiteScores, utrs: Sequence[str], calibrator: LogisticCalibrator | None, n_best: int = 3,
    repression: RepressionModel | None = None,
) -> pd.DataFrame:
    """One row per pair: ``probability`` (gene level), ``ranking_score`` (the repression model's, when given),
    site counts, and the ``n_best`` best sites."""
    n = len(utrs)
    sites = scores.sites
    lengths = np.array([len(u) for u in utrs], dtype=np.int64)
    if calibrator is not None:
        if tuple(calibrator.features) != FEATURES:
            raise ModelFileError("the gene-level calibrator was fitted on other features; refit it")
        prob = calibrator.predict(site_features(scores, lengths))
    else:
        prob = fallback_probability(sites, n)
    pair = sites["pair"].to_numpy()
    types = sites["type"].to_numpy()
    out = pd.DataFrame({"probability": prob})
    if repression is not None:
        out["ranking_score"] = repression.gene_scores(sites, n)
    out = out.assign(**{
        "n_sites": group_count(pair, n).astype(np.int64),
        "n_canonical": group_count(pair, n, types < N_CANONICAL).astype(np.int64),
        "utr_length": lengths,
    })
    # best first; ties (saturated probabilities are common) go to the stronger site type, then the 5'-most site
    ordered = sites.sort_values(["pair", "probability", "type", "anchor"], ascending=[True, False, True, True],
                                kind="stable")
    best = ordered.groupby("pair", sort=True).head(n_best)
    start = np.maximum(best["anchor"].to_numpy() - (SEED_SPAN - 1), 0) + 1  # 1-based, inclusive
    end = np.minimum(best["anchor"].to_numpy() + 1, lengths[best["pair"].to_numpy()])
    labels = [f"{s}-{e}:{SITE_TYPES[t]}:{p:.4f}" for s, e, t, p in
              zip(start, end, best["type"].to_numpy(), best["probability"].to_numpy())]
    listing = pd.Series(labels, index=best["pair"].to_numpy()).groupby(level=0).agg(";".join)
    top = best.groupby("pair", sort=True).head(1)
    first = np.isin(best.index, top.index)
    out["best_start"] = pd.array([pd.NA] * n, dtype="Int64")
    out["best_end"] = pd.array([pd.NA] * n, dtype="Int64")
    out["best_site_probability"] = np.nan
    out["best_type"] = ""
    rows = best["pair"].to_numpy()[first]
    out.loc[rows, "best_start"] = start[first]
    out.loc[rows, "best_end"] = end[first]
    out.loc[rows, "best_site_probability"] = best["probability"].to_numpy()[first]
    out.loc[rows, "best_type"] = [SITE_TYPES[t] for t in best["type"].to_numpy()[first]]
    out["best_sites"] = ""
    out.loc[listing.index.to_numpy(), "best_sites"] = listing.to_numpy()
    return out


def predict_genes(
    model: MiTAR,
    pairs: pd.DataFrame,
    settings: GeneSettings = GeneSettings(),
    *,
    model_name: str | None = None,
    calibrator: LogisticCalibrator | None | str = "auto",
    repression: RepressionModel | None | str = "auto",
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Gene-level table of a pair table (``mirna``/``target`` = miRNA and whole UTR, 5'->3'): every input row in
    input order with the ids, label (when present) and the columns of :func:`summarise`, and ``rank``: the rank of
    the pair's ``ranking_score`` among the pairs of the same miRNA (1 = most repressed; ties share the best rank).

    ``repression="auto"`` uses the shipped repression model (:mod:`mirlens.genes.repression`); ``None`` leaves the
    ranking columns out.

    ``calibrator="auto"`` uses the calibrator shipped for ``model_name`` (and these weights); without one (or with
    ``None``) the probability is the best candidate site's probability (a warning says so when "auto" found none).
    """
    if isinstance(calibrator, str):
        if calibrator != "auto":
            raise ValueError(f"calibrator must be 'auto', None or a LogisticCalibrator, not {calibrator!r}")
        calibrator, why = calibrator_for(model, model_name, settings.noncanonical)
        if calibrator is None:
            warnings.warn(f"{why}; the gene probability is the best candidate site's probability (uncalibrated)",
                          stacklevel=2)
    from mirlens.predict.score import pair_names

    if isinstance(repression, str):
        if repression != "auto":
            raise ValueError(f"repression must be 'auto', None or a RepressionModel, not {repression!r}")
        repression = load_repression(kind=CANONICAL_KEY)
    mirnas = pairs["mirna"].tolist()
    utrs = pairs["target"].tolist()
    sites = score_sites(model, mirnas, utrs, settings, names=pair_names(pairs), progress=progress)
    summary = summarise(sites, utrs, calibrator, settings.n_best, repression)
    if repression is not None:
        rank = summary["ranking_score"].groupby(np.asarray(mirnas)).rank(method="min", ascending=False)
        summary.insert(summary.columns.get_loc("ranking_score") + 1, "rank", rank.astype(np.int64).to_numpy())
    keep = [c for c in ("record", "mirna_id", "target_id", "gene_id", "gene_name", "transcript_id") if c in pairs]
    out = pairs[keep].reset_index(drop=True).copy()
    if "label" in pairs and pairs["label"].notna().any():
        out["label"] = pairs["label"].reset_index(drop=True)
    return pd.concat([out, summary], axis=1)
