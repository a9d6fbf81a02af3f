"""A pair set ready for mutagenesis: the pair table, its token matrix for one model width, and per-pair lengths."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mirlens.data.alphabet import TOKENS
from mirlens.data.coordinates import MIRNA, TARGET
from mirlens.data.encoding import MIRNA_SLOT, encode_pairs
from mirlens.errors import InputError, MirlensError


@dataclass
class PairSet:
    """``pairs`` (a pair table, index 0..n-1), ``tokens`` (n, width) uint8, miRNA and target lengths (n,)."""

    pairs: pd.DataFrame
    tokens: np.ndarray
    mirna_lens: np.ndarray
    target_lens: np.ndarray
    name: str = ""
    info: dict = field(default_factory=dict)

    @classmethod
    def from_pairs(cls, pairs: pd.DataFrame, width: int, *, name: str = "", info: dict | None = None) -> PairSet:
        """Encode a pair table (``mirna``/``target`` columns, 5'->3') for a model input of ``width`` tokens."""
        for col in ("mirna", "target"):
            if col not in pairs:
                raise InputError(f"pair table has no {col!r} column")
        if width <= MIRNA_SLOT:
            raise MirlensError(f"model input width {width} leaves no room for a target")
        pairs = pairs.reset_index(drop=True)
        from mirlens.predict.score import pair_names

        names = pair_names(pairs) if {"mirna_id", "target_id"} <= set(pairs) else None
        tokens = encode_pairs(pairs["mirna"].tolist(), pairs["target"].tolist(), width - MIRNA_SLOT, names=names)
        return cls(pairs, tokens, pairs["mirna"].str.len().to_numpy(np.int64),
                   pairs["target"].str.len().to_numpy(np.int64), name=name, info=dict(info or {}))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def width(self) -> int:
        return int(self.tokens.shape[1])

    @property
    def labels(self) -> np.ndarray:
        if "label" not in self.pairs:
            return np.full(len(self), -1)
        return self.pairs["label"].fillna(-1).to_numpy(np.int64)

    def subset(self, rows: np.ndarray, *, name: str | None = None, info: dict | None = None) -> PairSet:
        """The pairs at ``rows`` (integer positions or a boolean mask), renumbered from 0."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.nonzero(rows)[0]
        return PairSet(self.pairs.iloc[rows].reset_index(drop=True), self.tokens[rows], self.mirna_lens[rows],
                       self.target_lens[rows], name=self.name if name is None else name,
                       info={**self.info, **(info or {})})

    def sample(self, n: int, seed: int = 0) -> PairSet:
        """``n`` pairs drawn without replacement by ``np.random.default_rng(seed).choice`` (the sampling used for
        the Keras reference scans), in the order drawn."""
        if n >= len(self):
            return self
        rows = np.random.default_rng(seed).choice(len(self), n, replace=False)
        return self.subset(rows, info={"sample": n, "sample_seed": seed})

    def nucleotides(self) -> pd.DataFrame:
        """Every real nucleotide of every pair, one row each: ``pair``, ``side`` ("mirna" / "target"), ``position``
        (biological: L from the miRNA's 5' end, LT from the target's 3' end, per pair), ``nucleotide`` and ``index``
        (its column in :attr:`tokens`) -- the mapping of :mod:`mirlens.data.coordinates`, vectorised."""
        n, width = self.tokens.shape
        idx = np.arange(width)[None, :]
        m_len, t_len = self.mirna_lens[:, None], self.target_lens[:, None]
        is_m = idx < m_len
        is_t = (idx >= MIRNA_SLOT) & (idx < MIRNA_SLOT + t_len)
        rows, cols = np.nonzero(is_m | is_t)
        mirna = is_m[rows, cols]
        letters = np.frombuffer(TOKENS.encode(), dtype=np.uint8)
        return pd.DataFrame({
            "pair": rows, "side": np.where(mirna, MIRNA, TARGET),
            "position": np.where(mirna, m_len[rows, 0] - cols, MIRNA_SLOT + t_len[rows, 0] - cols),
            "nucleotide": letters[self.tokens[rows, cols]].view("S1").astype(str), "index": cols})

    def fingerprint(self) -> str:
        """Hash of the encoded pairs and their lengths (identifies the input of a stored job)."""
        h = hashlib.sha256()
        for a in (self.tokens, self.mirna_lens, self.target_lens):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


def load_pairs(data: str | Path, part: str = "train", *, data_dir: str | Path | None = None) -> pd.DataFrame:
    """A pair table from a data set name (``deepmirtar``, ``miraw``, ``combined``) and part, or a pair file."""
    from mirlens.data.datasets import list_datasets, load_dataset
    from mirlens.data.readers import read_pairs

    spec = str(data)
    if spec in list_datasets():
        return load_dataset(spec, part, data_dir=data_dir)
    path = Path(spec).expanduser()
    if path.exists():
        return read_pairs(path)
    raise InputError(f"{spec!r} is neither a data set ({', '.join(list_datasets())}) nor a pair file")
