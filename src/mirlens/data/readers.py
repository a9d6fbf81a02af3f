"""Reading pair files (tables of miRNA/target pairs) into a pair table.

Three layouts are understood:

``mitar``
    The original miTAR data files: tab-separated, five columns: miRNA id, miRNA sequence **written 3'->5'**,
    target id, target sequence 5'->3' (DNA letters allowed), label 0/1. An optional header line
    (``miRNA ID<TAB>miRNA Seq (3'-->5')...``) is detected and skipped. The miRNA is reversed here -- the one place
    in mirlens where the 3'->5' orientation is undone -- so that every sequence in memory is 5'->3'.
``plain``
    A TSV/CSV file with a header naming ``mirna_id, mirna, target_id, target`` and optionally ``label``; both
    sequences 5'->3'. The gene-level layout ``mirna_id, mirna_seq, mrna_id, mrna_seq[, label]`` is also accepted.
    Extra columns are ignored. Empty label cells read as ``<NA>``. A ``.parquet``/``.pq`` file with these
    columns works too.
``auto``
    ``plain`` when the first line is a header naming those columns, ``mitar`` otherwise.

Every problem with a file raises :class:`~mirlens.errors.InputError` naming the file, the line and the problem.

Text files are read column-wise (pyarrow compute kernels over all lines at once, no Python step per row): the
lines are split, trimmed, checked and cleaned as whole columns. When a check fails, the first failing row is handed
to the row-by-row checker (:class:`_RowCollector`), which words the error exactly as it would have reading the file
line by line. Files with quoted CSV fields and Parquet files are read row by row.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mirlens.data.alphabet import IUPAC_AMBIGUOUS, clean_sequence, reverse
from mirlens.data.pairs import LABEL_DTYPE, make_pairs
from mirlens.errors import InputError, MirlensError

FORMATS = ("auto", "mitar", "plain")
DEFAULT_MAX_MIRNA_LEN = 26
PARQUET_SUFFIXES = (".parquet", ".pq")

REQUIRED_COLUMNS = ("mirna_id", "mirna", "target_id", "target")
OPTIONAL_COLUMNS = ("label",)
COLUMN_ALIASES = {"mirna_seq": "mirna", "mrna_id": "target_id", "mrna_seq": "target"}
"""Gene-level layout names and the pair-table column each one fills."""

_KNOWN_HEADER_NAMES = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS) | frozenset(COLUMN_ALIASES)
_MITAR_COLUMNS = 5
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read_pairs(
    path: str | PathLike[str], fmt: str = "auto", *, max_mirna_len: int | None = DEFAULT_MAX_MIRNA_LEN
) -> pd.DataFrame:
    """Read a pair file into a pair table (see :mod:`mirlens.data.pairs`).

    ``fmt`` is ``"auto"``, ``"mitar"`` or ``"plain"`` (ignored for ``.parquet`` files). A miRNA longer than
    ``max_mirna_len`` nucleotides is an error (``None``: no limit). Warns once when IUPAC ambiguity letters were
    turned into N; their number is in ``df.attrs["n_ambiguous"]``.
    """
    path = Path(path)
    source = path.name
    if fmt not in FORMATS:
        raise InputError(f"unknown pair file format {fmt!r} (choose from {', '.join(FORMATS)})", source=source)
    if not path.exists():
        raise InputError(f"file not found: {path}", source=source)
    if not path.is_file():
        raise InputError(f"not a file: {path}", source=source)
    rows = _RowCollector(source, max_mirna_len)
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            _parse_parquet(path, rows)
        else:
            text = _read_text(path, source)
            lines = _Lines(text)
            if not len(lines):
                raise InputError("empty file: no pairs found", source=source)
            if fmt == "auto":
                fmt = "plain" if _looks_like_plain_header(lines.line(0)) else "mitar"
            if fmt == "mitar":
                _columns_mitar(lines, rows)
            elif '"' in text:  # quoted CSV fields: the csv module, row by row
                _parse_plain(list(_numbered_lines(text)), path, rows)
            else:
                _columns_plain(lines, path, rows)
        return rows.table()
    except MirlensError:
        raise
    except Exception as exc:  # anything unexpected while parsing is still the file's problem, not a crash
        raise InputError(f"cannot read pair file ({type(exc).__name__}: {exc})", source=source) from exc


class _RowCollector:
    """Validates rows one at a time and gathers them into columns."""

    def __init__(self, source: str, max_mirna_len: int | None):
        self.source = source
        self.max_mirna_len = max_mirna_len
        self.columns: dict[str, list] = {name: [] for name in ("mirna_id", "mirna", "target_id", "target", "label")}
        self.records: list[int] = []
        self.n_ambiguous = 0

    def add(
        self,
        record: int,
        mirna_id: str,
        mirna: str,
        target_id: str,
        target: str,
        label: str | None,
        *,
        mirna_3to5: bool = False,
        label_required: bool = False,
    ) -> None:
        """Check and keep one row.

        ``label`` ``None`` means the file has no label column; an empty label is ``<NA>`` unless ``label_required``.
        ``mirna_3to5``: the miRNA is written 3'->5' and is reversed after cleaning (so error positions match the file).
        """
        mirna_id, target_id = mirna_id.strip(), target_id.strip()
        if not mirna_id:
            self._fail(record, "empty miRNA id")
        if not target_id:
            self._fail(record, "empty target id")
        mirna_clean = self._sequence(record, "miRNA", mirna.strip())
        if mirna_3to5:
            mirna_clean = reverse(mirna_clean)
        target_clean = self._sequence(record, "target", target.strip())
        if self.max_mirna_len is not None and len(mirna_clean) > self.max_mirna_len:
            self._fail(
                record,
                f"miRNA {mirna_id!r} is {len(mirna_clean)} nt long, longer than the limit of "
                f"{self.max_mirna_len} nt (max_mirna_len)",
            )
        cols = self.columns
        cols["mirna_id"].append(mirna_id)
        cols["mirna"].append(mirna_clean)
        cols["target_id"].append(target_id)
        cols["target"].append(target_clean)
        cols["label"].append(self._label(record, label, label_required))
        self.records.append(record)

    def _sequence(self, record: int, what: str, seq: str) -> str:
        if not seq:
            self._fail(record, f"empty {what} sequence")
        try:
            clean, n_ambiguous = clean_sequence(seq, source=self.source, record=record)
        except InputError as exc:
            self._fail(record, f"{what} sequence: {exc.problem}")
        self.n_ambiguous += n_ambiguous
        return clean

    def _label(self, record: int, label: str | None, required: bool) -> int | None:
        if label is None:
            return None
        text = label.strip()
        if text == "1":
            return 1
        if text == "0":
            return 0
        if text == "" and not required:
            return None
        self._fail(record, f"label must be 0 or 1, got {_show(text)}")

    def _fail(self, record: int, problem: str) -> NoReturn:
        raise InputError(problem, source=self.source, record=record)

    def add_columns(self, records: np.ndarray, fields: dict[str, pa.Array], *, mirna_3to5: bool,
                    label_required: bool, report: Callable[[int], None]) -> None:
        """Check and keep whole columns of raw text (``mirna_id``, ``mirna``, ``target_id``, ``target`` and
        optionally ``label``), the rows of lines ``records``. A failing row ``i`` is passed to ``report(i)``, which
        must raise the row-by-row checker's error for it."""
        trimmed = {name: pc.utf8_trim_whitespace(col) for name, col in fields.items()}
        clean, seq_bad, n_ambiguous = {}, {}, 0
        for name in ("mirna", "target"):
            clean[name], seq_bad[name], n_amb = _clean_column(trimmed[name])
            n_ambiguous += n_amb
        bad = pc.or_(pc.equal(pc.utf8_length(trimmed["mirna_id"]), 0),
                     pc.equal(pc.utf8_length(trimmed["target_id"]), 0))
        bad = pc.or_(bad, pa.array(seq_bad["mirna"] | seq_bad["target"]))
        if self.max_mirna_len is not None:
            bad = pc.or_(bad, pc.greater(pc.utf8_length(trimmed["mirna"]), self.max_mirna_len))
        label = trimmed.get("label")
        if label is not None:
            known = pc.or_(pc.equal(label, "1"), pc.equal(label, "0"))
            if not label_required:
                known = pc.or_(known, pc.equal(pc.utf8_length(label), 0))
            bad = pc.or_(bad, pc.invert(known))
        bad_rows = np.flatnonzero(bad.to_numpy(zero_copy_only=False))
        if len(bad_rows):
            report(int(bad_rows[0]))
            raise AssertionError("the row-by-row checker accepted a row the column checks refused")  # pragma: no cover
        self.n_ambiguous += n_ambiguous
        if mirna_3to5:
            clean["mirna"] = pc.utf8_reverse(clean["mirna"])
        n = len(records)
        if label is None:
            labels = pd.array(np.zeros(n, dtype=np.int8), dtype=LABEL_DTYPE)
            labels[:] = pd.NA
        else:
            values = pc.equal(label, "1").to_numpy(zero_copy_only=False).astype(np.int8)
            labels = pd.arrays.IntegerArray(values, pc.equal(pc.utf8_length(label), 0).to_numpy(
                zero_copy_only=False)).astype(LABEL_DTYPE)
        self.columns = {"mirna_id": trimmed["mirna_id"], "mirna": clean["mirna"], "target_id": trimmed["target_id"],
                        "target": clean["target"], "label": labels}
        self.records = np.asarray(records, dtype=np.int64)

    def table(self) -> pd.DataFrame:
        if not len(self.records):
            raise InputError("no pairs found", source=self.source)
        if self.n_ambiguous:
            warnings.warn(
                f"{self.source}: {self.n_ambiguous} IUPAC ambiguity letter(s) turned into N", stacklevel=3
            )
        return make_pairs(
            **self.columns, source=self.source, record=self.records, n_ambiguous=self.n_ambiguous
        )


