"""Collections of long target sequences (3'UTRs) from a FASTA file or a table, as ``{id: sequence}``.

Tables (TSV/CSV, optionally gzipped, or Parquet) need an id column (``mrna_id``, ``gene_id``, ``target_id`` or
``id``) and a sequence column (``mrna_seq``, ``utr``, ``target``, ``sequence`` or ``seq``); the gene-level pair
layout (``mirna_id, mirna_seq, mrna_id, mrna_seq, label``) works as it is. Sequences are cleaned like every input
(T -> U, IUPAC codes -> N; unknown letters are an error naming the file and line). An id that occurs twice keeps
its first sequence when both are equal, and is an error otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from mirlens.data.alphabet import clean_sequence
from mirlens.data.fasta import iter_fasta
from mirlens.errors import InputError

ID_COLUMNS = ("mrna_id", "gene_id", "target_id", "id")
SEQUENCE_COLUMNS = ("mrna_seq", "utr", "target", "sequence", "seq")
FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")


def read_utrs(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{id: clean RNA sequence}`` of every record of a FASTA file or table (see the module doc)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}", source=path.name)
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip()
    if path.suffix.lower() in FASTA_SUFFIXES or head.startswith(b">"):
        return {rec.id: rec.seq for rec in iter_fasta(path)}
    return _read_table(path)


def _read_table(path: Path) -> dict[str, str]:
    source = path.name
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path).astype(str)
        else:
            sep = "," if ".csv" in [s.lower() for s in path.suffixes] else "\t"
            frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except Exception as exc:  # any parser problem is the file's problem
        raise InputError(f"cannot read UTR table ({type(exc).__name__}: {exc})", source=source) from None
    columns = {c.strip().lower(): c for c in frame.columns}
    id_col = next((columns[c] for c in ID_COLUMNS if c in columns), None)
    seq_col = next((columns[c] for c in SEQUENCE_COLUMNS if c in columns), None)
    if id_col is None or seq_col is None:
        raise InputError(f"a UTR table needs an id column ({', '.join(ID_COLUMNS)}) and a sequence column "
                         f"({', '.join(SEQUENCE_COLUMNS)}); found {', '.join(map(str, frame.columns))}",
                         source=source)
    out: dict[str, str] = {}
    for line, (uid, seq) in enumerate(zip(frame[id_col], frame[seq_col]), start=2):
        uid = str(uid).strip()
        if not uid:
            raise InputError("empty UTR id", source=source, record=line)
        clean, _ = clean_sequence(str(seq).strip(), source=source, record=line)
        if uid in out and out[uid] != clean:
            raise InputError(f"UTR id {uid!r} occurs twice with different sequences", source=source, record=line)
        out.setdefault(uid, clean)
    if not out:
        raise InputError("no UTRs found", source=source)
    return out
