"""Shared bits of the benchmark scripts: the machine's GEMM yardstick, timing, and locating ../shared."""

from __future__ import annotations

import os
import time
from pathlib import Path

import mirlens  # noqa: F401  (first: sets OMP_WAIT_POLICY=PASSIVE before torch loads OpenMP, as users get it)
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIRLENS_SHARED", REPO.parent / "shared"))
KERAS_DIR = SHARED / "models" / "mitar_keras"
DATA_DIR = SHARED / "data" / "mitar"
MITAR2_H5 = KERAS_DIR / "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5"


def best_of(fn, repeats: int = 3) -> float:
    """Fastest wall time of ``repeats`` calls of ``fn`` (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def gemm_gflops(dtype: torch.dtype = torch.float32, n: int = 2048, repeats: int = 5) -> float:
    """This machine's torch.mm rate on n x n matrices now (GFLOP/s): the yardstick every figure is compared to."""
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    return 2 * n**3 / best_of(lambda: torch.mm(a, b), repeats) / 1e9


def header(title: str) -> None:
    print(f"== {title} (torch {torch.__version__}, {torch.get_num_threads()} threads) ==")
