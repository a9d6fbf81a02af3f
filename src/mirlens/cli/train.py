"""``mirlens train``, ``mirlens tune`` and ``mirlens evaluate``."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mirlens.cli.app import app
from mirlens.cli.common import console, print_plain, reports_errors
from mirlens.errors import MirlensError

DataOpt = Annotated[str, typer.Option("--data", "-d", help="Named data set (deepmirtar, miraw, combined: its "
                                      "train part) or a labelled pair file.")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Run directory (created; rerun to resume).")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the split, the initialisation and every epoch's shuffling "
                                      "and dropout.")]
SplitOpt = Annotated[str, typer.Option(help="random (the original protocol) | mirna (hold out whole miRNAs) | "
                                       "target (hold out whole target genes).")]
DedupOpt = Annotated[bool, typer.Option("--dedup/--no-dedup", help="Drop repeated (miRNA, target) pairs "
                                        "before splitting.")]
TestFracOpt = Annotated[float, typer.Option("--test-frac", help="Share held out as test set (0 = none).")]
ValFracOpt = Annotated[float, typer.Option("--val-frac", help="Share of the rest used for validation / early "
                                           "stopping.")]
MaxEpochsOpt = Annotated[int, typer.Option("--max-epochs", help="Upper limit on epochs (original: 1000).")]
PatienceOpt = Annotated[int, typer.Option(help="Stop after this many epochs without a validation-accuracy gain "
                                          "above --min-delta (original: 100).")]
MinDeltaOpt = Annotated[float, typer.Option("--min-delta", help="Smallest validation-accuracy gain that counts.")]
SlotOpt = Annotated[int | None, typer.Option("--target-slot", help="Target length of the model input (default: "
                                             "53 deepmirtar/combined, 40 miraw, else the longest target).")]
ThreadsOpt = Annotated[int | None, typer.Option(help="CPU threads for torch (default: all usable cores; on a busy "
                                                "machine 1 is often faster).")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Directory with the data set files "
                                                 "(default: $MIRLENS_DATA_DIR or the cache).")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Discard a checkpoint of a different run in the "
                                            "output directory.")]
QUIET_COLUMNS = ("accuracy", "sensitivity", "specificity", "f1", "ppv", "npv", "brier", "auroc", "auprc")


class TrainProgress:
    """Renders trainer callbacks: a live bar on a terminal, one line per epoch otherwise (logs)."""

    def __init__(self, enabled: bool | None = None):
        self.live = sys.stderr.isatty() if enabled is None else enabled
        self.progress: Progress | None = None
        self.task = None
        self.prefix = ""
        self.last = 0.0

    def __enter__(self):
        if self.live:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("{task.fields[status]}"), console=console,
                                     transient=False)
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()
        return False

    def __call__(self, event: str, info: dict) -> None:
        if event in ("run", "repeat"):
            self.prefix = escape(f"[{info['run']} {info['index']}/{info['total']}] " if event == "run"
                                 else f"[repeat {info['repeat']}/{info['repeats']} seed {info['seed']}] ")
            return
        if event == "failed":
            (self.progress.console if self.progress is not None else console).print(
                f"{self.prefix}[yellow]skipped:[/] {escape(info['reason'])}", highlight=False)
            return
        if event == "start":
            word = "finished run found" if info["finished"] else ("resuming after epoch "
                                                                   f"{info['epoch']}" if info["resumed"] else "training")
            console.print(f"{self.prefix}{word}: {info['n_train']} training / {info['n_val']} validation pairs",
                          highlight=False)
            if self.progress is not None:
                if self.task is not None:
                    self.progress.remove_task(self.task)
                self.task = self.progress.add_task(f"{self.prefix}epoch {info['epoch'] + 1}",
                                                   total=info["n_train"], status="")
            return
        if event == "batch" and self.progress is not None:
            now = time.monotonic()
            if now - self.last > 0.2 or info["done"] == info["total"]:
                self.last = now
                self.progress.update(self.task, completed=info["done"], description=f"{self.prefix}epoch "
                                     f"{info['epoch']}", status=f"loss {info['loss']:.4f}")
            return
        if event == "epoch":
            line = (f"epoch {info['epoch']}: loss {info['loss']:.4f} acc {info['accuracy']:.4f} "
                    f"val_loss {info['val_loss']:.4f} val_acc {info['val_accuracy']:.4f} "
                    + (f"(raw weights {info['raw_val_accuracy']:.4f}) " if "raw_val_accuracy" in info else "") +
                    f"(best {info['best_val_accuracy']:.4f} @ {info['best_epoch']}, "
                    f"{info['seconds']:.1f} s)")
            if info["finished"]:
                line += f" - stopped: {info['stop_reason']}"
                if info["stop_reason"] == "diverged":
                    line += (f" (the loss blew up; the weights of epoch {info['best_epoch']} are kept; a lower --lr "
                             "or another --batch-size or --seed may train stably)")
            if self.progress is not None:
                self.progress.update(self.task, status=f"val_acc {info['val_accuracy']:.4f} best "
                                     f"{info['best_val_accuracy']:.4f}@{info['best_epoch']}")
                self.progress.console.print(self.prefix + line, highlight=False)
                self.progress.reset(self.task)
            else:
                console.print(self.prefix + line, highlight=False)


def _fmt(v) -> str:
    """A table cell (rich markup escaped: model names and data paths may hold ``[...]``)."""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return escape(str(v))


def metrics_table(df: pd.DataFrame, keys: list[str], title: str | None = None) -> Table:
    cols = [*keys, "n", *QUIET_COLUMNS, "tn", "fp", "fn", "tp"]
    cols = [c for c in cols if c in df]
    table = Table(*cols, title=title)
    for row in df[cols].itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    return table


def _settings(data: str, seed, batch_size, lr, dropout, max_epochs, patience, min_delta, threads, ema_decay=None,
              clip_norm=None, lr_schedule=None):
    from mirlens.training.trainer import default_settings

    return default_settings(data, seed=seed, batch_size=batch_size, lr=lr, dropout=dropout, max_epochs=max_epochs,
                            patience=patience, min_delta=min_delta, threads=threads,
                            ema_decay=ema_decay, clip_norm=clip_norm, lr_schedule=lr_schedule).validate()


@app.command("train")
@reports_errors
def train_cmd(
    data: Annotated[list[str], typer.Option("--data", "-d", help="Named data set (deepmirtar, miraw, combined: its "
                                            "train part; a miRBench name such as hejret2023: its train split) or a "
                                            "labelled pair file; NAME:positives keeps its positives only; repeat "
                                            "to train on several.")],
    output: OutOpt,
    seed: SeedOpt = 1122,
    split: SplitOpt = "random",
    dedup: DedupOpt = False,
    test_frac: TestFracOpt = 0.2,
    val_frac: ValFracOpt = 0.2,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Default: the original best per data set "
                                                   "(deepmirtar 30, miraw 200, combined 100; files 100).")] = None,
    lr: Annotated[float, typer.Option(help="Adam learning rate. 0.001 is what the original models really used "
                                      "(their scripts compiled with 'adam', Keras' default).")] = 0.001,
    dropout: Annotated[float | None, typer.Option(help="Default: the original best (deepmirtar 0.2, miraw 0.4, "
                                                  "combined 0.2; files 0.2).")] = None,
    max_epochs: MaxEpochsOpt = 1000,
    patience: PatienceOpt = 100,
    min_delta: MinDeltaOpt = 0.001,
    target_slot: SlotOpt = None,
    repeats: Annotated[int, typer.Option(help="Repeat with seeds seed, seed+1, ... (new split each time) and "
                                         "report mean and 95% CI per metric.")] = 1,
    threads: ThreadsOpt = None,
    name: Annotated[str | None, typer.Option(help="Model name written to model.json (default: the output "
                                             "directory's name).")] = None,
    overwrite: OverwriteOpt = False,
    data_dir: DataDirOpt = None,
    ema_decay: Annotated[float, typer.Option("--ema-decay", help="Keep an exponential moving average of the "
                                             "weights (e.g. 0.999 per step) and evaluate, early-stop on and keep "
                                             "it instead of the raw weights; 0 = off (the original protocol).")] = 0.0,
    init: Annotated[str | None, typer.Option("--init", help="Start from this model's weights (name, directory "
                                             "or .h5; same architecture) with a fresh optimizer: continue a "
                                             "training or fine-tune a model on your data.")] = None,
    arch: Annotated[str, typer.Option("--arch", help="Model family: mitar (the paper's CNN + BiLSTM) or pairing "
                                      "(a CNN on the miRNA x target pairing map; the bundled default).")] = "mitar",
    negatives: Annotated[str | None, typer.Option("--negatives", help="Add one negative per positive of each kind, "
                                                  "with the positive's miRNA: mirna-swap, shuffle, utr (comma "
                                                  "list; recorded on the model card).")] = None,
    utrs: Annotated[Path | None, typer.Option("--utrs", help="3'UTRs (FASTA or table with id and sequence "
                                              "columns) that --negatives utr cuts site-free windows from.")] = None,
    utrs_half: Annotated[str, typer.Option("--utrs-half", help="all, or first / second: only that half of --utrs "
                                           "(split by a hash of the UTR id), keeping the other half unseen (the "
                                           "specificity benchmark probes the second half).")] = "all",
    clip_norm: Annotated[float, typer.Option("--clip-norm", help="Clip the gradient norm of every step at this "
                                             "value; 0 = off (the original protocol).")] = 0.0,
    lr_schedule: Annotated[str, typer.Option("--lr-schedule", help="constant (the original protocol) or "
                                             "onecycle (warm-up then cosine decay over --max-epochs).")]
    = "constant",
) -> None:
    """Train a model, by default a miTAR model with the original protocol (split 20% test, 20% validation; Adam;
    early stopping on validation accuracy), keeping the best epoch. Independent test pairs of the named data
    sets never enter training. The run directory holds the model (usable as --model DIR), history, metrics and a
    checkpoint."""
    from mirlens.model.families import ARCHITECTURES
    from mirlens.training.trainer import train, train_repeats

    if arch not in ARCHITECTURES:
        raise MirlensError(f"--arch must be one of {', '.join(ARCHITECTURES)} (got {arch!r})")
    key = data[0] if len(data) == 1 else ""
    settings = _settings(key, seed, batch_size, lr, dropout, max_epochs, patience, min_delta, threads, ema_decay,
                         clip_norm, lr_schedule)
    common = dict(split=split, dedup=dedup, test_frac=test_frac, val_frac=val_frac, target_slot=target_slot,
                  data_dir=data_dir, overwrite=overwrite, architecture=arch, negatives=negatives, utrs=utrs,
                  utrs_half=utrs_half)
    data = data[0] if len(data) == 1 else data
    if repeats < 1:
        raise MirlensError(f"--repeats must be >= 1 (got {repeats})")
    if repeats > 1 and init is not None:
        raise MirlensError("--init and --repeats exclude each other (repeats start from fresh weights)")
    if repeats == 1:
        with TrainProgress() as progress:
            report = train(data, output, settings=settings, name=name, callback=progress, init=init, **common)
        console.print(metrics_table(report.metrics, ["part"], title=f"best epoch {report.card['best_epoch']} of "
                                    f"{report.card['epochs']} ({report.card['seconds_per_epoch']:.1f} s/epoch)"))
        print_plain(f"model written to {output}")
        return
    with TrainProgress() as progress:
        per_repeat, summary = train_repeats(data, output, repeats, settings=settings, callback=progress, **common)
    n_done = int(per_repeat.loc[per_repeat["status"] == "done", "repeat"].nunique())
    title = f"{repeats} repeats" if n_done == repeats else f"{n_done} of {repeats} repeats (the others diverged)"
    table = Table("part", "metric", "n", "mean", "95% CI", title=title)
    for r in summary.itertuples(index=False):
        table.add_row(r.part, r.metric, str(r.n), _fmt(r.mean), f"{_fmt(r.ci_low)} - {_fmt(r.ci_high)}")
    console.print(table)
    print_plain(f"per-repeat metrics: {output / 'repeats.tsv'}; summary: {output / 'summary.tsv'}")


def _number_list(text: str | None, kind, option: str) -> list | None:
    if text is None:
        return None
    try:
        values = [kind(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise MirlensError(f"{option}: expected a comma-separated list of numbers, got {text!r}") from None
    if not values:
        raise MirlensError(f"{option}: empty list")
    return values


@app.command("tune")
@reports_errors
def tune_cmd(
    data: DataOpt,
    output: OutOpt,
    batch_sizes: Annotated[str | None, typer.Option("--batch-sizes", help="Comma list (default 10,30,50,100,200)."
                                                    )] = None,
    lrs: Annotated[str | None, typer.Option("--lrs", help="Comma list (default 0.2,0.1,0.05,0.01,0.005,0.001)."
                                            )] = None,
    dropouts: Annotated[str | None, typer.Option("--dropouts", help="Comma list (default 0.1,0.2,0.3,0.4,0.5)."
                                                 )] = None,
    seed: SeedOpt = 1122,
    split: SplitOpt = "random",
    dedup: DedupOpt = False,
    test_frac: TestFracOpt = 0.2,
    val_frac: ValFracOpt = 0.2,
    max_epochs: MaxEpochsOpt = 1000,
    patience: PatienceOpt = 100,
    min_delta: MinDeltaOpt = 0.001,
    target_slot: SlotOpt = None,
    threads: ThreadsOpt = None,
    overwrite: OverwriteOpt = False,
    data_dir: DataDirOpt = None,
    ema_decay: Annotated[float, typer.Option("--ema-decay", help="Weight averaging for every run (see train "
                                             "--help); 0 = off.")] = 0.0,
) -> None:
    """Grid search (default: the original 5 batch sizes x 6 learning rates x 5 dropouts) on one split, ranked by
    validation accuracy into OUTPUT/ranking.tsv. Resumable: rerun the same command to continue."""
    from mirlens.training.tune import grid, tune

    points = grid(_number_list(batch_sizes, int, "--batch-sizes"), _number_list(lrs, float, "--lrs"),
                  _number_list(dropouts, float, "--dropouts"))
    base = _settings(data, seed, None, None, None, max_epochs, patience, min_delta, threads, ema_decay)
    print_plain(f"{len(points)} grid point(s); runs in {output / 'runs'}")
    with TrainProgress() as progress:
        ranking = tune(data, output, points=points, base=base, callback=progress, split=split, dedup=dedup,
                       test_frac=test_frac, val_frac=val_frac, target_slot=target_slot, data_dir=data_dir,
                       overwrite=overwrite)
    cols = ["rank", "run", "best_epoch", "val_accuracy", "val_loss", "val_auroc", "test_accuracy", "test_auroc"]
    table = Table(*cols, title="ranked by validation accuracy (test metrics for information only)")
    for row in ranking[cols].head(20).itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    console.print(table)
    print_plain(f"full ranking: {output / 'ranking.tsv'}")


@app.command("evaluate")
@reports_errors
def evaluate_cmd(
    data: Annotated[list[str], typer.Option("--data", "-d", help="Named data set (its --part; miRBench names "
                                            "such as hejret2023 too) or a labelled pair file; repeat for several.")],
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Model name, directory or .h5; repeat "
                                                    "to compare (default: the default model).")] = None,
    part: Annotated[str, typer.Option(help="Part of named data sets: test (the independent test set), train or "
                                      "all.")] = "test",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Directory for metrics.tsv, roc.tsv, "
                                                "pr.tsv, predictions.tsv, roc.png and pr.png.")] = None,
    threshold: Annotated[float, typer.Option(help="Probability above which a pair counts as a predicted target."
                                             )] = 0.5,
    data_dir: DataDirOpt = None,
) -> None:
    """Accuracy, sensitivity, specificity, F1, PPV, NPV, Brier, AUROC, AUPRC and the confusion matrix of each
    model on each data set, with ROC and precision-recall curves."""
    from mirlens.data.datasets import DATASETS, load_dataset
    from mirlens.data.mirbench import MIRBENCH, load_mirbench
    from mirlens.data.readers import read_pairs
    from mirlens.evaluation.evaluate import evaluate_models
    from mirlens.model.store import DEFAULT_MODEL, load_model
    from mirlens.report.curves import plot_pr, plot_roc
    from mirlens.tables import write_table

    if not 0.0 <= threshold <= 1.0:
        raise MirlensError(f"--threshold must be in [0, 1] (got {threshold})")
    tables = {}
    for d in data:
        if d in DATASETS:
            tables[d if part == "test" else f"{d}:{part}"] = load_dataset(d, part, data_dir=data_dir)
        elif d in MIRBENCH:
            tables[d if part == "test" else f"{d}:{part}"] = load_mirbench(d, part, data_dir=data_dir)
        else:
            path = Path(d)
            if not path.exists():
                raise MirlensError(f"{d}: neither a named data set ({', '.join([*DATASETS, *MIRBENCH])}) nor an "
                                   "existing file")
            tables[path.name] = read_pairs(path)
    models = {m: load_model(m) for m in (model or [DEFAULT_MODEL])}
    result = evaluate_models(models, tables, threshold=threshold)
    console.print(metrics_table(result.metrics, ["model", "data"]))
    if output is not None:
        write_table(result.metrics, output / "metrics.tsv")
        write_table(result.roc, output / "roc.tsv")
        write_table(result.pr, output / "pr.tsv")
        write_table(result.predictions, output / "predictions.tsv")
        plot_roc(result.roc, output / "roc.png", metrics=result.metrics)
        plot_pr(result.pr, output / "pr.png", metrics=result.metrics)
        print_plain(f"tables and figures written to {output}")
