"""Stage cache of ``mirlens reproduce``: each stage's tables under ``OUT/cache/<stage>/<key>/``.

A stage's *key* is a hash of everything its result depends on (model weights fingerprint, pair fingerprints,
settings, the keys of the stages it reads, a code version). A finished stage has ``done.json`` (written last,
atomically) next to its tables (Parquet); a rerun with the same key loads them instead of computing. A stage that
was interrupted has its directory but no ``done.json``: it is computed again ("resumed"), and a stage that keeps
its own partial results there (the k-nt scan's chunk store) continues where it stopped. Every stage's wall time
and status (computed / resumed / cached, or interrupted) is recorded for ``OUT/timings.tsv``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from mirlens.tables import read_table, write_table, write_text

DONE = "done.json"
TIMING_COLUMNS = ["stage", "dataset", "status", "seconds", "key", "started"]


def fingerprint(params: dict) -> str:
    """A short stable hash of JSON-able parameters."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class StageResult:
    stage: str
    key: str
    directory: Path
    tables: dict[str, pd.DataFrame]
    meta: dict
    status: str  # computed / resumed / cached
    seconds: float


@dataclass
class StageRunner:
    """Runs stages through the cache and keeps their timings."""

    out: Path
    log: Callable[[str], None] = print
    records: list[dict] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return Path(self.out) / "cache"

    def key(self, stage: str, params: dict) -> str:
        return fingerprint({"stage": stage, **params})

    def forget(self, stage: str, params: dict) -> None:
        """Mark a finished stage as not done (its next run computes it again)."""
        (self.root / stage / self.key(stage, params) / DONE).unlink(missing_ok=True)

    def run(self, stage: str, dataset: str, params: dict,
            compute: Callable[[Path], tuple[dict[str, pd.DataFrame], dict]]) -> StageResult:
        """``compute(directory)`` returns ``(tables, meta)``; it may keep partial work in ``directory``."""
        key = self.key(stage, params)
        directory = self.root / stage / key
        done = directory / DONE
        started = datetime.now(UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        if done.is_file():
            info = json.loads(done.read_text())
            tables = {name: read_table(directory / f"{name}.parquet") for name in info["tables"]}
            meta, status = info.get("meta", {}), "cached"
        else:
            status = "resumed" if directory.is_dir() else "computed"
            directory.mkdir(parents=True, exist_ok=True)
            self.log(f"{stage}: {'resuming' if status == 'resumed' else 'computing'} ...")
            try:
                tables, meta = compute(directory)
            except BaseException:  # Ctrl-C or an error: record how far it got, keep the partial work
                self.records.append({"stage": stage, "dataset": dataset, "status": "interrupted",
                                     "seconds": round(time.perf_counter() - t0, 3), "key": key,
                                     "started": started})
                raise
            for name, table in tables.items():
                write_table(table.reset_index(drop=True), directory / f"{name}.parquet")
            info = {"stage": stage, "key": key, "params": json.loads(json.dumps(params, default=str)),
                    "tables": sorted(tables), "meta": meta, "seconds": time.perf_counter() - t0,
                    "finished": datetime.now(UTC).isoformat(timespec="seconds")}
            write_text(json.dumps(info, indent=2, sort_keys=True, default=str) + "\n", done)
        seconds = time.perf_counter() - t0
        self.records.append({"stage": stage, "dataset": dataset, "status": status, "seconds": round(seconds, 3),
                             "key": key, "started": started})
        self.log(f"{stage}: {status} in {seconds:.1f} s")
        return StageResult(stage, key, directory, tables, meta, status, seconds)

    def timings(self) -> pd.DataFrame:
        return pd.DataFrame(self.records, columns=TIMING_COLUMNS)

    def write_timings(self, extra: list[dict] | None = None) -> Path:
        """``OUT/timings.tsv`` (this run) and one more block in ``OUT/timings_history.tsv`` (every run)."""
        df = pd.concat([self.timings(), pd.DataFrame(extra or [], columns=TIMING_COLUMNS)], ignore_index=True)
        path = write_table(df, Path(self.out) / "timings.tsv")
        hist = Path(self.out) / "timings_history.tsv"
        old = read_table(hist) if hist.is_file() else pd.DataFrame()
        run = int(old["run"].max()) + 1 if len(old) and "run" in old else 1
        write_table(pd.concat([old, df.assign(run=run)], ignore_index=True), hist)
        return path
