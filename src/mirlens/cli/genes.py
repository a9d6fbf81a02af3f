"""``mirlens predict-genes``: is a whole 3'UTR a target of a miRNA? (gene-level prediction)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mirlens.cli.annotation import (CacheDirOpt, GenesOpt, GtfOpt, ReleaseOpt, SpeciesOpt, TranscriptFastaOpt,
                                    TranscriptsOpt, check_gene_options, gene_pairs)
from mirlens.cli.app import app
from mirlens.cli.common import ClusterOpt, cluster_spec, console, progress_bar, reports_errors
from mirlens.data.fasta import pairs_from_fasta
from mirlens.data.readers import read_pairs
from mirlens.errors import InputError
from mirlens.evaluation.metrics import binary_metrics, grouped_auroc
from mirlens.genes.predict import GeneSettings, predict_genes
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
) -> pd.DataFrame:
    """Score a pair table (miRNA, whole UTR) at gene level and write the table; shared by ``predict-genes`` and
    ``predict --gene-level``. ``net_meta``: an already loaded ``(model, meta)``; ``cluster``: a Dask cluster spec
    (:mod:`mirlens.cluster`) to run on."""
    net, meta = net_meta if net_meta is not None else load_model(model, with_meta=True)
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"--threshold must lie in [0, 1] (got {threshold})")
    settings = GeneSettings(noncanonical=noncanonical, batch_size=batch_size, n_best=n_best)
    total = int(pairs["target"].str.len().sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with progress_bar("typing and scoring sites (UTR nt)", total) as advance:
            if cluster:
                from mirlens.cluster.jobs import run_genes_on_cluster

                table = run_genes_on_cluster(cluster, model, net, pairs, output, settings, meta, advance,
                                                 say=console.print)
            else:
                table = predict_genes(net, pairs, settings, model_name=meta.get("name"),
                                      repression=load_repression(repression_model), progress=advance)
    for w in caught:
        console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)
    table["is_target"] = table["probability"] > threshold
    write_table(table, output)
    console.print(f"{len(table):,} (miRNA, UTR) pairs, {int(table['n_sites'].sum()):,} candidate sites, "
                  f"{int(table['is_target'].sum()):,} called targets (probability > {threshold:g}; model "
                  f"{meta['name']!r}) -> {output}")
    labelled = label_summary(table, threshold)
    if labelled:
        console.print(labelled, highlight=False, soft_wrap=True)
    return table


def label_summary(table: pd.DataFrame, threshold: float) -> str:
    """One paragraph of metrics over the rows that carry a label (empty when fewer than both classes): AUROC,
    balanced accuracy at the threshold, and the AUROC split into comparisons within one miRNA and across miRNAs
    (:func:`mirlens.evaluation.metrics.grouped_auroc`)."""
    if "label" not in table:
        return ""
    known = table[table["label"].notna()]
    y = known["label"].astype(int).to_numpy()
    if len(set(y)) < 2:
        return ""
    m = binary_metrics(y, known["probability"].to_numpy(), threshold)
    text = (f"{len(known):,} labelled pairs ({int(y.sum()):,} positive): AUROC {m['auroc']:.4f}, balanced accuracy "
            f"{(m['sensitivity'] + m['specificity']) / 2:.4f} (threshold {threshold:g}). ")
    if "mirna_id" not in known:
        return text
    split = grouped_auroc(y, known["probability"].to_numpy(), known["mirna_id"].astype(str).to_numpy())
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
    mirna: Annotated[Path | None, typer.Option("--mirna", help="Instead of PAIRS: miRNA FASTA; every miRNA is "
                                               "paired with every UTR of --targets.")] = None,
    targets: Annotated[Path | None, typer.Option("--targets", help="Instead of PAIRS: 3'UTR FASTA.")] = None,
    genes: GenesOpt = None,
    species: SpeciesOpt = None,
    release: ReleaseOpt = None,
    transcripts: TranscriptsOpt = None,
    gtf: GtfOpt = None,
    transcript_fasta: TranscriptFastaOpt = None,
    cache_dir: CacheDirOpt = None,
    model: Annotated[str, typer.Option("--model", "-m", help="Model name, directory or Keras .h5 file. "
                                       "Default: the bundled `miraw` (best cross-validated gene-level "
                                       "AUROC / balanced accuracy of the bundled models).")] = "miraw",
    noncanonical: Annotated[bool, typer.Option(help="Also score non-canonical candidates (extended seed with G:U "
                                               "wobbles and one mismatch).")] = True,
    threshold: Annotated[float, typer.Option(help="`is_target` is probability > threshold (the probability is "
                                             "calibrated to a 50:50 prior).")] = 0.5,
    n_best: Annotated[int, typer.Option(help="Best sites listed per pair.")] = 3,
    batch_size: Annotated[int, typer.Option(help="Windows per forward pass.")] = 1024,
    repression_model: Annotated[Path | None, typer.Option(help="Repression model for `ranking_score` (from "
                                                          "`mirlens fit-repression`; default: the shipped one, "
                                                          "fitted on 7 HCT116 transfections).")] = None,
    cluster: ClusterOpt = None,
) -> None:
    """Gene-level prediction: one row per input pair, in input order, with `probability` (gene level, 0..1),
    `ranking_score` (predicted repression, -log2 fold change: which of a miRNA's genes go down most) and its `rank`
    among the pairs of the same miRNA, `n_sites`, `n_canonical` and the best sites (1-based start-end on the UTR,
    seed-match type, site probability).

    Candidate sites are canonical seed matches (8mer, 7mer-m8, 7mer-A1, 6mer, offset-6mer) and, unless
    --no-noncanonical, extended-seed matches with G:U wobbles and one mismatch. Each is scored in a window that puts
    the site where training sites sat; site scores are combined by a calibrator fitted (cross-validated) on the
    miRAW gene-level development pairs.

    --genes takes the 3'UTRs of genes from Ensembl or your annotation instead of --targets (one per gene: the
    longest 3'UTR of its protein-coding transcripts); the table then also has gene_id, gene_name, transcript_id.
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
        raise InputError("give a pair table (PAIRS), or --mirna and --targets (FASTA files), or --mirna and --genes")
    net, meta = load_model(model, with_meta=True)
    if genes is not None:
        table = gene_pairs(mirna, genes, max_mirna_len=net.config.mirna_slot, **gene_options)
    elif pairs is not None:
        table = read_pairs(pairs, max_mirna_len=net.config.mirna_slot)
    else:
        table = pairs_from_fasta(mirna, targets, max_mirna_len=net.config.mirna_slot)
    run_gene_level(table, output, model, noncanonical=noncanonical, batch_size=batch_size, n_best=n_best,
                   threshold=threshold, net_meta=(net, meta), repression_model=repression_model,
                   cluster=cluster_spec(cluster))
