"""The reproduce report's "Beyond the paper" section: drawn from the ``<ds>.beyond`` stage's tables and its stated
findings (:mod:`mirlens.reproduce.beyond` computes both), kept apart from the paper's findings (no verdicts: the
paper has no such claim to check)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mirlens.report import figures as F
from mirlens.report.html_table import esc as _e
from mirlens.report.html_table import html_table

SECTION_ID = "beyond"


def plot_attribution_agreement(per_pair: pd.DataFrame, base: str | Path, *, title: str | None = None) -> list[Path]:
    """Per pair: Spearman's rho of IG and DeepLIFT-SHAP with the 1-nt N-scan (histograms), and rho against the
    pair's ``single_share`` (sum of N-scan drops / (logit - all-N logit); low = saturated)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    colors = {"ig": "#1f77b4", "deeplift-shap": "#d62728"}
    bins = np.linspace(-1, 1, 21)
    for name, g in per_pair.groupby("method", sort=False):
        c = colors.get(name, "grey")
        rho = g["spearman"].dropna()
        axes[0].hist(rho, bins=bins, alpha=0.5, color=c, label=f"{name} (mean {rho.mean():.2f})")
        axes[1].plot(g["single_share"], g["spearman"], "o", ms=3, alpha=0.6, color=c, label=name)
    axes[0].set_xlabel("Spearman's rho with the 1-nt N-scan (per pair)")
    axes[0].set_ylabel("pairs")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("sum of N-scan drops / (logit - all-N logit)")
    axes[1].set_ylabel("rho")
    axes[1].axvline(1, color="grey", lw=0.6)
    axes[1].legend(fontsize=7)
    fig.suptitle(title or "attributions vs the N-scan", fontsize=9)
    fig.tight_layout()
    return F.save_figure(fig, base)


def beyond_section(results, fig, titles: dict[str, str], findings: dict[str, str]) -> str:
    """HTML of the section (``fig``: the report's figure drawer; ``titles``: data set -> title; ``findings``: data
    set -> the stated finding of its beyond stage)."""
    parts = [f"<section id='{SECTION_ID}'><h2>Beyond the paper (not claims of the paper)</h2>"
             "<p class='meta'>Two questions the paper's N-mutagenesis cannot answer, on this run's models and "
             "positives. <b>Compensatory pairing</b>: for every miRNA position Lp paired (Watson-Crick) with LTq in "
             "the pair's duplex, Lp alone, LTq alone and both are changed to their complements; the double mutant "
             "restores the pair with its partners swapped. Recovery = 1 - mean(wt - double) / mean(wt - single) on "
             "logits: 1 = the model reads pairing, &lt;= 0 = it reads the sequences as motifs (empty where breaking "
             "the pair costs &lt; 0.5 logit). <b>Attributions</b>: Integrated Gradients and DeepLIFT-SHAP (Captum) "
             "against the all-N reference, compared per pair with the 1-nt N-scan (Spearman's rho); the "
             "disagreement table bins the pairs by saturation (sum of N-scan drops / (logit - all-N logit)), "
             "logit and seed pairs.</p>"]
    for ds, r in results.datasets.items():
        if "beyond_summary" not in r.tables:
            continue
        name = titles.get(ds, ds)
        comp = r.tables["beyond_compensation"]
        body = fig.draw(F.plot_compensation, comp, f"beyond_compensation_{ds}",
                        f"{name}: compensatory pairing, {r.model_name}",
                        title=f"{name} positives, {r.model_name}: compensatory pairing (1 = pairing, <= 0 = motifs)")
        body += fig.draw(plot_attribution_agreement, r.tables["beyond_attribution"], f"beyond_attribution_{ds}",
                         f"{name}: IG and DeepLIFT-SHAP vs the 1-nt N-scan, {r.model_name}",
                         title=f"{name}, {r.model_name}: attributions vs the N-scan")
        ccols = ["position", "n", "partner_median", "wt", "drop_mirna", "drop_target", "drop_double",
                 "recovery_mirna", "recovery_mirna_low", "recovery_mirna_high", "recovery_target",
                 "recovery_target_low", "recovery_target_high"]
        parts.append(f"<h3>{_e(name)} — {_e(r.model_name)}</h3><p><b>Finding.</b> {_e(findings.get(ds, ''))}</p>"
                     f"<div class='pair'>{body}</div><h3>Compensation per position</h3>"
                     + html_table(comp, columns=ccols, nd=3)
                     + "<h3>Where the attributions and the N-scan disagree (mean rho per bin)</h3>"
                     + html_table(r.tables["beyond_disagreement"].drop(columns=["dataset", "model"]), nd=3))
    parts.append("</section>")
    return "".join(parts)
