"""Writes the bundled miRBase table (src/mirlens/data/mirbase_22.1.tsv.gz + mirbase_22.1.json) from the release file.

Source: miRBase release 22.1 ``mature.fa`` (every mature miRNA of every species, 48,885 sequences; Kozomara et al.,
NAR 2019; miRBase data are free to use), as kept in ``../shared/data/mirbase/mature.fa.gz`` (its README gives the
provenance). The script refuses a source whose unpacked sha256 differs from the release file's.

Output (run once; the outputs are committed, nothing else from ../shared is):

* ``mirbase_22.1.tsv.gz``: one row per mature miRNA, in the release file's order, columns ``name``, ``accession``,
  ``sequence`` (5'->3', RNA letters). All species: 0.6 MB gzip, so names work offline on a fresh install.
* ``mirbase_22.1.json``: release, source file and its sha256 (unpacked and gzip), counts, the sha256 of the unpacked
  table, the species codes with their organism names (from the FASTA headers), the date it was made.

Usage: ``python scripts/make_mirbase_table.py [SOURCE] [--out-dir DIR]``.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RELEASE = "22.1"
SOURCE_SHA256 = "3c521fc9bea3c7993e71cf188b11caf73e2d40ac83454e32876455317cc6d342"  # unpacked mature.fa, 22.1
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "mirbase" / "mature.fa.gz"
DEFAULT_OUT = REPO / "src" / "mirlens" / "data"
TABLE_NAME = f"mirbase_{RELEASE}.tsv.gz"
META_NAME = f"mirbase_{RELEASE}.json"
COLUMNS = ("name", "accession", "sequence")


def read_release(raw: bytes) -> list[dict[str, str]]:
    """The records of miRBase's ``mature.fa`` (header ``>NAME ACCESSION Genus species words...``)."""
    records: list[dict[str, str]] = []
    for number, line in enumerate(raw.decode("ascii").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith(">"):
            words = line[1:].split()
            if len(words) < 3 or not re.fullmatch(r"MIMAT\d{7}", words[1]):
                sys.exit(f"line {number}: unexpected header {line!r}")
            records.append({"name": words[0], "accession": words[1], "description": " ".join(words[2:]),
                            "sequence": ""})
        elif not records:
            sys.exit(f"line {number}: sequence before the first header")
        else:
            records[-1]["sequence"] += line.upper()
    return records


def check(records: list[dict[str, str]]) -> dict[str, str]:
    """Sanity checks; returns species code -> organism name (the header's words before the name's own part)."""
    names, accessions, lower = set(), set(), set()
    species: dict[str, str] = {}
    for r in records:
        name, acc, seq = r["name"], r["accession"], r["sequence"]
        if name in names or acc in accessions:
            sys.exit(f"duplicate name or accession: {name} {acc}")
        if name.lower() in lower:
            sys.exit(f"two names differ only by case: {name}")  # name lookup is case-insensitive
        names.add(name)
        accessions.add(acc)
        lower.add(name.lower())
        if not seq or set(seq) - set("ACGU"):
            sys.exit(f"{name}: sequence is empty or not RNA letters: {seq!r}")
        code, _, rest = name.partition("-")
        if not rest or not r["description"].endswith(" " + rest):
            sys.exit(f"{name}: header {r['description']!r} does not end with the name after the species code")
        organism = r["description"][: -len(rest) - 1]
        if species.setdefault(code, organism) != organism:
            sys.exit(f"species code {code} names two organisms: {species[code]!r}, {organism!r}")
    return species


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE,
                        help="miRBase 22.1 mature.fa or mature.fa.gz (default: ../shared/data/mirbase/mature.fa.gz)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    packed = args.source.read_bytes()
    raw = gzip.decompress(packed) if packed[:2] == b"\x1f\x8b" else packed
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SOURCE_SHA256:
        sys.exit(f"{args.source}: sha256 {digest} is not miRBase {RELEASE} mature.fa ({SOURCE_SHA256})")
    records = read_release(raw)
    species = check(records)

    text = "\t".join(COLUMNS) + "\n" + "".join("\t".join(r[c] for c in COLUMNS) + "\n" for r in records)
    table = text.encode("ascii")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(table)
    meta = {
        "release": RELEASE,
        "what": "every mature miRNA of miRBase release 22.1, all species: name, accession (MIMAT), sequence 5'->3' "
                "in RNA letters, in the release file's order",
        "source": "miRBase release 22.1 mature.fa (https://www.mirbase.org; Kozomara, Birgaoanu & Griffiths-Jones, "
                  "Nucleic Acids Res 2019;47:D155-D162), as kept in ../shared/data/mirbase/mature.fa.gz",
        "license": "miRBase data are free to use (no restrictions); please cite miRBase",
        "source_file": args.source.name,
        "source_sha256": digest,
        "source_gz_sha256": hashlib.sha256(packed).hexdigest() if packed is not raw else None,
        "n_mirnas": len(records),
        "n_species": len(species),
        "table": TABLE_NAME,
        "table_sha256": hashlib.sha256(table).hexdigest(),
        "script": "scripts/make_mirbase_table.py",
        "created": datetime.date.today().isoformat(),
        "species": dict(sorted(species.items())),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out_dir / TABLE_NAME, buf.getvalue())
    atomic_write(args.out_dir / META_NAME, (json.dumps(meta, indent=1) + "\n").encode())
    n_human = sum(r["name"].startswith("hsa-") for r in records)
    n_mouse = sum(r["name"].startswith("mmu-") for r in records)
    print(f"{len(records):,} mature miRNAs ({n_human:,} hsa, {n_mouse:,} mmu) of {len(species)} species -> "
          f"{args.out_dir / TABLE_NAME} ({len(buf.getvalue()):,} bytes), {args.out_dir / META_NAME}")


if __name__ == "__main__":
    main()