def _read_text(path: Path, source: str) -> str:
    """The file as text (UTF-8, optional byte-order mark); undecodable bytes are an error naming the line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not UTF-8 text: undecodable byte 0x{data[exc.start]:02x} (is this a text pair file?)",
            source=source,
            record=line,
        ) from None


_CLEAN_BYTE = np.zeros(256, dtype=np.uint8)  # byte -> clean RNA letter (the table of clean_sequence); 0: refused
for _c in "ACGUN":
    _CLEAN_BYTE[[ord(_c), ord(_c.lower())]] = ord(_c)
_CLEAN_BYTE[[ord("T"), ord("t")]] = ord("U")
_AMBIGUOUS_BYTE = np.zeros(256, dtype=bool)
for _c in IUPAC_AMBIGUOUS:
    _CLEAN_BYTE[[ord(_c), ord(_c.lower())]] = ord("N")
    _AMBIGUOUS_BYTE[[ord(_c), ord(_c.lower())]] = True


def _clean_column(col: pa.Array) -> tuple[pa.Array, np.ndarray, int]:
    """A string column cleaned as :func:`mirlens.data.alphabet.clean_sequence` cleans one sequence, through a byte
    table over the column's whole data buffer: ``(clean column, rows that are empty or hold a refused byte, IUPAC
    letters turned into N)``. Refused rows keep garbage; the caller reports them."""
    col = col.cast(pa.large_string())
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int64)[col.offset:col.offset + len(col) + 1]
    data_buffer = col.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    data = data[offsets[0]:offsets[-1]]
    rel = offsets - offsets[0]
    clean = _CLEAN_BYTE[data]
    bad = rel[1:] == rel[:-1]
    refused = np.flatnonzero(clean == 0)  # usually none: no per-byte running count over the whole buffer
    if len(refused):
        bad[np.searchsorted(rel, refused, side="right") - 1] = True
    out = pa.LargeStringArray.from_buffers(len(col), pa.py_buffer(rel), pa.py_buffer(clean))
    return out, bad, int(_AMBIGUOUS_BYTE[data].sum())


class _Lines:
    """The non-blank lines of a text (an Arrow string array) and their 1-based line numbers; ``\n``, ``\r\n``
    and ``\r`` all end a line (the numbering of :func:`_numbered_lines`)."""

    def __init__(self, text: str):
        one = pa.array([text.replace("\r\n", "\n").replace("\r", "\n")], type=pa.large_string())
        every = pc.split_pattern(one, "\n").flatten()  # no Python string per line
        keep = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(every)), 0)
        self.text = every.filter(keep)
        self.numbers = np.flatnonzero(keep.to_numpy(zero_copy_only=False)) + 1

    def __len__(self) -> int:
        return len(self.text)

    def line(self, i: int) -> str:
        return self.text[i].as_py()

    def numbered(self, i: int) -> tuple[int, str]:
        return int(self.numbers[i]), self.line(i)


def _split_columns(lines: pa.Array, delim: str, n_columns: int) -> tuple[list[pa.Array] | None, int]:
    """The fields of every line as ``n_columns`` columns, or ``(None, i)``: line ``i`` has another count."""
    parts = pc.split_pattern(lines, delim)
    counts = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    wrong = np.flatnonzero(counts != n_columns)
    if len(wrong):
        return None, int(wrong[0])
    flat = parts.flatten()
    return [flat.take(pa.array(np.arange(j, len(flat), n_columns))) for j in range(n_columns)], -1


def _columns_mitar(lines: _Lines, rows: _RowCollector) -> None:
    """:func:`_parse_mitar`, column-wise."""
    first = 1 if _is_mitar_header(lines.line(0).split("\t")) else 0
    data = lines.text[first:]
    cols, wrong = _split_columns(data, "\t", _MITAR_COLUMNS)
    checked = len(data) if cols is not None else wrong

    def report(i: int) -> None:  # the row-by-row reader's error for data row i
        _parse_mitar([lines.numbered(first + i)], rows, starts_file=first + i == 0)

    if cols is None:  # rows before the first one with a wrong field count may hold an earlier error
        cols, _ = _split_columns(data[:checked], "\t", _MITAR_COLUMNS)
        rows.add_columns(lines.numbers[first:first + checked], dict(zip(_MITAR_NAMES, cols)), mirna_3to5=True,
                         label_required=True, report=report)
        report(checked)
    rows.add_columns(lines.numbers[first:], dict(zip(_MITAR_NAMES, cols)), mirna_3to5=True, label_required=True,
                     report=report)


_MITAR_NAMES = ("mirna_id", "mirna", "target_id", "target", "label")


def _columns_plain(lines: _Lines, path: Path, rows: _RowCollector) -> None:
    """:func:`_parse_plain` for files without quoted fields, column-wise."""
    header_number, header = lines.numbered(0)
    delim = _delimiter(path, header)
    header_fields = header.split(delim)
    pos = _column_positions(_header_names(header_fields), rows.source, header_number)
    data = lines.text[1:]
    cols, wrong = _split_columns(data, delim, len(header_fields))
    checked = len(data) if cols is not None else wrong

    def report(i: int) -> None:
        _parse_plain([lines.numbered(0), lines.numbered(1 + i)], path, rows)

    def fields(columns: list[pa.Array]) -> dict[str, pa.Array]:
        return {name: columns[p] for name, p in pos.items()}

    if cols is None:
        cols, _ = _split_columns(data[:checked], delim, len(header_fields))
        rows.add_columns(lines.numbers[1:1 + checked], fields(cols), mirna_3to5=False, label_required=False,
                         report=report)
        report(checked)
    rows.add_columns(lines.numbers[1:], fields(cols), mirna_3to5=False, label_required=False, report=report)


def _numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(1-based line number, line)`` for every non-blank line; ``\\n``, ``\\r\\n`` and ``\\r`` all end a line."""
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if line.strip():
            yield number, line


