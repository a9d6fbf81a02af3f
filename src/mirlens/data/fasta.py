"""Reading FASTA files of miRNAs or targets, and pairing them up.

:func:`iter_fasta` streams records one at a time (memory bounded by the longest record), so it suits whole
transcriptomes. Sequences come back cleaned to the RNA alphabet (T -> U, lowercase -> uppercase, IUPAC codes -> N),
5'->3' as written. Multi-line sequences, blank lines, and Windows or old Mac line endings are fine.

Problems raise :class:`~mirlens.errors.InputError` naming the file, the record id and the line: sequence lines
before the first header, an empty header id, a record without sequence, an unknown letter, duplicate ids, an
empty file, bytes that are not UTF-8.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import NoReturn

import pandas as pd

from mirlens.data.alphabet import clean_sequence
from mirlens.data.pairs import make_pairs
from mirlens.data.readers import DEFAULT_MAX_MIRNA_LEN
from mirlens.errors import InputError, MirlensError

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class FastaRecord:
    """One FASTA record."""

    id: str
    """First word of the header line."""
    description: str
    """Rest of the header line ("" when there is none)."""
    seq: str
    """Sequence, clean RNA (``ACGUN``), 5'->3' as written in the file."""
    record: int
    """1-based index of the record in the file."""
    line: int
    """Line number of the header (of the first sequence line for a bare sequence)."""
    n_ambiguous: int = 0
    """IUPAC ambiguity letters turned into N in this record."""


def iter_fasta(path: str | PathLike[str], *, allow_bare: bool = False) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA file one by one.

    With ``allow_bare=True`` a file holding just one sequence and no header line (one or more lines) is read as
    one record whose id is the file name without its extension.
    Warns once, at the end, when IUPAC ambiguity letters were turned into N.
    """
    path = Path(path)
    source = path.name
    if not path.exists():
        raise InputError(f"file not found: {path}", source=source)
    if not path.is_file():
        raise InputError(f"not a file: {path}", source=source)
    try:
        yield from _FastaParser(path, allow_bare).records()
    except MirlensError:
        raise
    except Exception as exc:  # anything unexpected is still the file's problem, not a crash
        raise InputError(f"cannot read FASTA file ({type(exc).__name__}: {exc})", source=source) from exc


def read_fasta(path: str | PathLike[str], *, allow_bare: bool = False) -> list[FastaRecord]:
    """All records of a FASTA file (see :func:`iter_fasta`)."""
    return list(iter_fasta(path, allow_bare=allow_bare))


def pairs_from_fasta(
    mirna_fasta: str | PathLike[str] | Sequence[FastaRecord],
    target_fasta: str | PathLike[str],
    *,
    max_mirna_len: int | None = DEFAULT_MAX_MIRNA_LEN,
    mirna_source: str | None = None,
) -> pd.DataFrame:
    """Every miRNA of ``mirna_fasta`` with every target of ``target_fasta``, as an unlabelled pair table.

    Rows are miRNA-major (all targets of the first miRNA, then the next miRNA...). ``source`` is the target file's
    name and ``record`` the target's record index. Either file may be a bare sequence without header.
    ``mirna_fasta`` may also be the miRNA records themselves (e.g. miRNAs by name from
    :func:`mirlens.data.mirbase.resolve_mirnas`; ``mirna_source`` then names their file in errors).
    """
    if isinstance(mirna_fasta, (str, PathLike)):
        mirnas, mirna_source = read_fasta(mirna_fasta, allow_bare=True), Path(mirna_fasta).name
    else:
        mirnas = list(mirna_fasta)
    targets = read_fasta(target_fasta, allow_bare=True)
    if max_mirna_len is not None:
        for m in mirnas:
            if len(m.seq) > max_mirna_len:
                raise InputError(
                    f"miRNA is {len(m.seq)} nt long, longer than the limit of {max_mirna_len} nt (max_mirna_len)",
                    source=mirna_source,
                    record=_where(m.id, m.line) if m.line else f"record {m.id!r}",
                )
    n_t = len(targets)
    return make_pairs(
        mirna_id=[m.id for m in mirnas for _ in range(n_t)],
        mirna=[m.seq for m in mirnas for _ in range(n_t)],
        target_id=[t.id for t in targets] * len(mirnas),
        target=[t.seq for t in targets] * len(mirnas),
        label=[None] * (n_t * len(mirnas)),
        source=Path(target_fasta).name,
        record=[t.record for t in targets] * len(mirnas),
        n_ambiguous=sum(m.n_ambiguous for m in mirnas) + sum(t.n_ambiguous for t in targets),
    )


