"""Top-level Typer app: registers every command group."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="mirlens",
    help="miRNA target prediction with the miTAR CNN+BiLSTM model, and tools that open the model up.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    """Import the command modules; each adds its commands or sub-apps to :data:`app`."""
    from mirlens.cli import data, explain, genes, models, predict, train  # noqa: F401
    from mirlens.cli import duplex, explain_beyond, explain_correlate, functional, reproduce  # noqa: F401


def main() -> None:
    _register()
    app()
