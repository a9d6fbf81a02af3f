"""Training models (miTAR by the original protocol, or any family of :mod:`mirlens.model.families`): resumable,
deterministic.

Protocol (defaults = the original miTAR scripts): two-stage random split (20% held-out test, then 20% of the rest
for validation; :mod:`mirlens.training.splits`), Adam on binary cross-entropy, early stopping on validation
accuracy (an epoch improves when it beats the best so far by more than ``min_delta`` = 0.001; training stops after
``patience`` epochs without improvement or at ``max_epochs``), keeping the weights of the epoch with the highest
validation accuracy (first such epoch) - Keras' ``EarlyStopping`` + ``ModelCheckpoint(save_best_only)``.

Learning rate: **0.001**. The original scripts built ``Adam(lr)`` but compiled with the string ``'adam'``, so every
original model (file names say lr 0.005 / 0.1) really trained with Keras' default 0.001, as the training config
stored in the .h5 files confirms. We use what they used. Adam's epsilon is Keras' 1e-7.

Weight averaging (``ema_decay`` > 0, off by default; not part of the original protocol): an exponential moving
average of the weights, updated after every optimizer step with decay ``min(ema_decay, (1 + n) / (10 + n))`` after
``n`` updates (TensorFlow's ``ExponentialMovingAverage`` warm-up), is what gets evaluated: validation accuracy,
early stopping and the kept best epoch all refer to the averaged weights (the raw weights' validation accuracy is
logged as ``raw_val_accuracy``). The averaged weights are a smoothed point of the recent trajectory; with the
epoch-to-epoch noise of validation accuracy seen here (±0.2 points on miRAW) they are a steadier choice than any
single iterate. Training itself (the raw weights) is unchanged by it.

Divergence: the relu LSTM cells are unbounded, and a run can blow up. Seen on DeepMirTar at batch size 50: the
training loss jumped from 0.035 to 1.7 at epoch 76 (and recovered: validation accuracy 0.9747 at epoch 87), then to
547 at epoch 88, after which the model gave one constant output for good. Training stops with ``stop_reason``
"diverged" after an epoch whose training or validation loss is not finite or whose training loss exceeds
:data:`DIVERGENCE_LOSS` (10 x ln 2, ten times the loss of always answering 0.5; a spike like that of epoch 76 is
left alone). The kept weights are those of the best epoch with finite validation outputs (an error when there is
none). A resumed run re-decides this from its history.

Determinism: the model is initialised under ``torch.manual_seed(seed)`` (in a forked RNG, the caller's RNG is
untouched); in epoch ``e`` the batch order and every dropout mask come from ``numpy.random.default_rng([seed, e])``;
all CPU kernels used are deterministic for a fixed thread count, and ``torch.use_deterministic_algorithms`` is on
during training (it costs nothing here: no op on this path has a nondeterministic CPU implementation). So the same
data, seed, settings and thread count give bit-identical weights, and a run resumed from its checkpoint equals the
uninterrupted run, because each epoch's randomness does not depend on what ran before it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

import mirlens
from mirlens.data.encoding import encode_pairs
from mirlens.errors import DataSetError, MirlensError, TrainingDiverged
from mirlens.model.architecture import MiTAR
from mirlens.model.families import Config, Model, architecture_of, build_model, make_config
from mirlens.model.store import save_model
from mirlens.predict.score import pair_names, score_pair_table
from mirlens.tables import write_table
from mirlens.training.checkpoint import Checkpoint
from mirlens.training.data import default_target_slot, independent_test_sets, load_pool
from mirlens.training.kernels import DropoutMasks, training_logits
from mirlens.training.splits import PARTS, Split, make_split

DEFAULT_SEED = 1122
ORIGINAL_BEST = {"deepmirtar": (30, 0.2), "miraw": (200, 0.4), "combined": (100, 0.2)}
"""(batch size, dropout) of the original best models: miTAR1, miTAR2, miTAR (file names of the .h5 files)."""
FALLBACK_BEST = (100, 0.2)
EVAL_BATCH = 4096

Callback = Callable[[str, dict], None]


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings. ``threads`` is how many CPU threads torch uses (``None``: every usable core)."""

    batch_size: int = FALLBACK_BEST[0]
    lr: float = 0.001
    dropout: float = FALLBACK_BEST[1]
    max_epochs: int = 1000
    patience: int = 100
    min_delta: float = 0.001
    seed: int = DEFAULT_SEED
    adam_eps: float = 1e-7
    ema_decay: float = 0.0
    clip_norm: float = 0.0
    lr_schedule: str = "constant"
    threads: int | None = None

    def validate(self) -> TrainSettings:
        problems = []
        if self.batch_size < 1:
            problems.append(f"batch size must be >= 1 (got {self.batch_size})")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append(f"learning rate must be > 0 (got {self.lr})")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1) (got {self.dropout})")
        if self.max_epochs < 1:
            problems.append(f"max epochs must be >= 1 (got {self.max_epochs})")
        if self.patience < 1:
            problems.append(f"patience must be >= 1 (got {self.patience})")
        if self.min_delta < 0:
            problems.append(f"min delta must be >= 0 (got {self.min_delta})")
        if not 0 <= self.ema_decay < 1:
            problems.append(f"EMA decay must be in [0, 1) (got {self.ema_decay})")
        if not (self.clip_norm >= 0 and math.isfinite(self.clip_norm)):
            problems.append(f"gradient clipping norm must be >= 0 (got {self.clip_norm})")
        if self.lr_schedule not in LR_SCHEDULES:
            problems.append(f"learning-rate schedule must be one of {', '.join(LR_SCHEDULES)} "
                            f"(got {self.lr_schedule!r})")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads must be >= 1 (got {self.threads})")
        if problems:
            raise MirlensError("; ".join(problems))
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def fingerprint_dict(self) -> dict:
        """What determines the weights (the stopping rule can change on resume: it only decides when to stop)."""
        d = self.to_dict()
        for k in ("threads", "max_epochs", "patience", "min_delta"):
            d.pop(k)
        for key in ("ema_decay", "clip_norm"):  # runs without them keep the fingerprint they had before they existed
            if not d[key]:
                d.pop(key)
        if d["lr_schedule"] == "constant":
            d.pop("lr_schedule")
        else:  # a schedule is laid out over max_epochs, so that number shapes the weights
            d["max_epochs"] = self.max_epochs
        return d


