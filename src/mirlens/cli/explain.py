"""``mirlens explain regions|scan|impact|features|joint`` (in-silico mutagenesis) and ``mirlens plot``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mirlens.cli.app import app
from mirlens.cli.common import ClusterOpt, cluster_spec, console, progress_bar, reports_errors
from mirlens.errors import InputError
from mirlens.explain import (
    PairSet,
    accumulative_impact,
    call_features,
    get_preset,
    joint_effects,
    load_pairs,
    model_width,
    region_effects,
    resolve_subset,
    run_scan,
    with_joint,
)
from mirlens.explain.engine import DEFAULT_BATCH, DEFAULT_ENGINE, ENGINES
from mirlens.explain.regions import parse_region_sets
from mirlens.explain.scan import DEFAULT_CHUNK_PAIRS, parse_ks, parse_sides
from mirlens.model.families import fit_target_slot
from mirlens.model.store import load_model
from mirlens.tables import read_table, write_table

explain_app = typer.Typer(
    help="In-silico mutagenesis: which nucleotides the model relies on (the paper's Fig. 1-6).",
    no_args_is_help=True,
)
app.add_typer(explain_app, name="explain")

PresetOpt = Annotated[str | None, typer.Option("--preset", help="Paper settings: paper-deepmirtar (miTAR1, "
                                               "DeepMirTar positives, k 1..6) or paper-miraw (miTAR2, miRAW "
                                               "positives, k 1..8). Explicit options override it.")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Model name, model directory or original "
                                              "Keras .h5 file (preset default: keras-miTAR1 / keras-miTAR2).")]
DataOpt = Annotated[str | None, typer.Option("--data", "-d", help="Data set (deepmirtar, miraw, combined) or a "
                                             "pair file.")]
PartOpt = Annotated[str | None, typer.Option("--part", help="Part of a named data set: train, test, all, or pool "
                                             "(the training file(s) as published: the paper's pair sets).")]
SubsetOpt = Annotated[str | None, typer.Option("--subset", help="positives, negatives, all, or "
                                               "extracted:REGION[@BASE][>THRESHOLD] (pairs whose drop for REGION "
                                               "exceeds the mean drop). Default: positives.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the data set files are "
                                                 "(default: $MIRLENS_DATA_DIR or the cache).")]
SampleOpt = Annotated[int | None, typer.Option("--sample", help="Use N pairs drawn at random "
                                               "(numpy default_rng(--sample-seed).choice, no replacement).")]
SampleSeedOpt = Annotated[int, typer.Option("--sample-seed", help="Seed of --sample.")]
ToOpt = Annotated[str, typer.Option("--to", help="Mutate to this letter: N (default, as the paper) or A/U/C/G.")]
EngineOpt = Annotated[str, typer.Option("--engine", help="Mutagenesis engine: incremental (reuses the unmutated "
                                        "pass; same numbers) or full (whole model per mutant).")]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Mutants per forward pass.")]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Also draw the figure (PNG + SVG) into this "
                                              "directory.")]
RegionOpt = Annotated[list[str] | None, typer.Option("--region", "-r", help="Region set, repeatable: L2-6, "
                                                     "L2..L7, LT7-5, seed, or several joined by '+' "
                                                     "(seed+L13-4). Preset default: the paper's regions.")]


@dataclass
class Inputs:
    model: object
    model_name: str
    pairs: PairSet
    preset: object | None
    model_spec: str = ""
    longest_target: int | None = None


def _inputs(preset: str | None, model: str | None, data: str | None, part: str | None, subset: str | None,
            data_dir: Path | None, sample: int | None, sample_seed: int, to: str, engine: str,
            batch_size: int) -> Inputs:
    p = get_preset(preset) if preset else None
    model = model or (p.model if p else None)
    data = data or (p.dataset if p else None)
    if model is None or data is None:
        raise InputError("say which model and data to use: --model and --data, or --preset")
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")
    net, meta = load_model(model, with_meta=True)
    table = load_pairs(data, part or (p.part if p else "train"), data_dir=data_dir)
    longest = int(table["target"].str.len().max())
    net = fit_target_slot(net, longest)
    width = model_width(net)
    pairs = PairSet.from_pairs(table, width, name=str(data))
    spec = subset or (p.subset if p else "positives")
    with progress_bar(f"subset {spec}", None) as advance:
        pairs = resolve_subset(net, pairs, spec, to=to, engine=engine, batch_size=batch_size, progress=advance)
    if sample is not None:
        if sample < 1:
            raise InputError("--sample must be at least 1")
        pairs = pairs.sample(sample, sample_seed)
    if len(pairs) == 0:
        raise InputError(f"no pairs left in {data} after --subset {spec}")
    extra = f" (extracted: {pairs.info['extracted_n']} of {pairs.info['extracted_from']}, drop > " \
            f"{pairs.info['extracted_threshold']:.4f})" if "extracted" in pairs.info else ""
    console.print(f"model {meta.get('name', model)!r}, {len(pairs):,} pairs of {data} ({spec}){extra}")
    return Inputs(net, str(meta.get("name", model)), pairs, p, str(model), longest)


def _emit(table: pd.DataFrame, out: Path | None) -> None:
    if out is None:
        typer.echo(table.to_csv(sep="\t", index=False, float_format="%.6g"), nl=False)
    else:
        write_table(table, out)
        console.print(f"-> {out}")


def _plot(table: pd.DataFrame, plot_dir: Path | None, name: str, **kw) -> None:
    if plot_dir is None:
        return
    from mirlens.report import figures

    draw = {"regions": figures.plot_region_effects, "joint": figures.plot_joint, "scan": figures.plot_scan,
            "impact": figures.plot_impact, "compensation": figures.plot_compensation}[figures.table_kind(table)]
    paths = draw(table, Path(plot_dir) / name, **kw)
    console.print("figures: " + ", ".join(str(p) for p in paths))


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
    inp = _inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, to, engine, batch_size)
    sets = parse_region_sets(region or (list(inp.preset.regions) if inp.preset else ["seed"]))
    if joint:
        sets = with_joint(sets)
    with progress_bar("mutating regions", len(inp.pairs) * (len(sets) + 1)) as advance:
        eff = region_effects(inp.model, inp.pairs, sets, to=to, engine=engine, batch_size=batch_size,
                             progress=advance)
    _emit(eff.table, out)
    if per_pair is not None:
        write_table(eff.per_pair, per_pair)
    _plot(eff.table, plot, "regions")


def _scan(inp: Inputs, ks: str | None, side: str, to: str, out_dir: Path | None, chunk_pairs: int, engine: str,
          batch_size: int, overwrite: bool, cluster: str | None = None):
    ks_list = parse_ks(ks if ks else (list(inp.preset.ks) if inp.preset else "1-8"))
    kwargs = dict(ks=ks_list, sides=parse_sides(side), to=to,
                  out_dir=None if out_dir is None else out_dir / "records", chunk_pairs=chunk_pairs, engine=engine,
                  batch_size=batch_size, overwrite=overwrite)
    if cluster:
        from mirlens.cluster.engine import ModelRef, connect

        ref = ModelRef.of(inp.model_spec, inp.longest_target)
        with connect(cluster, say=console.print) as client, \
                progress_bar("scanning (forward passes)", None) as advance:
            result = run_scan(inp.model, inp.pairs, progress=advance, set_total=advance.set_total,
                              cluster=(client, ref), **kwargs)
    else:
        with progress_bar("scanning (forward passes)", None) as advance:
            result = run_scan(inp.model, inp.pairs, progress=advance, set_total=advance.set_total, **kwargs)
    if result.passes:
        console.print(f"{result.passes:,} forward passes in {result.seconds:.1f} s "
                      f"({result.passes_per_second:,.0f} passes/s)")
    if out_dir is not None:
        write_table(result.summary, out_dir / "summary.tsv")
        console.print(f"per-pair records: {out_dir / 'records'}; summary -> {out_dir / 'summary.tsv'}")
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
    inp = _inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, to, engine, batch_size)
    result = _scan(inp, k, side, to, out, chunk_pairs, engine, batch_size, overwrite, cluster_spec(cluster))
    _plot(result.summary, plot, "scan")


def _summary_of(scan: Path) -> pd.DataFrame:
    path = scan / "summary.tsv" if scan.is_dir() else scan
    if not path.is_file():
        raise InputError(f"{scan}: no scan summary (run `mirlens explain scan --out DIR` first)")
    return read_table(path)


def _impact(scan: Path | None, inp_args: dict) -> tuple[pd.DataFrame, pd.DataFrame, Inputs | None]:
    if scan is not None:
        return (*accumulative_impact(_summary_of(scan)), None)
    inp = _inputs(**inp_args["inputs"])
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
    _emit(impact, out)
    if contexts is not None:
        write_table(ctx, contexts)
    _plot(impact, plot, "impact")


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
    _emit(feats, out)
    if plot is not None:
        from mirlens.report.figures import plot_impact

        paths = plot_impact(imp, Path(plot) / "features", features=feats)
        console.print("figures: " + ", ".join(str(x) for x in paths))


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
    inp = _inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, to, engine, batch_size)
    regions = region or (list(inp.preset.regions) if inp.preset else None)
    if not regions:
        raise InputError("give at least two --region (or a --preset)")
    n_sets = len(with_joint(parse_region_sets(regions)))
    with progress_bar("mutating regions", len(inp.pairs) * (n_sets + 1)) as advance:
        res = joint_effects(inp.model, inp.pairs, regions, to=to, n_boot=n_boot, seed=seed, level=level,
                            engine=engine, batch_size=batch_size, progress=advance)
    _emit(res.table, out)
    if per_pair is not None:
        write_table(res.effects.per_pair, per_pair)
    _plot(res.table, plot, "joint")


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
    console.print("figures: " + ", ".join(str(x) for x in paths))
