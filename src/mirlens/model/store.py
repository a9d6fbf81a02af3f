"""Saving and finding models: a directory with ``model.safetensors`` (weights) and ``model.json`` (config + card).

Where :func:`load_model` looks for a *name*: the user's model directory (``$MIRLENS_MODEL_DIR``, default
``~/.local/share/mirlens/models``), then the models shipped inside the package (``mirlens/pretrained``).
A *path* may be such a directory, its ``model.json``/``model.safetensors``, or an original Keras ``.h5`` file.
No file is ever unpickled: weights are safetensors, metadata is JSON.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from mirlens.errors import ModelFileError
from mirlens.tables import plain_file_mode, write_text
from mirlens.model.families import Model, build_model

FORMAT = "mirlens-model"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
META = "model.json"
DEFAULT_MODEL = "pairing"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")  # "@": keras-miTAR1@2020-03


@dataclass
class ModelInfo:
    name: str
    path: Path
    origin: str  # "user" or "bundled"
    meta: dict


def user_model_dir() -> Path:
    env = os.environ.get("MIRLENS_MODEL_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mirlens" / "models"


def bundled_model_dir() -> Path:
    return Path(str(resources.files("mirlens") / "pretrained"))


def save_model(model: Model, directory: str | Path, *, name: str, card: dict | None = None) -> Path:
    """Write ``model`` to ``directory`` (created) as safetensors + JSON; atomic per file."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = directory / (WEIGHTS + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": FORMAT})
    tmp.chmod(plain_file_mode())  # safetensors writes 0600
    tmp.replace(directory / WEIGHTS)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
            "config": model.config.to_dict(), "card": card or {}}
    write_text(json.dumps(meta, indent=2) + "\n", directory / META)
    return directory


def _read_meta(directory: Path) -> dict:
    meta_path = directory / META
    if not meta_path.is_file():
        raise ModelFileError(f"{directory}: no {META} (not a mirlens model directory)")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{meta_path}: unreadable model description ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "config" not in meta:
        raise ModelFileError(f"{meta_path}: not a mirlens model description")
    return meta


def load_model_dir(directory: str | Path) -> tuple[Model, dict]:
    directory = Path(directory)
    meta = _read_meta(directory)
    try:
        model = build_model(meta["config"])
    except ValueError as exc:
        raise ModelFileError(f"{directory / META}: {exc}") from None
    try:
        state = load_file(str(directory / WEIGHTS))
    except FileNotFoundError:
        raise ModelFileError(f"{directory}: {WEIGHTS} is missing") from None
    except (SafetensorError, OSError) as exc:
        raise ModelFileError(f"{directory / WEIGHTS}: unreadable weights ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFileError(f"{directory}: weights do not match the configured architecture ({exc})") from None
    model.eval()
    return model, meta


def list_models() -> list[ModelInfo]:
    """Every model found by name (user models shadow bundled ones of the same name)."""
    found: dict[str, ModelInfo] = {}
    for origin, root in (("bundled", bundled_model_dir()), ("user", user_model_dir())):
        if not root.is_dir():
            continue
        for d in sorted(root.iterdir()):
            if (d / META).is_file():
                try:
                    found[d.name] = ModelInfo(d.name, d, origin, _read_meta(d))
                except ModelFileError:
                    continue
    return sorted(found.values(), key=lambda m: m.name)


def how_to_get_a_model(name: str) -> str:
    return (
        f"no model named {name!r}. Available: {', '.join(m.name for m in list_models()) or 'none'}. "
        "Get one with `mirlens models import-keras FILE.h5 --name NAME` (the original miTAR weights; "
        "`mirlens models fetch-keras` downloads and imports every published version) or train one with `mirlens train`."
    )


def resolve_model(name_or_path: str | Path | None) -> Path:
    """The directory or file a model name or path refers to."""
    spec = str(name_or_path or DEFAULT_MODEL)
    path = Path(spec).expanduser()
    if path.exists():
        return path
    if _NAME.match(spec):
        for root in (user_model_dir(), bundled_model_dir()):
            if (root / spec / META).is_file():
                return root / spec
    if any(sep in spec for sep in ("/", os.sep)) or path.suffix in (".h5", ".hdf5", ".json", ".safetensors"):
        raise ModelFileError(f"{spec}: no such model file or directory")
    raise ModelFileError(how_to_get_a_model(spec))


def load_model(name_or_path: str | Path | None = None, *, with_meta: bool = False):
    """Load a model by name (see module doc) or path; ``None`` means the default model (``pairing``).

    Returns the model in eval mode, or ``(model, meta)`` with ``with_meta=True``.
    """
    path = resolve_model(name_or_path)
    if path.is_file() and path.suffix.lower() in (".h5", ".hdf5", ".keras"):
        from mirlens.model.keras_import import import_keras

        model, card = import_keras(path)
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": path.stem,
                "config": model.config.to_dict(), "card": card}
    elif path.is_file() and path.name in (META, WEIGHTS):
        model, meta = load_model_dir(path.parent)
    elif path.is_dir():
        model, meta = load_model_dir(path)
    else:
        raise ModelFileError(f"{path}: not a model (expected a model directory, {META}, or a Keras .h5 file)")
    return (model, meta) if with_meta else model