LR_SCHEDULES = ("constant", "onecycle")
"""``constant``: Adam at ``lr`` throughout (the original protocol). ``onecycle``: over ``max_epochs`` x batches
steps, a cosine warm-up from lr/25 to lr in the first 10%, then a cosine decay to lr/25 / 1e4 (PyTorch's
OneCycleLR shape); the rate of a step is a function of its number only, so a resumed run continues exactly."""


def scheduled_lr(settings: TrainSettings, step: int, steps_per_epoch: int) -> float:
    """The learning rate of optimizer step ``step`` (0-based) under ``settings.lr_schedule``."""
    if settings.lr_schedule == "constant":
        return settings.lr
    total = max(1, settings.max_epochs * steps_per_epoch)
    warm = max(1, int(0.1 * total))
    start, end = settings.lr / 25, settings.lr / 25 / 1e4
    if step < warm:
        frac, lo, hi = step / warm, start, settings.lr
    else:
        frac, lo, hi = min(1.0, (step - warm) / max(1, total - warm)), settings.lr, end
    return hi + (lo - hi) * (1 + math.cos(math.pi * frac)) / 2


def default_settings(data: str, **overrides) -> TrainSettings:
    """Original-protocol settings for ``data`` (its original best batch size and dropout), then ``overrides``
    (``None`` values are ignored)."""
    batch, dropout = ORIGINAL_BEST.get(str(data), FALLBACK_BEST)
    base = TrainSettings(batch_size=batch, dropout=dropout)
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def init_model(config: Config, seed: int) -> Model:
    """A freshly initialised model of ``config``'s family (miTAR: Keras-style init), seeded, without touching the
    caller's torch RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config)


def forward_for_training(model: Model, tokens: torch.Tensor, masks: DropoutMasks) -> torch.Tensor:
    """Training-mode logits with dropout from ``masks``: miTAR through its fast training kernels
    (:mod:`mirlens.training.kernels`), other families through their own ``training_logits``."""
    if isinstance(model, MiTAR):
        return training_logits(model, tokens, masks)
    return model.training_logits(tokens, masks)


@contextmanager
def training_context(threads: int | None):
    """Thread count and deterministic algorithms for the duration of a training run (restored afterwards)."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads or usable_cores())
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _weights_digest(model: Model) -> str:
    return _digest(*(v.detach().cpu().numpy() for v in model.state_dict().values()))


