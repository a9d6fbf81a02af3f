"""The mutagenesis engine: the one function every analysis calls to score mutants.

:func:`mutated_probabilities` takes a model, the base token matrix and a
:class:`~mirlens.explain.mutagenesis.mutants.Mutants` description, and returns one probability per mutant row. How
the rows are evaluated is the *engine*'s business:

* ``"incremental"`` (the default; :mod:`~mirlens.explain.mutagenesis.incremental`) reuses the unmutated pass of each
  pair;
* ``"full"`` (here, always available) materialises mutants in batches and runs the whole model on each batch;
* other engines (e.g. an incremental, LSTM-aware one that reuses the unmutated pass) register themselves with
  :func:`register_engine` under a name and are picked with ``engine="name"`` / ``--engine name``. They receive the
  same arguments and must return the same numbers as ``"full"``.

Models: a :class:`~mirlens.model.architecture.MiTAR` (or any object with ``predict_proba(LongTensor)``) is scored with
torch in inference mode; any other callable is called with a uint8 numpy token matrix and must return one
probability per row. The width of the input is ``model.config.input_len`` or ``model.input_len``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch

from mirlens.errors import MirlensError
from mirlens.explain.mutagenesis.mutants import Mutants
from mirlens.predict.threads import map_batches

DEFAULT_BATCH = 4096
DEFAULT_ENGINE = "incremental"
"""The incremental engine (:mod:`mirlens.explain.mutagenesis.incremental`, registered when its package is imported)
returns the full engine's numbers (tested to 1e-5) and falls back to it for models that are not miTAR networks."""
Scorer = Callable[[np.ndarray], np.ndarray]


class Engine(Protocol):
    def __call__(self, model, tokens: np.ndarray, mutants: Mutants, *, batch_size: int,
                 progress: Callable[[int], None] | None) -> np.ndarray: ...


def model_width(model) -> int | None:
    """Input length the model expects, when it says."""
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "input_len"):
        return int(config.input_len)
    width = getattr(model, "input_len", None)
    return int(width) if width is not None else None


def as_scorer(model) -> Scorer:
    """A function ``uint8 tokens (n, width) -> float32 probabilities (n,)`` for a model or callable."""
    if hasattr(model, "predict_proba") and isinstance(model, torch.nn.Module):
        model.eval()
        try:
            device = next(model.parameters()).device
        except StopIteration:
            device = torch.device("cpu")

        def score(tokens: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                x = torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64)).to(device)
                return model.predict_proba(x).float().cpu().numpy().reshape(-1)

        return score
    if callable(model):

        def score_callable(tokens: np.ndarray) -> np.ndarray:
            out = np.asarray(model(tokens), dtype=np.float32).reshape(-1)
            if len(out) != len(tokens):
                raise MirlensError(f"model returned {len(out)} probabilities for {len(tokens)} inputs")
            return out

        return score_callable
    raise MirlensError(f"cannot score with a {type(model).__name__}: expected a miTAR model or a callable")


def model_fingerprint(model) -> str:
    """A short hash identifying a model's weights (or a callable's identity), for result manifests."""
    h = hashlib.sha256()
    if isinstance(model, torch.nn.Module):
        for name, tensor in sorted(model.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    else:
        h.update(repr(getattr(model, "fingerprint", type(model).__qualname__)).encode())
    return h.hexdigest()[:16]


def score_tokens(model, tokens: np.ndarray, *, batch_size: int = DEFAULT_BATCH,
                 progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Probabilities of unmutated rows, in batches."""
    score = as_scorer(model)
    out = np.empty(len(tokens), dtype=np.float32)
    for start in range(0, len(tokens), batch_size):
        sl = slice(start, min(start + batch_size, len(tokens)))
        out[sl] = score(tokens[sl])
        if progress is not None:
            progress(sl.stop - sl.start)
    return out


def full_engine(model, tokens: np.ndarray, mutants: Mutants, *, batch_size: int = DEFAULT_BATCH,
                progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Materialise ``batch_size`` mutants at a time and run the whole model on them (torch models: batches on
    worker threads, :func:`mirlens.predict.threads.map_batches`)."""
    score = as_scorer(model)
    out = np.empty(len(mutants), dtype=np.float32)
    slices = [slice(start, min(start + batch_size, len(mutants))) for start in range(0, len(mutants), batch_size)]

    def run(sl: slice) -> int:
        out[sl] = score(mutants.apply(tokens, sl))
        return sl.stop - sl.start

    # torch models: batches side by side on the cores; other callables (maybe not thread-safe): one by one
    done = map_batches(run, slices) if isinstance(model, torch.nn.Module) else map(run, slices)
    for n in done:
        if progress is not None:
            progress(n)
    return out


ENGINES: dict[str, Engine] = {"full": full_engine}


def register_engine(name: str, engine: Engine) -> None:
    """Make ``engine`` available as ``engine=name`` (and ``--engine name`` on the command line)."""
    ENGINES[name] = engine


def get_engine(name: str | Engine) -> Engine:
    if callable(name):
        return name
    try:
        return ENGINES[name]
    except KeyError:
        raise MirlensError(f"unknown mutagenesis engine {name!r}; available: {', '.join(ENGINES)}") from None


def check_width(model, tokens: np.ndarray) -> None:
    width = model_width(model)
    if width is not None and tokens.shape[1] != width:
        raise MirlensError(f"the pairs are encoded for a model input of {tokens.shape[1]} tokens, but the model "
                           f"reads {width}; encode them for this model (target slot {width - 26})")


def mutated_probabilities(model, tokens: np.ndarray, mutants: Mutants, *, engine: str | Engine = DEFAULT_ENGINE,
                          batch_size: int = DEFAULT_BATCH,
                          progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Probability of every mutant row (float32, ``len(mutants)``). ``progress(n)`` is called as rows finish."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or tokens.shape[1] != mutants.width:
        raise MirlensError(f"token matrix of shape {tokens.shape} does not fit mutants of width {mutants.width}")
    check_width(model, tokens)
    if len(mutants) == 0:
        return np.empty(0, dtype=np.float32)
    if batch_size < 1:
        raise MirlensError("batch size must be at least 1")
    return get_engine(engine)(model, tokens, mutants, batch_size=batch_size, progress=progress)
