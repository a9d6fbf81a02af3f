"""A random but self-consistent Ensembl-style annotation (GTF + transcript cDNA FASTA) whose true 3'UTRs are known.

Used by tests/test_annotation.py (a cross-check of the UTR extraction on many random transcripts: both strands,
multi-exon UTRs, stop codons split by an intron) and by benchmarks/bench_annotation.py (a GTF of realistic size).

Layout follows Ensembl's GTFs: gene, transcript, exon, CDS (without the stop codon), start_codon, stop_codon,
five_prime_utr and three_prime_utr rows with Ensembl's attributes; exon_number counts 5'->3' along the transcript
(so on the minus strand exon 1 has the highest coordinates); the cDNA FASTA holds each transcript's spliced
sequence 5'->3' under its id, with an Ensembl-like description.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

CHROMOSOMES = [str(i) for i in range(1, 23)] + ["X"]


@dataclass
class FakeTranscript:
    transcript_id: str
    gene_id: str
    gene_name: str
    strand: str
    chromosome: str
    biotype: str
    exons: list[tuple[int, int]]  # 1-based inclusive genomic intervals, in transcript order (5'->3')
    sequence: str  # spliced cDNA, DNA letters
    cds: tuple[int, int] | None = None  # spliced 0-based [start, end) including the stop codon
    has_stop: bool = True

    @property
    def utr3(self) -> str | None:
        """The true 3'UTR (after the stop codon), RNA letters; None without a stop codon or when empty."""
        if self.cds is None or not self.has_stop:
            return None
        utr = self.sequence[self.cds[1]:]
        return utr.replace("T", "U") or None


@dataclass
class FakeGene:
    gene_id: str
    gene_name: str
    biotype: str
    strand: str
    chromosome: str
    transcripts: list[FakeTranscript] = field(default_factory=list)


def spliced_to_genomic(exons: list[tuple[int, int]], strand: str, a: int, b: int) -> list[tuple[int, int]]:
    """Genomic pieces (1-based inclusive, ascending) of the spliced interval [a, b) of a transcript."""
    pieces = []
    offset = 0
    for start, end in exons:
        length = end - start + 1
        lo, hi = max(a, offset), min(b, offset + length)
        if lo < hi:
            if strand == "+":
                pieces.append((start + lo - offset, start + hi - offset - 1))
            else:
                pieces.append((end - (hi - offset) + 1, end - (lo - offset)))
        offset += length
    return sorted(pieces)


def _attrs(**kv) -> str:
    return " ".join(f'{k} "{v}";' for k, v in kv.items() if v is not None)