@dataclass
class FitResult:
    """Outcome of :func:`fit`. ``model`` holds the best epoch's weights (eval mode)."""

    model: Model
    history: pd.DataFrame
    best_epoch: int
    best_val_accuracy: float
    epochs: int
    stop_reason: str
    seconds: float
    resumed_from: int = 0

    @property
    def seconds_per_epoch(self) -> float:
        return float(self.history["seconds"].mean()) if len(self.history) else math.nan


@torch.inference_mode()
def evaluate_logits(model: Model, tokens: np.ndarray) -> np.ndarray:
    """Logits of ``tokens`` in eval mode (batched)."""
    was_training = model.training
    model.eval()
    out = np.empty(len(tokens), dtype=np.float32)
    for start in range(0, len(tokens), EVAL_BATCH):
        batch = torch.from_numpy(np.ascontiguousarray(tokens[start : start + EVAL_BATCH], dtype=np.int64))
        out[start : start + EVAL_BATCH] = model(batch).numpy()
    model.train(was_training)
    return out


class WeightAverage:
    """Exponential moving average of a model's parameters (see the module doc), kept as a model of its own."""

    def __init__(self, model: Model, decay: float, updates: int = 0, averaged: Model | None = None):
        self.decay = decay
        self.updates = updates
        self.model = build_model(model.config)
        self.model.load_state_dict((averaged if averaged is not None else model).state_dict())
        self.model.eval()
        self._avg = [p.detach() for p in self.model.parameters()]
        self._src = [p.detach() for p in model.parameters()]

    @torch.no_grad()
    def update(self) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self._avg, self._src, 1.0 - d)
        self.updates += 1


