"""``mirlens mirnas``: find miRNAs by name in the bundled miRBase 22.1 table (search, show, info)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mirlens.cli.app import app
from mirlens.cli.common import console, print_plain, reports_errors
from mirlens.errors import InputError

mirnas_app = typer.Typer(
    help="miRNAs by name: search and show the bundled miRBase 22.1 mature miRNAs (all species), the names "
    "`--mirna` takes. Seed = nucleotides 2-8; a seed family = the miRNAs sharing it.",
    no_args_is_help=True,
)
app.add_typer(mirnas_app, name="mirnas")

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")
FAMILY_SHOWN = 4
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Also write the miRNAs: FASTA (.fa/.fasta, miRBase headers; ready for --mirna) or a "
    "table (.tsv/.csv/.parquet: name, accession, organism, sequence, length, seed, family).")]


@mirnas_app.command("search")
@reports_errors
def search_cmd(
    query: Annotated[str | None, typer.Argument(help="Part of a name or accession (any case; `miR-21` finds "
                                                "miR-21-5p, miR-21a-5p, then miR-210...), a glob ('hsa-let-7*'), "
                                                "or a stretch of sequence (6 nt or more).")] = None,
    species: Annotated[str | None, typer.Option("--species", "-s", help="Only these species: miRBase codes or "
                                                "organism names, comma-separated (hsa, mmu, 'Homo sapiens').")]
    = None,
    seed: Annotated[str | None, typer.Option("--seed", help="Only miRNAs with this seed (nucleotides 2-8, "
                                             "7 letters, e.g. GAGGUAG for let-7).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Rows shown (0: all); --output gets every match.")]
    = 50,
    output: OutputOpt = None,
) -> None:
    """List the miRNAs matching QUERY, with accession, sequence, seed and seed family.

    Seed = nucleotides 2-8; seed family = the other miRNAs of the same species sharing the seed. Best matches
    first (exact name, then its arms, then paralogs, then the rest); human and mouse before other species."""
    from mirlens.data.mirbase import mirbase

    _check_output(output)
    if query is None and species is None and seed is None:
        raise InputError("give a QUERY (part of a name, an accession, a glob or a sequence), --species or --seed")
    if limit < 0:
        raise InputError(f"--limit must be 0 (all) or positive (got {limit})")
    db = mirbase()
    if seed is not None:
        seed = seed.strip().upper().replace("T", "U")
        if len(seed) != 7 or set(seed) - set("ACGU"):
            raise InputError(f"--seed takes the 7 nucleotides 2-8 of a miRNA in A C G U (got {seed!r})")
    codes = db.species_codes(species) if species else None
    hits = db.search(query, species=codes, seed=seed)
    what = " ".join(x for x in (repr(query) if query else "", f"species {species}" if species else "",
                                f"seed {seed}" if seed else "") if x)
    if not hits:
        raise InputError(f"no miRBase {db.release} miRNA matches {what}" + _hint(db, query))
    shown = hits if limit == 0 else hits[:limit]
    console.print(_table(db, [(m.name, m.accession, m.sequence, m) for m in shown],
                         f"miRBase {db.release}: {len(hits):,} match(es) for {what}"
                         + (f", first {len(shown)} shown (--limit 0: all)" if len(shown) < len(hits) else "")))
    if output is not None:
        _write(db, [(m.name, m.accession, m.sequence, m) for m in hits], output)


@mirnas_app.command("show")
@reports_errors
def show_cmd(
    mirna: Annotated[str, typer.Argument(help="What --mirna would take: names or accessions, comma-separated, "
                                         "globs ('hsa-let-7*'), a file of names, or a FASTA file (its miRNAs' "
                                         "seeds are looked up in miRBase).")],
    output: OutputOpt = None,
) -> None:
    """Show the miRNAs exactly as `--mirna MIRNA` resolves them.

    Name, accession, sequence, length, seed (nucleotides 2-8) and seed family; an unknown name is an error with
    the closest names. For a FASTA file's miRNAs the family lists miRBase miRNAs of any species with that seed."""
    from mirlens.data.mirbase import mirbase, resolve_mirnas

    _check_output(output)
    db = mirbase()
    records = resolve_mirnas(mirna)
    rows = []
    for r in records:
        m = db.get(r.id)
        m = m if m is not None and m.sequence == r.seq else None  # a FASTA record is miRBase's only if it matches
        rows.append((r.id, m.accession if m else "", r.seq, m))
    console.print(_table(db, rows, f"{len(rows):,} miRNA(s)"))
    if output is not None:
        _write(db, rows, output)


