"""``mirlens report genes``: the self-contained HTML page of a gene table; and what ``predict-genes`` writes beside
its table (the run description, and with ``--html`` the details table and the page)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from mirlens.cli.app import app
from mirlens.cli.common import print_plain, progress_bar, reports_errors

report_app = typer.Typer(help="Reports of result tables: self-contained HTML pages that open from disk.",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")


def _current_context():
    """The running command's context (Typer >= 0.20 carries its own copy of click)."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # older Typer: click itself
        from click import get_current_context
    return get_current_context(silent=True)


def invocation() -> str:
    """The running command as a command line (from the parsed parameters; options left at their default are left
    out), e.g. ``mirlens predict-genes --mirna m.fa --targets u.fa -o genes.tsv --html genes.html``."""
    ctx = _current_context()
    if ctx is None:
        return shlex.join(["mirlens", *sys.argv[1:]])
    names, c = [], ctx
    while c is not None:
        names.append(c.info_name or "")
        c = c.parent
    words = ["mirlens", *reversed(names[:-1])]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or value == param.default or (value == () and not param.default):
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        if param.param_type_name == "argument":
            words += [str(v) for v in values]
        elif getattr(param, "is_flag", False) and isinstance(value, bool):
            words += (param.opts if value else (param.secondary_opts or []))[:1]
        else:
            for v in values:
                words += [param.opts[0], str(v)]
    return shlex.join(words)


def gene_outputs(output: Path, genes, pairs, net_meta, *, html: Path | None = None, details_top: int = 200,
                 settings: dict | None = None, inputs: list | None = None, sources: list[dict] | None = None,
                 command: str | None = None) -> None:
    """What ``predict-genes`` writes after its table ``output``: ``STEM.meta.json`` always; with ``html`` also
    ``STEM.details.parquet`` (duplexes and attributions of the top ``details_top`` genes per miRNA, with the default
    model) and the page. ``genes``: the table as written; ``pairs``: the input pair table (ids and sequences)."""
    from mirlens.genes.sidecars import run_meta, sidecar, table_sources, write_meta

    net, meta = net_meta
    settings = dict(settings or {})
    run = run_meta(output, command=command or invocation(), model_meta=meta, settings=settings, inputs=inputs,
                   sources=[*table_sources(genes), *(sources or [])])
    if html is None:
        write_meta(run, output)
        return
    from mirlens.errors import InputError
    from mirlens.genes.details import SITES_PER_GENE, details_info, site_details
    from mirlens.model.store import DEFAULT_MODEL, load_model
    from mirlens.report.genes import check_html_path, write_genes_report
    from mirlens.tables import read_table, write_table

    check_html_path(html)
    sites_path = sidecar(output, "sites")
    if not sites_path.is_file():
        raise InputError(f"{sites_path.name} is missing: this predict-genes wrote no sites table, so there is no "
                         "page to draw")
    sites = read_table(sites_path)
    d_net, d_name = (net, meta.get("name")) if meta.get("name") == DEFAULT_MODEL else (load_model(DEFAULT_MODEL),
                                                                                       DEFAULT_MODEL)
    n_rows = int((genes["rank"] <= details_top).sum()) if details_top > 0 else 0
    with progress_bar(f"duplexes and attributions (top {details_top} genes per miRNA)", None) as advance:
        details = site_details(genes, sites, pairs, d_net, model_name=d_name, top=details_top, progress=advance)
    det_path = write_table(details, sidecar(output, "details"), "parquet")
    run["details"] = details_info(details, top=details_top, sites_per_gene=SITES_PER_GENE, model_name=d_name,
                                  backend="miranda", file=det_path.name)
    write_meta(run, output)
    page = write_genes_report(output, html)
    print_plain(f"details of {len(details):,} sites on {n_rows:,} genes -> {det_path}; page -> {page} "
                f"({page.stat().st_size / 1e6:.1f} MB)", highlight=False)


@report_app.command("genes")
@reports_errors
def genes_cmd(
    table: Annotated[Path, typer.Argument(help="Gene table of `mirlens predict-genes` (.tsv/.csv/.parquet), with "
                                                "its sites table beside it (STEM.sites.tsv or .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The page (.html).")] = Path("report.html"),
    details: Annotated[bool, typer.Option("--details/--no-details", help="Show duplexes and attributions from "
                                          "STEM.details.parquet (written by `predict-genes --html`); "
                                          "--no-details renders without them.")] = True,
    source: Annotated[list[str] | None, typer.Option("--source", help="A data source and its release for the "
                                                     "header, NAME=RELEASE (repeatable), e.g. miRBase=22.1; added "
                                                     "to those in STEM.meta.json.")] = None,
) -> None:
    """One self-contained HTML page of a gene table (no network, no external files; open it from disk): per miRNA
    the ranked genes, sortable and filterable, and per gene its 3'UTR to scale with every candidate site, the
    duplexes and the model's per-nucleotide attributions. Renders from the table and its sidecars only."""
    from mirlens.report.genes import parse_sources, write_genes_report

    path = write_genes_report(table, out, details=details, sources=parse_sources(source))
    print_plain(f"-> {path} ({path.stat().st_size / 1e6:.1f} MB)", highlight=False)
