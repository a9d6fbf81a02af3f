"""Top-level Typer app: registers the command groups (only the one a command line needs, so that start-up imports
no more than that command uses: `mirlens score` never loads SciPy or matplotlib, `mirlens examples` never torch)."""

from __future__ import annotations

import gc
import importlib
import inspect
import os
import shutil
import sys

import typer

app = typer.Typer(
    name="mirlens",
    help="miRNA target prediction with the miTAR CNN+BiLSTM model, and tools that open the model up.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    # a callback keeps `mirlens COMMAND` a command group even when only one command module is registered
    pass


COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "score": ("predict",), "predict": ("predict",), "examples": ("predict",),
    "predict-genes": ("genes",), "mirnas": ("mirnas",), "genes": ("genome",),
    "data": ("data",), "models": ("models",),
    "energy": ("duplex",), "pairing": ("duplex",),
    "explain": ("explain.mutagenesis", "explain.attribution", "explain.layers"), "plot": ("explain.mutagenesis",),
    "reproduce": ("reproduce",), "report": ("report",),
    "train": ("train",), "tune": ("train",), "evaluate": ("train",),
    "evaluate-functional": ("functional",), "fit-repression": ("functional",),
}
"""Command (or group) name -> the modules of :mod:`mirlens.cli` that define it (tests/test_cli_startup.py checks
that this covers every command)."""
ALL_MODULES = ("data", "explain.mutagenesis", "genes", "models", "predict", "train", "duplex", "explain.attribution",
               "explain.layers", "functional", "reproduce", "mirnas", "report", "genome")


def _register(command: str | None = None) -> None:
    """Import the command modules (those of ``command`` when it is a known command, else all); each adds its
    commands or sub-apps to :data:`app`."""
    for name in COMMAND_MODULES.get(command or "", ALL_MODULES):
        importlib.import_module(f"mirlens.cli.{name}")
    _paragraphs_on_one_line(app)


def _paragraphs_on_one_line(typer_app: typer.Typer) -> None:
    """Give every command its help with each paragraph of the docstring on one line: Typer's rich help keeps a
    docstring's own line breaks and wraps each line again to its column, which leaves lines of a word or two."""
    for info in typer_app.registered_commands:
        text = info.help if info.help is not None else inspect.getdoc(info.callback) if info.callback else None
        if text:
            info.help = "\n\n".join(" ".join(line.strip() for line in paragraph.splitlines())
                                    for paragraph in inspect.cleandoc(text).split("\n\n"))
    for group in typer_app.registered_groups:
        _paragraphs_on_one_line(group.typer_instance)


HELP_WIDTH = 120
"""Columns of ``--help``: Typer draws it with rich, which takes 80 columns when the output is not a terminal and
then breaks the option help into one-word lines. The terminal's width up to this; this when not on a terminal;
$COLUMNS or $TERMINAL_WIDTH win."""


def _help_width() -> None:
    """Tell Typer's help (``typer.rich_utils``, imported only when help or a usage error is printed) its width."""
    if "TERMINAL_WIDTH" in os.environ or "COLUMNS" in os.environ:
        return
    width = HELP_WIDTH
    if sys.stdout.isatty():
        width = min(width, shutil.get_terminal_size((HELP_WIDTH, 24)).columns)
    os.environ["TERMINAL_WIDTH"] = str(width)


BATCH_COMMANDS = frozenset({"score"})
"""Commands that stream a large table through the model once. Their process collects garbage less often (the
imports alone leave ~10^6 objects that every full collection walks again: ~0.2 s of `mirlens score` on 200k
pairs) and, run as the ``mirlens`` command (:func:`entry`), ends without Python's teardown once it succeeded and
its files are written and closed (unloading torch takes ~0.5 s)."""


def main() -> None:
    _help_width()
    args = sys.argv[1:]
    if args and args[0] in BATCH_COMMANDS:
        gc.set_threshold(20_000, 10, 10)
    _register(args[0] if args and args[0] in COMMAND_MODULES else None)
    app()


def entry() -> None:
    """The ``mirlens`` console script: :func:`main`; a :data:`BATCH_COMMANDS` command that succeeded (and ran no
    Dask cluster) then ends its process at once, standard streams flushed."""
    try:
        main()
    except SystemExit as exc:
        args = sys.argv[1:]
        if exc.code in (None, 0) and args and args[0] in BATCH_COMMANDS and "distributed" not in sys.modules:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except (OSError, ValueError):
                raise exc from None
            os._exit(0)
        raise
