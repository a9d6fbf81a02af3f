"""What the explain commands share: their options, the model and pair set they run on, writing and drawing a table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mirlens.cli.common import print_plain, progress_bar
from mirlens.errors import InputError
from mirlens.explain import PairSet, get_preset, load_pairs, model_width, resolve_subset
from mirlens.explain.mutagenesis.engine import ENGINES
from mirlens.model.families import fit_target_slot
from mirlens.model.store import DEFAULT_MODEL, load_model
from mirlens.tables import write_table

PresetOpt = Annotated[str | None, typer.Option("--preset", help="Paper settings: paper-deepmirtar (miTAR1, "
                                               "DeepMirTar positives, k 1..6) or paper-miraw (miTAR2, miRAW "
                                               "positives, k 1..8). Explicit options override it.")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Model name, model directory or original "
                                              f"Keras .h5 file. Default: `{DEFAULT_MODEL}` (with --preset: "
                                              "keras-miTAR1 / keras-miTAR2).")]
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


def inputs(preset: str | None, model: str | None, data: str | None, part: str | None, subset: str | None,
           data_dir: Path | None, sample: int | None, sample_seed: int, to: str, engine: str,
           batch_size: int) -> Inputs:
    """The model (``--model``, the preset's, or the default model; its target slot fitted to the longest target)
    and the pair set (``--data`` / the preset's, subset and sample applied) an explain command runs on."""
    p = get_preset(preset) if preset else None
    model = model or (p.model if p else DEFAULT_MODEL)
    data = data or (p.dataset if p else None)
    if data is None:
        raise InputError("say which pairs to use: --data (a data set or a pair file), or --preset")
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
    print_plain(f"model {meta.get('name', model)!r}, {len(pairs):,} pairs of {data} ({spec}){extra}")
    return Inputs(net, str(meta.get("name", model)), pairs, p, str(model), longest)


def emit(table: pd.DataFrame, out: Path | None) -> None:
    if out is None:
        typer.echo(table.to_csv(sep="\t", index=False, float_format="%.6g"), nl=False)
    else:
        write_table(table, out)
        print_plain(f"-> {out}")


def plot_figure(table: pd.DataFrame, plot_dir: Path | None, name: str, **kw) -> None:
    if plot_dir is None:
        return
    from mirlens.report import figures

    draw = {"regions": figures.plot_region_effects, "joint": figures.plot_joint, "scan": figures.plot_scan,
            "impact": figures.plot_impact, "compensation": figures.plot_compensation}[figures.table_kind(table)]
    paths = draw(table, Path(plot_dir) / name, **kw)
    print_plain("figures: " + ", ".join(str(p) for p in paths))
