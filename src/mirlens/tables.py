"""Result tables on disk: one-shot writes by extension, and chunked stores for long, resumable jobs.

* :func:`write_table` writes a DataFrame as TSV (default), CSV (``.csv``) or Parquet (``.parquet``/``.pq``),
  atomically (a temporary file in the same directory, then a rename), so a crash never leaves half a file.
* :class:`ChunkStore` keeps the results of a long job as numbered Parquet chunks in a directory, each written
  atomically, plus a JSON manifest of the job's parameters. A restarted job asks which chunks are done and skips
  them; a job started with different parameters on the same directory is refused instead of mixing results.
* :class:`Task` is one unit of such a job: a function of the model that computes some of its chunks. The analyses
  define their tasks; a runner (:func:`mirlens.cluster.engine.chunk_runner`: a Dask cluster) runs them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.errors import MirlensError

TABLE_SUFFIXES = {".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | Path, default: str = "tsv") -> str:
    return TABLE_SUFFIXES.get(Path(path).suffix.lower(), default)


def plain_file_mode() -> int:
    """The permissions a plain ``open(path, "w")`` gives a new file: 0666 minus the umask. Temporary files
    (``mkstemp``) and safetensors writes get 0600; outputs are set to this before they are renamed into place."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_target(path: Path) -> tuple[int, Path]:
    """A temporary file next to ``path`` (renamed onto it when complete), with :func:`plain_file_mode`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, plain_file_mode())
    return fd, Path(tmp)


def write_table(df: pd.DataFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``df`` to ``path`` atomically; the format follows the extension unless ``fmt`` is given."""
    path = Path(path)
    fmt = fmt or table_format(path)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        elif fmt in ("tsv", "csv"):
            sep = "\t" if fmt == "tsv" else ","
            text = _preformat_floats(df)
            fast = _arrow_text(text, sep)
            if fast is not None:
                tmp.write_bytes(fast)
            else:
                text.to_csv(tmp, sep=sep, index=False, float_format="%.7g")
        else:
            raise MirlensError(f"unknown table format {fmt!r} (tsv, csv or parquet)")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _preformat_floats(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its numpy float columns already written as ``%.7g`` text (missing values empty): the same bytes
    as pandas' ``float_format="%.7g"``, without pandas' per-value formatter calls (~5x faster on large tables)."""
    floats = [c for c, dtype in df.dtypes.items() if getattr(dtype, "kind", "") == "f"]
    if not floats:
        return df
    out = df.copy(deep=False)
    for col in floats:
        values = out[col].to_numpy()
        text = np.array(list(map("%.7g".__mod__, values.tolist())), dtype=object)
        text[np.isnan(values)] = ""
        out[col] = text
    return out


_NEEDS_QUOTING = ('"', "\n", "\r")


def _arrow_text(df: pd.DataFrame, sep: str) -> bytes | None:
    """``df`` (floats already text, :func:`_preformat_floats`) as the bytes of pandas' ``to_csv(sep=sep,
    index=False)``, written by Arrow's CSV writer (~5x faster on large tables); None where the two could differ: a
    name or value that needs quoting, one column (pandas quotes an empty field alone on its line), a column that is
    not integers, booleans or text."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = list(df.columns)
    if len(names) < 2 or not all(isinstance(c, str) and not any(q in c for q in (sep, *_NEEDS_QUOTING))
                                 for c in names):
        return None
    arrays = []
    for name, dtype in df.dtypes.items():
        values = df[name]
        kind = getattr(dtype, "kind", "")
        if isinstance(dtype, pd.CategoricalDtype) or kind not in ("i", "u", "b", "O"):
            return None
        if kind == "b":  # pandas writes True / False
            values = values.map({True: "True", False: "False"})
        try:
            arr = pa.array(values, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            return None
        if not (pa.types.is_integer(arr.type) or pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
                or pa.types.is_null(arr.type)):
            return None
        arrays.append(arr)
    sink = pa.BufferOutputStream()
    try:
        pa_csv.write_csv(pa.table(arrays, names=names), sink,
                         pa_csv.WriteOptions(include_header=False, delimiter=sep, quoting_style="none"))
    except pa.ArrowInvalid:  # a value holds the separator, a quote or a line break: pandas quotes it
        return None
    return (sep.join(names) + "\n").encode() + sink.getvalue().to_pybytes()


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    fmt = table_format(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",")


class ChunkStore:
    """A directory of atomically written Parquet chunks ``chunk-000000.parquet`` ... plus ``manifest.json``.

    ``params`` identify the job (model, data, settings); reopening a directory with other params raises
    :class:`MirlensError` unless ``overwrite=True`` (which deletes the old chunks).
    """

    MANIFEST = "manifest.json"

    def __init__(self, directory: str | Path, params: dict, *, overwrite: bool = False):
        self.directory = Path(directory)
        self.params = json.loads(json.dumps(params, sort_keys=True, default=str))
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = self.directory / self.MANIFEST
        if manifest.exists():
            old = json.loads(manifest.read_text())
            if old.get("params") != self.params:
                if not overwrite:
                    raise MirlensError(
                        f"{self.directory} holds results of a different job; use another output directory "
                        "or --overwrite"
                    )
                self.clear()
        if not manifest.exists():
            write_text(json.dumps({"params": self.params}, indent=2, sort_keys=True) + "\n", manifest)

    def chunk_path(self, index: int) -> Path:
        return self.directory / f"chunk-{index:06d}.parquet"

    def done(self) -> set[int]:
        return {int(p.stem.split("-")[1]) for p in self.directory.glob("chunk-*.parquet")}

    def write(self, index: int, df: pd.DataFrame) -> None:
        write_table(df, self.chunk_path(index), "parquet")

    def read(self, indices: Iterable[int] | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        chosen = sorted(self.done() if indices is None else indices)
        if not chosen:
            return pd.DataFrame()
        return pd.concat([pd.read_parquet(self.chunk_path(i), columns=columns) for i in chosen], ignore_index=True)

    def clear(self) -> None:
        for p in self.directory.glob("chunk-*.parquet"):
            p.unlink()
        (self.directory / self.MANIFEST).unlink(missing_ok=True)


@dataclass
class Task:
    """One task of a chunked job: ``fn(model, *args) -> {chunk: DataFrame}`` computes ``chunks`` of its
    :class:`ChunkStore`; ``weight`` is what it adds to a progress bar when it completes. ``fn`` is a module-level
    function (a worker imports it by name)."""

    fn: Callable
    args: tuple
    chunks: Sequence[int]
    weight: int = 1


ChunkRunner = Callable[[ChunkStore, Sequence[Task], Callable[[int], None] | None], object]
"""Runs the tasks of a :class:`ChunkStore` whose chunks are not all written yet, elsewhere (each task writes its own
chunks), calling ``progress(weight)`` as each completes: ``runner(store, tasks, progress)``."""


def table_fingerprint(pairs: pd.DataFrame, columns=("mirna", "target")) -> str:
    """Hash of a pair table's sequences (identifies a job's input in its manifest)."""
    import hashlib

    h = hashlib.sha256()
    for col in columns:
        h.update(pd.util.hash_pandas_object(pairs[col], index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]
