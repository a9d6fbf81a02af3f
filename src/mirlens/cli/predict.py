"""``mirlens score`` (given pairs) and ``mirlens predict`` (scan miRNAs against long targets)."""

from __future__ import annotations

import shutil
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mirlens.cli.annotation import (CacheDirOpt, GenesOpt, GtfOpt, ReleaseOpt, SpeciesOpt, TranscriptFastaOpt,
                                    TranscriptsOpt, check_gene_options)
from mirlens.cli.app import app
from mirlens.cli.common import (MIRNA_HELP, ClusterOpt, cluster_spec, console, mirnas_option, progress_bar,
                                reports_errors)
from mirlens.data.examples import EXAMPLE_FILES, example_path
from mirlens.errors import InputError

# imported by the commands that use them: `mirlens examples` and --help never load torch
DEFAULT_MODEL = "pairing"  # = mirlens.model.store.DEFAULT_MODEL (tests/test_cli_startup.py checks)
DEFAULT_BATCH = 1024  # = mirlens.predict.score.DEFAULT_BATCH
DEFAULT_STEP = 15  # = mirlens.predict.scan.DEFAULT_STEP

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model name (see `mirlens models list`), model "
                                       f"directory, or original Keras .h5 file. Default: the bundled "
                                       f"`{DEFAULT_MODEL}`.")]


class OutFormat(str, Enum):
    auto = "auto"
    tsv = "tsv"
    csv = "csv"
    parquet = "parquet"
    mitar = "mitar"


WindowsOpt = Annotated[str, typer.Option("--windows", help="Pairing family, targets longer than the model's slot: "
                                         "context (default) scores each window with the target's real flanks in "
                                         "one pass over the target; padded cuts each window out and pads it with N "
                                         "(the earlier semantics, to reproduce earlier outputs). Targets that fit "
                                         "the slot score the same either way; miTAR models always use padded "
                                         "windows.")]


def model_scan_threshold(meta: dict) -> float:
    """The window threshold a model's card recommends for scans (``card["scan_threshold"]["value"]``), else 0.5."""
    fit = meta.get("card", {}).get("scan_threshold")
    return float(fit["value"]) if isinstance(fit, dict) and "value" in fit else 0.5


