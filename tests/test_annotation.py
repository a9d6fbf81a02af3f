"""3'UTRs by gene (mirlens.data.annotation, `--genes`): the real pyensembl path on a small GTF + cDNA FASTA written
here, UTRs checked against coordinates worked out by hand; the Ensembl download path against a local HTTP server
(loopback only), an unreachable server and a broken download; the command lines end to end."""

from __future__ import annotations

import gzip
import http.server
import os
import random
import socket
import subprocess
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

try:
    import pyensembl  # noqa: F401
except ImportError:  # the test extra installs it; CI must not skip silently
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("pyensembl is not installed (pip install -e '.[test]')", allow_module_level=True)

from fake_annotation import make_annotation, write_annotation  # noqa: E402  (tests/fake_annotation.py)
from typer.testing import CliRunner  # noqa: E402

from mirlens.cli.app import _register, app  # noqa: E402
from mirlens.data import annotation as ann  # noqa: E402
from mirlens.data.examples import example_path  # noqa: E402
from mirlens.errors import DataSetError, InputError, MirlensError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
_register()

# ---- the hand-made annotation ----------------------------------------------------------------------------------
# Two chromosomes of random sequence; every transcript's cDNA is spliced from them, so the expected 3'UTR of a
# transcript is the genome under the three_prime_utr coordinates below (read 5'->3' on its strand). The code under
# test never reads those rows: it finds the UTR from the exons and the stop codon.

_rng = random.Random(7)
GENOME = {"1": "".join(_rng.choices("ACGT", k=1400)), "2": "".join(_rng.choices("ACGT", k=1000))}

# gene id, symbol, gene biotype, chromosome, strand, transcripts:
#   (transcript id, biotype, exons 5'->3', start codon, CDS pieces, stop codon pieces, 3'UTR pieces 5'->3', tag)
GENES = [
    ("ENSG00000000001", "ALPHA", "protein_coding", "1", "+", [
        # 3 exons (20 + 30 + 40 nt); stop codon = spliced 32-34 (exon 2); UTR = rest of exon 2 (15) + exon 3 (40)
        ("ENST00000000011", "protein_coding", [(101, 120), (201, 230), (301, 340)], (106, 108),
         [(106, 120), (201, 212)], [(213, 215)], [(216, 230), (301, 340)], None),
        # 2 exons (20 + 60); stop codon at the start of exon 2; UTR = exon 2 from its 4th nt: 57 nt, the longest
        ("ENST00000000012", "protein_coding", [(101, 120), (301, 360)], (106, 108),
         [(106, 120)], [(301, 303)], [(304, 360)], None),
        ("ENST00000000013", "retained_intron", [(101, 250)], None, [], [], [], None),
    ]),
    ("ENSG00000000002", "BETA", "protein_coding", "1", "-", [
        # minus strand, exon 1 highest; the stop codon is split by the first intron (2 nt + 1 nt);
        # UTR = exon 2 after its first nt (29) + exon 3 (20): 49 nt
        ("ENST00000000021", "protein_coding", [(1251, 1290), (1101, 1130), (1001, 1020)], (1286, 1288),
         [(1253, 1288)], [(1251, 1252), (1130, 1130)], [(1101, 1129), (1001, 1020)], None),
        # CDS end not found: no stop codon, no 3'UTR (its CDS runs to the transcript's end)
        ("ENST00000000022", "protein_coding", [(1251, 1290), (1001, 1060)], (1286, 1288),
         [(1251, 1288), (1001, 1060)], [], [], "cds_end_NF"),
        # nonsense-mediated decay: the longest 3'UTR of the gene (126 nt), but not a protein-coding transcript
        ("ENST00000000023", "nonsense_mediated_decay", [(1251, 1290), (1001, 1100)], (1286, 1288),
         [(1280, 1288)], [(1277, 1279)], [(1251, 1276), (1001, 1100)], None),
    ]),
    ("ENSG00000000003", "Gamma1", "protein_coding", "2", "+", [
        # two 27-nt 3'UTRs: a tie, broken by the smaller transcript id (ENST...31)
        ("ENST00000000032", "protein_coding", [(501, 530), (601, 627)], (501, 503),
         [(501, 527)], [(528, 530)], [(601, 627)], None),
        ("ENST00000000031", "protein_coding", [(501, 560)], (501, 503),
         [(501, 530)], [(531, 533)], [(534, 560)], None),
    ]),
    ("ENSG00000000004", "DELTA", "lncRNA", "2", "+", [
        ("ENST00000000041", "lncRNA", [(701, 800)], None, [], [], [], None),
    ]),
    ("ENSG00000000005", "EPSILON", "protein_coding", "2", "-", [
        # stop codon at the transcript's very end: an empty 3'UTR
        ("ENST00000000051", "protein_coding", [(901, 930)], (928, 930), [(904, 927)], [(901, 903)], [], None),
    ]),
]


def revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


def region(chrom: str, start: int, end: int, strand: str) -> str:
    seq = GENOME[chrom][start - 1:end]
    return seq if strand == "+" else revcomp(seq)


def transcript_rows():
    for gene_id, name, gene_biotype, chrom, strand, transcripts in GENES:
        for t in transcripts:
            yield gene_id, name, chrom, strand, t


def expected_utr(transcript_id: str) -> str:
    _, _, chrom, strand, t = next(r for r in transcript_rows() if r[4][0] == transcript_id)
    return "".join(region(chrom, s, e, strand) for s, e in t[6]).replace("T", "U")


def write_fixture(directory: Path, *, gz: bool = False, exon_numbers: bool = True, truncate: str | None = None,
                  stem: str = "mini") -> tuple[Path, Path]:
    """The annotation as an Ensembl-style GTF and cDNA FASTA (lncRNA transcripts go to Ensembl's ncrna file, so
    they are not in it); ``truncate``: that transcript's sequence loses its last nucleotide."""
    lines = ["#!genome-build mini"]
    fasta = []
    for gene_id, name, gene_biotype, chrom, strand, transcripts in GENES:
        g = f'gene_id "{gene_id}"; gene_version "3"; gene_name "{name}"; gene_source "ensembl"; ' \
            f'gene_biotype "{gene_biotype}";'
        lo = min(s for t in transcripts for s, _ in t[2])
        hi = max(e for t in transcripts for _, e in t[2])
        lines.append(f"{chrom}\tensembl\tgene\t{lo}\t{hi}\t.\t{strand}\t.\t{g}")
        for tid, biotype, exons, start_codon, cds, stop, utr3, tag in transcripts:
            a = f'{g} transcript_id "{tid}"; transcript_version "1"; transcript_name "{name}-{tid[-2:]}"; ' \
                f'transcript_biotype "{biotype}";' + (f' tag "{tag}";' if tag else "")
            lines.append(f"{chrom}\tensembl\ttranscript\t{min(s for s, _ in exons)}\t{max(e for _, e in exons)}\t.\t"
                         f"{strand}\t.\t{a}")
            for number, (s, e) in enumerate(exons, 1):
                extra = f' exon_number "{number}";' if exon_numbers else ""
                lines.append(f"{chrom}\tensembl\texon\t{s}\t{e}\t.\t{strand}\t.\t{a}{extra} "
                             f'exon_id "ENSE{tid[4:]}{number}"; exon_version "1";')
            done = 0
            for s, e in cds:
                lines.append(f"{chrom}\tensembl\tCDS\t{s}\t{e}\t.\t{strand}\t{(3 - done % 3) % 3}\t{a} "
                             f'protein_id "ENSP{tid[4:]}"; protein_version "1";')
                done += e - s + 1
            if start_codon:
                lines.append(f"{chrom}\tensembl\tstart_codon\t{start_codon[0]}\t{start_codon[1]}\t.\t{strand}\t0\t{a}")
            for s, e in stop:
                lines.append(f"{chrom}\tensembl\tstop_codon\t{s}\t{e}\t.\t{strand}\t0\t{a}")
            for s, e in utr3:
                lines.append(f"{chrom}\tensembl\tthree_prime_utr\t{s}\t{e}\t.\t{strand}\t.\t{a}")
            if biotype != "lncRNA":
                seq = "".join(region(chrom, s, e, strand) for s, e in exons)
                if tid == truncate:
                    seq = seq[:-1]
                fasta.append(f">{tid}.1 cdna chromosome:mini:{chrom}:{lo}:{hi}:{1 if strand == '+' else -1} "
                             f"gene:{gene_id}.3 gene_biotype:{gene_biotype} transcript_biotype:{biotype} "
                             f"gene_symbol:{name}")
                fasta.extend(seq[i:i + 60] for i in range(0, len(seq), 60))
    directory.mkdir(parents=True, exist_ok=True)
    gtf, fa = directory / f"{stem}.gtf", directory / f"{stem}.cdna.all.fa"
    texts = {gtf: "\n".join(lines) + "\n", fa: "\n".join(fasta) + "\n"}
    if gz:
        out = []
        for path, text in texts.items():
            gz_path = path.with_name(path.name + ".gz")
            gz_path.write_bytes(gzip.compress(text.encode()))
            out.append(gz_path)
        return out[0], out[1]
    for path, text in texts.items():
        path.write_text(text)
    return gtf, fa


