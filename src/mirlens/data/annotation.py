"""3'UTRs by gene, from an Ensembl release (downloaded once) or from a user's GTF + transcript FASTA.

The annotation is read by `pyensembl <https://github.com/openvax/pyensembl>`_ (the optional extra
``mirlens[genomes]``): it downloads a release's GTF and cDNA FASTA once into its cache (each file to a temporary
name, renamed into place when complete), builds an SQLite index of the GTF and an index of the FASTA there, and
gives every transcript's spliced sequence and annotated stop codon. The 3'UTR is pyensembl's
``Transcript.three_prime_utr_sequence``: the spliced cDNA after the last nucleotide of the annotated stop codon
(stop codon excluded), read 5'->3', across every exon it spans.

The rule (:func:`utr_table`):

* A transcript is a candidate when its ``transcript_biotype`` is ``protein_coding`` (``mRNA`` in NCBI GTFs; a GTF
  without transcript biotypes: every transcript) and it has an annotated stop codon. Transcripts without one
  (Ensembl's ``cds_end_NF``: the CDS end is not known) have no defined 3'UTR and are left out, as are those whose
  sequence is missing from the FASTA or whose FASTA length differs from the sum of their exons (the FASTA does not
  match the GTF: the UTR would be cut at the wrong place), and empty 3'UTRs (stop codon at the transcript's end).
* ``transcripts="longest"``: one 3'UTR per gene, the longest of its candidates; ties go to the smallest transcript
  id. ``transcripts="all"``: every candidate, longest first.
* Genes are named by Ensembl gene id (a version suffix is ignored, on either side) or symbol (case-insensitive; an exact-case
  match wins; a symbol naming several genes keeps them all, with a warning); ``"all"`` is every gene with a
  candidate. Unknown names are an error that lists the closest symbols; named genes without a 3'UTR are left out
  with a warning that counts them (an error when none is left).

Ensembl releases: human is GRCh38 (``Homo_sapiens.GRCh38.N.gtf.gz``: the primary assembly's chromosomes and
scaffolds, without the alternative haplotypes and patches, so that a symbol names one gene), mouse GRCm39 (GRCm38
before release 103); default release :data:`DEFAULT_RELEASE`. Files go to pyensembl's cache
(``$PYENSEMBL_CACHE_DIR/pyensembl``, else ``~/.cache/pyensembl``; ``cache_dir=D`` stands for
``PYENSEMBL_CACHE_DIR=D``) under ``ASSEMBLY/ensemblN/``; copy that folder from a machine with network to run
offline. ``$MIRLENS_ENSEMBL_SERVER`` (or ``server=``) names a mirror of ``https://ftp.ensembl.org``.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mirlens.data.alphabet import clean_sequence
from mirlens.errors import DataSetError, InputError, MirlensError

DEFAULT_RELEASE = 111
"""Ensembl release used when none is given: 111 (January 2024; GENCODE 45 for human, GENCODE M34 for mouse).
Pinned, so that the same command gives the same UTRs whatever the pyensembl version."""
MIN_RELEASE = 76
"""Oldest release served (the file names used here hold from 76 on; human is GRCh38 from 76)."""
ENSEMBL_SERVER = "https://ftp.ensembl.org"
SERVER_ENV = "MIRLENS_ENSEMBL_SERVER"
SPECIES: dict[str, tuple[str, tuple[tuple[int, str], ...]]] = {
    "human": ("homo_sapiens", ((76, "GRCh38"),)),
    "mouse": ("mus_musculus", ((76, "GRCm38"), (103, "GRCm39"))),
}
"""Species name -> (Ensembl's directory name, (first release, assembly) in order)."""
TRANSCRIPT_RULES = ("longest", "all")
CODING_BIOTYPES = frozenset({"protein_coding", "mRNA"})
UTR_COLUMNS = ("gene_id", "gene_name", "transcript_id", "utr", "utr_length")
INSTALL_HINT = "pip install 'mirlens[genomes]'"

_ENSEMBL_ID = re.compile(r"^(ENS[A-Z]*G\d{11})\.\d+$", re.IGNORECASE)
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


@dataclass(frozen=True)
class AnnotationSource:
    """Where the UTRs come from: an Ensembl release, or a user's GTF + transcript FASTA."""

    label: str
    """For messages: ``Ensembl 111 human (GRCh38)`` or the two file names."""
    gtf: str
    """GTF path or URL."""
    transcript_fasta: str
    """Transcript (cDNA) FASTA path or URL."""
    cache_dir: Path
    """Where pyensembl keeps the downloads and its indexes for this source."""
    reference: str
    annotation: str
    version: int | None
    species: str | None = None
    release: int | None = None

    @property
    def remote(self) -> bool:
        return "://" in self.gtf

    @property
    def summary(self) -> str:
        """One line for a table's attrs or a FASTA comment."""
        if self.remote:
            return f"{self.label}: {self.gtf}, {self.transcript_fasta}"
        return f"{self.label}: {Path(self.gtf).resolve()}, {Path(self.transcript_fasta).resolve()}"


def _pyensembl():
    try:
        import pyensembl
    except ImportError:
        raise MirlensError(f"3'UTRs by gene need the pyensembl library: {INSTALL_HINT}") from None
    return pyensembl


@contextmanager
def _quiet():
    """datacache and pyensembl log each download retry (on Python's last-resort handler when the application set up
    no logging) and warn about index details: mirlens reports what matters itself, in one line."""
    loggers = [logging.getLogger(name) for name in ("datacache", "pyensembl")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """pyensembl's cache root: ``CACHE_DIR/pyensembl`` when given, else ``$PYENSEMBL_CACHE_DIR/pyensembl``, else the
    platform cache (``~/.cache/pyensembl``)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser() / "pyensembl"
    _pyensembl()
    from pyensembl.download_cache import cache_root as pyensembl_root

    return Path(pyensembl_root())


def assembly_of(species: str, release: int) -> str:
    _, assemblies = SPECIES[species]
    return [name for first, name in assemblies if release >= first][-1]


def ensembl_source(species: str = "human", release: int | None = None, *,
                   cache_dir: str | os.PathLike[str] | None = None, server: str | None = None) -> AnnotationSource:
    """The GTF and cDNA FASTA of an Ensembl release (nothing is downloaded here)."""
    key = str(species).strip().lower()
    if key not in SPECIES:
        raise InputError(f"unknown species {species!r} (known: {', '.join(SPECIES)}; or give your own annotation "
                         "with --gtf and --transcript-fasta)")
    release = DEFAULT_RELEASE if release is None else release
    if isinstance(release, bool) or not isinstance(release, int) or release < MIN_RELEASE:
        raise InputError(f"Ensembl release must be a whole number >= {MIN_RELEASE} (got {release!r})")
    directory, _ = SPECIES[key]
    assembly = assembly_of(key, release)
    server = (server or os.environ.get(SERVER_ENV) or ENSEMBL_SERVER).rstrip("/")
    stem = directory.capitalize()
    base = f"{server}/pub/release-{release}"
    return AnnotationSource(
        label=f"Ensembl {release} {key} ({assembly})",
        gtf=f"{base}/gtf/{directory}/{stem}.{assembly}.{release}.gtf.gz",
        transcript_fasta=f"{base}/fasta/{directory}/cdna/{stem}.{assembly}.cdna.all.fa.gz",
        cache_dir=cache_root(cache_dir) / assembly / f"ensembl{release}",
        reference=assembly, annotation="ensembl", version=release, species=key, release=release)


def local_source(gtf: str | os.PathLike[str], transcript_fasta: str | os.PathLike[str], *,
                 cache_dir: str | os.PathLike[str] | None = None) -> AnnotationSource:
    """A user's GTF and transcript FASTA (plain or gzipped); their indexes go to the cache under ``local/``."""
    for path, what in ((gtf, "GTF"), (transcript_fasta, "transcript FASTA")):
        p = Path(path)
        if not p.is_file():
            raise InputError(f"{what} file not found: {p}", source=p.name)
    gtf, transcript_fasta = Path(gtf), Path(transcript_fasta)
    return AnnotationSource(label=f"{gtf.name} + {transcript_fasta.name}", gtf=str(gtf.resolve()),
                            transcript_fasta=str(transcript_fasta.resolve()), cache_dir=cache_root(cache_dir) / "local",
                            reference="local", annotation="gtf", version=None)


def resolve_source(*, species: str | None = None, release: int | None = None, gtf=None, transcript_fasta=None,
                   cache_dir=None, server: str | None = None) -> AnnotationSource:
    """An Ensembl release (``species``, ``release``) or the user's files (``gtf`` + ``transcript_fasta``)."""
    if gtf is not None or transcript_fasta is not None:
        if gtf is None or transcript_fasta is None:
            raise InputError("give both --gtf and --transcript-fasta (the GTF's transcripts, e.g. Ensembl's "
                             "cdna.all.fa), or neither to use an Ensembl release")
        if species is not None or release is not None:
            raise InputError("--species and --release choose an Ensembl release; with --gtf and "
                             "--transcript-fasta your own files are used: give one or the other")
        return local_source(gtf, transcript_fasta, cache_dir=cache_dir)
    return ensembl_source(species or "human", release, cache_dir=cache_dir, server=server)


def offline_hint(source: AnnotationSource) -> str:
    return (f"to run offline, give your own annotation with --gtf FILE --transcript-fasta FILE, or copy "
            f"{source.cache_dir} from a machine where `mirlens genes fetch --species {source.species} --release "
            f"{source.release}` ran (to the same path, or point --cache-dir / PYENSEMBL_CACHE_DIR at the folder that "
            "holds its pyensembl/)")


def _reason(exc: BaseException) -> str:
    """A short reason for a failed download (the OS error of a connection problem, the HTTP status...)."""
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None):
        return f"HTTP {response.status_code} {getattr(response, 'reason', '') or ''}".strip()
    text = " ".join(str(exc).split())
    found = _ERRNO.findall(text)
    if found:
        return found[-1].strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _genome(source: AnnotationSource):
    pyensembl = _pyensembl()
    return pyensembl.Genome(reference_name=source.reference, annotation_name=source.annotation,
                            annotation_version=source.version, gtf_path_or_url=source.gtf,
                            transcript_fasta_paths_or_urls=[source.transcript_fasta],
                            cache_directory_path=str(source.cache_dir))


def is_downloaded(source: AnnotationSource) -> bool:
    """Whether the source's files are complete in the cache (never downloads)."""
    genome = _genome(source)
    try:
        return all(genome.download_cache.inspect(s).status == "available"
                   for s in (source.gtf, source.transcript_fasta))
    except Exception:  # noqa: BLE001 - an unreadable cache is "not downloaded"
        return False


def _preflight(source: AnnotationSource, genome) -> int:
    """Ask the server for the files still missing from the cache (HTTP HEAD), before any download starts: an
    unreachable server or a missing file becomes one :class:`DataSetError` at once. Returns the bytes to download
    (0 when the server does not say, or is not HTTP)."""
    import requests

    total = 0
    for url in (source.gtf, source.transcript_fasta):
        if genome.download_cache.inspect(url).status == "available" or not url.startswith(("http://", "https://")):
            continue
        try:
            response = requests.head(url, timeout=30, allow_redirects=True)
        except requests.RequestException as exc:
            raise DataSetError(f"cannot download {source.label} from {url.split('/pub/')[0]} ({_reason(exc)}); "
                               f"{offline_hint(source)}") from None
        if response.status_code >= 400:
            known = " (is this release published for this species?)" if response.status_code == 404 else ""
            raise DataSetError(f"cannot download {source.label}: {url} answers HTTP {response.status_code}{known}")
        total += int(response.headers.get("Content-Length") or 0)
    return total


def open_genome(source: AnnotationSource, *, download: bool = True, say: Callable[[str], None] | None = None):
    """A ready pyensembl ``Genome`` of ``source``: downloaded (an Ensembl release, once) and indexed (once).

    Raises :class:`DataSetError` in one line when a download fails (what failed, and how to run offline; nothing
    partial is left in the cache) and :class:`InputError` when the files cannot be read as a GTF / FASTA."""
    genome = _genome(source)
    if source.remote and not is_downloaded(source):
        if not download:
            raise DataSetError(f"{source.label} is not downloaded (in {source.cache_dir}); "
                               f"run `mirlens genes fetch --species {source.species} --release {source.release}`, "
                               f"or {offline_hint(source)}")
        size = _preflight(source, genome)
        if say:
            say(f"downloading {source.label}'s GTF and cDNA FASTA{f' ({size / 1e6:,.0f} MB)' if size else ''} to "
                f"{source.cache_dir}, once")
        try:
            with _quiet():
                genome.download()
        except Exception as exc:  # noqa: BLE001 - requests, datacache and OS errors alike: one line
            raise DataSetError(f"cannot download {source.label} from {source.gtf.split('/pub/')[0]} "
                               f"({_reason(exc)}); {offline_hint(source)}") from None
    try:
        needs_index = not genome.installed()
    except Exception:  # noqa: BLE001
        needs_index = True
    if needs_index and say:
        say(f"indexing {source.label} in {source.cache_dir} (once; a few minutes for a whole genome)")
    try:
        with _quiet():
            genome.index()
    except MirlensError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed GTF or FASTA: say which and what
        if source.remote:
            raise DataSetError(f"{source.label}: cannot read the downloaded files ({type(exc).__name__}: "
                               f"{_one_line(exc)}); delete {source.cache_dir} and run again") from None
        raise InputError(f"cannot read the annotation ({type(exc).__name__}: {_one_line(exc)})",
                         source=Path(source.gtf).name) from None
    return genome


def fetch(species: str = "human", release: int | None = None, *, cache_dir=None, server: str | None = None,
          say: Callable[[str], None] | None = None) -> AnnotationSource:
    """Download and index an Ensembl release once (``mirlens genes fetch``); returns its source."""
    source = ensembl_source(species, release, cache_dir=cache_dir, server=server)
    open_genome(source, download=True, say=say)
    return source


# ---- which genes ---------------------------------------------------------------------------------------------------

def parse_genes(spec: str | Sequence[str]) -> list[str] | None:
    """The gene names of ``spec``: ``"all"`` -> None (every gene); a path to a text file -> its names (separated by
    commas, spaces or lines; ``#`` starts a comment); else a comma-separated list. A list is taken as it is.
    Repeats are dropped (first kept)."""
    if isinstance(spec, str):
        text = spec.strip()
        if text.lower() == "all":
            return None
        path = Path(text).expanduser()
        if text and path.is_file():
            try:
                body = path.read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read the gene list ({exc})", source=path.name) from None
            names = [w for line in body.splitlines() for w in re.split(r"[,\s]+", line.split("#", 1)[0]) if w]
            if not names:
                raise InputError("the gene list is empty", source=path.name)
        else:
            names = [w.strip() for w in text.split(",") if w.strip()]
    else:
        names = [str(w).strip() for w in spec if str(w).strip()]
        if len(names) == 1 and names[0].lower() == "all":
            return None
    if not names:
        raise InputError("no gene given (--genes NAME,NAME... , --genes all, or --genes FILE)")
    return list(dict.fromkeys(names))


def _table_exists(db, name: str) -> bool:
    return bool(db.run_sql_query("SELECT name FROM sqlite_master WHERE type='table' AND name=?", query_params=[name]))


def _column(db, table: str, column: str) -> bool:
    return _table_exists(db, table) and db.column_exists(table, column)


class _Names:
    """Gene ids and symbols of an annotation, looked up as :func:`utr_table` describes."""

    def __init__(self, rows: Iterable[tuple[str, str]]):
        self.name_of: dict[str, str] = {}
        self.by_id: dict[str, str] = {}
        self.by_name: dict[str, list[str]] = {}
        self.by_upper: dict[str, list[str]] = {}
        for gene_id, name in rows:
            gene_id, name = str(gene_id), str(name or "")
            if gene_id in self.name_of:
                continue
            self.name_of[gene_id] = name
            self.by_id.setdefault(gene_id.upper(), gene_id)
            versioned = _ENSEMBL_ID.match(gene_id)  # GENCODE: ENSG....12 answers to the bare id too
            if versioned:
                self.by_id.setdefault(versioned.group(1).upper(), gene_id)
            if name:
                self.by_name.setdefault(name, []).append(gene_id)
                self.by_upper.setdefault(name.upper(), []).append(gene_id)

    def lookup(self, token: str) -> list[str]:
        key = token.upper()
        if key in self.by_id:
            return [self.by_id[key]]
        bare = _ENSEMBL_ID.match(token)
        if bare and bare.group(1).upper() in self.by_id:
            return [self.by_id[bare.group(1).upper()]]
        if token in self.by_name:
            return self.by_name[token]
        return self.by_upper.get(key, [])

    def closest(self, token: str, n: int = 3) -> list[str]:
        spelled = {}
        for name in self.by_name:
            spelled.setdefault(name.upper(), name)
        return [spelled[m] for m in difflib.get_close_matches(token.upper(), list(spelled), n=n, cutoff=0.6)]


def _unknown_message(unknown: list[str], names: _Names, source: AnnotationSource) -> str:
    parts = []
    for token in unknown[:5]:
        close = names.closest(token)
        parts.append(f"{token} (closest: {', '.join(close)})" if close else f"{token} (no close symbol)")
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    noun = "gene" if len(unknown) == 1 else "genes"
    return f"unknown {noun} in {source.label}: {'; '.join(parts)}{more}"


# ---- the table -----------------------------------------------------------------------------------------------------

def utr_table(
    genes: str | Sequence[str],
    *,
    species: str | None = None,
    release: int | None = None,
    transcripts: str = "longest",
    gtf: str | os.PathLike[str] | None = None,
    transcript_fasta: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    server: str | None = None,
    download: bool = True,
    say: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """3'UTRs of ``genes`` (names, ids, ``"all"``, or a file of names: :func:`parse_genes`) by the module's rule:
    columns ``gene_id``, ``gene_name`` (symbol; empty when the GTF has none), ``transcript_id``, ``utr`` (RNA
    letters, 5'->3') and ``utr_length``; one row per gene (``transcripts="longest"``) or per candidate transcript
    (``"all"``), genes in the order given (``"all"``: by gene id).

    The source is an Ensembl release (``species`` "human" / "mouse", default human; ``release``, default
    :data:`DEFAULT_RELEASE`; downloaded once into the cache unless ``download=False``) or the user's ``gtf`` +
    ``transcript_fasta``. ``df.attrs``: ``source`` (what was read), ``rule``, ``left_out`` (named genes without a
    3'UTR). ``say`` is told about downloads and index builds.
    """
    if transcripts not in TRANSCRIPT_RULES:
        raise InputError(f"transcripts must be one of {', '.join(TRANSCRIPT_RULES)} (got {transcripts!r})")
    wanted = parse_genes(genes)
    source = resolve_source(species=species, release=release, gtf=gtf, transcript_fasta=transcript_fasta,
                            cache_dir=cache_dir, server=server)
    genome = open_genome(source, download=download, say=say)
    return _utrs_of(genome, source, wanted, transcripts)


def _utrs_of(genome, source: AnnotationSource, wanted: list[str] | None, rule: str) -> pd.DataFrame:
    db = genome.db
    where = source.label
    if not _table_exists(db, "gene") or not _table_exists(db, "transcript"):
        raise InputError("the GTF has no gene / transcript rows", source=where)
    has_name = _column(db, "gene", "gene_name")
    rows = db.run_sql_query("SELECT gene_id, " + ("gene_name" if has_name else "''") + " FROM gene")
    names = _Names(rows)
    if not _table_exists(db, "stop_codon"):
        raise InputError("the GTF has no stop_codon rows: a 3'UTR starts after the annotated stop codon, so no "
                         "transcript has one", source=where)

    # candidates: coding transcripts with an annotated stop codon, by gene
    has_biotype = _column(db, "transcript", "transcript_biotype")
    transcript_rows = db.run_sql_query(
        "SELECT DISTINCT transcript_id, gene_id, " + ("transcript_biotype" if has_biotype else "''")
        + " FROM transcript")
    with_biotype = any(b for _, _, b in transcript_rows)
    with_stop = {r[0] for r in db.run_sql_query("SELECT DISTINCT transcript_id FROM stop_codon")}
    candidates: dict[str, list[str]] = {}
    for transcript_id, gene_id, biotype in transcript_rows:
        if transcript_id in with_stop and (not with_biotype or biotype in CODING_BIOTYPES):
            candidates.setdefault(str(gene_id), []).append(str(transcript_id))

    if wanted is None:
        gene_ids = sorted(candidates)
    else:
        gene_ids, unknown, shared = [], [], []
        for token in wanted:
            found = names.lookup(token)
            if not found:
                unknown.append(token)
            elif len(found) > 1:
                shared.append(f"{token} ({', '.join(found)})")
            gene_ids.extend(found)
        if unknown:
            raise InputError(_unknown_message(unknown, names, source))
        if shared:
            warnings.warn(f"{len(shared)} symbol(s) name several genes, all kept: {'; '.join(shared[:5])}",
                          stacklevel=3)
        gene_ids = list(dict.fromkeys(gene_ids))

    utr_of = _utrs_of_transcripts(genome, [t for g in gene_ids for t in candidates.get(g, [])],
                                  n_all=len(transcript_rows))
    out, left_out = [], {}
    mismatched = [t for t, (utr, why) in utr_of.items() if why == "length"]
    for gene_id in gene_ids:
        utrs = [(t, utr_of[t][0]) for t in candidates.get(gene_id, []) if utr_of[t][0] is not None]
        if not utrs:
            if wanted is not None:
                left_out[gene_id] = names.name_of.get(gene_id, "")
            continue
        utrs.sort(key=lambda item: (-len(item[1]), item[0]))
        for transcript_id, utr in utrs[:1] if rule == "longest" else utrs:
            out.append((gene_id, names.name_of.get(gene_id, ""), transcript_id, utr, len(utr)))

    if mismatched:
        warnings.warn(f"{len(mismatched):,} transcript(s) whose FASTA sequence is not as long as their exons left "
                      f"out (does the FASTA belong to this GTF? e.g. {', '.join(mismatched[:3])})", stacklevel=3)
    if left_out:
        shown = ", ".join(name or gene_id for gene_id, name in list(left_out.items())[:10])
        more = f" and {len(left_out) - 10} more" if len(left_out) > 10 else ""
        message = (f"{len(left_out):,} of {len(gene_ids):,} gene(s) have no 3'UTR on a protein-coding transcript "
                   f"with an annotated stop codon in {where}: {shown}{more}")
        if not out:
            raise InputError(message)
        warnings.warn(message + " (left out)", stacklevel=3)
    if not out:
        raise InputError(f"no 3'UTR found in {where} (no protein-coding transcript with an annotated stop codon "
                         "and a sequence in the FASTA)")
    table = pd.DataFrame(out, columns=list(UTR_COLUMNS))
    table["utr_length"] = table["utr_length"].astype("int64")
    table.attrs.update(source=source.summary, rule=rule, left_out=sorted(left_out))
    return table


def _rows_of(db, sql: str, transcript_ids: list[str], n_all: int) -> list[tuple]:
    """``sql`` (``SELECT transcript_id, ... FROM table``) for ``transcript_ids``: all rows at once when they are
    most transcripts, else in batches of ``WHERE transcript_id IN (...)``."""
    if len(transcript_ids) > max(2000, n_all // 4):
        wanted = set(transcript_ids)
        return [r for r in db.run_sql_query(sql) if r[0] in wanted]
    rows = []
    for lo in range(0, len(transcript_ids), 500):
        batch = transcript_ids[lo:lo + 500]
        rows += db.run_sql_query(f"{sql} WHERE transcript_id IN ({','.join('?' * len(batch))})",
                                 query_params=batch)
    return rows


def _utrs_of_transcripts(genome, transcript_ids: list[str], n_all: int) -> dict[str, tuple[str | None, str]]:
    """transcript id -> ``(3'UTR in RNA letters, "")``, or ``(None, why)``: ``"sequence"`` (not in the FASTA),
    ``"length"`` (FASTA length other than the exons'), ``"stop"`` (stop codon not 3 contiguous nt of the spliced
    transcript), ``"empty"`` (stop codon at the transcript's end).

    The definition is pyensembl's ``Transcript.three_prime_utr_sequence`` (the spliced sequence after the stop
    codon's last nucleotide; tests/test_annotation.py checks equality on every transcript of a fabricated
    annotation), computed from two queries of pyensembl's index instead of ~10 per transcript (1.3 ms each: two
    minutes for every human protein-coding transcript)."""
    from pyensembl.sequence_data import lookup_sequence_with_version_fallback

    if not transcript_ids:
        return {}
    db = genome.db
    numbered = _column(db, "exon", "exon_number")
    exons: dict[str, list[tuple[int, int, int]]] = {}
    strands: dict[str, str] = {}
    for tid, number, start, end, strand in _rows_of(
            db, "SELECT transcript_id, " + ("exon_number" if numbered else "''") + ", start, end, strand FROM exon",
            transcript_ids, n_all):
        order = int(number) if str(number).strip().lstrip("-").isdigit() else None
        exons.setdefault(tid, []).append((order, int(start), int(end)))
        strands[tid] = strand
    stops: dict[str, set[int]] = {}
    for tid, start, end in _rows_of(db, "SELECT transcript_id, start, end FROM stop_codon", transcript_ids, n_all):
        stops.setdefault(tid, set()).update(range(int(start), int(end) + 1))
    versions: dict[str, int | None] = {}
    if _column(db, "transcript", "transcript_version"):
        for tid, version in _rows_of(db, "SELECT DISTINCT transcript_id, transcript_version FROM transcript",
                                     transcript_ids, n_all):
            versions[tid] = int(version) if str(version).strip().isdigit() else None
    sequences = genome.transcript_sequences
    out: dict[str, tuple[str | None, str]] = {}
    for tid in transcript_ids:
        sequence = lookup_sequence_with_version_fallback(sequences, tid, version=versions.get(tid))
        if not sequence:
            out[tid] = (None, "sequence")
            continue
        plus = strands.get(tid) != "-"
        rows = exons.get(tid, [])
        if rows and all(o is not None for o, _, _ in rows):
            ordered = [(s, e) for _, s, e in sorted(rows)]
        else:  # no exon numbers: 5'->3' by coordinate
            ordered = sorted(((s, e) for _, s, e in rows), reverse=not plus)
        if len(sequence) != sum(e - s + 1 for s, e in ordered):
            out[tid] = (None, "length")
            continue
        offsets = []
        for position in stops.get(tid, ()):
            cumulative = 0
            for s, e in ordered:
                if s <= position <= e:
                    offsets.append(cumulative + (position - s if plus else e - position))
                    break
                cumulative += e - s + 1
        offsets.sort()
        if len(offsets) != 3 or len(stops.get(tid, ())) != 3 or offsets[2] - offsets[0] != 2:
            out[tid] = (None, "stop")
            continue
        utr = sequence[offsets[2] + 1:]
        if not utr:
            out[tid] = (None, "empty")
            continue
        out[tid] = (clean_sequence(utr, source="transcript FASTA", record=tid)[0], "")
    return out


# ---- into the rest of mirlens --------------------------------------------------------------------------------------

GENE_COLUMNS = ("gene_id", "gene_name", "transcript_id")
"""Columns that carry a UTR's gene into pair and result tables."""


def target_ids(utrs: pd.DataFrame) -> pd.Series:
    """The id each UTR goes by as a target: its gene id, or its transcript id when a gene has several rows
    (``transcripts="all"``)."""
    rule = utrs.attrs.get("rule")
    if rule == "all" or (rule is None and utrs["gene_id"].duplicated().any()):
        return utrs["transcript_id"]
    return utrs["gene_id"]


def utr_fasta_text(utrs: pd.DataFrame) -> str:
    """The UTRs as FASTA: ``>TARGET_ID gene_name gene_id transcript_id``, 60 nt per line."""
    lines = []
    for target, (_, row) in zip(target_ids(utrs), utrs.iterrows()):
        lines.append(f">{target} {row['gene_name'] or '-'} {row['gene_id']} {row['transcript_id']}")
        seq = row["utr"]
        lines.extend(seq[i:i + 60] for i in range(0, len(seq), 60))
    return "\n".join(lines) + "\n"


def gene_columns(utrs: pd.DataFrame) -> pd.DataFrame:
    """``target_id`` -> ``gene_id``, ``gene_name``, ``transcript_id``: to join onto result tables."""
    return pd.DataFrame({"target_id": target_ids(utrs).to_numpy(),
                         **{c: utrs[c].to_numpy() for c in GENE_COLUMNS}})


def add_gene_columns(table: pd.DataFrame, utrs: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``gene_id``, ``gene_name`` and ``transcript_id`` inserted after its ``target_id`` column
    (rows and their order unchanged)."""
    info = gene_columns(utrs).set_index("target_id")
    out = table.drop(columns=[c for c in GENE_COLUMNS if c in table and c != "target_id"])
    at = out.columns.get_loc("target_id") + 1
    keys = out["target_id"].astype(str)
    for offset, col in enumerate(c for c in GENE_COLUMNS if c != "target_id"):
        out.insert(at + offset, col, keys.map(info[col]).to_numpy())
    return out


def pairs_from_utrs(mirna_fasta, utrs: pd.DataFrame, *,
                    max_mirna_len: int | None = None) -> pd.DataFrame:
    """Every miRNA of ``mirna_fasta`` (a FASTA path, or records) with every UTR of ``utrs`` (:func:`utr_table`): a pair table
    (:mod:`mirlens.data.pairs`, miRNA-major) whose ``target_id`` is :func:`target_ids`, plus the columns
    ``gene_id``, ``gene_name`` and ``transcript_id``."""
    from mirlens.data.fasta import read_fasta
    from mirlens.data.pairs import make_pairs

    if isinstance(mirna_fasta, (list, tuple)):  # records already resolved (FASTA or miRBase names)
        mirnas, mirna_fasta = list(mirna_fasta), "--mirna"
    else:
        mirnas = read_fasta(mirna_fasta, allow_bare=True)
    if max_mirna_len is not None:
        for m in mirnas:
            if len(m.seq) > max_mirna_len:
                raise InputError(f"miRNA is {len(m.seq)} nt long, longer than the limit of {max_mirna_len} nt",
                                 source=Path(mirna_fasta).name, record=f"record {m.id!r}, line {m.line}")
    n_t, n_m = len(utrs), len(mirnas)
    targets = target_ids(utrs).tolist()
    pairs = make_pairs(
        mirna_id=[m.id for m in mirnas for _ in range(n_t)],
        mirna=[m.seq for m in mirnas for _ in range(n_t)],
        target_id=targets * n_m,
        target=utrs["utr"].tolist() * n_m,
        label=[None] * (n_t * n_m),
        source=utrs.attrs.get("source", "annotation").split(":", 1)[0],
        record=list(range(1, n_t + 1)) * n_m,
        n_ambiguous=sum(m.n_ambiguous for m in mirnas),
    )
    for col in GENE_COLUMNS:
        pairs[col] = pd.array(utrs[col].astype(str).tolist() * n_m, dtype="str")
    return pairs