def _loss_acc(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    lg = torch.from_numpy(logits)
    y = torch.from_numpy(labels.astype(np.float32))
    loss = float(F.binary_cross_entropy_with_logits(lg, y))
    return loss, float(((logits > 0) == (labels > 0)).mean())


def fit(model: Model, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
        settings: TrainSettings, *, workdir: str | Path | None = None, callback: Callback | None = None,
        overwrite: bool = False) -> FitResult:
    """Train ``model`` (in place) on ``train`` = (tokens uint8 (n, L), labels 0/1), early-stopping on ``val``.

    With ``workdir``, a checkpoint is written to ``workdir/checkpoint`` after every epoch and an existing
    checkpoint of the same run (same initial weights, data and settings) is resumed; a checkpoint of another run
    raises :class:`MirlensError` unless ``overwrite``. ``callback(event, info)`` receives ``"start"``,
    ``"batch"`` (``done``/``total`` pairs of the epoch, running ``loss``) and ``"epoch"`` (the history row).
    """
    settings = settings.validate()
    x_train, y_train = np.asarray(train[0], dtype=np.uint8), np.asarray(train[1], dtype=np.float32)
    x_val, y_val = np.asarray(val[0], dtype=np.uint8), np.asarray(val[1], dtype=np.float32)
    if len(x_train) == 0 or len(x_val) == 0:
        raise MirlensError("training and validation sets must not be empty")
    for x in (x_train, x_val):
        if x.ndim != 2 or x.shape[1] != model.config.input_len:
            raise MirlensError(f"token matrices must have {model.config.input_len} columns, got {x.shape}")
    if model.config.dropout != settings.dropout:
        model.config = replace(model.config, dropout=settings.dropout)
        model.dropout.p = settings.dropout
    fingerprint = hashlib.sha256(json.dumps({
        "settings": settings.fingerprint_dict(), "config": model.config.to_dict(),
        "init": _weights_digest(model), "data": _digest(x_train, y_train, x_val, y_val),
    }, sort_keys=True).encode()).hexdigest()

    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, eps=settings.adam_eps)
    averaged, ema_updates = None, 0
    ckpt = Checkpoint(Path(workdir) / "checkpoint") if workdir is not None else None
    history: list[dict] = []
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    best = {"epoch": 0, "val_accuracy": -math.inf}
    stopping = {"best": -math.inf, "wait": 0}
    finished, stop_reason, elapsed, start_epoch = False, "", 0.0, 0
    if ckpt is not None and ckpt.exists():
        old = ckpt.read_state()
        if old.get("fingerprint") != fingerprint:
            if not overwrite:
                raise MirlensError(f"{workdir} holds a training run with other data or settings; use another "
                                   "output directory or --overwrite")
            ckpt.clear()
        else:
            state, best_model, averaged = ckpt.load(model, optimizer)
            if settings.ema_decay:
                if averaged is None:
                    raise MirlensError(f"{ckpt.directory}: damaged checkpoint (averaged weights missing); delete "
                                       "it or use --overwrite")
                ema_updates = int(state["ema_updates"])
            history = state["history"]
            best = state["best"]
            stopping = state["early_stopping"]
            elapsed = float(state["seconds"])
            start_epoch = int(state["epoch"])
            if best_model is not None:
                best_state = best_model.state_dict()
            finished, stop_reason = bool(state.get("finished")), state.get("stop_reason", "")
            # the stopping rule may have changed since (e.g. a larger --max-epochs): re-decide
            finished, stop_reason = _should_stop(start_epoch, stopping, settings, history)
    resumed_from = start_epoch
    average = WeightAverage(model, settings.ema_decay, ema_updates, averaged) if settings.ema_decay else None

    n = len(x_train)
    tokens_t = torch.from_numpy(x_train)
    labels_t = torch.from_numpy(y_train)
    if callback:
        callback("start", {"epoch": start_epoch, "max_epochs": settings.max_epochs, "n_train": n,
                           "n_val": len(x_val), "resumed": start_epoch > 0, "finished": finished})
    with training_context(settings.threads):
        epoch = start_epoch
        while not finished:
            epoch += 1
            t0 = time.perf_counter()
            rng = np.random.default_rng([settings.seed, epoch])
            order = torch.from_numpy(rng.permutation(n))
            masks = DropoutMasks(rng, settings.dropout)
            model.train()
            loss_sum, correct = 0.0, 0
            steps_per_epoch = -(-n // settings.batch_size)
            for start in range(0, n, settings.batch_size):
                if settings.lr_schedule != "constant":
                    step = (epoch - 1) * steps_per_epoch + start // settings.batch_size
                    for group in optimizer.param_groups:
                        group["lr"] = scheduled_lr(settings, step, steps_per_epoch)
                idx = order[start : start + settings.batch_size]
                xb, yb = tokens_t[idx], labels_t[idx]
                optimizer.zero_grad(set_to_none=True)
                logits = forward_for_training(model, xb, masks)
                loss = F.binary_cross_entropy_with_logits(logits, yb)
                loss.backward()
                if settings.clip_norm:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_norm)
                optimizer.step()
                if average is not None:
                    average.update()
                loss_sum += float(loss.detach()) * len(idx)
                correct += int(((logits.detach() > 0) == (yb > 0)).sum())
                if callback:
                    done = min(start + settings.batch_size, n)
                    callback("batch", {"epoch": epoch, "done": done, "total": n, "loss": loss_sum / done})
            val_loss, val_acc = _loss_acc(evaluate_logits(model, x_val), y_val)
            row = {"epoch": epoch, "loss": loss_sum / n, "accuracy": correct / n}
            if average is not None:
                row["raw_val_accuracy"] = val_acc
                val_loss, val_acc = _loss_acc(evaluate_logits(average.model, x_val), y_val)
            seconds = time.perf_counter() - t0
            elapsed += seconds
            row.update({"val_loss": val_loss, "val_accuracy": val_acc, "seconds": seconds})
            usable = math.isfinite(val_loss)  # non-finite outputs (a diverged run) are never kept
            improved_best = usable and val_acc > best["val_accuracy"]  # ModelCheckpoint(save_best_only): strict
            if improved_best:
                best = {"epoch": epoch, "val_accuracy": val_acc}
                kept = average.model if average is not None else model
                best_state = {k: v.detach().clone() for k, v in kept.state_dict().items()}
            if usable and val_acc - settings.min_delta > stopping["best"]:  # EarlyStopping(min_delta)
                stopping = {"best": val_acc, "wait": 0}
            else:
                stopping = {"best": stopping["best"], "wait": stopping["wait"] + 1}
            row["best"] = improved_best
            history.append(row)
            finished, stop_reason = _should_stop(epoch, stopping, settings, history)
            if ckpt is not None:
                best_model = None
                if improved_best:
                    best_model = build_model(model.config)
                    best_model.load_state_dict(best_state)
                ckpt.save(model=model, optimizer=optimizer, best_model=best_model,
                          averaged=average.model if average is not None else None, state={
                    "fingerprint": fingerprint, "epoch": epoch, "history": history, "best": best,
                    "early_stopping": stopping, "finished": finished, "stop_reason": stop_reason,
                    "seconds": elapsed, "settings": settings.to_dict(),
                    "ema_updates": average.updates if average is not None else None,
                    "rng": {"seed": settings.seed, "init": "torch.manual_seed(seed) before building the model",
                            "per_epoch": "numpy.random.default_rng([seed, epoch]): batch order, then dropout masks"},
                })
            if callback:
                callback("epoch", {**row, "best_epoch": best["epoch"], "best_val_accuracy": best["val_accuracy"],
                                   "wait": stopping["wait"], "finished": finished, "stop_reason": stop_reason})
    if stop_reason == "diverged" and best["epoch"] == 0:
        raise TrainingDiverged(f"training diverged in epoch {len(history)} before any epoch gave finite "
                               f"validation outputs (training loss {history[-1]['loss']:.4g}); try a lower --lr")
    model.load_state_dict(best_state)
    model.eval()
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds", "best"]
    if average is not None:
        columns.insert(3, "raw_val_accuracy")
    return FitResult(model=model, history=pd.DataFrame(history, columns=columns),
        best_epoch=int(best["epoch"]), best_val_accuracy=float(best["val_accuracy"]),
        epochs=len(history), stop_reason=stop_reason, seconds=elapsed, resumed_from=resumed_from)