@pytest.fixture()
def mini(tmp_path):
    gtf, fa = write_fixture(tmp_path / "annotation")
    return {"gtf": gtf, "transcript_fasta": fa, "cache_dir": tmp_path / "cache"}


def quiet_table(*args, **kwargs) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = ann.utr_table(*args, **kwargs)
    return table, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


# ---- the rule, on the hand-made annotation ----------------------------------------------------------------------

def test_the_hand_worked_utrs_minus_strand_split_stop_codon_and_multi_exon(mini):
    table, _ = quiet_table("all", transcripts="all", **mini)
    got = dict(zip(table["transcript_id"], table["utr"]))
    # exactly the protein-coding transcripts with a stop codon and a non-empty UTR
    assert set(got) == {"ENST00000000011", "ENST00000000012", "ENST00000000021", "ENST00000000031",
                        "ENST00000000032"}
    for tid, utr in got.items():
        assert utr == expected_utr(tid), tid
    # the lengths worked out by hand in GENES' comments
    assert {t: len(u) for t, u in got.items()} == {"ENST00000000011": 55, "ENST00000000012": 57,
                                                    "ENST00000000021": 49, "ENST00000000031": 27,
                                                    "ENST00000000032": 27}
    # BETA's UTR starts right after the split stop codon: the genome's reverse complement below 1130
    assert got["ENST00000000021"] == (revcomp(GENOME["1"][1100:1129]) + revcomp(GENOME["1"][1000:1020])).replace(
        "T", "U")
    assert set(table["utr"].str.cat()) <= set("ACGU")
    assert list(table.columns) == list(ann.UTR_COLUMNS)
    assert (table["utr_length"] == table["utr"].str.len()).all()
    # every gene's rows come longest first
    assert table.groupby("gene_id", sort=False)["utr_length"].apply(lambda s: s.is_monotonic_decreasing).all()


def test_one_utr_per_gene_is_the_longest_protein_coding_one_ties_to_the_smaller_id(mini):
    table, _ = quiet_table("ALPHA,BETA,Gamma1", **mini)
    assert table["gene_name"].tolist() == ["ALPHA", "BETA", "Gamma1"]
    assert table["gene_id"].tolist() == ["ENSG00000000001", "ENSG00000000002", "ENSG00000000003"]
    # ALPHA: 57 > 55; BETA: the NMD transcript's 126 nt and the cds_end_NF transcript do not count; Gamma1: tie
    assert table["transcript_id"].tolist() == ["ENST00000000012", "ENST00000000021", "ENST00000000031"]
    assert table["utr_length"].tolist() == [57, 49, 27]
    assert table.attrs["rule"] == "longest"


def test_genes_by_symbol_in_any_case_or_by_id_in_the_order_given(mini, tmp_path):
    table, _ = quiet_table(["gamma1", "ENSG00000000002.7", "alpha", "ALPHA"], **mini)
    assert table["gene_name"].tolist() == ["Gamma1", "BETA", "ALPHA"]
    listed = tmp_path / "genes.txt"
    listed.write_text("# my genes\nbeta\n\nGAMMA1, alpha  # the last one\n")
    table, _ = quiet_table(str(listed), **mini)
    assert table["gene_name"].tolist() == ["BETA", "Gamma1", "ALPHA"]


