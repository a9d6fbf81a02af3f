"""Which pairs an analysis runs on: positives, negatives, all, or the paper's "extracted" pairs.

The paper's extracted subset (Table 2) holds the positive pairs whose alteration for a feature exceeds the mean
alteration: e.g. pairs whose probability drops by more than 0.48 (the mean drop) when L13-4 is set to N. Here
``extracted:L13-4`` (or ``extracted:L13-4@negatives``, ``extracted:seed+L13-4``) selects them in one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mirlens.errors import InputError
from mirlens.explain.mutagenesis.engine import DEFAULT_BATCH, DEFAULT_ENGINE
from mirlens.explain.pairset import PairSet
from mirlens.explain.mutagenesis.regions import parse_region_set, region_effects

SUBSETS = ("positives", "negatives", "all")


@dataclass(frozen=True)
class SubsetSpec:
    base: str  # positives / negatives / all
    extracted: str | None = None  # region set whose above-mean alteration selects pairs
    threshold: float | None = None  # alteration cut-off; None = the mean alteration


def parse_subset(spec: str) -> SubsetSpec:
    """``positives``, ``negatives``, ``all``, ``extracted:REGIONS[@BASE][>THRESHOLD]``."""
    text = spec.strip()
    low = text.lower()
    if low in SUBSETS:
        return SubsetSpec(low)
    if low.startswith("extracted:"):
        rest = text.split(":", 1)[1]
        threshold = None
        if ">" in rest:
            rest, thr = rest.split(">", 1)
            try:
                threshold = float(thr)
            except ValueError:
                raise InputError(f"subset {spec!r}: threshold {thr!r} is not a number") from None
        base = "positives"
        if "@" in rest:
            rest, base = rest.split("@", 1)
            base = base.lower()
            if base not in SUBSETS:
                raise InputError(f"subset {spec!r}: {base!r} is not one of {', '.join(SUBSETS)}")
        parse_region_set(rest)  # validate early
        return SubsetSpec(base, rest, threshold)
    raise InputError(f"unknown subset {spec!r}: choose positives, negatives, all or extracted:REGION (e.g. "
                     "extracted:L13-4)")


def select_label(pairset: PairSet, subset: str) -> PairSet:
    """Positives (label 1), negatives (label 0) or all pairs."""
    if subset == "all":
        return pairset
    if subset not in SUBSETS:
        raise InputError(f"unknown subset {subset!r}: choose one of {', '.join(SUBSETS)}")
    labels = pairset.labels
    if (labels < 0).all():
        raise InputError(f"the pairs have no labels, so there are no {subset}; use --subset all")
    want = 1 if subset == "positives" else 0
    return pairset.subset(labels == want, info={"subset": subset})


def extracted_subset(model, pairset: PairSet, region_set: str, *, to: str = "N", threshold: float | None = None,
                     engine: str = DEFAULT_ENGINE, batch_size: int = DEFAULT_BATCH, progress=None) -> PairSet:
    """Pairs whose reduction (raw - mutated) for ``region_set`` exceeds ``threshold`` (default: the mean reduction
    over ``pairset``). ``info`` of the result records the region, the threshold and the counts."""
    eff = region_effects(model, pairset, [region_set], to=to, engine=engine, batch_size=batch_size,
                         progress=progress)
    name = eff.table["region_set"].iloc[0]
    reduction = eff.raw.astype(np.float64) - eff.mutated[name]
    cut = float(reduction.mean()) if threshold is None else float(threshold)
    keep = reduction > cut
    return pairset.subset(keep, info={"extracted": name, "extracted_threshold": cut,
                                      "extracted_from": len(pairset), "extracted_n": int(keep.sum())})


def resolve_subset(model, pairset: PairSet, spec: str | SubsetSpec, *, to: str = "N", engine: str = DEFAULT_ENGINE,
                   batch_size: int = DEFAULT_BATCH, progress=None) -> PairSet:
    """Apply a subset spec (see :func:`parse_subset`)."""
    spec = parse_subset(spec) if isinstance(spec, str) else spec
    chosen = select_label(pairset, spec.base)
    if spec.extracted is None:
        return chosen
    return extracted_subset(model, chosen, spec.extracted, to=to, threshold=spec.threshold, engine=engine,
                            batch_size=batch_size, progress=progress)