def make_annotation(n_genes: int, seed: int = 0, *, max_transcripts: int = 5, max_exons: int = 10,
                    utr_scale: int = 1200) -> list[FakeGene]:
    """``n_genes`` random genes (about 85% protein-coding) with 1..max_transcripts transcripts of 1..max_exons
    exons each; coding transcripts get a CDS, and a 3'UTR of 0..~3*utr_scale nt that may span several exons."""
    rng = random.Random(seed)
    genes = []
    position = {c: 10_000 for c in CHROMOSOMES}
    for g in range(n_genes):
        chromosome = rng.choice(CHROMOSOMES)
        strand = rng.choice("+-")
        coding_gene = rng.random() < 0.85
        gene = FakeGene(f"ENSG{g + 1:011d}", f"GENE{g + 1}", "protein_coding" if coding_gene else "lncRNA",
                        strand, chromosome)
        start = position[chromosome]
        for t in range(rng.randint(1, max_transcripts)):
            n_exons = rng.randint(1, max_exons)
            cursor = start + rng.randint(0, 500)
            exons = []
            for _ in range(n_exons):
                length = rng.randint(40, 600)
                exons.append((cursor, cursor + length - 1))
                cursor += length + rng.randint(50, 3000)
            if rng.random() < 0.3:  # a long last exon (3'UTRs often are)
                s, e = exons[-1]
                exons[-1] = (s, e + rng.randint(500, 3 * utr_scale))
            if strand == "-":
                exons = exons[::-1]
            length = sum(e - s + 1 for s, e in exons)
            seq = "".join(rng.choices("ACGT", k=length))
            biotype = "lncRNA"
            cds = None
            has_stop = True
            if coding_gene:
                biotype = rng.choices(["protein_coding", "retained_intron", "nonsense_mediated_decay"],
                                      [0.75, 0.15, 0.10])[0]
                if biotype != "retained_intron" and length >= 60:
                    utr5 = rng.randint(0, min(300, length // 4))
                    utr3 = rng.choice([0, rng.randint(1, 30), rng.randint(0, max(0, length - utr5 - 30))])
                    utr3 = min(utr3, length - utr5 - 30)
                    n_codons = (length - utr5 - utr3) // 3
                    cds = (utr5, utr5 + 3 * n_codons)
                    has_stop = rng.random() > 0.05  # some coding transcripts lack a stop codon (cds_end_NF)
                    seq = seq[:cds[1] - 3] + rng.choice(["TAA", "TAG", "TGA"]) + seq[cds[1]:]
            gene.transcripts.append(FakeTranscript(f"ENST{g + 1:08d}{t:03d}", gene.gene_id, gene.gene_name, strand,
                                                   chromosome, biotype, exons, seq, cds, has_stop))
            position[chromosome] = max(position[chromosome], max(e for _, e in exons) + 1000)
        genes.append(gene)
    return genes


def gtf_lines(genes: list[FakeGene]) -> list[str]:
    lines = ['#!genome-build fake', '#!genome-version fake']
    for gene in genes:
        lo = min(s for t in gene.transcripts for s, _ in t.exons)
        hi = max(e for t in gene.transcripts for _, e in t.exons)
        gattrs = dict(gene_id=gene.gene_id, gene_version="1", gene_name=gene.gene_name, gene_source="ensembl",
                      gene_biotype=gene.biotype)

        def row(feature, start, end, frame=".", **extra):
            lines.append("\t".join([gene.chromosome, "ensembl", feature, str(start), str(end), ".", gene.strand, frame,
                                    _attrs(**gattrs, **extra)]))

        row("gene", lo, hi)
        for t in gene.transcripts:
            tattrs = dict(transcript_id=t.transcript_id, transcript_version="1",
                          transcript_name=f"{gene.gene_name}-{t.transcript_id[-3:]}",
                          transcript_source="ensembl", transcript_biotype=t.biotype)
            if t.cds is not None and not t.has_stop:
                tattrs["tag"] = "cds_end_NF"
            row("transcript", min(s for s, _ in t.exons), max(e for _, e in t.exons), **tattrs)
            for number, (s, e) in enumerate(t.exons, start=1):
                row("exon", s, e, **tattrs, exon_number=str(number), exon_id=f"ENSE{t.transcript_id[4:]}{number:02d}",
                    exon_version="1")
            if t.cds is None:
                continue
            cs, ce = t.cds
            protein = dict(protein_id="ENSP" + t.transcript_id[4:], protein_version="1")
            cds_end = ce - 3 if t.has_stop else ce
            spliced = 0  # CDS frame: bases to skip to reach the next codon start
            pieces = spliced_to_genomic(t.exons, t.strand, cs, cds_end)
            for s, e in (pieces if t.strand == "+" else pieces[::-1]):
                row("CDS", s, e, frame=str((3 - spliced % 3) % 3), **tattrs, **protein)
                spliced += e - s + 1
            for s, e in spliced_to_genomic(t.exons, t.strand, cs, cs + 3):
                row("start_codon", s, e, frame="0", **tattrs)
            if t.has_stop:
                for s, e in spliced_to_genomic(t.exons, t.strand, ce - 3, ce):
                    row("stop_codon", s, e, frame="0", **tattrs)
            for s, e in spliced_to_genomic(t.exons, t.strand, 0, cs):
                row("five_prime_utr", s, e, **tattrs)
            for s, e in spliced_to_genomic(t.exons, t.strand, ce, len(t.sequence)):
                row("three_prime_utr", s, e, **tattrs)
    return lines


def write_annotation(genes: list[FakeGene], directory: Path, *, stem: str = "Fake.GRCh38.111") -> tuple[Path, Path]:
    """Write ``STEM.gtf`` and ``STEM.cdna.all.fa`` into ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    gtf = directory / f"{stem}.gtf"
    gtf.write_text("\n".join(gtf_lines(genes)) + "\n")
    fasta = directory / f"{stem}.cdna.all.fa"
    with open(fasta, "w") as fh:
        for gene in genes:
            for t in gene.transcripts:
                fh.write(f">{t.transcript_id}.1 cdna chromosome:GRCh38:{t.chromosome}:1:2:1 gene:{gene.gene_id}.1 "
                         f"gene_biotype:{gene.biotype} transcript_biotype:{t.biotype} gene_symbol:{gene.gene_name}\n")
                for i in range(0, len(t.sequence), 60):
                    fh.write(t.sequence[i:i + 60] + "\n")
    return gtf, fasta
