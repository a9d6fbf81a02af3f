"""``mirlens explain ...``: one command module per question, as in :mod:`mirlens.explain`: ``mutagenesis``
(regions, scan, impact, features, joint; and ``mirlens plot``), ``attribution`` (attribute, saturate, compensate),
``layers`` (correlate); ``common`` holds the options and inputs they share."""

from __future__ import annotations

import typer

from mirlens.cli.app import app

explain_app = typer.Typer(
    help="In-silico mutagenesis: which nucleotides the model relies on (the paper's Fig. 1-6).",
    no_args_is_help=True,
)
app.add_typer(explain_app, name="explain")
