"""Beyond the paper, in a reproduce run: the stage ``<ds>.beyond`` of every data set (tables only; the report
draws them in its own, separate section).

* ``beyond_compensation`` -- the compensatory-pairing test (:mod:`mirlens.explain.attribution.compensate`) of the run's
  model on the data set's positives (their duplexes come from the ``<ds>.energies`` stage), L1-L22;
* ``beyond_attribution`` -- Integrated Gradients and DeepLIFT-SHAP against the all-N reference on a seeded sample
  of the positives: per (method, pair) the completeness remainder, the steps / references used, Spearman's rho
  with the 1-nt N-scan and the disagreement measures (:mod:`mirlens.explain.attribution.disagreement`);
* ``beyond_disagreement`` -- the mean rho per bin of those measures;
* ``beyond_summary`` -- one row: the numbers the report's stated finding is made of (:func:`finding_text`).

``--quick`` keeps it cheap: attributions on :data:`QUICK_ATTR_PAIRS` pairs with :data:`QUICK_STEPS` IG steps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mirlens.explain.attribution.attribute import agreement, integrated_gradients, n_scan_drops
from mirlens.explain.attribution.compensate import compensation
from mirlens.explain.attribution.deeplift import deeplift_shap
from mirlens.explain.attribution.disagreement import disagreement_table, pair_measures

BEYOND_VERSION = 1
QUICK_ATTR_PAIRS = 12
FULL_ATTR_PAIRS = 100
QUICK_STEPS = 32
FULL_STEPS = 256
SEED_POSITIONS = tuple(range(2, 9))
PAIRING_RECOVERY = 0.5
"""A position counts as read as *pairing* when swapping its pair recovers at least half of both single mutants'
losses (recovery >= 0.5 on the miRNA and on the target side)."""


def beyond_params(s) -> dict:
    """What the stage's cache key depends on besides the model and pairs."""
    return {"beyond": BEYOND_VERSION, "attr_pairs": QUICK_ATTR_PAIRS if s.quick else FULL_ATTR_PAIRS,
            "steps": QUICK_STEPS if s.quick else FULL_STEPS, "boot": s.boot, "seed": s.seed}


def compute_beyond(model, model_name: str, positives, duplexes: pd.DataFrame, s, dataset: str
                   ) -> dict[str, pd.DataFrame]:
    """The stage's tables (see the module doc). ``duplexes``: the positives' duplex rows, with ``pair_index``."""
    p = beyond_params(s)
    dpos = duplexes.set_index("pair_index").loc[positives.pairs["pair_index"]].reset_index()
    comp = compensation(model, positives, dpos, n_boot=s.boot, seed=s.seed, batch_size=s.batch_size)
    tag = {"dataset": dataset, "model": model_name}
    sub = positives.sample(min(p["attr_pairs"], len(positives)), s.seed)
    dsub = dpos.set_index("pair_index").loc[sub.pairs["pair_index"]].reset_index()
    results = {"ig": integrated_gradients(model, sub, steps=p["steps"]), "deeplift-shap": deeplift_shap(model, sub)}
    drops = n_scan_drops(model, sub)
    rho = {name: agreement(a, drops) for name, a in results.items()}
    measures = pair_measures(results["ig"].pairs, drops, dsub)
    per_pair = pd.concat([a.pairs.merge(rho[name], on="pair").merge(measures.drop(columns="logit"), on="pair")
                          .assign(method=name) for name, a in results.items()], ignore_index=True)
    dis = disagreement_table(measures, rho)
    tables = {"beyond_compensation": comp.table.assign(**tag), "beyond_attribution": per_pair.assign(**tag),
              "beyond_disagreement": dis.assign(**tag)}
    tables["beyond_summary"] = summary_row(comp.table, per_pair, p["steps"]).assign(**tag)
    return tables


def pairing_positions(comp: pd.DataFrame) -> list[str]:
    """miRNA positions whose swapped pair recovers >= :data:`PAIRING_RECOVERY` on both sides."""
    ok = (comp["recovery_mirna"] >= PAIRING_RECOVERY) & (comp["recovery_target"] >= PAIRING_RECOVERY)
    return comp.loc[ok, "position"].tolist()


def summary_row(comp: pd.DataFrame, per_pair: pd.DataFrame, steps: int) -> pd.DataFrame:
    seed = comp[comp["position"].isin([f"L{p}" for p in SEED_POSITIONS])]
    beyond_seed = comp[comp["position"].str[1:].astype(int).between(9, 18)]
    row = {"seed_recovery_mirna": seed["recovery_mirna"].mean(), "seed_recovery_target": seed["recovery_target"].mean(),
           "pairing_positions": ",".join(pairing_positions(comp)) or "none",
           "l9_18_drop_mirna": beyond_seed["drop_mirna"].mean(), "l9_18_drop_target": beyond_seed["drop_target"].mean(),
           "ig_steps": steps, "attr_pairs": int(per_pair["pair"].nunique())}
    for name, key in (("ig", "ig"), ("deeplift-shap", "deeplift")):
        g = per_pair[per_pair["method"] == name]
        row[f"{key}_rho_mean"] = g["spearman"].mean()
        row[f"{key}_delta_median"] = g["delta"].abs().median()
        row[f"{key}_delta_max"] = g["delta"].abs().max()
    return pd.DataFrame([row])


def finding_text(row: dict) -> str:
    """The stated finding of one data set's summary row."""
    def f(x) -> str:
        return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.2f}"

    pos = row["pairing_positions"]
    reads = (f"reads positions {pos} as pairing (the swapped pair restores >= {PAIRING_RECOVERY:g} of the loss on "
             "both sides)" if pos != "none" else "reads no position as pairing: swapping a pair never restores "
             "half of what breaking it costs")
    return (f"{row['model']} {reads}; seed L2-L8 recovery {f(row['seed_recovery_mirna'])} (miRNA side) / "
            f"{f(row['seed_recovery_target'])} (target side) (1 = pairing, <= 0 = sequence motifs); beyond the seed "
            f"(L9-L18) changing a miRNA nucleotide costs {f(row['l9_18_drop_mirna'])} logit and changing its partner "
            f"{f(row['l9_18_drop_target'])}. Attributions on {row['attr_pairs']} positives: mean Spearman with the "
            f"1-nt N-scan {f(row['ig_rho_mean'])} (IG, {row['ig_steps']} steps; completeness remainder median "
            f"{row['ig_delta_median']:.2g}, max {row['ig_delta_max']:.2g}) and {f(row['deeplift_rho_mean'])} "
            f"(DeepLIFT-SHAP; remainder max {row['deeplift_delta_max']:.2g}).")
