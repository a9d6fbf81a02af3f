"""miRNAs by name: the bundled miRBase release 22.1 table, and turning a ``--mirna`` value into miRNA records.

The table (``mirbase_22.1.tsv.gz`` next to this module, made by ``scripts/make_mirbase_table.py``; provenance in
``mirbase_22.1.json``) holds every mature miRNA of miRBase 22.1, all 271 species: name, accession (MIMAT...) and
sequence (5'->3', RNA letters). It is read once, on first use (~0.1 s), by the commands that need names; a miRNA
longer than a model's miRNA slot is an error when named, and left out (with a warning) when a glob brought it in.

:func:`resolve_mirnas` accepts, in this order:

* an existing file: a FASTA file or a file with one bare sequence, read exactly as before
  (:func:`mirlens.data.fasta.read_fasta`); or a text file of names, one or more per line (commas or whitespace
  between them; blank lines and ``#`` comments are fine). A file wins over a miRNA of the same name.
* otherwise miRBase names and accessions, separated by commas or spaces: exact names, case-insensitive
  (``hsa-miR-21-5p``, ``hsa-mir-21-5p``), accessions (``MIMAT0000076``), and globs over names (``hsa-*``,
  ``hsa-miR-21*``, ``*-let-7?-5p``). A single value that looks like a path (``x.fa``, ``dir/x``) and does not exist
  is "file not found", as before.

Records come back in the order asked, each miRNA once (the first time it is asked for); ``id`` is the miRBase name,
``description`` the rest of the miRBase header (accession, organism, name without species code), as if read from
miRBase's own ``mature.fa``. An unknown name is a one-line :class:`~mirlens.errors.InputError` with the closest
names; a glob that matches nothing is an error too. Names carry a species code (``hsa-``, ``mmu-``...): a name
without one (``miR-21-5p``) is not guessed, the error lists the species' names instead.

The seed is nucleotides 2-8 of the miRNA (5'->3'); miRNAs sharing it form a seed family (TargetScan's
definition), :meth:`MirBase.family`.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import gzip
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from mirlens.errors import InputError

if TYPE_CHECKING:
    from mirlens.data.fasta import FastaRecord

RELEASE = "22.1"
TABLE_FILE = f"mirbase_{RELEASE}.tsv.gz"
META_FILE = f"mirbase_{RELEASE}.json"
SOURCE_LABEL = f"miRBase {RELEASE}"
SEED = slice(1, 8)
"""Seed = nucleotides 2-8 (1-based, 5'->3'), as a slice of the sequence."""
FIRST_SPECIES = ("hsa", "mmu")
"""Listed first where matches span species (suggestions, search results); the rest follow in miRBase order."""

_GLOB = re.compile(r"[*?\[]")
_ACCESSION = re.compile(r"MIMAT\d+", re.IGNORECASE)
_SEQUENCE_LETTERS = frozenset("ACGUTNRYSWKMBDHVacgutnryswkmbdhv")
_FILE_SUFFIXES = {".fa", ".fasta", ".fna", ".fas", ".fsa", ".faa", ".seq", ".txt", ".tsv", ".csv", ".gz", ".list",
                  ".lst", ".names", ".parquet"}
_NAME_FILE_PEEK = 10_000  # lines looked at to tell a file of names from a bare sequence


@dataclass(frozen=True, slots=True)
class Mirna:
    """One mature miRNA of the bundled miRBase table."""

    name: str
    accession: str
    sequence: str
    """5'->3', RNA letters."""
    index: int
    """0-based row in the table (miRBase's own order)."""

    @property
    def species(self) -> str:
        """The species code of the name (``hsa``)."""
        return self.name.partition("-")[0]

    @property
    def seed(self) -> str:
        """Nucleotides 2-8 (the seed family's key)."""
        return self.sequence[SEED]


class MirBase:
    """The bundled table: lookups by name (case-insensitive), accession and glob; search; seed families."""

    def __init__(self, rows: Iterable[tuple[str, str, str]], meta: dict):
        self.meta = meta
        self.mirnas: list[Mirna] = [Mirna(n, a, s, i) for i, (n, a, s) in enumerate(rows)]
        self._by_name = {m.name.lower(): m for m in self.mirnas}
        self._by_accession = {m.accession.upper(): m for m in self.mirnas}
        self.organisms: dict[str, str] = meta.get("species", {})
        self._family: dict[tuple[str, str], list[Mirna]] | None = None

    def __len__(self) -> int:
        return len(self.mirnas)

    @property
    def release(self) -> str:
        return str(self.meta.get("release", RELEASE))

    def get(self, key: str) -> Mirna | None:
        """The miRNA with this name (any case) or accession, else None."""
        key = key.strip()
        return self._by_name.get(key.lower()) or self._by_accession.get(key.upper())

    def glob(self, pattern: str) -> list[Mirna]:
        """Names matching a shell-style pattern (case-insensitive), in miRBase order."""
        pat = pattern.lower()
        return [m for m in self.mirnas if fnmatch.fnmatchcase(m.name.lower(), pat)]

    def organism(self, code: str) -> str:
        return self.organisms.get(code, "")

    def description(self, m: Mirna) -> str:
        """The rest of the miRBase FASTA header: ``MIMAT0000062 Homo sapiens let-7a-5p``."""
        return " ".join(x for x in (m.accession, self.organism(m.species), m.name.partition("-")[2]) if x)

    def species_codes(self, species: str) -> set[str]:
        """Codes for a comma-separated list of species codes or organism names (any case); unknown -> InputError."""
        by_name = {v.lower(): k for k, v in self.organisms.items()}
        codes = set()
        for item in (s.strip() for s in species.split(",")):
            if not item:
                continue
            code = item.lower() if item.lower() in self.organisms else by_name.get(item.lower())
            if code is None:
                close = difflib.get_close_matches(item.lower(), list(self.organisms) + list(by_name), n=4)
                raise InputError(f"unknown species {item!r} (a miRBase code such as hsa, mmu, or an organism name)"
                                 + (f"; closest: {', '.join(close)}" if close else ""))
            codes.add(code)
        return codes

    # seed families ---------------------------------------------------------------------------------------------
    def family(self, m: Mirna, *, same_species: bool = True) -> list[Mirna]:
        """The other miRNAs with the same seed (nucleotides 2-8): of the same species, or of all species."""
        if self._family is None:
            fam: dict[tuple[str, str], list[Mirna]] = {}
            for x in self.mirnas:
                fam.setdefault((x.species, x.seed), []).append(x)
            self._family = fam
        if same_species:
            return [x for x in self._family.get((m.species, m.seed), []) if x is not m]
        return [x for x in self.mirnas if x.seed == m.seed and x is not m]

    # search ----------------------------------------------------------------------------------------------------
    def search(self, query: str | None = None, *, species: set[str] | None = None,
               seed: str | None = None) -> list[Mirna]:
        """Loose matches, best first: ``query`` as a glob over names when it holds ``* ? [``, else a substring of the
        name or accession (any case), or of the sequence when the query is nucleotides only (6 nt or more; T = U);
        ``species`` (codes) and ``seed`` (nucleotides 2-8) filter. Order: the exact name or accession; the name
        without species code, or its arms (``miR-21``: miR-21, miR-21-5p, miR-21-3p); then paralogs (miR-21a-5p)
        before other names that merely contain the query (miR-210); within each, human and mouse first, then
        miRBase order."""
        seed = seed.upper().replace("T", "U") if seed else None
        q = (query or "").strip().lower()
        is_glob = bool(_GLOB.search(q))
        q_seq = q.upper().replace("T", "U") if len(q) >= 6 and set(q) <= set("acgut") else None
        word = re.compile(re.escape(q) + r"(?![0-9])") if q and not is_glob else None
        hits = []
        for m in self.mirnas:
            if species is not None and m.species not in species:
                continue
            if seed is not None and m.seed != seed:
                continue
            name = m.name.lower()
            if not q:
                rank = 3
            elif is_glob:
                if not fnmatch.fnmatchcase(name, q):
                    continue
                rank = 3
            else:
                bare = name.partition("-")[2]
                if name == q or m.accession.lower() == q:
                    rank = 0
                elif bare == q or bare.startswith(q + "-"):
                    rank = 1
                elif word.search(name):
                    rank = 2
                elif q in name or q in m.accession.lower() or (q_seq is not None and q_seq in m.sequence):
                    rank = 3
                else:
                    continue
            hits.append((rank, _species_rank(m.species), m.index, m))
        return [h[-1] for h in sorted(hits, key=lambda h: h[:3])]

    # suggestions -----------------------------------------------------------------------------------------------
    def closest(self, key: str, n: int = 5) -> list[str]:
        """Names close to an unknown one: its arms (``hsa-miR-21`` -> ``hsa-miR-21-5p``, ``-3p``), the same name in
        each species when the species code is missing (``miR-21-5p`` -> ``hsa-miR-21-5p``..., human and mouse
        first), names it begins (``hsa-let-7`` -> ``hsa-let-7a-5p``...), then the most similar names (difflib),
        within the species when its code is known."""
        k = key.strip().lower()
        code, _, rest = k.partition("-")
        out: list[Mirna] = []
        out += [m for m in self.mirnas if m.name.lower().startswith(k + "-")]
        if code not in self.organisms:  # no species code: the same name (or its arms) in each species
            bare = [(m.name.lower().partition("-")[2], m) for m in self.mirnas]
            out += sorted((m for b, m in bare if b == k or b.startswith(k + "-")),
                          key=lambda m: (_species_rank(m.species), m.name.lower().partition("-")[2] != k, m.index))
        elif len(out) < n:
            out += [m for m in self.mirnas if m.name.lower().startswith(k)]
        if len(out) < n:
            pool = [m for m in self.mirnas if m.species == code] if code in self.organisms else self.mirnas
            names = [m.name.lower() for m in pool]
            out += [self._by_name[x] for x in difflib.get_close_matches(k, names, n=n, cutoff=0.6)]
        seen: dict[str, None] = {}
        for m in out:
            seen.setdefault(m.name, None)
        return list(seen)[:n]


def _species_rank(code: str) -> int:
    return FIRST_SPECIES.index(code) if code in FIRST_SPECIES else len(FIRST_SPECIES)


@functools.cache
def mirbase() -> MirBase:
    """The bundled miRBase table (read once)."""
    base = resources.files("mirlens") / "data"
    meta = json.loads((base / META_FILE).read_text(encoding="utf-8"))
    with (base / TABLE_FILE).open("rb") as fh:
        text = gzip.decompress(fh.read()).decode("ascii")
    lines = text.splitlines()
    if not lines or lines[0].split("\t") != ["name", "accession", "sequence"]:
        raise InputError(f"bundled miRBase table {TABLE_FILE} is damaged (reinstall mirlens)")
    return MirBase((tuple(line.split("\t")) for line in lines[1:]), meta)


# --mirna values ----------------------------------------------------------------------------------------------------
def resolve_mirnas(
    spec: str | os.PathLike[str],
    *,
    max_len: int | None = None,
    say: Callable[[str], None] | None = None,
    note: Callable[[str], None] | None = None,
) -> list[FastaRecord]:
    """The miRNAs a ``--mirna`` value names: a FASTA file (or a file with one bare sequence), a file of names, or
    comma-separated miRBase names / accessions / globs (see the module docstring).

    ``max_len``: miRNAs longer than this (nt) are an error when named one by one, and left out when a glob brought
    them in (said through ``say``, else a warning), so ``hsa-*`` scans every human miRNA the model can take.
    FASTA files are not checked here (their callers check, as before). ``note``, when given, hears one line saying
    which miRNAs names gave.
    """
    from mirlens.data.fasta import read_fasta

    if isinstance(spec, os.PathLike) or os.path.exists(spec):
        path = Path(spec)
        if path.is_file():
            items = _name_file_items(path)
            if items is not None:
                if not items:
                    raise InputError("no miRNA names in the file (one or more per line; # starts a comment)",
                                     source=path.name)
                return _records(items, path.name, max_len, say, note)
        return read_fasta(path, allow_bare=True)
    text = str(spec).strip()
    if "," not in text and _looks_like_path(text):
        raise InputError(f"file not found: {text}", source=Path(text).name)  # as read_fasta says it
    items = [(t, 0) for t in re.split(r"[,\s]+", text) if t]
    if not items:
        raise InputError("no miRNA given: a FASTA file, a file of names, or miRBase names / accessions "
                         "(e.g. hsa-miR-21-5p,MIMAT0000062 or 'hsa-*')")
    return _records(items, None, max_len, say, note)


def _looks_like_path(token: str) -> bool:
    if _GLOB.search(token):
        return False
    return ("/" in token or os.sep in token or token.startswith(("~", "."))
            or Path(token).suffix.lower() in _FILE_SUFFIXES)


def _name_file_items(path: Path) -> list[tuple[str, int]] | None:
    """``(name, line)`` of a text file of names, or None when the file is FASTA or a bare sequence (or not text):
    a file without ``>`` lines, with ``#`` comments or a line not made of sequence letters, holds names."""
    items: list[tuple[str, int]] = []
    names = False
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, 1):
                stripped = line.strip()
                if stripped.startswith(">"):
                    return None
                text = stripped.split("#", 1)[0].strip()
                if text != stripped or set(text) - _SEQUENCE_LETTERS - {" ", "\t"}:
                    names = True
                items += [(t, number) for t in re.split(r"[,\s]+", text) if t]
                if not names and number >= _NAME_FILE_PEEK:
                    return None
    except (UnicodeDecodeError, OSError):
        return None
    return items if names else None


