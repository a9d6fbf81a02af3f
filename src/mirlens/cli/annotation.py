"""Options and helpers of ``--genes`` (3'UTRs by gene, :mod:`mirlens.data.annotation`) shared by ``predict``,
``predict-genes`` and ``mirlens genes``. Defines no command; imports nothing heavy until a helper runs."""

from __future__ import annotations

import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from mirlens.cli.common import print_plain, warn
from mirlens.errors import InputError

DEFAULT_RELEASE = 111  # = mirlens.data.annotation.DEFAULT_RELEASE (tests/test_annotation.py checks)


class TranscriptRule(str, Enum):
    longest = "longest"
    all = "all"


GenesOpt = Annotated[str | None, typer.Option(
    "--genes", help="3'UTRs by gene: gene symbols (any case) or Ensembl gene ids, comma-separated (PTEN,PDCD4), "
    "`all` (every gene with a protein-coding 3'UTR), or a text file of names. One 3'UTR per gene: the longest of "
    "its protein-coding transcripts with an annotated stop codon (see --transcripts). From an Ensembl release "
    "(--species, --release; downloaded once) or from your --gtf and --transcript-fasta.")]
SpeciesOpt = Annotated[str | None, typer.Option(
    "--species", help="With --genes: the Ensembl species, human (GRCh38) or mouse (GRCm39). Default: human.")]
ReleaseOpt = Annotated[int | None, typer.Option(
    "--release", help=f"With --genes: the Ensembl release (default {DEFAULT_RELEASE}).")]
TranscriptsOpt = Annotated[TranscriptRule | None, typer.Option(
    "--transcripts", help="With --genes: `longest` (default) keeps one 3'UTR per gene, the longest of its "
    "protein-coding transcripts (ties: the smallest transcript id); `all` keeps every protein-coding transcript's "
    "3'UTR (targets are then named by transcript id).")]
GtfOpt = Annotated[Path | None, typer.Option(
    "--gtf", help="With --genes: your own annotation (GTF, plain or .gz; e.g. Ensembl's or GENCODE's) instead of "
    "an Ensembl download; needs --transcript-fasta. Works offline.")]
TranscriptFastaOpt = Annotated[Path | None, typer.Option(
    "--transcript-fasta", help="With --gtf: the spliced transcript sequences (FASTA, plain or .gz, ids = the GTF's "
    "transcript ids, e.g. Ensembl's *.cdna.all.fa.gz).")]
CacheDirOpt = Annotated[Path | None, typer.Option(
    "--cache-dir", help="With --genes: where Ensembl downloads and the annotation indexes are kept (DIR/pyensembl/..., "
    "as PYENSEMBL_CACHE_DIR=DIR). Default: $PYENSEMBL_CACHE_DIR, else ~/.cache.")]


def check_gene_options(genes: str | None, *, species=None, release=None, transcripts=None, gtf=None,
                       transcript_fasta=None, cache_dir=None) -> None:
    """An option of ``--genes`` without ``--genes`` is an error (it would be silently ignored)."""
    if genes is not None:
        return
    given = [name for name, value in (("--species", species), ("--release", release), ("--transcripts", transcripts),
                                      ("--gtf", gtf), ("--transcript-fasta", transcript_fasta),
                                      ("--cache-dir", cache_dir)) if value is not None]
    if given:
        raise InputError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to 3'UTRs by gene: add "
                         "--genes NAMES (or --genes all)")


def gene_utrs(genes: str, *, species=None, release=None, transcripts=None, gtf=None, transcript_fasta=None,
              cache_dir=None):
    """:func:`mirlens.data.annotation.utr_table` for the command line: downloads and index builds are announced,
    warnings (genes left out, symbols naming several genes) printed, and a one-line summary follows."""
    from mirlens.data.annotation import utr_table

    rule = (transcripts or TranscriptRule.longest).value
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        utrs = utr_table(genes, species=species, release=release, transcripts=rule, gtf=gtf,
                         transcript_fasta=transcript_fasta, cache_dir=cache_dir,
                         say=lambda text: print_plain(text, highlight=False, soft_wrap=True))
    for w in caught:
        if issubclass(w.category, UserWarning):
            warn(str(w.message))
    what = ("the longest protein-coding 3'UTR per gene" if rule == "longest"
            else "every protein-coding transcript's 3'UTR")
    print_plain(f"{len(utrs):,} 3'UTR(s) of {utrs['gene_id'].nunique():,} gene(s) ({what}; median "
                f"{int(utrs['utr_length'].median()):,} nt) from {utrs.attrs['source'].split(':', 1)[0]}",
                highlight=False, soft_wrap=True)
    return utrs


def gene_pairs(mirna, genes: str, *, max_mirna_len: int | None, **options):
    """Every miRNA of ``mirna`` (a FASTA path or resolved records) with the 3'UTR of every gene of ``genes`` (:func:`gene_utrs`): the pair table of
    ``predict-genes`` / ``predict --gene-level``, ``target_id`` = gene id (transcript id with ``--transcripts all``),
    plus ``gene_id``, ``gene_name``, ``transcript_id``."""
    from mirlens.data.annotation import pairs_from_utrs

    return pairs_from_utrs(mirna, gene_utrs(genes, **options), max_mirna_len=max_mirna_len)


def gene_fasta(genes: str, path: Path, **options):
    """Write the 3'UTRs of ``genes`` (:func:`gene_utrs`) as FASTA to ``path`` (atomically; headers: target id, then
    symbol, gene id and transcript id); returns ``(utrs, sha256 of the file's text)``."""
    import hashlib

    from mirlens.data.annotation import utr_fasta_text
    from mirlens.tables import write_text

    utrs = gene_utrs(genes, **options)
    text = utr_fasta_text(utrs)
    write_text(text, path)
    return utrs, hashlib.sha256(text.encode()).hexdigest()
