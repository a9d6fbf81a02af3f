"""``mirlens explain regions|scan|impact|features|joint`` (in-silico mutagenesis) and ``mirlens plot``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mirlens.cli.app import app
from mirlens.cli.common import ClusterOpt, cluster_spec, console, print_plain, progress_bar, reports_errors
from mirlens.cli.explain import explain_app
from mirlens.cli.explain.common import (
    BatchOpt,
    DataDirOpt,
    DataOpt,
    EngineOpt,
    Inputs,
    ModelOpt,
    PartOpt,
    PlotOpt,
    PresetOpt,
    RegionOpt,
    SampleOpt,
    SampleSeedOpt,
    SubsetOpt,
    ToOpt,
    emit,
    inputs,
    plot_figure,
)
from mirlens.errors import InputError
from mirlens.explain import (accumulative_impact, call_features, get_preset, joint_effects, region_effects, run_scan,
                             with_joint)
from mirlens.explain.mutagenesis.engine import DEFAULT_BATCH, DEFAULT_ENGINE
from mirlens.explain.mutagenesis.regions import parse_region_sets
from mirlens.explain.mutagenesis.scan import DEFAULT_CHUNK_PAIRS, parse_ks, parse_sides
from mirlens.tables import read_table, write_table


@explain_app.command("regions")
@reports_errors
def regions_cmd(
    preset: PresetOpt = None, model: ModelOpt = None, data: DataOpt = None, part: PartOpt = None,
    subset: SubsetOpt = None, data_dir: DataDirOpt = None, sample: SampleOpt = None, sample_seed: SampleSeedOpt = 0,
    region: RegionOpt = None,
    joint: Annotated[bool, typer.Option("--joint", help="Also mutate every pair of the given regions together.")]
    = False,
    to: ToOpt = "N", engine: EngineOpt = DEFAULT_ENGINE, batch_size: BatchOpt = DEFAULT_BATCH,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Result table (.tsv/.csv/.parquet; default "
                                             "stdout).")] = None,
    per_pair: Annotated[Path | None, typer.Option("--per-pair", help="Also write raw and mutated probability of "
                                                  "every pair and region set.")] = None,
    plot: PlotOpt = None,
) -> None:
    """Mutate regions of every pair (the seed by default) and compare with the raw probabilities: mean, SE,
    Mann-Whitney U p-value, Bonferroni over the region sets (Fig. 1, Supp. Fig. 1, Fig. 6)."""
    inp = inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, to, engine, batch_size)
    sets = parse_region_sets(region or (list(inp.preset.regions) if inp.preset else ["seed"]))
    if joint:
        sets = with_joint(sets)
    with progress_bar("mutating regions", len(inp.pairs) * (len(sets) + 1)) as advance:
        eff = region_effects(inp.model, inp.pairs, sets, to=to, engine=engine, batch_size=batch_size,
                             progress=advance)
    emit(eff.table, out)
    if per_pair is not None:
        write_table(eff.per_pair, per_pair)
    plot_figure(eff.table, plot, "regions")


def _scan(inp: Inputs, ks: str | None, side: str, to: str, out_dir: Path | None, chunk_pairs: int, engine: str,
          batch_size: int, overwrite: bool, cluster: str | None = None):
    ks_list = parse_ks(ks if ks else (list(inp.preset.ks) if inp.preset else "1-8"))
    kwargs = dict(ks=ks_list, sides=parse_sides(side), to=to,
                  out_dir=None if out_dir is None else out_dir / "records", chunk_pairs=chunk_pairs, engine=engine,
                  batch_size=batch_size, overwrite=overwrite)
    if cluster:
        from mirlens.cluster.engine import ModelRef, chunk_runner, connect

        ref = ModelRef.of(inp.model_spec, inp.longest_target)
        with connect(cluster, say=print_plain) as client, \
                progress_bar("scanning (forward passes)", None) as advance:
            result = run_scan(inp.model, inp.pairs, progress=advance, set_total=advance.set_total,
                              runner=chunk_runner(client, ref), **kwargs)
    else:
        with progress_bar("scanning (forward passes)", None) as advance:
            result = run_scan(inp.model, inp.pairs, progress=advance, set_total=advance.set_total, **kwargs)
    if result.passes:
        console.print(f"{result.passes:,} forward passes in {result.seconds:.1f} s "
                      f"({result.passes_per_second:,.0f} passes/s)")
    if out_dir is not None:
        write_table(result.summary, out_dir / "summary.tsv")
        print_plain(f"per-pair records: {out_dir / 'records'}; summary -> {out_dir / 'summary.tsv'}")
    return result


KOpt = Annotated[str | None, typer.Option("--k", help="Window sizes, e.g. 1-8 or 1,3,5 (preset: 1-6 / 1-8).")]
SideOpt = Annotated[str, typer.Option("--side", help="mirna, target or both.")]
ChunkOpt = Annotated[int, typer.Option("--chunk-pairs", help="Pairs per stored chunk (the unit of resuming).")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace results of a different job in the "
                                            "output directory.")]


@explain_app.command("scan")
@reports_errors
def scan_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory: records/ (per-pair chunked "
                                      "Parquet, resumable) and summary.tsv.")],
    preset: PresetOpt = None, model: ModelOpt = None, data: DataOpt = None, part: PartOpt = None,
    subset: SubsetOpt = None, data_dir: DataDirOpt = None, sample: SampleOpt = None, sample_seed: SampleSeedOpt = 0,
    k: KOpt = None, side: SideOpt = "both", to: ToOpt = "N", engine: EngineOpt = DEFAULT_ENGINE,
    batch_size: BatchOpt = DEFAULT_BATCH, chunk_pairs: ChunkOpt = DEFAULT_CHUNK_PAIRS,
    overwrite: OverwriteOpt = False, plot: PlotOpt = None, cluster: ClusterOpt = None,
) -> None:
    """Sliding k-nt mutation scan over miRNA and target, recorded at each window's stop position (Fig. 2, 4).
    Interrupt at will: running the same command again continues with the unfinished chunks. With --cluster the
    chunks run on a Dask cluster (OUT must be a directory the workers can write)."""
    inp = inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, to, engine, batch_size)
    result = _scan(inp, k, side, to, out, chunk_pairs, engine, batch_size, overwrite, cluster_spec(cluster))
    plot_figure(result.summary, plot, "scan")


def _summary_of(scan: Path) -> pd.DataFrame:
    path = scan / "summary.tsv" if scan.is_dir() else scan
    if not path.is_file():
        raise InputError(f"{scan}: no scan summary (run `mirlens explain scan --out DIR` first)")
    return read_table(path)


def _impact(scan: Path | None, inp_args: dict) -> tuple[pd.DataFrame, pd.DataFrame, Inputs | None]:
    if scan is not None:
        return (*accumulative_impact(_summary_of(scan)), None)
    inp = inputs(**inp_args["inputs"])
    result = _scan(inp, **inp_args["scan"])
    return (*accumulative_impact(result.summary), inp)


@explain_app.command("impact")
@reports_errors
def impact_cmd(
    scan: Annotated[Path | None, typer.Option("--scan", help="A scan directory or summary table; without it the "
                                              "scan is run (into --scan-dir when given).")] = None,
    scan_dir: Annotated[Path | None, typer.Option("--scan-dir", help="Where to keep the scan run here.")] = None,
    preset: PresetOpt = None, model: ModelOpt = None, data: DataOpt = None, part: PartOpt = None,
    subset: SubsetOpt = None, data_dir: DataDirOpt = None, sample: SampleOpt = None, sample_seed: SampleSeedOpt = 0,
    k: KOpt = None, to: ToOpt = "N", engine: EngineOpt = DEFAULT_ENGINE, batch_size: BatchOpt = DEFAULT_BATCH,
    chunk_pairs: ChunkOpt = DEFAULT_CHUNK_PAIRS, overwrite: OverwriteOpt = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Impact table (default stdout).")] = None,
    contexts: Annotated[Path | None, typer.Option("--contexts", help="Also write left/right/combined context "
                                                  "impacts per position and context size.")] = None,
    plot: PlotOpt = None,
) -> None:
    """Accumulative single-nucleotide impact (paper formulas 1-3; Fig. 3, 5): the mean of the 1-nt effect and
    the mean of left and right context effects for every context size. importance = drop in probability."""
    args = _impact_args(preset, model, data, part, subset, data_dir, sample, sample_seed, k, to, engine,
                        batch_size, chunk_pairs, overwrite, scan_dir)
    impact, ctx, _ = _impact(scan, args)
    emit(impact, out)
    if contexts is not None:
        write_table(ctx, contexts)
    plot_figure(impact, plot, "impact")


def _impact_args(preset, model, data, part, subset, data_dir, sample, sample_seed, k, to, engine, batch_size,
                 chunk_pairs, overwrite, scan_dir) -> dict:
    return {"inputs": dict(preset=preset, model=model, data=data, part=part, subset=subset, data_dir=data_dir,
                           sample=sample, sample_seed=sample_seed, to=to, engine=engine, batch_size=batch_size),
            "scan": dict(ks=k, side="both", to=to, out_dir=scan_dir, chunk_pairs=chunk_pairs, engine=engine,
                         batch_size=batch_size, overwrite=overwrite)}


@explain_app.command("features")
@reports_errors
def features_cmd(
    impact: Annotated[Path | None, typer.Option("--impact", help="An impact table (from `explain impact`).")]
    = None,
    scan: Annotated[Path | None, typer.Option("--scan", help="Or a scan directory / summary table.")] = None,
    scan_dir: Annotated[Path | None, typer.Option("--scan-dir", help="Where to keep a scan run here.")] = None,
    preset: PresetOpt = None, model: ModelOpt = None, data: DataOpt = None, part: PartOpt = None,
    subset: SubsetOpt = None, data_dir: DataDirOpt = None, sample: SampleOpt = None, sample_seed: SampleSeedOpt = 0,
    k: KOpt = None, to: ToOpt = "N", engine: EngineOpt = DEFAULT_ENGINE, batch_size: BatchOpt = DEFAULT_BATCH,
    chunk_pairs: ChunkOpt = DEFAULT_CHUNK_PAIRS, overwrite: OverwriteOpt = False,
    peaks: Annotated[int | None, typer.Option("--peaks", help="Peaks per side (preset: the paper's).")] = None,
    min_peak: Annotated[float, typer.Option("--min-peak", help="A peak must reach this fraction of the largest "
                                            "importance.")] = 0.2,
    extend: Annotated[float, typer.Option("--extend", help="Without --length: a stretch holds the contiguous "
                                          "positions with at least this fraction of the summit's importance.")]
    = 0.5,
    length: Annotated[int | None, typer.Option("--length", help="Fixed feature length: the best LENGTH-nt window "
                                               "containing the summit.")] = None,
    max_length: Annotated[int | None, typer.Option("--max-length", help="Longest stretch (threshold rule).")]
    = None,
    min_length: Annotated[int, typer.Option("--min-length", help="Drop shorter stretches.")] = 1,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Feature table (default stdout).")] = None,
    plot: PlotOpt = None,
) -> None:
    """Call features (contiguous high-impact stretches around the strongest peaks, named like L13-4) from the
    single-nucleotide impact; --preset uses the parameters that give the paper's features."""
    p = get_preset(preset) if preset else None
    if impact is not None:
        imp = read_table(impact)
    else:
        args = _impact_args(preset, model, data, part, subset, data_dir, sample, sample_seed, k, to, engine,
                            batch_size, chunk_pairs, overwrite, scan_dir)
        imp, _, _ = _impact(scan, args)
    params = dict(p.feature_params) if p else {}
    params.setdefault("min_peak", min_peak)
    params.setdefault("extend", extend)
    params.setdefault("min_length", min_length)
    if peaks is not None:
        params["peaks_per_side"] = peaks
    if length is not None:
        params["length"] = length
    if max_length is not None:
        params["max_length"] = max_length
    feats = call_features(imp, **params)
    emit(feats, out)
    if plot is not None:
        from mirlens.report.figures import plot_impact

        paths = plot_impact(imp, Path(plot) / "features", features=feats)
        print_plain("figures: " + ", ".join(str(x) for x in paths))


