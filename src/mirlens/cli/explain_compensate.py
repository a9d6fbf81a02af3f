"""``mirlens explain compensate``: the compensatory-pairing test (does the model read pairing or motifs?)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mirlens.cli.common import console, progress_bar, reports_errors
from mirlens.cli.duplex import BackendOpt, CacheOpt, JobsOpt, NoCacheOpt, duplex_table
from mirlens.cli.explain import (BatchOpt, DataDirOpt, DataOpt, ModelOpt, PartOpt, PlotOpt, PresetOpt, SampleOpt,
                                 SampleSeedOpt, SubsetOpt, _inputs, _plot, explain_app)
from mirlens.data.coordinates import MIRNA, parse_region
from mirlens.errors import InputError
from mirlens.explain.compensate import compensation
from mirlens.explain.engine import DEFAULT_BATCH
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
    inp = _inputs(preset, model, data, part, subset, data_dir, sample, sample_seed, "N", "full", batch_size)
    duplexes = duplex_table(inp.pairs.pairs, energy_backend, cache_dir, no_cache, jobs)
    with progress_bar("compensatory mutants", None) as advance:
        result = compensation(inp.model, inp.pairs, duplexes, positions=list(region.positions), n_boot=n_boot,
                              seed=seed, level=level, batch_size=batch_size, progress=advance)
    table = result.table.assign(model=inp.model_name, energy_backend=energy_backend)
    if out is None:
        typer.echo(table.to_csv(sep="\t", index=False, float_format="%.4g"), nl=False)
    else:
        write_table(table, out)
        console.print(f"-> {out}")
    if per_pair is not None:
        write_table(result.per_pair.assign(model=inp.model_name), per_pair)
    _plot(table, plot, "compensation")

