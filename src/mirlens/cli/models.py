"""``mirlens models``: import the original Keras weights, list and describe models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mirlens.cli.app import app
from mirlens.cli.common import console, reports_errors
from mirlens.data.datasets import fetch, resolve_data_dir
from mirlens.data.registry import FILES
from mirlens.errors import MirlensError
from mirlens.model.keras_import import import_keras
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
    console.print(f"imported {h5.name} (input length {model.config.input_len}) as {name!r} -> {directory}")


@models_app.command("list")
@reports_errors
def list_cmd() -> None:
    """Models available by name (user models shadow bundled ones)."""
    found = list_models()
    if not found:
        raise MirlensError("no models found; import the original weights with `mirlens models import-keras` "
                           "or train one with `mirlens train`")
    table = Table("name", "origin", "architecture", "input", "source", "path")
    for m in found:
        cfg = m.meta["config"]
        card = m.meta.get("card", {})
        table.add_row(m.name + (" (default)" if m.name == DEFAULT_MODEL else ""), m.origin, architecture_of(cfg),
                      str(26 + int(cfg["target_slot"])), str(card.get("source", card.get("data", ""))),
                      str(m.path))
    console.print(table)


@models_app.command("info")
@reports_errors
def info_cmd(model: Annotated[str, typer.Argument(help="Model name or path.")] = DEFAULT_MODEL) -> None:
    """Configuration and model card of one model, as JSON."""
    path = resolve_model(model)
    _, meta = load_model(path, with_meta=True)
    typer.echo(json.dumps({"path": str(path), **meta}, indent=2))


KERAS_NAMES = {"miTAR1": "keras-miTAR1", "miTAR2": "keras-miTAR2", "miTAR": "keras-miTAR"}
"""Names the original models get when imported by ``fetch-keras`` (miTAR1 = DeepMirTar, miTAR2 = miRAW)."""


@models_app.command("fetch-keras")
@reports_errors
def fetch_keras_cmd(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where the .h5 files are kept "
                                                  "(default: the data cache).")] = None,
) -> None:
    """Download the three original miTAR Keras models (checksum-verified) and import them as keras-miTAR1
    (DeepMirTar), keras-miTAR2 (miRAW) and keras-miTAR (both)."""
    for file in (f for f in FILES.values() if f.kind == "model"):
        (path,) = fetch(file.name, data_dir or resolve_data_dir())
        model, card = import_keras(path)
        name = KERAS_NAMES[file.name.split("_", 1)[0]]
        save_model(model, user_model_dir() / name, name=name, card=card)
        console.print(f"{file.name} -> model {name!r}")