@mirnas_app.command("info")
@reports_errors
def info_cmd() -> None:
    """Where the bundled table comes from: release, source file and sha256, counts, license."""
    from mirlens.data.mirbase import TABLE_FILE, mirbase

    db = mirbase()
    meta = db.meta
    by_species: dict[str, int] = {}
    for m in db.mirnas:
        by_species[m.species] = by_species.get(m.species, 0) + 1
    top = ", ".join(f"{code} {n:,}" for code, n in sorted(by_species.items(), key=lambda kv: -kv[1])[:5])
    for key, value in (("release", f"miRBase {meta.get('release')}"), ("table", f"mirlens/data/{TABLE_FILE}"),
                       ("miRNAs", f"{len(db):,} mature miRNAs of {len(by_species)} species ({top}, ...)"),
                       ("source", meta.get("source", "")), ("source sha256", meta.get("source_sha256", "")),
                       ("made by", f"{meta.get('script', '')} on {meta.get('created', '')}"),
                       ("license", meta.get("license", ""))):
        console.print(f"[bold]{key}:[/] {escape(str(value))}", highlight=False, soft_wrap=True)


def _hint(db, query: str | None) -> str:
    if not query:
        return ""
    close = db.closest(query, n=3)
    return f"; closest names: {', '.join(close)}" if close else ""


def _family(db, seq: str, m) -> tuple[str, list[str]]:
    """Seed (nt 2-8) and the other miRNAs sharing it: of the same species for a miRBase miRNA; for one from a
    FASTA file, of any species (human and mouse first)."""
    seed = seq[1:8]
    if m is not None:
        return seed, [x.name for x in db.family(m)]
    return seed, [x.name for x in db.search(seed=seed)]


def _table(db, rows, title: str):
    from rich.table import Table

    table = Table(title=escape(title), title_justify="left")
    for head, justify in (("name", "left"), ("accession", "left"), ("sequence (5'->3')", "left"),
                          ("nt", "right"), ("seed 2-8", "left"), ("seed family", "left")):
        table.add_column(head, justify=justify, no_wrap=head != "seed family")
    for name, accession, seq, m in rows:
        seed, family = _family(db, seq, m)
        shown = ", ".join(family[:FAMILY_SHOWN]) + (f" (+{len(family) - FAMILY_SHOWN})"
                                                   if len(family) > FAMILY_SHOWN else "")
        table.add_row(escape(name), accession, seq, str(len(seq)), seed, escape(shown or "-"))
    return table


def _check_output(output: Path | None) -> None:
    if output is None:
        return
    from mirlens.tables import TABLE_SUFFIXES  # (loads pandas: only when there is something to write)

    if output.suffix.lower() not in (*FASTA_SUFFIXES, *TABLE_SUFFIXES):
        raise InputError(f"--output {output.name}: give a .fa/.fasta (FASTA) or .tsv/.csv/.parquet (table) file")


def _write(db, rows, output: Path) -> None:
    from mirlens.tables import write_text

    if output.suffix.lower() in FASTA_SUFFIXES:
        lines = []
        for name, _accession, seq, m in rows:
            header = f"{name} {db.description(m)}" if m is not None else name
            lines += [f">{header}", seq]
        write_text("\n".join(lines) + "\n", output)
    else:
        import pandas as pd

        from mirlens.tables import write_table

        records = []
        for name, accession, seq, m in rows:
            seed, family = _family(db, seq, m)
            records.append({"name": name, "accession": accession, "organism": db.organism(m.species) if m else "",
                            "sequence": seq, "length": len(seq), "seed": seed, "family": ",".join(family)})
        write_table(pd.DataFrame(records), output)
    print_plain(f"{len(rows):,} miRNA(s) -> {output}", highlight=False)
