"""The analyses beyond the paper: ``mirlens explain compensate`` (the compensatory-pairing test: does the model read
pairing or motifs?), ``explain attribute`` (Integrated Gradients per nucleotide) and ``explain saturate``
(saturation mutagenesis with sequence logos)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mirlens.cli.common import console, print_plain, progress_bar, reports_errors
from mirlens.cli.duplex import BackendOpt, CacheOpt, JobsOpt, NoCacheOpt, duplex_table
from mirlens.cli.explain import explain_app
from mirlens.cli.explain.common import (BatchOpt, DataDirOpt, DataOpt, ModelOpt, PartOpt, PlotOpt, PresetOpt,
                                        SampleOpt, SampleSeedOpt, SubsetOpt, inputs, plot_figure)
from mirlens.data.coordinates import MIRNA, parse_region
from mirlens.errors import InputError
from mirlens.explain.attribution.attribute import DEFAULT_MAX_STEPS, DEFAULT_STEPS
from mirlens.explain.attribution.compensate import compensation
from mirlens.explain.attribution.deeplift import DEFAULT_REFERENCES
from mirlens.explain.mutagenesis.engine import DEFAULT_BATCH
from mirlens.tables import write_table


@explain_app.command("compensate")
@reports_errors
def compensate_cmd(
    preset: PresetOpt = None, model: ModelOpt = None, data: DataOpt = None, part: PartOpt = None,
    subset: SubsetOpt = None, data_dir: DataDirOpt = None, sample: SampleOpt = None, sample_seed: SampleSeedOpt = 0,
    positions: Annotated[str, typer.Option("--positions", help="miRNA positions to test, e.g. L1-22 (22 nt from "
                                           "L1) or L2..L8.")] = "L1-22",
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples of the pairs for the CIs.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    energy_backend: BackendOpt = "miranda", cache_dir: CacheOpt = None, no_cache: NoCacheOpt = False,
    jobs: JobsOpt = 1, batch_size: BatchOpt = DEFAULT_BATCH,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Result table, one row per miRNA position "
                                             "(.tsv/.csv/.parquet; default stdout).")] = None,
    per_pair: Annotated[Path | None, typer.Option("--per-pair", help="Also write every tested (pair, position): "
                                                  "partner, pair type and the four logits.")] = None,
    plot: PlotOpt = None,
) -> None:
    """For every miRNA position paired (Watson-Crick) in the pair's duplex: break the pair on the miRNA side, on the
    target side, and swap it (both sides: A:U -> U:A, G:C -> C:G). A model that reads pairing scores the swapped
    pair like the original (recovery 1); one that reads sequence motifs does not (recovery <= 0). Recovery =
    1 - mean(wt - double) / mean(wt - single), on logits, with bootstrap CIs over pairs."""
    region = parse_region(positions)
    if region.side != MIRNA:
        raise InputError(f"--positions must be miRNA positions (L...), got {positions!r}")
    if n_boot < 1 or not 0 < level < 1:
        raise InputError("--n-boot must be >= 1 and --level in (0, 1)")
    inp = inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, "N", "full", batch_size)
    duplexes = duplex_table(inp.pairs.pairs, energy_backend, cache_dir, no_cache, jobs)
    with progress_bar("compensatory mutants", None) as advance:
        result = compensation(inp.model, inp.pairs, duplexes, positions=list(region.positions), n_boot=n_boot,
                              seed=seed, level=level, batch_size=batch_size, progress=advance)
    table = result.table.assign(model=inp.model_name, energy_backend=energy_backend)
    if out is None:
        typer.echo(table.to_csv(sep="\t", index=False, float_format="%.4g"), nl=False)
    else:
        write_table(table, out)
        print_plain(f"-> {out}")
    if per_pair is not None:
        write_table(result.per_pair.assign(model=inp.model_name), per_pair)
    plot_figure(table, plot, "compensation")


METHODS = ("ig", "deeplift-shap", "both")


@explain_app.command("attribute")
@reports_errors
def attribute_cmd(
    preset: PresetOpt = None, model: ModelOpt = None, data: DataOpt = None, part: PartOpt = None,
    subset: SubsetOpt = None, data_dir: DataDirOpt = None, sample: SampleOpt = None, sample_seed: SampleSeedOpt = 0,
    method: Annotated[str, typer.Option("--method", help="ig (Integrated Gradients), deeplift-shap, or both.")]
    = "ig",
    reference: Annotated[str, typer.Option("--reference", help="N (every nucleotide N) or shuffle (the target "
                                           "dinucleotide-shuffled, the miRNA kept).")] = "N",
    steps: Annotated[int, typer.Option("--steps", help="Integration steps (Gauss-Legendre) per pair; with "
                                       "--tolerance, the starting steps (segments of 8 nodes).")] = DEFAULT_STEPS,
    tolerance: Annotated[float | None, typer.Option("--tolerance", help="Adaptive steps per pair: halve the path "
                                                    "segments whose completeness remainder is too large until the "
                                                    "pair's |delta| is bounded by this (or --max-steps is reached)."
                                                    )] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", help="With --tolerance: the most gradient evaluations "
                                           "per pair.")] = DEFAULT_MAX_STEPS,
    references: Annotated[int, typer.Option("--references", help="DeepLIFT-SHAP with --reference shuffle: shuffled "
                                            "targets per pair (seeds SEED, SEED+1...).")] = DEFAULT_REFERENCES,
    seed: Annotated[int, typer.Option(help="Seed of the shuffled reference.")] = 0,
    energy_backend: BackendOpt = "miranda", cache_dir: CacheOpt = None, no_cache: NoCacheOpt = False,
    jobs: JobsOpt = 1,
    out: Annotated[Path, typer.Option("--out", "-o", help="Attributions, one row per (method, pair, position): "
                                      "pair, side, position, nucleotide, attribution (.parquet/.tsv).")]
    = Path("attributions.parquet"),
    pairs_out: Annotated[Path | None, typer.Option("--pairs-out", help="Per (method, pair): logit, reference logit, "
                                                   "sum of attributions, completeness delta, steps, Spearman's rho "
                                                   "with the 1-nt N-scan and the disagreement measures (default: "
                                                   "OUT's stem + '.pairs.tsv').")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Pairs per Captum call (x steps evaluations).")]
    = 16,
) -> None:
    """Integrated Gradients and/or DeepLIFT-SHAP (Captum) of every pair's logit, per nucleotide in biological
    coordinates (L1.. from the miRNA's 5' end, LT1.. from the target's 3' end), with each pair's completeness check
    (the attributions add up to logit - reference logit: for IG the remainder shrinks with --steps or is bounded by
    --tolerance; DeepLIFT-SHAP's holds to rounding), its agreement with the 1-nt N-scan, and (reference N) why they
    disagree: the mean rho by the pair's saturation, logit and seed pairs (OUT's stem + '.disagreement.tsv')."""
    from mirlens.explain.attribution.attribute import REFERENCES, agreement, integrated_gradients, n_scan_drops
    from mirlens.explain.attribution.deeplift import deeplift_shap
    from mirlens.explain.attribution.disagreement import disagreement_table, pair_measures

    if reference not in REFERENCES:
        raise InputError(f"--reference must be one of {', '.join(REFERENCES)} (got {reference!r})")
    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)} (got {method!r})")
    inp = inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, "N", "full", DEFAULT_BATCH)
    if not hasattr(inp.model, "forward_onehot"):
        raise InputError(f"model {inp.model_name!r} has no differentiable one-hot input (forward_onehot)")
    results = {}
    if method in ("ig", "both"):
        label = f"{steps} steps" if tolerance is None else f"adaptive, tolerance {tolerance:g}, <= {max_steps} steps"
        with progress_bar(f"integrated gradients ({label})", len(inp.pairs)) as advance:
            results["ig"] = integrated_gradients(inp.model, inp.pairs, reference=reference, steps=steps, seed=seed,
                                                 tolerance=tolerance, max_steps=max_steps, batch_size=batch_size,
                                                 progress=advance)
    if method in ("deeplift-shap", "both"):
        with progress_bar("DeepLIFT-SHAP", len(inp.pairs)) as advance:
            results["deeplift-shap"] = deeplift_shap(inp.model, inp.pairs, reference=reference,
                                                     n_references=references, seed=seed, progress=advance)
    ids = inp.pairs.pairs[[c for c in ("mirna_id", "target_id") if c in inp.pairs.pairs]]
    drops = n_scan_drops(inp.model, inp.pairs) if reference == "N" else None
    rho = {name: agreement(a, drops) for name, a in results.items()} if drops is not None else {}
    measures = None
    if drops is not None:
        duplexes = duplex_table(inp.pairs.pairs, energy_backend, cache_dir, no_cache, jobs)
        measures = pair_measures(next(iter(results.values())).pairs, drops, duplexes)
    positions, summaries = [], []
    for name, a in results.items():
        positions.append(a.positions.join(ids, on="pair").assign(method=name))
        summary = a.pairs.join(ids, on="pair").assign(method=name)
        if name in rho:
            summary = summary.merge(rho[name], on="pair", how="left")
            summary = summary.merge(measures.drop(columns="logit"), on="pair", how="left")
        summaries.append(summary)
    meta = dict(model=inp.model_name, reference=reference)
    write_table(pd.concat(positions, ignore_index=True).assign(**meta), out)
    pairs_out = pairs_out or out.with_name(out.stem + ".pairs.tsv")
    summary = pd.concat(summaries, ignore_index=True).assign(**meta)
    write_table(summary, pairs_out)
    for name, a in results.items():
        s = summary[summary["method"] == name]
        delta = s["delta"].abs()
        tol = tolerance if (name == "ig" and tolerance) else 1e-3
        used = s["steps"]
        if name == "ig":
            how = (f"{steps} steps" if tolerance is None else
                   f"{int(used.median())} steps per pair median, {int(used.max())} max (cap {max_steps})")
        else:
            how = f"{int(used.iloc[0])} reference(s), one backward pass each"
        line = (f"{name}: completeness |attribution sum - (logit - reference logit)| median {delta.median():.2e}, "
                f"max {delta.max():.2e} ({(delta <= tol).mean():.1%} of pairs within {tol:g}) with {how}")
        if name in rho:
            r = rho[name]["spearman"]
            line += f"; Spearman with the 1-nt N-scan: mean {r.mean():.3f}, median {r.median():.3f}"
        print_plain(line, highlight=False, soft_wrap=True)
    if measures is not None:
        table = disagreement_table(measures, rho).assign(**meta)
        dis_out = out.with_name(out.stem + ".disagreement.tsv")
        write_table(table, dis_out)
        _print_disagreement(table, list(rho))
        print_plain(f"-> {out}, {pairs_out}, {dis_out}")
    else:
        print_plain(f"-> {out}, {pairs_out}")


def _print_disagreement(table: pd.DataFrame, methods: list[str]) -> None:
    from rich.table import Table

    t = Table(title="Where attributions and the 1-nt N-scan disagree: mean Spearman's rho per bin "
                    "(single_share = sum of N-scan drops / (logit - all-N logit): low = saturated)")
    for col in ("measure", "bin", "n", *(f"rho {m}" for m in methods)):
        t.add_column(col, justify="right" if col not in ("measure", "bin") else "left")
    for r in table.to_dict("records"):
        t.add_row(r["measure"], r["bin"], str(r["n"]), *(f"{r[f'rho_{m}']:.3f}" for m in methods))
    console.print(t)


@explain_app.command("saturate")
@reports_errors
def saturate_cmd(
    preset: PresetOpt = None, model: ModelOpt = None, data: DataOpt = None, part: PartOpt = None,
    subset: SubsetOpt = None, data_dir: DataDirOpt = None, sample: SampleOpt = None, sample_seed: SampleSeedOpt = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Every single mutant: pair, side, position, nucleotide, "
                                      "to, delta (logit change) (.parquet/.tsv).")] = Path("saturation.parquet"),
    logo_positions: Annotated[int, typer.Option("--logo-positions", help="Positions per side in the logo "
                                                "matrices and figure.")] = 22,
    batch_size: BatchOpt = DEFAULT_BATCH,
    plot: PlotOpt = None,
) -> None:
    """Saturation mutagenesis: every nucleotide of every pair changed to each other letter, the logit change of
    each, and sequence logos of the importance per position (miRNA side L1.., target side LT1..): OUT, OUT's stem +
    '.mirna_logo.tsv' / '.target_logo.tsv', and with --plot the logo figure."""
    from mirlens.explain.attribution.saturation import importance, saturation

    inp = inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, "N", "full", batch_size)
    with progress_bar("single mutants", None) as advance:
        sat = saturation(inp.model, inp.pairs, batch_size=batch_size, progress=advance)
    write_table(sat.assign(model=inp.model_name), out)
    logos = {side: importance(sat, side, logo_positions) for side in ("mirna", "target")}
    for side, matrix in logos.items():
        write_table(matrix.reset_index(), out.with_name(f"{out.stem}.{side}_logo.tsv"))
    print_plain(f"{len(sat):,} single mutants of {len(inp.pairs):,} pairs -> {out} (+ logo matrices)")
    if plot is not None:
        from mirlens.report.figures import plot_saturation_logos

        paths = plot_saturation_logos(logos["mirna"], logos["target"], Path(plot) / "saturation",
                                      title=f"{inp.model_name}: saturation mutagenesis, {len(inp.pairs):,} pairs")
        print_plain("figures: " + ", ".join(str(p) for p in paths))