def test_gencode_style_versioned_ids_answer_to_bare_ids(tmp_path):
    gtf, fa = write_fixture(tmp_path / "a")
    gtf.write_text(gtf.read_text().replace('gene_id "ENSG00000000002"', 'gene_id "ENSG00000000002.7"'))
    table, _ = quiet_table("ENSG00000000002,ENSG00000000001.4", gtf=gtf, transcript_fasta=fa,
                           cache_dir=tmp_path / "c")
    assert table["gene_id"].tolist() == ["ENSG00000000002.7", "ENSG00000000001"]
    assert table["gene_name"].tolist() == ["BETA", "ALPHA"]


def test_all_is_every_gene_with_a_protein_coding_utr(mini):
    table, warned = quiet_table("all", **mini)
    assert table["gene_name"].tolist() == ["ALPHA", "BETA", "Gamma1"]  # by gene id; DELTA, EPSILON have none
    assert not warned


def test_unknown_genes_are_one_line_with_the_closest_symbols(mini):
    with pytest.raises(InputError) as err:
        ann.utr_table("ALPHA,ALPHX,zzzzzz", **mini)
    message = str(err.value)
    assert "\n" not in message
    assert "unknown genes in mini.gtf + mini.cdna.all.fa: ALPHX (closest: ALPHA)" in message
    assert "zzzzzz (no close symbol)" in message


def test_genes_without_a_utr_are_counted_or_an_error_when_nothing_is_left(mini):
    table, warned = quiet_table("ALPHA,DELTA,EPSILON", **mini)
    assert table["gene_name"].tolist() == ["ALPHA"]
    assert len(warned) == 1 and "2 of 3 gene(s) have no 3'UTR" in warned[0] and "DELTA, EPSILON" in warned[0]
    assert table.attrs["left_out"] == ["ENSG00000000004", "ENSG00000000005"]
    with pytest.raises(InputError, match="1 of 1 gene"):
        ann.utr_table("DELTA", **mini)


def test_a_fasta_that_does_not_match_the_gtf_is_not_cut_at_the_wrong_place(tmp_path):
    gtf, fa = write_fixture(tmp_path / "a", truncate="ENST00000000012")
    table, warned = quiet_table("ALPHA", gtf=gtf, transcript_fasta=fa, cache_dir=tmp_path / "c")
    assert table["transcript_id"].tolist() == ["ENST00000000011"]  # the longest one's sequence is 1 nt short
    assert any("not as long as their exons" in w and "ENST00000000012" in w for w in warned)


def test_gzipped_files_and_gtfs_without_exon_numbers_give_the_same_utrs(mini, tmp_path):
    reference, _ = quiet_table("all", transcripts="all", **mini)
    gtf, fa = write_fixture(tmp_path / "gz", gz=True)
    zipped, _ = quiet_table("all", transcripts="all", gtf=gtf, transcript_fasta=fa, cache_dir=tmp_path / "c")
    pd.testing.assert_frame_equal(zipped, reference)
    gtf, fa = write_fixture(tmp_path / "nonum", exon_numbers=False)
    unnumbered, _ = quiet_table("all", transcripts="all", gtf=gtf, transcript_fasta=fa, cache_dir=tmp_path / "c")
    pd.testing.assert_frame_equal(unnumbered, reference)


def test_pyensembl_defines_the_utr_and_the_fast_path_agrees_on_random_transcripts(tmp_path):
    """On 150 random genes (both strands, UTRs over several exons, stop codons split by introns, transcripts
    without stop codon): the table equals the fabricated truth and pyensembl's own per-transcript property."""
    genes = make_annotation(150, seed=3)
    gtf, fa = write_annotation(genes, tmp_path / "fake")
    source = ann.local_source(gtf, fa, cache_dir=tmp_path / "c")
    genome = ann.open_genome(source)
    table, _ = quiet_table("all", transcripts="all", gtf=gtf, transcript_fasta=fa, cache_dir=tmp_path / "c")
    truth = {t.transcript_id: t.utr3 for g in genes for t in g.transcripts if t.biotype == "protein_coding" and t.utr3}
    got = dict(zip(table["transcript_id"], table["utr"]))
    assert got == truth
    assert any(t.strand == "-" and len(t.exons) > 1 and t.utr3 for g in genes for t in g.transcripts)
    n_split = 0
    for g in genes:
        for t in g.transcripts:
            if t.biotype != "protein_coding" or t.cds is None:
                continue
            prop = genome.transcript_by_id(t.transcript_id).three_prime_utr_sequence
            assert got.get(t.transcript_id) == (prop.replace("T", "U") if prop else None), t.transcript_id
            if t.has_stop:
                stop = [p for p in range(t.cds[1] - 3, t.cds[1])]
                offsets = [sum(e - s + 1 for s, e in t.exons[:i]) for i in range(len(t.exons) + 1)]
                n_split += len({next(i for i in range(len(t.exons)) if offsets[i] <= p < offsets[i + 1])
                                for p in stop}) > 1
    assert n_split > 0  # some stop codons span an exon junction