def _where(record_id: str, line: int) -> str:
    return f"record {record_id!r}, line {line}"


class _FastaParser:
    """Line-by-line state machine behind :func:`iter_fasta`."""

    def __init__(self, path: Path, allow_bare: bool):
        self.path = path
        self.source = path.name
        self.allow_bare = allow_bare
        self.seen: dict[str, tuple[int, int]] = {}  # id -> (record, header line)
        self.n_ambiguous_total = 0
        # the record being read
        self.id: str | None = None
        self.description = ""
        self.line = 0
        self.chunks: list[str] = []
        self.n_ambiguous = 0
        self.bare = False

    def fail(self, problem: str, line: int, record_id: str | None = None) -> NoReturn:
        record = _where(record_id, line) if record_id is not None else f"line {line}"
        raise InputError(problem, source=self.source, record=record)

    def records(self) -> Iterator[FastaRecord]:
        count = 0
        for number, text in self._lines():
            stripped = text.strip()
            if not stripped:
                continue
            if stripped.startswith(">"):
                if self.bare:
                    self.fail("header line after a sequence without header (a bare file holds one sequence)", number)
                if self.id is not None:
                    count += 1
                    yield self._finish(count)
                self._start(stripped[1:], number)
            else:
                if self.id is None:
                    if not (self.allow_bare and count == 0):
                        self.fail("sequence line before the first header line ('>id')", number)
                    self.bare = True
                    self.id, self.description, self.line = self.path.stem, "", number
                self._add_sequence("".join(stripped.split()), number)
        if self.id is not None:
            count += 1
            yield self._finish(count)
        if count == 0:
            raise InputError("empty file: no FASTA records found", source=self.source)
        if self.n_ambiguous_total:
            warnings.warn(
                f"{self.source}: {self.n_ambiguous_total} IUPAC ambiguity letter(s) turned into N", stacklevel=3
            )

    def _lines(self) -> Iterator[tuple[int, str]]:
        """``(line number, text)``; ``\\n``, ``\\r\\n`` and a lone ``\\r`` each end a line; UTF-8 checked per line."""
        number = 0
        with open(self.path, "rb") as fh:
            for raw in fh:
                if number == 0 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                raw = raw.rstrip(b"\n")
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
                for piece in raw.split(b"\r"):
                    number += 1
                    try:
                        yield number, piece.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        self.fail(
                            f"not UTF-8 text: undecodable byte 0x{piece[exc.start]:02x} (is this a FASTA file?)",
                            number,
                        )

    def _start(self, header: str, number: int) -> None:
        words = header.split(None, 1)
        if not words:
            self.fail("empty header: no record id after '>'", number)
        record_id = words[0]
        if record_id in self.seen:
            first_record, first_line = self.seen[record_id]
            self.fail(
                f"duplicate id {record_id!r}: record {len(self.seen) + 1} (line {number}) "
                f"repeats record {first_record} (line {first_line})",
                number,
                record_id,
            )
        self.seen[record_id] = (len(self.seen) + 1, number)
        self.id, self.description, self.line = record_id, words[1].strip() if len(words) > 1 else "", number
        self.chunks, self.n_ambiguous = [], 0

    def _add_sequence(self, text: str, number: int) -> None:
        clean, n_ambiguous = clean_sequence(text, source=self.source, record=_where(self.id, number))
        self.chunks.append(clean)
        self.n_ambiguous += n_ambiguous

    def _finish(self, index: int) -> FastaRecord:
        seq = "".join(self.chunks)
        if not seq:
            self.fail("record has an empty sequence", self.line, self.id)
        self.n_ambiguous_total += self.n_ambiguous
        rec = FastaRecord(self.id, self.description, seq, index, self.line, self.n_ambiguous)
        self.id, self.chunks, self.n_ambiguous = None, [], 0
        return rec