@explain_app.command("joint")
@reports_errors
def joint_cmd(
    preset: PresetOpt = None, model: ModelOpt = None, data: DataOpt = None, part: PartOpt = None,
    subset: SubsetOpt = None, data_dir: DataDirOpt = None, sample: SampleOpt = None, sample_seed: SampleSeedOpt = 0,
    region: RegionOpt = None,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples of the pairs.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    level: Annotated[float, typer.Option("--level", help="Confidence level of the intervals.")] = 0.95,
    to: ToOpt = "N", engine: EngineOpt = DEFAULT_ENGINE, batch_size: BatchOpt = DEFAULT_BATCH,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Result table (default stdout).")] = None,
    per_pair: Annotated[Path | None, typer.Option("--per-pair", help="Also write per-pair probabilities.")] = None,
    plot: PlotOpt = None,
) -> None:
    """Independent vs joint effects (Fig. 6): every region and every pair of regions, the interaction (joint
    reduction minus the sum of the single reductions) with bootstrap confidence intervals."""
    inp = inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, to, engine, batch_size)
    regions = region or (list(inp.preset.regions) if inp.preset else None)
    if not regions:
        raise InputError("give at least two --region (or a --preset)")
    n_sets = len(with_joint(parse_region_sets(regions)))
    with progress_bar("mutating regions", len(inp.pairs) * (n_sets + 1)) as advance:
        res = joint_effects(inp.model, inp.pairs, regions, to=to, n_boot=n_boot, seed=seed, level=level,
                            engine=engine, batch_size=batch_size, progress=advance)
    emit(res.table, out)
    if per_pair is not None:
        write_table(res.effects.per_pair, per_pair)
    plot_figure(res.table, plot, "joint")


@app.command("plot")
@reports_errors
def plot_cmd(
    table: Annotated[Path, typer.Argument(help="A table written by `mirlens explain ...` (regions, joint, scan "
                                          "summary or directory, impact, compensate: several models' tables "
                                          "stacked give one line per model).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the PNG and SVG files.")] = Path("."),
    features: Annotated[Path | None, typer.Option("--features", help="Feature table to mark on an impact "
                                                  "plot.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="File name stem (default: the table kind).")] = None,
) -> None:
    """Draw the paper-style figure of an analysis table (PNG + SVG)."""
    from mirlens.report.figures import plot_impact, plot_table, table_kind

    df = _summary_of(table) if table.is_dir() else read_table(table)
    if features is not None:
        if table_kind(df) != "impact":
            raise InputError("--features marks features on an impact table")
        paths = plot_impact(df, Path(out) / (name or "impact"), features=read_table(features))
    else:
        paths = plot_table(df, out, name=name)
    print_plain("figures: " + ", ".join(str(x) for x in paths))