def test_parse_genes():
    assert ann.parse_genes("all") is None and ann.parse_genes(" ALL ") is None and ann.parse_genes(["all"]) is None
    assert ann.parse_genes("PTEN, pdcd4,PTEN") == ["PTEN", "pdcd4"]
    with pytest.raises(InputError, match="no gene given"):
        ann.parse_genes(" , ")


def test_sources_and_their_checks(tmp_path, monkeypatch):
    monkeypatch.delenv(ann.SERVER_ENV, raising=False)
    human = ann.ensembl_source(cache_dir=tmp_path)
    assert human.release == ann.DEFAULT_RELEASE and human.reference == "GRCh38"
    assert human.gtf == ("https://ftp.ensembl.org/pub/release-111/gtf/homo_sapiens/Homo_sapiens.GRCh38.111.gtf.gz")
    assert human.transcript_fasta.endswith("/fasta/homo_sapiens/cdna/Homo_sapiens.GRCh38.cdna.all.fa.gz")
    assert human.cache_dir == tmp_path / "pyensembl" / "GRCh38" / "ensembl111"
    assert ann.ensembl_source("Mouse", 102).reference == "GRCm38"
    assert ann.ensembl_source("mouse", 103, server="http://m/").gtf.startswith(
        "http://m/pub/release-103/gtf/mus_musculus/Mus_musculus.GRCm39.103.gtf.gz")
    with pytest.raises(InputError, match="unknown species 'rat'"):
        ann.ensembl_source("rat")
    with pytest.raises(InputError, match=">= 76"):
        ann.ensembl_source("human", 75)
    with pytest.raises(InputError, match="give both --gtf and --transcript-fasta"):
        ann.resolve_source(gtf=tmp_path / "x.gtf")
    with pytest.raises(InputError, match="one or the other"):
        ann.resolve_source(gtf=tmp_path, transcript_fasta=tmp_path, release=110)
    with pytest.raises(InputError, match="GTF file not found"):
        ann.resolve_source(gtf=tmp_path / "x.gtf", transcript_fasta=tmp_path / "y.fa")


def test_the_cli_default_release_repeats_the_library_default():
    from mirlens.cli import annotation as cli_annotation

    assert cli_annotation.DEFAULT_RELEASE == ann.DEFAULT_RELEASE


