"""Duplex results cached per (miRNA, target, backend): Parquet parts in one directory per backend version.

A key is the sha256 of the two sequences (upper case, T read as U). Each :meth:`DuplexCache.store` writes one new
part atomically, so concurrent or interrupted runs never corrupt what is there; :meth:`lookup` reads every part.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mirlens.tables import write_table

CACHE_ENV = "MIRLENS_DUPLEX_CACHE"
BACKEND_VERSIONS = {"miranda": "miranda19-v4", "duplexfold": "duplexfold-v1", "rnahybrid": "rnahybrid-v1"}
"""Directory per backend; bump a version when its results change so old entries are not reused."""


def default_cache_dir() -> Path:
    """``$MIRLENS_DUPLEX_CACHE``, else ``$XDG_CACHE_HOME/mirlens/duplex`` (``~/.cache/mirlens/duplex``)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "mirlens" / "duplex"


def normalise(seq: str) -> str:
    return seq.strip().upper().replace("T", "U")


def pair_key(mirna: str, target: str) -> str:
    return hashlib.sha256(f"{normalise(mirna)}\n{normalise(target)}".encode()).hexdigest()[:32]


class DuplexCache:
    """Results of one or more backends under ``directory`` (default :func:`default_cache_dir`)."""

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self._loaded: dict[str, pd.DataFrame] = {}

    def _dir(self, backend: str) -> Path:
        return self.directory / BACKEND_VERSIONS.get(backend, backend)

    def _table(self, backend: str) -> pd.DataFrame:
        if backend not in self._loaded:
            parts = sorted(self._dir(backend).glob("part-*.parquet"))
            frames = [pd.read_parquet(p) for p in parts]
            df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"key": pd.Series(dtype=str)})
            self._loaded[backend] = df.drop_duplicates("key", keep="last").set_index("key")
        return self._loaded[backend]

    def lookup(self, backend: str, keys: Sequence[str]) -> pd.DataFrame:
        """Cached rows (indexed by key) for those of ``keys`` that are present."""
        table = self._table(backend)
        return table.loc[table.index.intersection(pd.Index(keys))]

    def store(self, backend: str, rows: pd.DataFrame) -> None:
        """Add rows (a ``key`` column plus result columns) as one new part."""
        if rows.empty:
            return
        write_table(rows.reset_index(drop=True), self._dir(backend) / f"part-{uuid.uuid4().hex}.parquet")
        self._loaded.pop(backend, None)
