"""``mirlens models``: import the original Keras weights, list and describe models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mirlens.cli.app import app
from mirlens.cli.common import console, print_plain, reports_errors
from mirlens.data.datasets import resolve_data_dir
from mirlens.errors import MirlensError
from mirlens.model.keras_import import import_keras
from mirlens.model.originals import VERSIONS, fetch_version
from mirlens.model.families import architecture_of
from mirlens.model.store import DEFAULT_MODEL, list_models, load_model, resolve_model, save_model, user_model_dir

models_app = typer.Typer(help="Import, list and describe models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("import-keras")
@reports_errors
def import_keras_cmd(
    h5: Annotated[Path, typer.Argument(help="An original miTAR Keras 2 .h5 model file.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Model directory to write (default: the "
                                                "user model directory / NAME).")] = None,
    name: Annotated[str | None, typer.Option(help="Model name (default: the file name without extension).")]
    = None,
) -> None:
    """Convert an original Keras .h5 model (read with h5py, no TensorFlow) to mirlens' safetensors format."""
    model, card = import_keras(h5)
    name = name or h5.stem
    directory = output or user_model_dir() / name
    save_model(model, directory, name=name, card=card)
    print_plain(f"imported {h5.name} (input length {model.config.input_len}) as {name!r} -> {directory}")


@models_app.command("list")
@reports_errors
def list_cmd() -> None:
    """Models available by name (user models shadow bundled ones)."""
    found = list_models()
    if not found:
        raise MirlensError("no models found; import the original weights with `mirlens models import-keras` "
                           "or train one with `mirlens train`")
    table = Table("name", "origin", "architecture", "input", "version", "source", "path")
    for m in found:
        cfg = m.meta["config"]
        card = m.meta.get("card", {})
        table.add_row(escape(m.name) + (" (default)" if m.name == DEFAULT_MODEL else ""), m.origin,
                      architecture_of(cfg), str(26 + int(cfg["target_slot"])), escape(_version(card)),
                      escape(str(card.get("source", card.get("data", "")))), escape(str(m.path)))
    console.print(table)


def _version(card: dict) -> str:
    """``miTAR1@2020-03 (paper)`` for an original file, ``-`` otherwise."""
    if "original_version" not in card:
        return "-"
    tags = [t for t, on in (("paper", bool(card.get("paper_use"))), ("current", card.get("original_current")))
            if on]
    return f"{card['original_model']}@{card['original_version']}" + (f" ({', '.join(tags)})" if tags else "")


@models_app.command("info")
@reports_errors
def info_cmd(model: Annotated[str, typer.Argument(help="Model name or path.")] = DEFAULT_MODEL) -> None:
    """Configuration and model card of one model, as JSON (original miTAR files: version and provenance --
    commit, path, sha256, which paper analyses used it)."""
    path = resolve_model(model)
    _, meta = load_model(path, with_meta=True)
    typer.echo(json.dumps({"path": str(path), **meta}, indent=2))


@models_app.command("fetch-keras")
@reports_errors
def fetch_keras_cmd(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where the .h5 files are kept: "
                                                  "DIR/miTAR1@2020-03/FILE etc. (default: the data cache).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even when a verified copy is there.")]
    = False,
) -> None:
    """Download every published version of the original miTAR Keras models from tjgu/miTAR at its commit
    (sha256-checked) and import each: keras-miTAR1@2020-03 (the miTAR1 the paper analysed), keras-miTAR1 (the
    current miTAR1, 2020-12), keras-miTAR2 (miRAW; the paper's and current) and keras-miTAR (both data sets)."""
    directory = resolve_data_dir(data_dir)
    for v in VERSIONS:
        path = fetch_version(v, directory, force=force)
        model, card = import_keras(path)
        save_model(model, user_model_dir() / v.model_name, name=v.model_name, card=card)
        use = f"; paper: {v.paper}" if v.paper else ""
        print_plain(f"{v.key} ({v.date}, tjgu/miTAR {v.commit[:7]}) {path} -> model {v.model_name!r}{use}",
                    highlight=False)