def _header_names(fields: list[str]) -> list[str]:
    return [f.strip().strip('"').strip().lower() for f in fields]


def _looks_like_plain_header(line: str) -> bool:
    """True when the line, split at tabs or commas, names at least two plain-layout columns."""
    return any(
        len(_KNOWN_HEADER_NAMES.intersection(_header_names(line.split(delim)))) >= 2 for delim in ("\t", ",")
    )


def _is_mitar_header(fields: list[str]) -> bool:
    first = fields[0].strip().lower()
    return first == "mirna id" or any("3'-->5'" in f or "3'->5'" in f for f in fields)


def _parse_mitar(lines: list[tuple[int, str]], rows: _RowCollector, *, starts_file: bool = True) -> None:
    for i, (number, line) in enumerate(lines):
        fields = line.split("\t")
        i += not starts_file  # the header check and hint are for the file's first line
        if i == 0 and _is_mitar_header(fields):
            continue
        if len(fields) != _MITAR_COLUMNS:
            hint = (
                " (this looks like a plain-format header; use fmt='plain')"
                if i == 0 and _looks_like_plain_header(line)
                else ""
            )
            raise InputError(
                f"expected {_MITAR_COLUMNS} tab-separated columns (miRNA id, miRNA 3'->5', target id, target, "
                f"label), found {len(fields)}{hint}",
                source=rows.source,
                record=number,
            )
        mirna_id, mirna, target_id, target, label = fields
        rows.add(number, mirna_id, mirna, target_id, target, label, mirna_3to5=True, label_required=True)