@app.command()
@reports_errors
def score(
    pairs: Annotated[Path, typer.Argument(help="Pair file: miTAR data set file, or TSV/CSV/Parquet with columns "
                                                "mirna_id, mirna, target_id, target[, label] (5'->3').")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output table (.tsv, .csv or .parquet).")],
    model: ModelOpt = DEFAULT_MODEL,
    batch_size: Annotated[int, typer.Option(help="Pairs per forward pass.")] = DEFAULT_BATCH,
    windows: WindowsOpt = "context",
    cluster: ClusterOpt = None,
) -> None:
    """Score given (miRNA, target site) pairs: every input row, in input order, with `logit` (the model's
    score; rank by it: strong sites all have probability ~1.0) and `probability`. A target longer than the model's
    target slot is scored in every window of the slot's length and keeps its best one (`window_start`,
    `window_end` on the target, 1-based, and `n_windows` say which; for the pairing family each window with the
    target's real flanks, see --windows). With --cluster the pairs are scored in chunks on a Dask cluster
    (resumable: kept next to OUTPUT until it is written)."""
    from mirlens.data.readers import read_pairs
    from mirlens.model.store import load_model
    from mirlens.predict.scan import check_windows
    from mirlens.predict.score import score_pair_table
    from mirlens.tables import write_table

    windows = check_windows(windows)
    net, meta = load_model(model, with_meta=True)
    table = read_pairs(pairs, max_mirna_len=net.config.mirna_slot)
    slot = net.config.target_slot
    lengths = table["target"].str.len()
    n_rows = int((lengths.clip(lower=slot) - slot + 1).sum())
    spec = cluster_spec(cluster)
    work = output.parent / f".{output.name}.parts"
    if spec:
        from mirlens.cluster.engine import ModelRef, connect
        from mirlens.cluster.jobs import score_on_cluster

        with connect(spec, say=console.print) as client, progress_bar("scoring (pairs)", len(table)) as advance:
            scores = score_on_cluster(client, ModelRef.of(model), table, work, model_name=meta["name"],
                                      batch_size=batch_size, progress=advance, windows=windows, net=net)
    else:
        with progress_bar("scoring", n_rows) as advance:
            scores = score_pair_table(net, table, batch_size=batch_size, progress=advance, windows=windows)
    out = table[["record", "mirna_id", "mirna", "target_id", "target"]].copy()
    if table["label"].notna().any():
        out["label"] = table["label"]
    out["logit"] = scores["logit"]
    out["probability"] = scores["probability"]
    n_long = int((lengths > slot).sum())
    if n_long:
        out = out.join(scores[["window_start", "window_end", "n_windows"]])
    write_table(out, output)
    if spec:
        shutil.rmtree(work, ignore_errors=True)
    console.print(f"scored {len(out):,} pairs with model {escape(repr(meta['name']))} -> {escape(str(output))}")
    if n_long:
        from mirlens.predict.utr_pass import is_pairing

        how = (" with the target's real flanks (--windows context)" if is_pairing(net) and windows == "context"
               else " padded with N" if is_pairing(net) else "")
        console.print(f"{n_long:,} target(s) longer than the model's {slot}-nt slot: scored in every {slot}-nt "
                      f"window (step 1){how}, keeping the best (window_start, window_end, n_windows)")


@app.command()
@reports_errors
def predict(
    output: Annotated[Path, typer.Option("--output", "-o", help="Window table (.tsv/.csv/.parquet), or the "
                                         "original tool's FASTA-like site file with --format mitar.")],
    mirna: Annotated[str | None, typer.Option("--mirna", metavar="FASTA|NAMES", help=MIRNA_HELP)] = None,
    targets: Annotated[Path | None, typer.Option("--targets", help="Target / 3'UTR FASTA (5'->3'), any size.")]
    = None,
    genes: GenesOpt = None,
    species: SpeciesOpt = None,
    release: ReleaseOpt = None,
    transcripts: TranscriptsOpt = None,
    gtf: GtfOpt = None,
    transcript_fasta: TranscriptFastaOpt = None,
    cache_dir: CacheDirOpt = None,
    example: Annotated[bool, typer.Option("--example", help="Use the example miRNAs and 3'UTRs shipped with "
                                          "mirlens (see `mirlens examples`).")] = False,
    model: ModelOpt = DEFAULT_MODEL,
    step: Annotated[int, typer.Option(help="Nucleotides between window starts (original default 15).")] = DEFAULT_STEP,
    threshold: Annotated[float | None, typer.Option(help="A window is a site when its probability is above this "
                                                    "(default: the model's scan threshold from its card, 0.9 for "
                                                    "`pairing`; 0.5 for models without one, as the original tool; "
                                                    "--gene-level: 0.5 on the gene probability).")] = None,
    min_sites: Annotated[int, typer.Option(help="A target is called when it has at least this many sites "
                                           "(the original `-ns k` equals `--min-sites k+1`).")] = 1,
    out_format: Annotated[OutFormat, typer.Option("--format", help="Output format (auto: by extension).")]
    = OutFormat.auto,
    sites_only: Annotated[bool, typer.Option(help="Keep only windows above the threshold in the window table.")]
    = False,
    summary_path: Annotated[Path | None, typer.Option("--summary", help="Gene-level summary table (default: OUTPUT "
                                                      "stem + '.genes.tsv').")] = None,
    batch_size: Annotated[int, typer.Option(help="Windows per forward pass.")] = 4096,
    gene_level: Annotated[bool, typer.Option("--gene-level", help="Gene-level mode (as `mirlens predict-genes`): "
                                             "score candidate seed-match sites instead of a window grid and write "
                                             "one calibrated probability per (miRNA, target) to OUTPUT.")] = False,
    sites: Annotated[str, typer.Option("--sites", help="all-windows (default: every window of the grid, as the "
                                       "original tool), or a list of candidate site types, e.g. 8mer,7mer,6mer,"
                                       "offset6mer,noncanonical: score only the windows that hold such a site "
                                       "(the seed-match finder of predict-genes); the count of skipped windows "
                                       "is reported.")] = "all-windows",
    windows_mode: WindowsOpt = "context",
    cluster: ClusterOpt = None,
) -> None:
    """Scan every miRNA against every target with sliding windows (window = the model's target length).

    Writes one row per window (mirna_id, target_id, window, start, end on the target 1-based 5'->3', probability)
    and a gene-level summary. Interrupted scans continue where they stopped when run again. With --gene-level,
    writes the table of `mirlens predict-genes` instead (--step, --min-sites, --summary, --sites-only, --sites,
    --windows do not apply). With --cluster the (miRNA block x target block) partitions run on a Dask cluster.
    Pairing-family models score each window with the target's real flanks (--windows context, one pass over each
    target) unless --windows padded; their gene-level summary calls a target as `predict-genes` does (a site the
    model calls on the whole target).

    --genes scans the 3'UTRs of genes from Ensembl or your annotation instead of --targets (one per gene: the
    longest 3'UTR of its protein-coding transcripts; written as FASTA next to OUTPUT while the scan runs); both
    tables then also have gene_id, gene_name and transcript_id.
    """
    from mirlens.model.store import load_model
    from mirlens.predict.scan import (ScanSettings, check_windows, count_records, format_mitar, gene_summary,
                                      parse_sites, scan, sites_of_targets)
    from mirlens.tables import write_table, write_text

    if genes is not None and (targets is not None or example):
        # before --genes named gene sets, it named the summary table; with --targets (or --example) it still does
        console.print("[yellow]warning:[/] --genes FILE for the gene-level summary is now --summary FILE (--genes "
                      "names genes, instead of --targets)", highlight=False, soft_wrap=True)
        summary_path, genes = summary_path or Path(genes), None
    gene_options = dict(species=species, release=release, transcripts=transcripts, gtf=gtf,
                        transcript_fasta=transcript_fasta, cache_dir=cache_dir)
    check_gene_options(genes, **gene_options)
    if example:
        mirna, targets = mirna or example_path("mirnas.fa"), targets or example_path("utrs.fa")
    if mirna is None or (targets is None and genes is None):
        raise InputError("give --mirna and --targets (FASTA files; --mirna also takes miRBase names), --mirna and "
                         "--genes, or --example")
    if gene_level:
        if out_format == OutFormat.mitar:
            raise InputError("--format mitar writes window sites; it does not apply to --gene-level")
        from mirlens.cli.genes import run_gene_level
        from mirlens.data.fasta import pairs_from_fasta

        net, meta = load_model(model, with_meta=True)
        mirnas = mirnas_option(mirna, max_len=net.config.mirna_slot)
        if genes is not None:
            from mirlens.cli.annotation import gene_pairs

            table = gene_pairs(mirnas, genes, max_mirna_len=net.config.mirna_slot, **gene_options)
        else:
            table = pairs_from_fasta(mirnas, targets, max_mirna_len=net.config.mirna_slot,
                                     mirna_source=Path(mirna).name)
        run_gene_level(table, output, model, batch_size=batch_size, threshold=0.5 if threshold is None else threshold,
                       net_meta=(net, meta), cluster=cluster_spec(cluster))
        return
    if step < 1:
        raise InputError(f"--step must be positive (got {step})")
    if min_sites < 1:
        raise InputError(f"--min-sites must be at least 1 (got {min_sites})")
    net, meta = load_model(model, with_meta=True)
    if threshold is None:
        threshold = model_scan_threshold(meta)
        origin = "the model card's scan threshold" if "scan_threshold" in meta.get("card", {}) else "the default"
        console.print(f"window threshold {threshold} ({origin}; --threshold to change)", highlight=False)
    mirnas = mirnas_option(mirna, max_len=net.config.mirna_slot)
    for rec in mirnas:
        if len(rec.seq) > net.config.mirna_slot:
            raise InputError(f"miRNA is {len(rec.seq)} nt; the model allows at most {net.config.mirna_slot}",
                             source=Path(mirna).name, record=rec.id)
    from mirlens.predict.site_calls import CallRule
    from mirlens.predict.utr_pass import is_pairing

    rule = CallRule.from_card(meta)
    settings = ScanSettings(step=step, threshold=threshold, min_sites=min_sites, batch_size=batch_size,
                            sites=parse_sites(sites), windows=check_windows(windows_mode),
                            call_rule=(rule.site_logit, rule.utr_intercept, rule.utr_per_log10_nt)
                            if is_pairing(net) else None)

    if is_pairing(net):
        console.print("windows scored with their real UTR flanks (--windows context; --windows padded: each window "
                      "padded with N, as before)" if settings.windows == "context" else
                      "windows cut out and padded with N (--windows padded)", highlight=False)
    work = output.parent / f".{output.name}.parts"
    utrs = None
    if genes is not None:  # the genes' 3'UTRs as a FASTA in the job's folder, scanned like --targets
        from mirlens.cli.annotation import gene_fasta

        targets = work / "utrs.fa"
        utrs, digest = gene_fasta(genes, targets, **gene_options)
    n_targets = count_records(targets)
    params = {"model": meta["name"], "model_config": meta["config"], "targets": str(targets)}
    if utrs is not None:
        params["utrs_sha256"] = digest
    spec = cluster_spec(cluster)
    if spec:
        from mirlens.cluster.engine import ModelRef, connect
        from mirlens.cluster.jobs import scan_on_cluster

        with connect(spec, say=console.print) as client, \
                progress_bar(f"scanning {len(mirnas)} miRNA(s)", len(mirnas) * n_targets) as advance:
            windows = scan_on_cluster(client, ModelRef.of(model), net, mirnas, targets, work, settings,
                                      params=params, progress=advance)
    else:
        with progress_bar(f"scanning {len(mirnas)} miRNA(s)", len(mirnas) * n_targets) as advance:
            windows = scan(net, mirnas, targets, work, settings, progress=advance, params=params)
    if settings.sites is not None:
        n_grid = windows.attrs.get("n_grid", len(windows))
        console.print(f"--sites {sites}: scored {len(windows):,} of {n_grid:,} windows, skipped "
                      f"{n_grid - len(windows):,} without a candidate site "
                      f"({(n_grid - len(windows)) / max(n_grid, 1):.1%})", highlight=False)
    summary = gene_summary(windows, threshold, min_sites)
    calls = windows.attrs.pop("calls", None)  # a table: not for the window file's metadata
    if calls is not None and len(summary):
        # the gene-level call of predict-genes, read off the same pass: a site the model calls on the whole target
        summary = summary.merge(calls, on=["mirna_id", "target_id"], how="left", sort=False)
        summary["is_target"] = summary["site_call"].fillna(False).astype(bool) & (
            summary["n_called_sites"].fillna(0) >= min_sites)
        summary = summary.drop(columns=["site_call"])
    if utrs is not None:
        from mirlens.data.annotation import add_gene_columns

        windows, summary = add_gene_columns(windows, utrs), add_gene_columns(summary, utrs)
    genes_path = summary_path or output.with_name(output.stem + ".genes.tsv")
    write_table(summary, genes_path)
    if out_format == OutFormat.mitar:
        sites = sites_of_targets(windows, summary, threshold)
        write_text(format_mitar(sites, mirnas, targets, net.config.target_slot, one_mirna=len(mirnas) == 1),
                   output)
    else:
        table = windows[windows["probability"] > threshold] if sites_only else windows
        write_table(table, output, None if out_format == OutFormat.auto else out_format.value)
    shutil.rmtree(work, ignore_errors=True)
    n_called = int(summary["is_target"].sum()) if len(summary) else 0
    how = (" (a site the model calls on the whole target, as predict-genes)" if calls is not None else "")
    console.print(f"{len(windows):,} windows, {int((windows['probability'] > threshold).sum()):,} above the "
                  f"window threshold, {n_called:,} of {len(summary):,} (miRNA, target) pairs called targets{how} "
                  f"(model {escape(str(meta['name']))!r}) -> {escape(str(output))}, {escape(str(genes_path))}",
                  highlight=False, soft_wrap=True)


@app.command()
@reports_errors
def examples(
    directory: Annotated[Path | None, typer.Argument(help="Copy the example files here (default: just list them).")]
    = None,
) -> None:
    """The example inputs shipped with mirlens: miRNAs, synthetic 3'UTRs with planted sites, and site pairs."""
    for name in EXAMPLE_FILES:
        src = example_path(name)
        if directory is None:
            typer.echo(str(src))
        else:
            directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, directory / name)
            typer.echo(str(directory / name))