def _records(items: list[tuple[str, int]], source: str | None, max_len: int | None,
             say: Callable[[str], None] | None, note: Callable[[str], None] | None) -> list[FastaRecord]:
    from mirlens.data.fasta import FastaRecord

    db = mirbase()
    chosen: dict[str, tuple[Mirna, int]] = {}
    skipped: list[Mirna] = []
    unknown: list[tuple[str, int]] = []
    for token, line in items:
        where = f"line {line}" if line else None
        if _GLOB.search(token):
            matched = db.glob(token)
            if not matched:
                raise InputError(_no_glob_match(db, token), source=source, record=where)
            fits = [m for m in matched if max_len is None or len(m.sequence) <= max_len]
            if not fits:
                raise InputError(f"every miRNA matching {token!r} is longer than {max_len} nt (the model's miRNA "
                                 "length)", source=source, record=where)
            skipped += [m for m in matched if max_len is not None and len(m.sequence) > max_len]
            for m in fits:
                chosen.setdefault(m.name, (m, line))
            continue
        m = db.get(token)
        if m is None:
            unknown.append((token, line))
            continue
        if max_len is not None and len(m.sequence) > max_len:
            raise InputError(f"{m.name} is {len(m.sequence)} nt, longer than the model's limit of {max_len} nt",
                             source=source, record=where)
        chosen.setdefault(m.name, (m, line))
    if unknown:
        token, line = unknown[0]
        message = _unknown(db, token)
        if len(unknown) > 1:
            more = ", ".join(repr(t) for t, _ in unknown[1:4]) + (", ..." if len(unknown) > 4 else "")
            message += f" (and {len(unknown) - 1} more unknown: {more})"
        raise InputError(message, source=source, record=f"line {line}" if line else None)
    skipped = [m for m in dict.fromkeys(skipped) if m.name not in chosen]
    if skipped:
        names = ", ".join(f"{m.name} ({len(m.sequence)} nt)" for m in skipped[:5])
        message = (f"left out {len(skipped)} miRNA(s) longer than the model's {max_len}-nt miRNA length: {names}"
                   + (", ..." if len(skipped) > 5 else ""))
        (say or (lambda text: warnings.warn(text, stacklevel=4)))(message)
    if note is not None:
        names = [m.name for m, _ in chosen.values()]
        note(f"{len(names):,} miRNA(s) by name ({SOURCE_LABEL}{', ' + source if source else ''}): "
             + ", ".join(names[:5]) + (", ..." if len(names) > 5 else ""))
    return [FastaRecord(m.name, db.description(m), m.sequence, i, line)
            for i, (m, line) in enumerate(chosen.values(), 1)]


def _unknown(db: MirBase, token: str) -> str:
    if _ACCESSION.fullmatch(token):
        return f"unknown miRBase accession {token!r} (not in miRBase {db.release})"
    close = db.closest(token)
    message = f"unknown miRNA name {token!r}"
    if len(token) >= 15 and not set(token) - _SEQUENCE_LETTERS:
        return message + " (it looks like a sequence: give sequences in a FASTA file)"
    if _looks_like_path(token):
        return message + " (nor a file of that name)"
    if token.partition("-")[0].lower() not in db.organisms:
        message += " (names start with a species code: hsa-, mmu-, ...)"
    if close:
        return message + f"; closest: {', '.join(close)}"
    return message + f"; `mirlens mirnas search` lists the miRBase {db.release} names"


def _no_glob_match(db: MirBase, pattern: str) -> str:
    message = f"no miRBase {db.release} name matches {pattern!r}"
    code = pattern.partition("-")[0].lower()
    if "-" in pattern and not _GLOB.search(code) and code not in db.organisms:
        close = difflib.get_close_matches(code, list(db.organisms), n=4)
        message += f" (unknown species code {code!r}" + (f"; closest: {', '.join(close)})" if close else ")")
    return message
