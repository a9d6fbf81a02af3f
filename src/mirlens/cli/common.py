"""What every command shares: the console, turning mirlens errors into one-line messages, progress bars."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mirlens.errors import MirlensError

CLUSTER_ENV = "MIRLENS_CLUSTER"
ClusterOpt = Annotated[str | None, typer.Option(
    "--cluster", help="Run on a Dask cluster: local:N (N local single-threaded workers) or tcp://HOST:PORT (a "
    f"running scheduler). Default: ${CLUSTER_ENV}; unset: this process, no Dask.")]


def cluster_spec(option: str | None) -> str | None:
    """The cluster asked for: ``--cluster``, else ``$MIRLENS_CLUSTER``, else None (run here)."""
    spec = option if option is not None else os.environ.get(CLUSTER_ENV)
    return spec.strip() or None if spec else None

NON_TERMINAL_WIDTH = 160
"""Console width when stderr is a file or pipe (rich would assume 80 and squeeze the metric tables); $COLUMNS wins."""
console = Console(stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else NON_TERMINAL_WIDTH)


def fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_plain(text: str, **kw) -> None:
    """``console.print`` of text taken literally: no rich markup is read in it, so a path or a name holding
    ``[bold]`` prints as written. ``kw`` as for ``console.print``."""
    console.print(text, markup=False, **kw)


def warn(message: str) -> None:
    """A one-line warning on the console (stderr)."""
    console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


MIRNA_HELP = ("miRNAs: a FASTA file (5'->3') or a file with one bare sequence; or miRBase 22.1 names (bundled, "
              "all species): names or accessions separated by commas (hsa-miR-21-5p,MIMAT0000062; any case), globs "
              "('hsa-*' = every human miRNA, 'hsa-let-7*'), or a text file of names, one per line. An existing file "
              "wins over a name; `mirlens mirnas search` finds names.")


def mirnas_option(spec, *, max_len: int | None = None) -> list:
    """The miRNA records of a ``--mirna`` value (:func:`mirlens.data.mirbase.resolve_mirnas`): FASTA files as
    before; names say which miRNAs they gave, and warn about glob matches too long for the model."""
    from mirlens.data.mirbase import resolve_mirnas

    return resolve_mirnas(spec, max_len=max_len, say=warn,
                          note=lambda text: print_plain(text, highlight=False, soft_wrap=True))


def reports_errors(func: Callable) -> Callable:
    """Decorator for command functions: a :class:`MirlensError` (or a missing/unreadable file) becomes a one-line
    error message and exit code 1, never a traceback. Ctrl-C exits with 130 after saying finished work is kept."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MirlensError as exc:
            fail(str(exc))
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            fail(f"{exc.filename}: {exc.strerror}")
        except KeyboardInterrupt:
            console.print("interrupted: finished chunks are kept; run the same command again to continue")
            raise typer.Exit(130) from None

    return wrapper


@contextmanager
def progress_bar(description: str, total: int | None, *, enabled: bool | None = None):
    """A rich progress bar (on stderr); yields ``advance(n)``; ``advance.set_total(total)`` changes the total once
    it is known. Disabled when stderr is not a terminal, unless ``enabled`` says otherwise."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:

        def nothing(n=1):
            return None

        nothing.set_total = lambda total: None
        yield nothing
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total)

        def advance(n=1):
            progress.advance(task, n)

        advance.set_total = lambda new_total: progress.update(task, total=new_total)
        yield advance
