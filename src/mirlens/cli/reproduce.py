"""``mirlens reproduce``: the whole paper in one command, as a self-contained HTML report."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from mirlens.cli.app import app
from mirlens.cli.common import console, print_plain, progress_bar, reports_errors
from mirlens.duplex import BACKENDS
from mirlens.errors import InputError


class _PassCounter:
    """Counts forward passes and logs the count and rate at most once every ``every`` seconds."""

    def __init__(self, log, every: float = 60.0):
        self.log, self.every = log, every
        self.n, self.t0 = 0, time.perf_counter()
        self.last = self.t0

    def __call__(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            self.log(f"  {self.n:,} forward passes ({self.n / (now - self.t0):,.0f}/s)")


@app.command("reproduce")
@reports_errors
def reproduce_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory: report.html, tables/*.csv, "
                                      "figures/*.png|svg, timings.tsv, cache/ (reused by a rerun).")],
    keras_dir: Annotated[Path | None, typer.Option("--keras-dir", help="Directory searched recursively for the "
                                                   "original miTAR Keras files, recognised by sha256 (e.g. "
                                                   "../shared/models holding both miTAR1 versions).")] = None,
    weights: Annotated[str, typer.Option("--weights", help="Which published version of the original weights: "
                                         "'paper' (the ones the paper analysed: miTAR1 of 2020-03 for DeepMirTar, "
                                         "miTAR2 for miRAW) or 'current' (the repository's files today: miTAR1 of "
                                         "2020-12). Run both into one OUT to get them side by side.")] = "paper",
    model_deepmirtar: Annotated[str | None, typer.Option("--model-deepmirtar", help="Model for DeepMirTar (name, "
                                                         "directory or .h5; default by --weights: "
                                                         "keras-miTAR1@2020-03).")] = None,
    model_miraw: Annotated[str | None, typer.Option("--model-miraw", help="Model for miRAW (default "
                                                    "keras-miTAR2).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="A seeded sample of a few hundred pairs per data set: the "
                                        "whole pipeline in a couple of minutes.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --quick sample and of the bootstrap.")] = 0,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where the data set files are (default: "
                                                  "$MIRLENS_DATA_DIR or the cache).")] = None,
    energy_backend: Annotated[str, typer.Option("--energy-backend", help=f"{' or '.join(BACKENDS)} (miranda = "
                                                "miRanda 1.9 as in the paper).")] = "miranda",
    n_boot: Annotated[int | None, typer.Option("--n-boot", help="Bootstrap resamples for Fig. 6 (default 1000; "
                                               "200 with --quick).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes for the duplex energies.")] = 1,
) -> None:
    """Run every analysis of Gu et al. (Sci Rep 2021) on DeepMirTar (miTAR1-style model) and miRAW (miTAR2-style
    model) -- Fig. 1-6, Supp. Fig. 1 and 3, Table 1, Supp. Table 1, Table 2 -- compare each result with the paper
    and write one self-contained HTML report. Every stage is cached in OUT/cache: a rerun recomputes nothing, an
    interrupted run continues where it stopped. Time per stage: OUT/timings.tsv."""
    from mirlens.reproduce import Settings, model_specs, run

    if energy_backend not in BACKENDS:
        raise InputError(f"unknown energy backend {energy_backend!r}; choose from {', '.join(BACKENDS)}")
    if jobs < 1:
        raise InputError("--jobs must be at least 1")
    models = model_specs(keras_dir, model_deepmirtar, model_miraw, weights)
    parts = ["mirlens", "reproduce", "--out", str(out)]
    if keras_dir is not None:
        parts += ["--keras-dir", str(keras_dir)]
    parts += ["--weights", weights] if weights != "paper" else []
    for flag, value in (("--model-deepmirtar", model_deepmirtar), ("--model-miraw", model_miraw)):
        if value is not None:
            parts += [flag, value]
    parts += ["--quick"] if quick else []
    parts += ["--seed", str(seed)]
    parts += ["--data-dir", str(data_dir)] if data_dir is not None else []
    parts += ["--energy-backend", energy_backend]
    parts += ["--n-boot", str(n_boot)] if n_boot is not None else []
    parts += ["--jobs", str(jobs)] if jobs != 1 else []
    command = " ".join(shlex.quote(p) for p in parts)
    settings = Settings(out=out, models=models, quick=quick, seed=seed, data_dir=data_dir,
                        energy_backend=energy_backend, n_boot=n_boot, jobs=jobs, command=command,
                        weights="custom" if (model_deepmirtar or model_miraw) else weights)

    def log(msg: str) -> None:
        print_plain(msg, highlight=False)

    if sys.stderr.isatty():
        with progress_bar("forward passes", None) as advance:
            results = run(settings, log=log, progress=advance)
    else:  # a log file (nohup ...): a line a minute instead of a progress bar
        results = run(settings, log=log, progress=_PassCounter(log))
    f = results.findings
    ok = int((f["verdict"] == "reproduced").sum())
    tested = int((f["verdict"] != "not available").sum())
    t = results.timings
    cached = int((t["status"] == "cached").sum())
    console.print(f"{ok} of {tested} findings reproduced; {len(t)} stages ({cached} cached) in "
                  f"{t['seconds'].sum():.1f} s")
    print_plain(f"-> {results.report}")
