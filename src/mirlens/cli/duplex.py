"""``mirlens energy`` (per-pair duplex energy and pairing) and ``mirlens pairing`` (Table 2: paired positions per
region, for all positive pairs and for "extracted" subsets)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mirlens.cli.app import app
from mirlens.cli.common import print_plain, progress_bar, reports_errors
from mirlens.duplex import BACKENDS, DuplexCache, check_backend, compute_duplexes, parse_named_regions, region_pairing
from mirlens.errors import InputError
from mirlens.explain.pairset import load_pairs
from mirlens.tables import write_table

DEFAULT_REGIONS = "seed=L2-6,L4-4,L13-4,L7,L14,L10-4,LT7-5"

DataOpt = Annotated[str, typer.Option("--data", "-d", help="Data set (deepmirtar, miraw, combined) or a pair file.")]
PartOpt = Annotated[str, typer.Option("--part", help="Part of a named data set: train, test, all or pool.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the data set files are.")]
BackendOpt = Annotated[str, typer.Option("--energy-backend", help=f"{', '.join(BACKENDS)} (miranda = the paper's "
                                         "miRanda 1.9; energies of different backends are not comparable).")]
CacheOpt = Annotated[Path | None, typer.Option("--cache-dir", help="Duplex cache (default ~/.cache/mirlens/duplex "
                                               "or $MIRLENS_DUPLEX_CACHE).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the duplex cache.")]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", help="Worker processes.")]


def duplex_table(pairs: pd.DataFrame, backend: str, cache_dir: Path | None, no_cache: bool, jobs: int
                 ) -> pd.DataFrame:
    """Energies and pairing of a pair table (rows in order), with a progress bar."""
    check_backend(backend)
    if jobs < 1:
        raise InputError("--jobs must be at least 1")
    cache = None if no_cache else DuplexCache(cache_dir)
    with progress_bar(f"duplexes ({backend})", len(pairs)) as advance:
        res = compute_duplexes(pairs["mirna"].tolist(), pairs["target"].tolist(), backend, cache=cache, jobs=jobs,
                               progress=advance)
    return res


def _select(pairs: pd.DataFrame, spec: str, model: str | None, data: str, batch_size: int) -> tuple[pd.DataFrame, str]:
    """Rows of ``pairs`` in a subset: positives, negatives, all, or extracted:REGION (needs --model)."""
    from mirlens.explain.mutagenesis.subsets import parse_subset

    s = parse_subset(spec)
    if s.extracted is None:
        if s.base == "all":
            return pairs, spec
        if "label" not in pairs or pairs["label"].isna().all():
            raise InputError(f"the pairs of {data} have no labels, so there are no {s.base}; use --subset all")
        return pairs[pairs["label"] == (1 if s.base == "positives" else 0)], spec
    if model is None:
        raise InputError(f"--subset {spec} selects pairs by mutagenesis: give the model with --model")
    from mirlens.explain import PairSet, model_width, resolve_subset
    from mirlens.model.families import fit_target_slot
    from mirlens.model.store import load_model

    net = fit_target_slot(load_model(model), int(pairs["target"].str.len().max()))
    ps = PairSet.from_pairs(pairs.reset_index(drop=True), model_width(net), name=data)
    with progress_bar(f"subset {spec}", None) as advance:
        ps = resolve_subset(net, ps, spec, batch_size=batch_size, progress=advance)
    return ps.pairs, f"{spec} (drop > {ps.info.get('extracted_threshold', float('nan')):.4f})"


@app.command("energy")
@reports_errors
def energy_cmd(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Per-pair table (.tsv, .csv or .parquet).")],
    part: PartOpt = "train", data_dir: DataDirOpt = None,
    subset: Annotated[str, typer.Option("--subset", help="positives, negatives or all.")] = "all",
    energy_backend: BackendOpt = "miranda", cache_dir: CacheOpt = None, no_cache: NoCacheOpt = False,
    jobs: JobsOpt = 1,
) -> None:
    """Duplex free energy (kcal/mol) and pairing of every pair: energy, n_hits, score, mirna_pairing (L1..Ln:
    | Watson-Crick, : G:U, . none), target_pairing (LT1..LTm), mirna_partner (LT paired with each Lp, 0 none)."""
    pairs = load_pairs(data, part, data_dir=data_dir).reset_index(drop=True)
    pairs, _ = _select(pairs, subset, None, data, 0)
    res = duplex_table(pairs, energy_backend, cache_dir, no_cache, jobs)
    keep = [c for c in ("mirna_id", "target_id", "label", "mirna", "target") if c in pairs]
    table = pd.concat([pairs[keep].reset_index(drop=True), res], axis=1)
    table.insert(len(keep), "backend", energy_backend)
    write_table(table, out)
    print_plain(f"{len(table):,} pairs, median energy {table['energy'].median():.2f} kcal/mol -> {out}")


@app.command("pairing")
@reports_errors
def pairing_cmd(
    data: DataOpt,
    regions: Annotated[str, typer.Option("--regions", help="NAME=REGION or REGION, comma-separated (seed = L2-6; "
                                         "LT regions are counted on the target side).")] = DEFAULT_REGIONS,
    subset: Annotated[list[str] | None, typer.Option("--subset", help="Repeatable: positives (default), negatives, "
                                                     "all, extracted:REGION (pairs whose mutagenesis drop for "
                                                     "REGION exceeds the mean drop; needs --model).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model for extracted subsets.")] = None,
    part: PartOpt = "train", data_dir: DataDirOpt = None,
    energy_backend: BackendOpt = "miranda", cache_dir: CacheOpt = None, no_cache: NoCacheOpt = False,
    jobs: JobsOpt = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Mutants per forward pass (extracted).")] = 4096,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Table 2 (long: subset, region, paired_pct); "
                                             "default stdout.")] = None,
    per_pair: Annotated[Path | None, typer.Option("--per-pair", help="Also write the per-pair duplex table.")]
    = None,
) -> None:
    """Table 2: the percentage of paired positions per region (G:U counts as paired) for each subset."""
    named = parse_named_regions(regions)
    pairs = load_pairs(data, part, data_dir=data_dir).reset_index(drop=True)
    pairs["_row"] = range(len(pairs))
    chosen_sets = []
    for spec in subset or ["positives"]:
        chosen, label = _select(pairs, spec, model, data, batch_size)
        if len(chosen) == 0:
            raise InputError(f"no pairs in subset {spec}")
        chosen_sets.append((chosen["_row"].to_numpy(), label))
    # duplexes only for the pairs some subset uses (all positives of miRAW, not its negatives too)
    rows = sorted(set().union(*(set(r.tolist()) for r, _ in chosen_sets)))
    needed = pairs.iloc[rows].reset_index(drop=True)
    res = duplex_table(needed, energy_backend, cache_dir, no_cache, jobs)
    full = pd.concat([needed, res], axis=1).set_index("_row")
    tables = []
    for chosen_rows, label in chosen_sets:
        t = region_pairing(full.loc[chosen_rows], named)
        t.insert(0, "subset", label)
        tables.append(t)
    full = full.reset_index(drop=True)
    table = pd.concat(tables, ignore_index=True)
    table.insert(1, "backend", energy_backend)
    if per_pair is not None:
        write_table(full, per_pair)
    if out is None:
        typer.echo(table.to_csv(sep="\t", index=False, float_format="%.4g"), nl=False)
    else:
        write_table(table, out)
        print_plain(f"-> {out}")