DIVERGENCE_LOSS = 10 * math.log(2.0)
"""An epoch whose mean training loss exceeds this (ten times chance level) means the run has diverged."""


def diverged(history: list[dict]) -> bool:
    """Whether the last epoch of ``history`` shows a diverged run (see the module doc)."""
    if not history:
        return False
    last = history[-1]
    if not (math.isfinite(last["loss"]) and math.isfinite(last["val_loss"])):
        return True
    return last["loss"] > DIVERGENCE_LOSS


def _should_stop(epoch: int, stopping: dict, settings: TrainSettings, history: list[dict]) -> tuple[bool, str]:
    if diverged(history):
        return True, "diverged"
    if stopping["wait"] >= settings.patience:
        return True, "patience"
    if epoch >= settings.max_epochs:
        return True, "max_epochs"
    return False, ""


# ------------------------------------------------------------------------------------------------- whole runs


@dataclass
class TrainReport:
    """A finished training run: the model (best epoch), its card, metrics per part, history, output directory."""

    model: Model
    card: dict
    metrics: pd.DataFrame
    history: pd.DataFrame
    out_dir: Path
    split: Split | None = None
    extra: dict = field(default_factory=dict)


def _metrics_rows(model: Model, parts: dict[str, pd.DataFrame], threshold: float = 0.5) -> pd.DataFrame:
    from mirlens.evaluation.metrics import binary_metrics

    rows = []
    for part, pairs in parts.items():
        if not len(pairs):
            continue
        scores = score_pair_table(model, pairs)  # targets longer than the slot: best window
        rows.append({"part": part, **binary_metrics(pairs["label"].to_numpy(dtype=np.int64),
                                                    scores["probability"].to_numpy(), threshold,
                                                    ranking=scores["logit"].to_numpy())})
    return pd.DataFrame(rows)


def _round(d: dict, digits: int = 6) -> dict:
    return {k: (round(v, digits) if isinstance(v, float) and math.isfinite(v) else v) for k, v in d.items()}


