"""``mirlens data``: the named data sets (fetch, describe, export) and duplicate reports for any pair file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mirlens.cli.app import app
from mirlens.cli.common import console, print_plain, reports_errors
from mirlens.data import mirbench
from mirlens.data.datasets import (DATASETS, PARTS, dataset_info, fetch, find_data_file, load_dataset,
                                   resolve_data_dir, verify)
from mirlens.data.duplicates import deduplicate, find_duplicates
from mirlens.data.readers import read_pairs
from mirlens.errors import DataSetError
from mirlens.tables import write_table

data_app = typer.Typer(help="Named data sets (deepmirtar, miraw, combined; miRBench's hejret2023, klimentova2022, "
                       "manakov2022) and pair files.", no_args_is_help=True)
app.add_typer(data_app, name="data")

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Directory holding the original files "
                                                 "(default: $MIRLENS_DATA_DIR, else ~/.cache/mirlens/data); "
                                                 "several separated by ':' are searched in order.")]


def _table_of(name_or_path: str, part: str, data_dir: Path | None):
    if name_or_path in DATASETS:
        return load_dataset(name_or_path, part, data_dir=data_dir)
    if name_or_path in mirbench.MIRBENCH:
        return mirbench.load_mirbench(name_or_path, part, data_dir=data_dir)
    if Path(name_or_path).exists():
        return read_pairs(name_or_path, max_mirna_len=None)
    raise DataSetError(f"{name_or_path!r} is neither a data set ({', '.join([*DATASETS, *mirbench.MIRBENCH])}) "
                       "nor a file")


@data_app.command("list")
@reports_errors
def list_cmd(data_dir: DataDirOpt = None) -> None:
    """The named data sets, their files, and whether those are present and verified."""
    present = verify(data_dir)
    table = Table("data set", "description", "files present")
    for name, ds in DATASETS.items():
        ok = sum(present.get(f, False) for f in ds.files)
        table.add_row(name, ds.description, f"{ok}/{len(ds.files)}")
    for name, mb in mirbench.MIRBENCH.items():
        ok = sum(find_data_file(mb.file_name(s), data_dir) is not None for s in mb.splits)
        table.add_row(name, f"miRBench: {mb.description} (splits {', '.join(mb.splits)})", f"{ok}/{len(mb.splits)}")
    console.print(table)
    print_plain(f"data directory: {resolve_data_dir(data_dir)}")


@data_app.command("fetch")
@reports_errors
def fetch_cmd(
    name: Annotated[str, typer.Argument(help="Data set name, or one registered file name.")],
    data_dir: DataDirOpt = None,
    force: Annotated[bool, typer.Option(help="Download again even if a verified copy is present.")] = False,
) -> None:
    """Download a data set's original files and verify them: the miTAR sets from the tjgu/miTAR GitHub repository
    (sha256 of each file), the miRBench sets from Zenodo record 14501607 (sha256 of each unpacked table)."""
    if name in mirbench.MIRBENCH:
        for path, how in mirbench.fetch(name, data_dir, force=force):
            print_plain(f"{path}: {how}")
        return
    for path in fetch(name, data_dir, force=force):
        print_plain(f"verified {path}")


@data_app.command("info")
@reports_errors
def info_cmd(name: Annotated[str, typer.Argument(help="Data set name.")], data_dir: DataDirOpt = None) -> None:
    """Rows, labels, unique pairs per part, and what was done against test leakage."""
    if name in mirbench.MIRBENCH:
        mb = mirbench.MIRBENCH[name]
        table = Table("split", "rows", "positives", "negatives", "miRNAs", "miRNA families", "repeats dropped",
                      "file")
        for split in mb.splits:
            try:
                df = mirbench.load_mirbench(name, split, data_dir=data_dir)
            except DataSetError as exc:
                table.add_row(split, "-", "-", "-", "-", "-", "-", escape(str(exc)))
                continue
            table.add_row(split, f"{len(df):,}", f"{int((df['label'] == 1).sum()):,}",
                          f"{int((df['label'] == 0).sum()):,}", f"{df['mirna'].nunique():,}",
                          f"{df['mirna_family'].nunique():,}", f"{df.attrs.get('n_duplicates_dropped', 0):,}",
                          escape(str(mirbench.locate(name, split, data_dir))))
        console.print(f"[bold]{name}[/] ({mb.mirbench_name}): {escape(mb.description)}")
        console.print(table)
        return
    info = dataset_info(name, data_dir=data_dir)
    table = Table("part", "rows", "positives", "negatives", "unique pairs", "repeats")
    for part, c in info["parts"].items():
        table.add_row(part, f"{c['rows']:,}", f"{c['positives']:,}", f"{c['negatives']:,}", f"{c['unique_pairs']:,}",
                      f"{c['rows'] - c['unique_pairs']:,}")
    console.print(f"[bold]{escape(name)}[/]: {escape(info['description'])}")
    console.print(table)
    console.print(f"train rows dropped because they repeat a test pair: {info['dropped_test_pairs']:,}; "
                  f"test rows whose pair is still in train: {info['test_rows_in_train']:,}")


@data_app.command("duplicates")
@reports_errors
def duplicates_cmd(
    name_or_path: Annotated[str, typer.Argument(help="Data set name or pair file.")],
    part: Annotated[str, typer.Option(help=f"Data set part: {', '.join(PARTS)}.")] = "all",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the repeated pairs here.")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Report (miRNA, target) pairs that occur more than once, and pairs with conflicting labels."""
    table = _table_of(name_or_path, part, data_dir)
    dups = find_duplicates(table)
    n_unique = len(table) - int((dups["count"] - 1).sum()) if len(dups) else len(table)
    console.print(f"{len(table):,} rows, {n_unique:,} unique pairs: {len(dups):,} pairs repeated "
                  f"({len(table) - n_unique:,} extra rows), {int(dups['conflict'].sum()):,} with conflicting labels")
    if output is not None:
        write_table(dups, output)
        print_plain(f"-> {output}")


@data_app.command("export")
@reports_errors
def export_cmd(
    name_or_path: Annotated[str, typer.Argument(help="Data set name or pair file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Pair table to write (.tsv/.csv/.parquet), "
                                         "both sequences 5'->3'.")],
    part: Annotated[str, typer.Option(help=f"Data set part: {', '.join(PARTS)}.")] = "train",
    dedup: Annotated[bool, typer.Option(help="Keep each (miRNA, target) pair once; drop conflicting pairs.")]
    = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Write a data set (or a pair file, re-oriented 5'->3') as a plain pair table."""
    table = _table_of(name_or_path, part, data_dir)
    if dedup:
        table = deduplicate(table)
    write_table(table, output)
    print_plain(f"{len(table):,} pairs -> {output}")
