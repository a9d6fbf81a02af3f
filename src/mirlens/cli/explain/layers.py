"""``mirlens explain correlate``: do the layers encode binding free energy? (Table 1, Supp. Table 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mirlens.cli.common import print_plain, progress_bar, reports_errors
from mirlens.cli.duplex import BackendOpt, CacheOpt, JobsOpt, NoCacheOpt, duplex_table
from mirlens.cli.explain import explain_app
from mirlens.errors import InputError
from mirlens.explain import PairSet, model_width
from mirlens.explain.layers.correlate import LAYERS, PAIRING_LAYERS, layer_energy_correlations, layers_of, table1
from mirlens.explain.pairset import load_pairs
from mirlens.model.families import fit_target_slot
from mirlens.model.store import DEFAULT_MODEL, load_model
from mirlens.tables import write_table


@explain_app.command("correlate")
@reports_errors
def correlate_cmd(
    data: Annotated[str, typer.Option("--data", "-d", help="Data set (deepmirtar, miraw, combined) or pair file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory: table1.tsv, units.parquet, "
                                      "energies.tsv, correlations.png.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Model name, directory or original Keras .h5 file.")]
    = DEFAULT_MODEL,
    positives: Annotated[bool, typer.Option("--positives", help="Positive pairs only (default).")] = False,
    negatives: Annotated[bool, typer.Option("--negatives", help="Negative pairs only.")] = False,
    all_pairs: Annotated[bool, typer.Option("--all", help="All pairs.")] = False,
    part: Annotated[str, typer.Option("--part", help="Part of a named data set: train, test, all or pool.")]
    = "train",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where the data set files are.")] = None,
    layers: Annotated[str | None, typer.Option("--layers", help=f"Comma-separated; miTAR models: from "
                                               f"{', '.join(LAYERS)} (default pool,bilstm,dense); pairing models: "
                                               f"from {', '.join(PAIRING_LAYERS)} (default all).")] = None,
    energy_backend: BackendOpt = "miranda", cache_dir: CacheOpt = None, no_cache: NoCacheOpt = False,
    jobs: JobsOpt = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Pairs per forward pass.")] = 2048,
    mirna_as_written: Annotated[bool, typer.Option("--mirna-as-written", help="Energies of the miRNA as the miTAR "
                                                   "data files write it (3'->5', read as 5'->3'): the energies that "
                                                   "reproduce the paper's Table 1 (default: the miRNA 5'->3').")]
    = False,
) -> None:
    """Spearman correlation of duplex energy with every unit, feature map and layer sum (Bonferroni and BH
    adjusted; constant units excluded and counted), and the paper's sign-split sums (levels feature_map_signed,
    all_signed): the Table 1 layout, the per-unit table and a figure. The paper's Table 1: --layers conv,bilstm
    --mirna-as-written."""
    if positives + negatives + all_pairs > 1:
        raise InputError("choose one of --positives, --negatives, --all")
    subset = "negatives" if negatives else "all" if all_pairs else "positives"
    net, meta = load_model(model, with_meta=True)
    if layers is None:
        layers = "pool,bilstm,dense" if set(layers_of(net)) == set(LAYERS) else ",".join(layers_of(net))
    layer_list = [s.strip() for s in layers.split(",") if s.strip()]
    pairs = load_pairs(data, part, data_dir=data_dir).reset_index(drop=True)
    if subset != "all":
        if "label" not in pairs or pairs["label"].isna().all():
            raise InputError(f"the pairs of {data} have no labels; use --all")
        pairs = pairs[pairs["label"] == (1 if subset == "positives" else 0)].reset_index(drop=True)
    if len(pairs) < 3:
        raise InputError(f"{len(pairs)} pairs in {data} ({subset}): at least 3 are needed")
    net = fit_target_slot(net, int(pairs["target"].str.len().max()))
    ps = PairSet.from_pairs(pairs, model_width(net), name=data)
    print_plain(f"model {meta.get('name', model)!r}, {len(ps):,} pairs of {data} ({subset}), "
                f"energy backend {energy_backend}")
    energy_pairs = pairs.assign(mirna=pairs["mirna"].str[::-1]) if mirna_as_written else pairs
    duplexes = duplex_table(energy_pairs, energy_backend, cache_dir, no_cache, jobs)
    energy = duplexes["energy"].to_numpy()
    with progress_bar("layer activations", len(ps)) as advance:
        units = layer_energy_correlations(net, ps.tokens, energy, layers=layer_list, batch_size=batch_size,
                                          progress=advance)
    summary = table1(units)
    summary.insert(0, "energy_backend", energy_backend)
    summary.insert(1, "energy", "as_written" if mirna_as_written else "5to3")
    out.mkdir(parents=True, exist_ok=True)
    write_table(summary, out / "table1.tsv")
    write_table(units, out / "units.parquet")
    keep = [c for c in ("mirna_id", "target_id", "label") if c in pairs]
    write_table(pd.concat([pairs[keep], duplexes[["energy", "n_hits"]]], axis=1), out / "energies.tsv")
    from mirlens.report.correlation_figures import plot_unit_correlations

    figs = plot_unit_correlations(units, out / "correlations",
                                  title=f"{meta.get('name', model)}: units vs {energy_backend} energy ({subset})")
    shown = summary[["layer", "level", "UnitCount", "ConstantUnits", "MinCor", "MinCor_Pval", "MaxCor",
                     "MaxCor_Pval"]]
    print_plain(shown.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print_plain(f"-> {out / 'table1.tsv'}, {out / 'units.parquet'}, {figs[0]}")