def initial_model(config: Config, seed: int, init=None) -> tuple[Model, dict | None]:
    """The model training starts from: freshly initialised (``init=None``), or a copy of the weights of ``init``
    (a model name, directory or .h5 file, or a model object) to continue training or fine-tune it. Returns the
    model and, for ``init``, what the card records of it (name, weights digest, its card's data, seed, epochs,
    settings and own ``init``, so a chain of continued trainings stays traceable)."""
    if init is None:
        return init_model(config, seed), None
    if isinstance(init, torch.nn.Module):
        source, meta = init, {"name": "<model>", "card": {}}
    else:
        from mirlens.model.store import load_model

        source, meta = load_model(init, with_meta=True)
    theirs = replace(source.config, dropout=config.dropout)
    if type(theirs) is not type(config):
        raise MirlensError(f"--init {meta.get('name', init)}: it is a {architecture_of(theirs)} model; this "
                           f"training builds a {architecture_of(config)} model (--arch)")
    if theirs != config:
        needed = config.to_dict()
        diff = ", ".join(f"{k} {v} (data needs {needed[k]})" for k, v in theirs.to_dict().items() if needed[k] != v)
        hint = (f" (use --target-slot {theirs.target_slot} to train at the model's size)"
                if theirs.target_slot != config.target_slot else "")
        raise MirlensError(f"--init {meta.get('name', init)}: its architecture does not fit this training: "
                           f"{diff}{hint}")
    model = build_model(config)
    model.load_state_dict(source.state_dict())
    card = meta.get("card") or {}
    info = {"model": str(meta.get("name") or init), "weights_sha256": _weights_digest(model),
            "data": card.get("data"), "best_epoch": card.get("best_epoch"), "seed": card.get("seed"),
            "epochs": card.get("epochs"), "settings": card.get("settings"), "init": card.get("init")}
    return model, info