def test_without_pyensembl_a_one_line_error_says_what_to_install(mini, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyensembl", None)  # import pyensembl -> ImportError
    with pytest.raises(MirlensError) as err:
        ann.utr_table("ALPHA", **mini)
    assert str(err.value) == "3'UTRs by gene need the pyensembl library: pip install 'mirlens[genomes]'"


def test_a_broken_gtf_is_a_one_line_input_error(tmp_path):
    gtf, fa = write_fixture(tmp_path / "a")
    gtf.write_text("1\tensembl\texon\tnot-a-number\n")
    with pytest.raises(InputError) as err:
        ann.utr_table("ALPHA", gtf=gtf, transcript_fasta=fa, cache_dir=tmp_path / "c")
    assert str(err.value).startswith("mini.gtf: ") and "\n" not in str(err.value)


# ---- the Ensembl path, offline: a local server, an unreachable one, a broken download -----------------------------

def ensembl_layout(directory: Path, release: int = 111) -> Path:
    """The hand-made annotation where Ensembl keeps a human release's files (gzipped)."""
    gtf, fa = write_fixture(directory / "tmp", gz=True)
    gtf_dir = directory / f"pub/release-{release}/gtf/homo_sapiens"
    fa_dir = directory / f"pub/release-{release}/fasta/homo_sapiens/cdna"
    gtf_dir.mkdir(parents=True)
    fa_dir.mkdir(parents=True)
    gtf.rename(gtf_dir / f"Homo_sapiens.GRCh38.{release}.gtf.gz")
    fa.rename(fa_dir / "Homo_sapiens.GRCh38.cdna.all.fa.gz")
    return directory


@contextmanager
def serve(directory: Path, truncate: str | None = None):
    """An HTTP server on 127.0.0.1 serving ``directory``; requests for a path ending in ``truncate`` announce the
    whole file but send 100 bytes and hang up. Yields its URL."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, *args):
            pass

        def do_GET(self):
            if truncate and self.path.endswith(truncate):
                body = (directory / self.path.lstrip("/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:100])
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run_mirlens(args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    code = "import sys; from mirlens.cli.app import main; sys.argv = ['mirlens'] + sys.argv[1:]; main()"
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    full_env.pop("MIRLENS_CLUSTER", None)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, timeout=300)


def files_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def test_ensembl_release_downloads_once_then_runs_offline(tmp_path):
    site = ensembl_layout(tmp_path / "site")
    cache = tmp_path / "cache"
    with serve(site) as url:
        out = run_mirlens(["genes", "fetch", "--species", "human", "--cache-dir", str(cache)], tmp_path,
                          MIRLENS_ENSEMBL_SERVER=url)
        assert out.returncode == 0, out.stderr
        assert "Ensembl 111 human (GRCh38): downloaded and indexed in" in " ".join(out.stderr.split())
    # the server is gone (its port closed): everything now comes from the cache
    offline = url
    table, _ = quiet_table("beta,ALPHA", species="human", cache_dir=cache, server=offline)
    assert table["transcript_id"].tolist() == ["ENST00000000021", "ENST00000000012"]
    assert table["utr"].tolist() == [expected_utr("ENST00000000021"), expected_utr("ENST00000000012")]
    assert "Ensembl 111 human (GRCh38): http" in table.attrs["source"]
    out = run_mirlens(["genes", "utrs", "--genes", "Gamma1", "--cache-dir", str(cache), "-o", "g.fa"], tmp_path,
                      MIRLENS_ENSEMBL_SERVER=offline)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "g.fa").read_text() == (f">ENSG00000000003 Gamma1 ENSG00000000003 ENST00000000031\n"
                                               f"{expected_utr('ENST00000000031')}\n")
    out = run_mirlens(["genes", "fetch", "--cache-dir", str(cache)], tmp_path, MIRLENS_ENSEMBL_SERVER=offline)
    assert out.returncode == 0 and "already downloaded and indexed" in out.stderr


def test_an_unreachable_server_is_one_line_that_says_how_to_run_offline(tmp_path):
    cache = tmp_path / "cache"
    for args in (["genes", "fetch", "--species", "mouse", "--release", "110", "--cache-dir", str(cache)],
                 ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--genes", "PTEN", "--cache-dir",
                  str(cache), "-o", "out.tsv"]):
        out = run_mirlens(args, tmp_path, MIRLENS_ENSEMBL_SERVER=closed_port_url())
        assert out.returncode == 1
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, out.stderr
        assert lines[0].startswith("error: cannot download Ensembl 11")
        assert "Connection refused" in lines[0]
        assert "--gtf FILE --transcript-fasta FILE" in lines[0] and "mirlens genes fetch --species" in lines[0]
    assert files_in(cache) == []
    assert not (tmp_path / "out.tsv").exists()


def test_a_release_the_server_does_not_have_fails_at_once(tmp_path):
    with serve(ensembl_layout(tmp_path / "site", release=111)) as url:
        with pytest.raises(DataSetError) as err:
            ann.open_genome(ann.ensembl_source("human", 112, cache_dir=tmp_path / "cache", server=url))
    assert str(err.value).startswith("cannot download Ensembl 112 human (GRCh38): http://127.0.0.1:")
    assert str(err.value).endswith("answers HTTP 404 (is this release published for this species?)")
    assert files_in(tmp_path / "cache") == []


def test_a_broken_download_leaves_nothing_a_later_run_trusts(tmp_path):
    site = ensembl_layout(tmp_path / "site")
    cache = tmp_path / "cache"
    source_of = lambda url: ann.ensembl_source("human", cache_dir=cache, server=url)  # noqa: E731
    with serve(site, truncate=".gtf.gz") as url:
        with pytest.raises(DataSetError) as err:
            ann.open_genome(source_of(url))
        assert "\n" not in str(err.value) and "cannot download Ensembl 111 human (GRCh38)" in str(err.value)
        assert not ann.is_downloaded(source_of(url))
        assert not any(p.name.endswith(".gtf.gz") for p in files_in(cache))
    with serve(site) as url:  # a good server later: downloaded whole, and the UTRs are right
        table, _ = quiet_table("ALPHA", species="human", cache_dir=cache, server=url)
    assert table["utr"].tolist() == [expected_utr("ENST00000000012")]


# ---- the command lines --------------------------------------------------------------------------------------------

def test_predict_genes_with_genes_has_their_names_and_ids(mini, tmp_path):
    out = tmp_path / "genes.tsv"
    files = ["--gtf", str(mini["gtf"]), "--transcript-fasta", str(mini["transcript_fasta"]),
             "--cache-dir", str(mini["cache_dir"])]
    result = runner.invoke(app, ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--genes", "alpha,BETA",
                                 *files, "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, sep="\t")
    assert len(table) == 10  # 5 example miRNAs x 2 genes
    assert table.columns[:6].tolist() == ["record", "mirna_id", "target_id", "gene_id", "gene_name", "transcript_id"]
    assert table["gene_name"].tolist()[:2] == ["ALPHA", "BETA"]
    assert table["target_id"].tolist()[:2] == ["ENSG00000000001", "ENSG00000000002"]
    assert table["transcript_id"].tolist()[:2] == ["ENST00000000012", "ENST00000000021"]
    assert table["utr_length"].tolist()[:2] == [57, 49]
    assert "2 3'UTR(s) of 2 gene(s)" in " ".join(result.output.split())
    # every isoform: targets are transcripts
    result = runner.invoke(app, ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--genes", "ALPHA",
                                 "--transcripts", "all", *files, "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, sep="\t")
    assert table["target_id"].tolist()[:2] == ["ENST00000000012", "ENST00000000011"]
    assert (table["gene_name"] == "ALPHA").all()


def test_predict_scans_the_genes_utrs_and_keeps_no_temporary_fasta(mini, tmp_path):
    out = tmp_path / "w.tsv"
    result = runner.invoke(app, ["predict", "--mirna", str(example_path("mirnas.fa")), "--genes", "ALPHA,gamma1",
                                 "--gtf", str(mini["gtf"]), "--transcript-fasta", str(mini["transcript_fasta"]),
                                 "--cache-dir", str(mini["cache_dir"]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    windows = pd.read_csv(out, sep="\t")
    summary = pd.read_csv(tmp_path / "w.genes.tsv", sep="\t")
    for table in (windows, summary):
        assert table.columns[:5].tolist() == ["mirna_id", "target_id", "gene_id", "gene_name", "transcript_id"]
        assert set(table["gene_name"]) == {"ALPHA", "Gamma1"}
    assert set(summary["target_id"]) == {"ENSG00000000001", "ENSG00000000003"}
    # 57 nt: two 50-nt windows (the last one flush with the UTR's end); 27 nt: one
    assert summary["n_windows"].tolist()[:2] == [2, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotation", "cache", "w.genes.tsv", "w.tsv"]
    result = runner.invoke(app, ["predict", "--gene-level", "--mirna", str(example_path("mirnas.fa")), "--genes",
                                 "BETA", "--gtf", str(mini["gtf"]), "--transcript-fasta", str(mini["transcript_fasta"]),
                                 "--cache-dir", str(mini["cache_dir"]), "-o", str(tmp_path / "g.tsv")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "g.tsv", sep="\t")
    assert len(table) == 5 and (table["gene_name"] == "BETA").all() and (table["utr_length"] == 49).all()


def test_predict_keeps_reading_genes_file_with_targets_as_the_summary_path(tmp_path):
    result = runner.invoke(app, ["predict", "--example", "--genes", str(tmp_path / "s.tsv"), "-o",
                                 str(tmp_path / "w.parquet")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.tsv").exists() and not (tmp_path / "w.genes.tsv").exists()
    assert "is now --summary FILE" in " ".join(result.output.split())


def test_gene_options_without_genes_and_genes_with_targets_are_errors(mini, tmp_path):
    result = runner.invoke(app, ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--targets",
                                 str(example_path("utrs.fa")), "--species", "mouse", "-o", str(tmp_path / "o.tsv")])
    assert result.exit_code == 1 and "--species applies to 3'UTRs by gene: add --genes" in result.output
    result = runner.invoke(app, ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--targets",
                                 str(example_path("utrs.fa")), "--genes", "PTEN", "-o", str(tmp_path / "o.tsv")])
    assert result.exit_code == 1 and "--genes takes the place of --targets" in result.output
    result = runner.invoke(app, ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--genes", "ALPHX",
                                 "--gtf", str(mini["gtf"]), "--transcript-fasta", str(mini["transcript_fasta"]),
                                 "--cache-dir", str(mini["cache_dir"]), "-o", str(tmp_path / "o.tsv")])
    assert result.exit_code == 1 and "unknown gene in mini.gtf + mini.cdna.all.fa: ALPHX (closest: ALPHA)" in \
        " ".join(result.output.split())
    assert "Traceback" not in result.output and not (tmp_path / "o.tsv").exists()


def test_genes_utrs_writes_a_table_or_fasta_that_respects_the_umask(mini, tmp_path):
    files = ["--gtf", str(mini["gtf"]), "--transcript-fasta", str(mini["transcript_fasta"]),
             "--cache-dir", str(mini["cache_dir"])]
    old = os.umask(0o027)
    try:
        result = runner.invoke(app, ["genes", "utrs", "--genes", "all", "--transcripts", "all", *files,
                                     "-o", str(tmp_path / "u.tsv")])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["genes", "utrs", "--genes", "BETA", *files, "-o", str(tmp_path / "u.fa")])
        assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    table = pd.read_csv(tmp_path / "u.tsv", sep="\t")
    assert table.columns.tolist() == list(ann.UTR_COLUMNS) and len(table) == 5
    assert (tmp_path / "u.fa").read_text() == (f">ENSG00000000002 BETA ENSG00000000002 ENST00000000021\n"
                                               f"{expected_utr('ENST00000000021')}\n")
    for name in ("u.tsv", "u.fa"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640
    result = runner.invoke(app, ["genes", "utrs", "--genes", "BETA", *files, "-o", str(tmp_path / "u.xlsx")])
    assert result.exit_code == 1 and "unknown output format" in result.output


def test_the_whole_transcriptome_command_by_name(tmp_path):
    """The issue's one command: `predict-genes --mirna NAME --genes all --species human -o OUT` (Ensembl from a local
    server), every gene ranked once, ids and symbols carried, resumable parts cleaned up, the page's sidecars."""
    site = ensembl_layout(tmp_path / "site")
    cache = tmp_path / "cache"
    with serve(site) as url:
        out = run_mirlens(["predict-genes", "--mirna", "hsa-miR-21-5p", "--genes", "all", "--species", "human",
                           "--cache-dir", str(cache), "-o", "mir21.tsv", "--sort", "rank"], tmp_path,
                          MIRLENS_ENSEMBL_SERVER=url)
    assert out.returncode == 0, out.stderr
    genes = pd.read_csv(tmp_path / "mir21.tsv", sep="\t")
    assert set(genes["mirna_id"]) == {"hsa-miR-21-5p"}
    assert genes["rank"].tolist() == list(range(1, len(genes) + 1))  # sorted, no ties
    assert genes["gene_id"].is_unique and genes["gene_name"].notna().all()
    assert {"ranking_score", "probability", "is_target", "sites"} <= set(genes.columns)
    assert (tmp_path / "mir21.sites.tsv").is_file() and not (tmp_path / ".mir21.tsv.parts").exists()