def _delimiter(path: Path, header: str) -> str:
    """Tab for .tsv/.txt, comma for .csv; a header that only holds the other delimiter wins (sniffing)."""
    by_extension = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}.get(path.suffix.lower())
    for delim in (by_extension, "\t", ","):
        if delim and delim in header:
            return delim
    return by_extension or "\t"


def _column_positions(names: list[str], source: str, record: int | None) -> dict[str, int]:
    """Map pair-table column -> position in the file's header (aliases resolved; canonical names win)."""
    positions: dict[str, int] = {}
    for pos, name in enumerate(names):
        if name in positions and name in _KNOWN_HEADER_NAMES:
            raise InputError(f"column {name!r} appears twice in the header", source=source, record=record)
        positions.setdefault(name, pos)
    for alias, canonical in COLUMN_ALIASES.items():
        if alias in positions and canonical not in positions:
            positions[canonical] = positions[alias]
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise InputError(
            f"header is missing required column(s) {', '.join(missing)} "
            f"(need {', '.join(REQUIRED_COLUMNS)}[, label] or mirna_id, mirna_seq, mrna_id, mrna_seq[, label])",
            source=source,
            record=record,
        )
    return {c: positions[c] for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in positions}


def _parse_plain(lines: list[tuple[int, str]], path: Path, rows: _RowCollector) -> None:
    header_number, header = lines[0]
    delim = _delimiter(path, header)

    def split(number: int, line: str) -> list[str]:
        try:
            return next(csv.reader([line], delimiter=delim, strict=True), [])
        except csv.Error as exc:
            raise InputError(f"malformed line ({exc})", source=rows.source, record=number) from None

    header_fields = split(header_number, header)
    pos = _column_positions(_header_names(header_fields), rows.source, header_number)
    n_columns = len(header_fields)
    label_pos = pos.get("label")
    for number, line in lines[1:]:
        fields = split(number, line)
        if len(fields) != n_columns:
            raise InputError(
                f"expected {n_columns} columns like the header, found {len(fields)}",
                source=rows.source,
                record=number,
            )
        rows.add(
            number,
            fields[pos["mirna_id"]],
            fields[pos["mirna"]],
            fields[pos["target_id"]],
            fields[pos["target"]],
            fields[label_pos] if label_pos is not None else None,
        )


def _parse_parquet(path: Path, rows: _RowCollector) -> None:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise InputError(f"cannot read Parquet file ({type(exc).__name__}: {exc})", source=rows.source) from None
    names = _header_names([str(c) for c in frame.columns])
    pos = _column_positions(names, rows.source, None)
    columns = {c: frame.iloc[:, p].tolist() for c, p in pos.items()}
    labels = columns.get("label", [None] * len(frame))
    has_label = "label" in columns
    for i, (mirna_id, mirna, target_id, target, label) in enumerate(
        zip(columns["mirna_id"], columns["mirna"], columns["target_id"], columns["target"], labels), start=1
    ):
        rows.add(
            i,
            _cell_text(mirna_id),
            _cell_text(mirna),
            _cell_text(target_id),
            _cell_text(target),
            _cell_text(label) if has_label else None,
        )


def _cell_text(value: object) -> str:
    """A Parquet cell as text: missing -> "", whole floats (1.0) -> "1"."""
    if value is None or (pd.api.types.is_scalar(value) and not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show(text: str, limit: int = 40) -> str:
    """``repr`` of a user value, shortened for messages."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
