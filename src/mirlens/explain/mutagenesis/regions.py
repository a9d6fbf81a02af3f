"""Region mutagenesis (paper Fig. 1, Supp. Fig. 1, Fig. 6): set one or more regions of every pair to N (or a base).

A *region set* is one or several regions mutated together, written ``L2-6``, ``seed``, ``seed+L13-4`` or
``L10-4+LT7-5``. Positions a pair does not have (L23 of a 22-nt miRNA) are left alone for that pair.

The result table has one row per region set: ``n``, mean raw probability, mean mutated probability, their
standard errors, the mean change (mutated - raw, negative = the model is less sure of a target), the reduction
(raw - mutated, the paper's "alteration"), a two-sided Mann-Whitney U test raw vs mutated and its Bonferroni
adjustment over the tested region sets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from mirlens.data.alphabet import TOKENS
from mirlens.data.coordinates import Region, parse_region
from mirlens.errors import InputError
from mirlens.explain.mutagenesis.engine import DEFAULT_BATCH, DEFAULT_ENGINE, mutated_probabilities, score_tokens
from mirlens.explain.mutagenesis.mutants import base_token, region_mutants
from mirlens.explain.pairset import PairSet
from mirlens.explain.stats import bonferroni, mann_whitney, se

REGION_ALIASES = {"seed": "L2-6"}
"""Names accepted in place of a region: the seed is miRNA nucleotides 2..7 (6 nt from L2), as in the paper."""


@dataclass(frozen=True)
class RegionSet:
    """Regions mutated together, with the name used in tables (``seed``, ``L13-4``, ``seed+L13-4``)."""

    name: str
    regions: tuple[Region, ...]

    @property
    def canonical(self) -> str:
        return "+".join(str(r) for r in self.regions)

    @property
    def size(self) -> int:
        return len(self.regions)


def parse_region_set(text: str | RegionSet) -> RegionSet:
    """Parse ``seed``, ``L13-4``, ``seed+L13-4``, ``L2..L7+LT7-5`` ..."""
    if isinstance(text, RegionSet):
        return text
    parts = [p.strip() for p in str(text).split("+")]
    if not parts or any(not p for p in parts):
        raise InputError(f"cannot read region set {text!r}: write regions joined by '+', e.g. seed+L13-4")
    regions = tuple(parse_region(REGION_ALIASES.get(p.lower(), p)) for p in parts)
    names = [p.lower() if p.lower() in REGION_ALIASES else str(parse_region(p)) for p in parts]
    return RegionSet("+".join(names), regions)


def parse_region_sets(items: str | Sequence[str | RegionSet]) -> list[RegionSet]:
    """Parse a comma-separated string or a sequence of region sets; duplicates are dropped (first kept)."""
    if isinstance(items, str):
        items = [s for s in items.split(",") if s.strip()]
    out: list[RegionSet] = []
    for item in items:
        rs = parse_region_set(item)
        if rs.name not in {r.name for r in out}:
            out.append(rs)
    if not out:
        raise InputError("no region given")
    return out


def with_joint(region_sets: Sequence[RegionSet]) -> list[RegionSet]:
    """The given single region sets followed by every pair of them mutated jointly."""
    singles = list(region_sets)
    pairs = [RegionSet(f"{a.name}+{b.name}", a.regions + b.regions) for a, b in combinations(singles, 2)]
    return singles + pairs


@dataclass
class RegionEffects:
    """``table``: one row per region set; ``per_pair``: raw and mutated probability per (pair, region set);
    ``raw``: raw probabilities (n,); ``mutated``: {region set name: (n,) probabilities}."""

    table: pd.DataFrame
    per_pair: pd.DataFrame
    raw: np.ndarray
    mutated: dict[str, np.ndarray]


def region_effects(
    model,
    pairset: PairSet,
    region_sets: str | Sequence[str | RegionSet],
    *,
    to: str | int = "N",
    engine: str = DEFAULT_ENGINE,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
    raw: np.ndarray | None = None,
    alpha: float = 0.05,
) -> RegionEffects:
    """Mutate each region set of every pair to ``to`` and compare with the raw probabilities."""
    sets = parse_region_sets(region_sets)
    if len(pairset) == 0:
        raise InputError("no pairs to mutate (the chosen subset is empty)")
    base = base_token(to)
    if raw is None:
        raw = score_tokens(model, pairset.tokens, batch_size=batch_size, progress=progress)
    raw = np.asarray(raw, dtype=np.float32)
    mutated: dict[str, np.ndarray] = {}
    rows = []
    for rs in sets:
        mutants = region_mutants(rs.regions, pairset.mirna_lens, pairset.target_lens, pairset.width, base)
        prob = mutated_probabilities(model, pairset.tokens, mutants, engine=engine, batch_size=batch_size,
                                     progress=progress)
        mutated[rs.name] = prob
        change = prob.astype(np.float64) - raw
        u, p = mann_whitney(raw, prob)
        rows.append({
            "region_set": rs.name, "regions": rs.canonical, "to": TOKENS[base], "n": len(raw),
            "n_affected": int((mutants.n_mutated() > 0).sum()),
            "raw_mean": float(raw.mean(dtype=np.float64)), "raw_se": se(raw),
            "mutated_mean": float(prob.mean(dtype=np.float64)), "mutated_se": se(prob),
            "change_mean": float(change.mean()), "change_se": se(change),
            "reduction": float(raw.mean(dtype=np.float64) - prob.mean(dtype=np.float64)),
            "mwu_u": u, "mwu_p": p,
        })
    table = pd.DataFrame(rows)
    table["p_bonferroni"] = bonferroni(table["mwu_p"].to_numpy())
    table["significant"] = table["p_bonferroni"] < alpha
    ids = pairset.pairs
    per_pair = pd.concat([
        pd.DataFrame({
            "pair": np.arange(len(raw)),
            "mirna_id": ids["mirna_id"].to_numpy() if "mirna_id" in ids else "",
            "target_id": ids["target_id"].to_numpy() if "target_id" in ids else "",
            "label": pairset.labels,
            "region_set": name, "raw": raw, "mutated": prob, "change": prob - raw,
        }) for name, prob in mutated.items()
    ], ignore_index=True)
    table.attrs["kind"] = "regions"
    return RegionEffects(table, per_pair, raw, mutated)
