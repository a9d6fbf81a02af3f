"""``mirlens predict-genes``: is a whole 3'UTR a target of a miRNA? (gene-level prediction)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

from rich.markup import escape

import pandas as pd
import typer

from mirlens.cli.annotation import (CacheDirOpt, GenesOpt, GtfOpt, ReleaseOpt, SpeciesOpt, TranscriptFastaOpt,
                                    TranscriptsOpt, check_gene_options, gene_pairs)
from mirlens.cli.app import app
from mirlens.cli.common import (MIRNA_HELP, ClusterOpt, cluster_spec, console, mirnas_option, progress_bar,
                                reports_errors)
from mirlens.data.fasta import pairs_from_fasta
from mirlens.data.readers import read_pairs
from mirlens.errors import InputError
from mirlens.evaluation.metrics import binary_metrics, grouped_auroc
from mirlens.genes.repression import load_repression
from mirlens.model.store import load_model
from mirlens.tables import write_table


def run_gene_level(
    pairs: pd.DataFrame,
    output: Path,
    model: str,
    *,
    noncanonical: bool = True,
    batch_size: int = 1024,
    n_best: int = 3,
    threshold: float = 0.5,
    net_meta=None,
    repression_model: Path | None = None,
    cluster: str | None = None,
    sort: str = "input",
) -> pd.DataFrame:
    """Score a pair table (miRNA, whole UTR) at gene level, write the gene table and its sites table; shared by
    ``predict-genes`` and ``predict --gene-level``. ``net_meta``: an already loaded ``(model, meta)``; ``cluster``:
    a Dask cluster spec (:mod:`mirlens.cluster`) to run on. Pairing-family models: the gene-level answer of
    :mod:`mirlens.genes.table` (resumable: finished parts are kept next to OUTPUT until the table is written);
    paper-protocol models: their own pipeline (``noncanonical``, ``batch_size``, ``n_best``, ``threshold``)."""
    import shutil

    from mirlens.genes.sidecars import sidecar
    from mirlens.genes.table import gene_table, paper_gene_table
    from mirlens.predict.utr_pass import is_pairing
    from mirlens.tables import table_fingerprint

    net, meta = net_meta if net_meta is not None else load_model(model, with_meta=True)
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"--threshold must lie in [0, 1] (got {threshold})")
    if sort not in ("input", "rank"):
        raise InputError(f"--sort must be 'input' or 'rank' (got {sort!r})")
    pairing = is_pairing(net)
    repression = None
    if repression_model is not None:
        from mirlens.genes.repression import CANONICAL_KEY, PAIRING_KEY

        repression = load_repression(repression_model, kind=PAIRING_KEY if pairing else CANONICAL_KEY)
    total = int(pairs["target"].str.len().sum())
    work = output.parent / f".{output.name}.parts"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with progress_bar("finding and scoring sites (UTR nt)", total) as advance:
            if not pairing:
                table, sites = paper_gene_table(net, pairs, meta, threshold=threshold, sort=sort, progress=advance)
            elif cluster:
                from mirlens.cluster.jobs import run_genes_on_cluster

                table, sites = run_genes_on_cluster(cluster, model, net, pairs, output, meta, repression,
                                                    sort=sort, progress=advance, say=console.print)
            else:
                params = {"job": "predict-genes", "model": meta.get("name"), "config": meta.get("config"),
                          "pairs": table_fingerprint(pairs), "n_pairs": len(pairs),
                          "repression": None if repression is None else repression.to_dict(),
                          "card": {k: meta.get("card", {}).get(k) for k in ("scan_threshold", "utr_call")}}
                store = _open_store(work, params)
                table, sites = gene_table(net, pairs, meta, repression=repression, sort=sort, progress=advance,
                                          store=store)
    for w in caught:
        console.print(f"[yellow]warning:[/] {escape(str(w.message))}", highlight=False, soft_wrap=True)
    write_table(table, output)
    sites_path = sidecar(output, "sites")
    write_table(sites, sites_path)
    shutil.rmtree(work, ignore_errors=True)
    n_called = int(table["is_target"].sum())
    how = ("a site called by the site model" if pairing else f"miRAW-benchmark probability > {threshold:g}")
    console.print(f"{len(table):,} (miRNA, UTR) pairs, {len(sites):,} sites listed, {n_called:,} called targets "
                  f"({how}; model {escape(str(meta['name']))!r}) -> {escape(str(output))}, "
                  f"{escape(str(sites_path))}", highlight=False, soft_wrap=True)
    labelled = label_summary(table, threshold, "probability" if pairing else "miraw_probability")
    if labelled:
        console.print(labelled, highlight=False, soft_wrap=True)
    return table


def _open_store(work: Path, params: dict):
    """The chunk store of a resumable predict-genes run (a store of another job in the same place is replaced:
    it cannot be resumed by this one)."""
    from mirlens.errors import MirlensError
    from mirlens.tables import ChunkStore

    try:
        return ChunkStore(work, params)
    except MirlensError:
        return ChunkStore(work, params, overwrite=True)


def label_summary(table: pd.DataFrame, threshold: float, column: str = "probability") -> str:
    """One paragraph of metrics over the rows that carry a label (empty when fewer than both classes): AUROC of
    ``column``, the balanced accuracy of ``is_target`` (of ``column > threshold`` without that column), and the AUROC
    split into comparisons within one miRNA and across miRNAs (:func:`mirlens.evaluation.metrics.grouped_auroc`)."""
    if "label" not in table:
        return ""
    known = table[table["label"].notna()]
    y = known["label"].astype(int).to_numpy()
    if len(set(y)) < 2:
        return ""
    m = binary_metrics(y, known[column].to_numpy(), threshold)
    if "is_target" in known:
        call = known["is_target"].astype(bool).to_numpy()
        balanced = (call[y == 1].mean() + (~call[y == 0]).mean()) / 2
        how = "is_target"
    else:
        balanced = (m["sensitivity"] + m["specificity"]) / 2
        how = f"threshold {threshold:g}"
    text = (f"{len(known):,} labelled pairs ({int(y.sum()):,} positive): AUROC of {column} {m['auroc']:.4f}, "
            f"balanced accuracy {balanced:.4f} ({how}). ")
    if "mirna_id" not in known:
        return text
    split = grouped_auroc(y, known[column].to_numpy(), known["mirna_id"].astype(str).to_numpy())
    if split["n_within"] == 0:
        return text + "No miRNA has both positive and negative pairs: the AUROC only ranks miRNAs against each other."
    text += (f"Within one miRNA AUROC {split['within']:.4f} ({split['within_share']:.1%} of the positive-negative "
             f"comparisons), across miRNAs {split['between']:.4f}")
    if split["within_share"] < 0.1:
        text += ": on these pairs AUROC mostly measures how the miRNAs are ranked, not their UTRs"
    return text + "."


@app.command("predict-genes")
@reports_errors
def predict_genes_command(
    pairs: Annotated[Path | None, typer.Argument(help="Pair table: TSV/CSV/Parquet with mirna_id, mirna_seq, mrna_id, "
                                                      "mrna_seq[, label] (or mirna_id, mirna, target_id, target), "
                                                      "whole 3'UTRs 5'->3'.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output table (.tsv, .csv or .parquet).")]
    = Path("genes.tsv"),
    mirna: Annotated[str | None, typer.Option("--mirna", metavar="FASTA|NAMES", help="Instead of PAIRS: the "
                                              "miRNAs, each paired with every UTR of --targets. " + MIRNA_HELP)]
    = None,
    targets: Annotated[Path | None, typer.Option("--targets", help="Instead of PAIRS: 3'UTR FASTA.")] = None,
    genes: GenesOpt = None,
    species: SpeciesOpt = None,
    release: ReleaseOpt = None,
    transcripts: TranscriptsOpt = None,
    gtf: GtfOpt = None,
    transcript_fasta: TranscriptFastaOpt = None,
    cache_dir: CacheDirOpt = None,
    model: Annotated[str, typer.Option("--model", "-m", help="Site model: name, directory or Keras .h5 file. "
                                       "Default: the bundled `pairing`. Paper-protocol (miTAR) models such as "
                                       "`miraw` run the paper's gene-level pipeline instead (see below).")]
    = "pairing",
    sort: Annotated[str, typer.Option(help="Row order: `input` (the input's order) or `rank` (by miRNA, then "
                                      "rank).")] = "input",
    repression_model: Annotated[Path | None, typer.Option(help="Repression model for `ranking_score` and "
                                                          "`probability` (a file from `mirlens fit-repression`; "
                                                          "default: the shipped one, fitted on 7 HCT116 and 13 "
                                                          "HeLa overexpression experiments).")] = None,
    noncanonical: Annotated[bool, typer.Option(help="Paper-protocol models: also score non-canonical candidates "
                                               "(extended seed with G:U wobbles and one mismatch).")] = True,
    threshold: Annotated[float, typer.Option(help="Paper-protocol models: `is_target` is miraw_probability > "
                                             "threshold (that probability is calibrated to a 50:50 prior on the "
                                             "miRAW gene-level benchmark). The default model calls by its card.")]
    = 0.5,
    n_best: Annotated[int, typer.Option(help="Paper-protocol models: best sites listed per pair.")] = 3,
    batch_size: Annotated[int, typer.Option(help="Paper-protocol models: windows per forward pass.")] = 1024,
    cluster: ClusterOpt = None,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML page of the table "
                                              "(`mirlens report genes`), with duplexes and attributions of the "
                                              "top genes in OUTPUT's stem + '.details.parquet'.")] = None,
    details_top: Annotated[int, typer.Option("--details-top", help="With --html: genes per miRNA (by rank) whose "
                                             "sites get duplexes and attributions (0: none).")] = 200,
) -> None:
    """Which of my genes does this miRNA repress? The gene-level answer, one row per (miRNA, UTR) pair.

    Rows in input order (or --sort rank), from one whole-UTR pass of the site model per miRNA: `rank` (1 = predicted to go down most among the genes of the same miRNA; no ties), `ranking_score` (predicted
    repression, -log2 fold change: canonical sites by type and context plus the model's best non-canonical site),
    `probability` (calibrated chance that the gene goes down, FDR < 0.05, when the miRNA is raised), `is_target`
    (the UTR holds a site the site model calls at its card's threshold -- what `mirlens predict` calls a target),
    `n_8mer` `n_7mer_m8` `n_7mer_a1` `n_6mer` `n_offset_6mer` (canonical sites), `n_noncanonical` (the model's own
    called sites), `n_sites`, `utr_length`, `best_site_logit` and `sites`: START-END:TYPE:LOGIT:CONTRIB items (1-based
    positions of the nucleotides facing miRNA positions 8..1; the site logit; its contribution to ranking_score).
    The same sites, one row each (with `called`), go to OUTPUT's stem + `.sites.tsv` (`.sites.parquet` for a
    Parquet OUTPUT). An interrupted run continues where it stopped.

    Paper-protocol (miTAR) models keep the paper's gene-level pipeline: `miraw_probability` (calibrated on the
    miRAW gene-level benchmark, which mostly ranks miRNAs), `is_target` = miraw_probability > --threshold, and the
    ranking columns of the model-free (canonical-site) repression model.
    """
    if n_best < 1:
        raise InputError(f"--n-best must be at least 1 (got {n_best})")
    if batch_size < 1:
        raise InputError(f"--batch-size must be positive (got {batch_size})")
    gene_options = dict(species=species, release=release, transcripts=transcripts, gtf=gtf,
                        transcript_fasta=transcript_fasta, cache_dir=cache_dir)
    check_gene_options(genes, **gene_options)
    if genes is not None and (pairs is not None or targets is not None or mirna is None):
        raise InputError("--genes takes the place of --targets: give --mirna and --genes (not PAIRS or --targets)")
    if pairs is not None and (mirna is not None or targets is not None):
        raise InputError("give either PAIRS or --mirna and --targets, not both")
    if pairs is None and genes is None and (mirna is None or targets is None):
        raise InputError("give a pair table (PAIRS), or --mirna and --targets (FASTA files; --mirna also takes "
                         "miRBase names), or --mirna and --genes")
    if html is not None:
        from mirlens.report.genes import check_report_options

        check_report_options(html, details_top)
    net, meta = load_model(model, with_meta=True)
    if genes is not None:
        table = gene_pairs(mirnas_option(mirna, max_len=net.config.mirna_slot), genes,
                           max_mirna_len=net.config.mirna_slot, **gene_options)
    elif pairs is not None:
        table = read_pairs(pairs, max_mirna_len=net.config.mirna_slot)
    else:
        mirnas = mirnas_option(mirna, max_len=net.config.mirna_slot)
        table = pairs_from_fasta(mirnas, targets, max_mirna_len=net.config.mirna_slot,
                                 mirna_source=Path(mirna).name)
    from mirlens.predict.utr_pass import is_pairing

    result = run_gene_level(table, output, model, noncanonical=noncanonical, batch_size=batch_size,
                            n_best=n_best, threshold=threshold, net_meta=(net, meta),
                            repression_model=repression_model, cluster=cluster_spec(cluster), sort=sort)
    from mirlens.cli.report import gene_outputs  # the run description; with --html the details and the page

    gene_outputs(output, result, table, (net, meta), html=html, details_top=details_top,
                 settings={"sort": sort, **({"call": "site model's card (scan threshold, UTR rule)"}
                                            if is_pairing(net) else {"threshold": threshold,
                                                                     "noncanonical": noncanonical,
                                                                     "n_best": n_best})},
                 inputs=[("pairs", pairs), ("miRNAs", mirna), ("3'UTRs", targets)])