def train(data, out_dir: str | Path, *, settings: TrainSettings | None = None, split: str = "random",
          dedup: bool = False, test_frac: float = 0.2, val_frac: float = 0.2, target_slot: int | None = None,
          name: str | None = None, data_dir=None, callback: Callback | None = None,
          overwrite: bool = False, init=None, architecture: str = "mitar", negatives: str | None = None,
          utrs: str | Path | dict | None = None, utrs_half: str = "all") -> TrainReport:
    """Train one model on ``data`` (named data set, pair file, pair table, or a list of sources: see
    :func:`mirlens.training.data.load_pool`) into ``out_dir``.

    ``architecture`` is the model family (``mitar``: the paper's; ``pairing``: :mod:`mirlens.model.pairing`).
    ``negatives`` (e.g. ``"mirna-swap,shuffle,utr"``, :mod:`mirlens.data.negatives`) adds, after the split and
    within each part, one negative of each kind per positive with the positive's own miRNA; ``utrs`` (a FASTA or
    table path, or ``{id: sequence}``) is the UTR collection the ``utr`` kind cuts windows from; ``utrs_half``
    "first" or "second" keeps one half of it (:func:`mirlens.evaluation.specificity.split_utrs`: by a hash of the
    UTR id), so that the other half stays unseen, e.g. for the specificity probes. The negatives are drawn from
    ``settings.seed``: same data and seed, same negatives.

    ``init`` (a model name, directory, .h5 file or a model object of the same architecture) starts from that
    model's weights instead of a fresh initialisation, with a fresh optimizer: to continue a run whose
    checkpoint is gone, or to fine-tune a model on other data. The split still follows ``settings.seed``, so
    continuing a model trained by mirlens with its own seed keeps its validation and test pairs out of training.

    Writes ``out_dir/model.safetensors`` + ``model.json`` (the best epoch; its card records data, negatives,
    split, seed, settings, epochs, metrics and training time), ``history.tsv``, ``metrics.tsv`` (validation,
    held-out test and the sources' independent test sets), ``split.parquet`` (which pool row went where) and the
    checkpoint. Rerunning the same command resumes an interrupted run or just reports a finished one.
    """
    from mirlens.data.negatives import parse_kinds, with_negatives

    out_dir = Path(out_dir)
    key = data if isinstance(data, str) else None
    settings = (settings or default_settings(key or "")).validate()
    kinds = parse_kinds(negatives) if negatives else []
    utr_seqs = None
    if "utr" in kinds:
        if utrs is None:
            raise MirlensError("negatives of kind 'utr' need a UTR collection (--utrs FILE: FASTA or table)")
        from mirlens.data.utrs import read_utrs

        utr_seqs = utrs if isinstance(utrs, dict) else read_utrs(utrs)
        if utrs_half != "all":
            from mirlens.evaluation.specificity import split_utrs

            if utrs_half not in ("first", "second"):
                raise MirlensError(f"UTR half must be all, first or second (got {utrs_half!r})")
            utr_seqs = split_utrs(utr_seqs)[0 if utrs_half == "first" else 1]
    pool = load_pool(data, dedup=dedup, data_dir=data_dir)
    slot = target_slot or default_target_slot(pool, architecture)
    parts_split = make_split(pool.pairs, split, test_frac=test_frac, val_frac=val_frac, seed=settings.seed)
    pairs = pool.pairs
    parts = {p: pairs.iloc[getattr(parts_split, p)] for p in PARTS}
    negative_counts = {}
    if kinds:
        for i, p in enumerate(PARTS):
            if len(parts[p]):
                parts[p] = with_negatives(parts[p], kinds, seed=[settings.seed, i], utrs=utr_seqs)
                negative_counts[p] = parts[p].attrs["negatives"]

    def encoded(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return (encode_pairs(part["mirna"].tolist(), part["target"].tolist(), slot, names=pair_names(part)),
                part["label"].to_numpy(dtype=np.float32))

    config = make_config(architecture, target_slot=slot, dropout=settings.dropout)
    model, init_info = initial_model(config, settings.seed, init)
    result = fit(model, encoded(parts["train"]), encoded(parts["val"]), settings, workdir=out_dir,
                 callback=callback, overwrite=overwrite)
    model = result.model

    eval_parts = {"validation": parts["val"], "test": parts["test"]}
    for t, table in _independent_tests(pool.tests, data_dir).items():
        eval_parts[f"independent:{t}"] = table
    metrics = _metrics_rows(model, eval_parts)

    split_info = {"method": split, "test_frac": test_frac, "val_frac": val_frac, "seed": settings.seed,
                  "sizes": parts_split.sizes(), "rng": "numpy RandomState(seed).permutation (as scikit-learn's "
                  "train_test_split(random_state=seed), twice)"}
    family = "pairing" if architecture == "pairing" else "miTAR"
    card = {
        "description": f"{family} model trained by mirlens on {pool.data}",
        "architecture": architecture,
        "data": pool.data,
        "data_notes": pool.notes,
        "dedup": dedup,
        "negatives": ({"kinds": kinds, "per_positive": len(kinds), "seed": settings.seed,
                       "utrs": (str(utrs) if utrs is not None and not isinstance(utrs, dict) else
                                ("<dict>" if utrs is not None else None)),
                       "utrs_half": utrs_half, "n_utrs": len(utr_seqs) if utr_seqs is not None else None,
                       "made": negative_counts,
                       "rule": "one negative per positive and kind, with the positive's miRNA, drawn within "
                               "each split part; no canonical site (match to nt 2-7 or 3-8) in any negative"}
                      if kinds else None),
        "split": split_info,
        "seed": settings.seed,
        "init": init_info or ("fresh (Keras-style initialisers, torch.manual_seed(seed))" if architecture == "mitar"
                              else "fresh (PyTorch default initialisers, torch.manual_seed(seed))"),
        "settings": settings.to_dict(),
        "optimizer": "Adam (eps 1e-7), binary cross-entropy on logits"
                     + (f", gradient norm clipped at {settings.clip_norm}" if settings.clip_norm else "")
                     + (f", learning rate schedule {settings.lr_schedule} over {settings.max_epochs} epochs"
                        if settings.lr_schedule != "constant" else ""),
        "weight_average": ({"kind": "exponential moving average of the weights, evaluated and kept",
                            "decay": settings.ema_decay, "warmup": "min(decay, (1 + n) / (10 + n))"}
                           if settings.ema_decay else None),
        "early_stopping": {"monitor": "val_accuracy", "min_delta": settings.min_delta,
                           "patience": settings.patience, "max_epochs": settings.max_epochs},
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "stop_reason": result.stop_reason,
        "metrics": {r["part"]: _round({k: v for k, v in r.items() if k != "part"}) for r in
                    metrics.to_dict("records")},
        "training_seconds": round(result.seconds, 1),
        "seconds_per_epoch": round(result.seconds_per_epoch, 2),
        "threads": settings.threads or usable_cores(),
        "software": {"mirlens": getattr(mirlens, "__version__", "unknown"), "torch": torch.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
    }
    save_model(model, out_dir, name=name or out_dir.name, card=card)
    write_table(result.history, out_dir / "history.tsv")
    write_table(metrics, out_dir / "metrics.tsv")
    split_table = pd.DataFrame({"source": pairs["source"], "record": pairs["record"],
                                "mirna_id": pairs["mirna_id"], "target_id": pairs["target_id"],
                                "part": parts_split.labels(len(pairs))})
    write_table(split_table, out_dir / "split.parquet")
    return TrainReport(model, card, metrics, result.history, out_dir, parts_split,
                       {"fit": result, "pool": pool, "parts": parts})


def _independent_tests(names: tuple[str, ...], data_dir) -> dict[str, pd.DataFrame]:
    """The test sets of the pool's sources: miTAR independent tests (must exist), miRBench test splits (where
    present)."""
    from mirlens.data.mirbench import MIRBENCH, load_mirbench

    out = independent_test_sets(data_dir, tuple(n for n in names if n not in MIRBENCH))
    for n in names:
        if n in MIRBENCH and "test" in MIRBENCH[n].splits:
            try:
                out[n] = load_mirbench(n, "test", data_dir=data_dir)
            except DataSetError:
                continue
    return out


def train_repeats(data, out_dir: str | Path, repeats: int, *, settings: TrainSettings | None = None,
                  level: float = 0.95, callback: Callback | None = None, **kwargs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The repeated-random-split protocol: ``repeats`` runs with seeds ``seed, seed+1, ...`` (each its own split,
    initialisation and training) in ``out_dir/repeat-NN``; writes ``repeats.tsv`` (metrics per repeat and part)
    and ``summary.tsv`` (mean, sd and ``level`` CI per part and metric). Finished repeats are not re-run. A repeat
    that diverges before any usable epoch is listed in ``repeats.tsv`` with status "diverged" and left out of the
    summary."""
    from mirlens.evaluation.metrics import summarize

    if repeats < 1:
        raise MirlensError(f"repeats must be >= 1 (got {repeats})")
    out_dir = Path(out_dir)
    key = data if isinstance(data, str) else ""
    settings = (settings or default_settings(key)).validate()
    rows = []
    for r in range(1, repeats + 1):
        s = replace(settings, seed=settings.seed + r - 1)
        if callback:
            callback("repeat", {"repeat": r, "repeats": repeats, "seed": s.seed})
        try:
            report = train(data, out_dir / f"repeat-{r:02d}", settings=s, callback=callback, **kwargs)
        except TrainingDiverged as exc:  # listed, left out of the summary; the other repeats still run
            if callback:
                callback("failed", {"repeat": r, "reason": str(exc)})
            rows.append(pd.DataFrame([{"repeat": r, "seed": s.seed, "status": "diverged"}]))
            continue
        m = report.metrics.copy()
        m.insert(0, "seed", s.seed)
        m.insert(0, "repeat", r)
        m["best_epoch"] = report.card["best_epoch"]
        m["status"] = "done"
        rows.append(m)
    per_repeat = pd.concat(rows, ignore_index=True)
    if not (per_repeat["status"] == "done").any():
        raise TrainingDiverged(f"all {repeats} repeats diverged before any usable epoch; try a lower --lr")
    summary = summarize(per_repeat[per_repeat["status"] == "done"], level=level, by=["part"])
    write_table(per_repeat, out_dir / "repeats.tsv")
    write_table(summary, out_dir / "summary.tsv")
    return per_repeat, summary


__all__ = ["PARTS", "FitResult", "TrainReport", "TrainSettings", "default_settings", "fit", "init_model", "initial_model", "train",
           "train_repeats", "usable_cores"]
