"""``mirlens explain ...``: one command module per question, as in :mod:`mirlens.explain`: ``mutagenesis``
(regions, scan, impact, features, joint; and ``mirlens plot``), ``attribution`` (attribute, saturate, compensate),
``layers`` (correlate); ``common`` holds the options and inputs they share."""

from __future__ import annotations

import typer

from mirlens.cli.app import app

explain_app = typer.Typer(
    help="Open the model up: in-silico mutagenesis, which nucleotides it relies on (regions, scan, impact, features, "
    "joint: the paper's Fig. 1-6); attributions and the compensatory-pairing test (attribute, saturate, compensate: "
    "beyond the paper); do its layers encode binding energy (correlate: Table 1).",
    no_args_is_help=True,
)
app.add_typer(explain_app, name="explain")
