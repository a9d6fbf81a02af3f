"""``mirlens genes``: 3'UTRs by gene from Ensembl (downloaded once) or from your own GTF + transcript FASTA."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mirlens.cli.annotation import (DEFAULT_RELEASE, CacheDirOpt, GtfOpt, ReleaseOpt, SpeciesOpt, TranscriptFastaOpt,
                                    TranscriptsOpt, gene_fasta, gene_utrs)
from mirlens.cli.app import app
from mirlens.cli.common import print_plain, reports_errors
from mirlens.errors import InputError

genes_app = typer.Typer(help="3'UTRs by gene: download an Ensembl release once, or export the 3'UTRs of genes.",
                        no_args_is_help=True)
app.add_typer(genes_app, name="genes")

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")


@genes_app.command("fetch")
@reports_errors
def fetch_command(
    species: Annotated[str | None, typer.Option("--species", help="human (GRCh38) or mouse (GRCm39). Default: "
                                                "human.")] = None,
    release: Annotated[int | None, typer.Option("--release", help=f"Ensembl release (default {DEFAULT_RELEASE}).")]
    = None,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Where to keep the files and their indexes "
                                                   "(DIR/pyensembl/ASSEMBLY/ensemblN, as PYENSEMBL_CACHE_DIR=DIR). "
                                                   "Default: $PYENSEMBL_CACHE_DIR, else ~/.cache.")] = None,
) -> None:
    """Download and index an Ensembl release once, for `--genes` runs without network.

    Downloads the release's GTF and cDNA FASTA (the size is printed first) and indexes them; later `--genes` runs
    read the cache. To run on a machine without network, copy the printed folder there (to the same path, or
    point --cache-dir / PYENSEMBL_CACHE_DIR at the folder that holds its pyensembl/)."""
    from mirlens.data.annotation import ensembl_source, fetch, is_downloaded

    source = ensembl_source(species or "human", release, cache_dir=cache_dir)
    was_there = is_downloaded(source)
    fetch(source.species, source.release, cache_dir=cache_dir,
          say=lambda text: print_plain(text, highlight=False, soft_wrap=True))
    size = sum(p.stat().st_size for p in source.cache_dir.rglob("*") if p.is_file())
    print_plain(f"{source.label}: {'already downloaded' if was_there else 'downloaded'} and indexed in "
                f"{source.cache_dir} ({size / 1e6:,.0f} MB)", highlight=False, soft_wrap=True)


@genes_app.command("utrs")
@reports_errors
def utrs_command(
    genes: Annotated[str, typer.Option("--genes", help="Gene symbols (any case) or Ensembl gene ids, comma-separated, "
                                       "`all`, or a text file of names.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Table (.tsv, .csv, .parquet: gene_id, gene_name, "
                                         "transcript_id, utr, utr_length) or FASTA (.fa, .fasta).")],
    species: SpeciesOpt = None,
    release: ReleaseOpt = None,
    transcripts: TranscriptsOpt = None,
    gtf: GtfOpt = None,
    transcript_fasta: TranscriptFastaOpt = None,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Write the 3'UTRs of genes as a table or FASTA.

    One per gene: the longest 3'UTR of its protein-coding transcripts with an annotated stop codon (ties: the
    smallest transcript id), or every one with --transcripts all. A 3'UTR is the spliced transcript after the stop
    codon, RNA letters 5'->3'. FASTA headers: target id (gene id; transcript id with --transcripts all), symbol,
    gene id, transcript id -- a file `predict --targets` reads."""
    options = dict(species=species, release=release, transcripts=transcripts, gtf=gtf,
                   transcript_fasta=transcript_fasta, cache_dir=cache_dir)
    if output.suffix.lower() in FASTA_SUFFIXES:
        gene_fasta(genes, output, **options)
    else:
        from mirlens.tables import TABLE_SUFFIXES, write_table

        if output.suffix.lower() not in TABLE_SUFFIXES:
            raise InputError(f"unknown output format {output.suffix or '(none)'!r}: use .tsv, .csv, .parquet or .fa")
        write_table(gene_utrs(genes, **options), output)
    print_plain(f"-> {output}", highlight=False)
