"""Training checkpoints without pickle: safetensors for tensors, JSON for everything else.

Layout of ``<run>/checkpoint/``::

    state.json                 epoch, history, early-stopping state, RNG scheme, which directories are current
    epoch-0007/model.safetensors, model.json      weights after the last finished epoch (mirlens model format)
    epoch-0007/optimizer.safetensors              Adam state: <param>.exp_avg, <param>.exp_avg_sq, <param>.step
    best-0005/model.safetensors, model.json       weights of the best epoch so far
    epoch-0007/averaged/model.safetensors, ...    the weight average after that epoch (runs with weight averaging)

A new epoch's files go to fresh directories; ``state.json`` is then replaced atomically and only after that are
the previous directories removed, so a crash at any moment leaves a consistent checkpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from mirlens.errors import MirlensError
from mirlens.model.architecture import MiTAR
from mirlens.model.store import load_model_dir, save_model
from mirlens.tables import plain_file_mode, write_text

FORMAT = "mirlens-checkpoint"
FORMAT_VERSION = 1
STATE = "state.json"
OPTIMIZER = "optimizer.safetensors"
AVERAGED = "averaged"


def optimizer_tensors(model: MiTAR, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """The optimizer's per-parameter state as named tensors (names from ``model.named_parameters``)."""
    out = {}
    for name, p in model.named_parameters():
        for key, value in optimizer.state.get(p, {}).items():
            if not torch.is_tensor(value):
                value = torch.tensor(value)
            out[f"{name}.{key}"] = value.detach().cpu().contiguous()
    return out


def load_optimizer_tensors(model: MiTAR, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    """Restore what :func:`optimizer_tensors` saved into a freshly built optimizer over ``model``."""
    state = {}
    for i, (name, _) in enumerate(model.named_parameters()):
        keys = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")
                and "." not in k[len(name) + 1 :]}
        if keys:
            state[i] = keys
    sd = optimizer.state_dict()
    optimizer.load_state_dict({"state": state, "param_groups": sd["param_groups"]})


class Checkpoint:
    """The checkpoint directory of one training run."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @property
    def state_path(self) -> Path:
        return self.directory / STATE

    def exists(self) -> bool:
        return self.state_path.is_file()

    def read_state(self) -> dict:
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MirlensError(f"{self.state_path}: unreadable checkpoint state ({exc})") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise MirlensError(f"{self.state_path}: not a mirlens checkpoint")
        return state

    def save(self, *, model: MiTAR, optimizer: torch.optim.Optimizer, state: dict,
             best_model: MiTAR | None, averaged: MiTAR | None = None) -> None:
        """Write the weights and optimizer after ``state["epoch"]`` (and the best weights when they changed; the
        weight average, if the run keeps one)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        old = self.read_state() if self.exists() else {}
        epoch = int(state["epoch"])
        last_dir = f"epoch-{epoch:04d}"
        save_model(model, self.directory / last_dir, name="checkpoint", card={"epoch": epoch})
        tmp = self.directory / last_dir / (OPTIMIZER + ".tmp")
        save_file(optimizer_tensors(model, optimizer), str(tmp), metadata={"format": FORMAT})
        tmp.chmod(plain_file_mode())
        tmp.replace(self.directory / last_dir / OPTIMIZER)
        if averaged is not None:
            save_model(averaged, self.directory / last_dir / AVERAGED, name="averaged", card={"epoch": epoch})
        best_dir = old.get("best_dir")
        if best_model is not None:
            best_dir = f"best-{epoch:04d}"
            save_model(best_model, self.directory / best_dir, name="best", card={"epoch": epoch})
        full = {"format": FORMAT, "format_version": FORMAT_VERSION, **state, "last_dir": last_dir,
                "best_dir": best_dir}
        write_text(json.dumps(full, indent=1) + "\n", self.state_path)
        for key in ("last_dir", "best_dir"):
            previous = old.get(key)
            if previous and previous not in (last_dir, best_dir):
                shutil.rmtree(self.directory / previous, ignore_errors=True)

    def load(self, model: MiTAR, optimizer: torch.optim.Optimizer) -> tuple[dict, MiTAR | None, MiTAR | None]:
        """Load the last epoch's weights and optimizer state into ``model``/``optimizer``; returns the state, the
        best model so far and the weight average (``None`` for runs without one)."""
        state = self.read_state()
        try:
            last, _ = load_model_dir(self.directory / state["last_dir"])
            model.load_state_dict(last.state_dict())
            load_optimizer_tensors(model, optimizer,
                                   load_file(str(self.directory / state["last_dir"] / OPTIMIZER)))
            best = load_model_dir(self.directory / state["best_dir"])[0] if state.get("best_dir") else None
            avg_dir = self.directory / state["last_dir"] / AVERAGED
            averaged = load_model_dir(avg_dir)[0] if avg_dir.is_dir() else None
        except (KeyError, FileNotFoundError, SafetensorError, ValueError, RuntimeError) as exc:
            raise MirlensError(f"{self.directory}: damaged checkpoint ({exc}); delete it or use --overwrite") from None
        return state, best, averaged

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
