"""Independent vs joint effects of named regions (paper Fig. 6).

Every single region and every pair of regions is mutated (to N by default). For each, the reduction in mean
probability (raw - mutated) with a bootstrap confidence interval over pairs; for each pair of regions, the sum of
the two single reductions and the *interaction* = joint reduction - (reduction A + reduction B), computed per pair
and bootstrapped (positive: mutating both costs more than the two alone added up, as the paper reports for
L4-4 + L13-4). Bootstrap: ``n_boot`` resamples of pairs with replacement, ``np.random.default_rng(seed)``,
percentile intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from mirlens.errors import InputError
from mirlens.explain.mutagenesis.engine import DEFAULT_BATCH, DEFAULT_ENGINE
from mirlens.explain.pairset import PairSet
from mirlens.explain.mutagenesis.regions import RegionEffects, parse_region_sets, region_effects, with_joint
from mirlens.explain.stats import bootstrap_means, percentile_ci


@dataclass
class JointEffects:
    table: pd.DataFrame
    effects: RegionEffects


def joint_effects(
    model,
    pairset: PairSet,
    regions: str | Sequence[str],
    *,
    to: str = "N",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    engine: str = DEFAULT_ENGINE,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
    raw: np.ndarray | None = None,
) -> JointEffects:
    """Singles and all pairs of ``regions`` (each may itself be a ``+`` set); see the module doc."""
    singles = parse_region_sets(regions)
    if len(singles) < 2:
        raise InputError("joint effects need at least two regions")
    if n_boot < 1 or not 0 < level < 1:
        raise InputError("need n_boot >= 1 and 0 < level < 1")
    sets = with_joint(singles)
    eff = region_effects(model, pairset, sets, to=to, engine=engine, batch_size=batch_size, progress=progress,
                         raw=raw)
    raw64 = eff.raw.astype(np.float64)
    red = {name: raw64 - prob for name, prob in eff.mutated.items()}
    pairs = list(combinations(singles, 2))
    columns = [red[s.name] for s in sets]
    columns += [red[f"{a.name}+{b.name}"] - red[a.name] - red[b.name] for a, b in pairs]
    values = np.column_stack(columns)
    boot = bootstrap_means(values, n_boot, seed)
    lo, hi = percentile_ci(boot, level)
    means = values.mean(axis=0)
    by_name = eff.table.set_index("region_set")
    rows = []
    for i, s in enumerate(sets):
        t = by_name.loc[s.name]
        row = {"region_set": s.name, "kind": "single" if i < len(singles) else "joint",
               "members": s.name if i < len(singles) else "|".join(x.name for x in pairs[i - len(singles)]),
               "n": int(t["n"]), "raw_mean": t["raw_mean"], "mutated_mean": t["mutated_mean"],
               "mutated_se": t["mutated_se"], "reduction": means[i], "reduction_lo": lo[i], "reduction_hi": hi[i],
               "mwu_p": t["mwu_p"], "p_bonferroni": t["p_bonferroni"],
               "sum_of_singles": np.nan, "interaction": np.nan, "interaction_lo": np.nan, "interaction_hi": np.nan}
        if i >= len(singles):
            j = i - len(singles)
            a, b = pairs[j]
            k = len(sets) + j
            row.update({"sum_of_singles": means[sets.index(a)] + means[sets.index(b)], "interaction": means[k],
                        "interaction_lo": lo[k], "interaction_hi": hi[k]})
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs.update({"kind": "joint", "n_boot": n_boot, "seed": seed, "level": level})
    return JointEffects(table, eff)
