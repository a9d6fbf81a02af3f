"""Shared-step window scoring equals scoring every window's token row, for real and odd-shaped models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlens.model.architecture import MiTAR, MiTARConfig
from mirlens.model.store import load_model
from mirlens.data.fasta import FastaRecord
from mirlens.predict import sliding as sliding_module
from mirlens.predict.scan import ScanSettings, mirna_prefix, scan
from mirlens.predict.score import score_tokens
from mirlens.predict.sliding import SlidingScorer, StepKinds, sliding_is_cheaper
from mirlens.predict.windows import window_starts, window_tokens


def rows_of(prefix: np.ndarray, utrs: list[np.ndarray], starts: list[np.ndarray], window: int) -> np.ndarray:
    parts = [window_tokens(u, s, window) for u, s in zip(utrs, starts)]
    target = np.concatenate(parts)
    return np.concatenate([np.broadcast_to(prefix, (len(target), len(prefix))), target], axis=1)


def random_utrs(rng: np.random.Generator, lengths: list[int]) -> list[np.ndarray]:
    """Random sequence with long single-letter runs (windows over runs score low, so the outputs vary)."""
    utrs = []
    for n in lengths:
        u = rng.integers(1, 5, n).astype(np.uint8)
        for a in range(0, n, 150):
            u[a : a + 60] = 1 + (a // 150) % 4
        utrs.append(u)
    return utrs


@pytest.mark.parametrize("name", ["miraw", "combined"])
@pytest.mark.parametrize("step", [1, 2, 3, 15])
def test_sliding_equals_row_by_row_on_bundled_models(name, step):
    model = load_model(name).eval()
    rng = np.random.default_rng(step)
    w = model.config.target_slot
    utrs = random_utrs(rng, [w - 7, w, w + 1, 300, 1001])  # shorter than the window (padded), equal, longer
    starts = [window_starts(len(u), w, step) for u in utrs]
    prefix = mirna_prefix("UGAGGUAGUAGGUUGUAUAGUU")
    rows = rows_of(prefix, utrs, starts, w)
    scorer = SlidingScorer(model, prefix)
    expected = score_tokens(model, rows)
    got = scorer.score(utrs, starts, batch_size=97)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-5
    with torch.inference_mode():  # logits too: these models saturate near 1 on random UTRs
        expected_logits = model(torch.from_numpy(rows.astype(np.int64))).numpy()
    got_logits = scorer.score(utrs, starts, logits=True)
    assert np.abs(got_logits - expected_logits).max() <= 1e-4
    assert expected_logits.std() > 1.0  # the comparison is not between constant outputs


@pytest.mark.parametrize("cfg", [
    MiTARConfig(target_slot=20, conv_width=7, pool=3, conv_filters=16, lstm_units=8),
    MiTARConfig(target_slot=31, mirna_slot=9, conv_width=12, pool=2, conv_filters=24, lstm_units=5),
    MiTARConfig(target_slot=12, mirna_slot=4, conv_width=5, pool=2, conv_filters=8, lstm_units=4),  # no miRNA step
])
def test_sliding_handles_other_shapes(cfg):
    torch.manual_seed(0)
    model = MiTAR(cfg).eval()
    with torch.no_grad():  # larger weights so that outputs vary
        for p in model.parameters():
            p.mul_(3.0)
    rng = np.random.default_rng(1)
    prefix = rng.integers(0, 5, cfg.mirna_slot).astype(np.uint8)
    utrs = random_utrs(rng, [3, cfg.target_slot + 2, 200])
    starts = [window_starts(len(u), cfg.target_slot, 1) for u in utrs]
    expected = score_tokens(model, rows_of(prefix, utrs, starts, cfg.target_slot))
    got = SlidingScorer(model, prefix).score(utrs, starts)
    assert np.abs(got - expected).max() <= 1e-5


def test_step_kinds_of_mitar2_and_mitar1():
    k2 = StepKinds.of(MiTARConfig(target_slot=40))
    assert (k2.n_mirna, k2.first_target, k2.steps) == (7, 13, 27)  # conv 0..13 miRNA only, 26.. target only
    k1 = StepKinds.of(MiTARConfig(target_slot=53))
    assert (k1.n_mirna, k1.n_junction, k1.n_target) == (7, 6, 21)


def test_cost_model_prefers_sliding_only_for_dense_windows():
    cfg = MiTARConfig(target_slot=40)
    assert sliding_is_cheaper(cfg, n_windows=1461, n_nt=1500)  # step 1
    assert sliding_is_cheaper(cfg, n_windows=150, n_nt=1500)  # step 10
    assert not sliding_is_cheaper(cfg, n_windows=5, n_nt=1500)  # a few candidate sites


def test_rejects_windows_outside_the_target():
    model = load_model("miraw")
    scorer = SlidingScorer(model, mirna_prefix("UGAGGUAGUAGGUUGUAUAGUU"))
    with pytest.raises(ValueError, match="outside"):
        scorer.score([np.ones(100, dtype=np.uint8)], [np.array([61])])


def test_computed_junction_steps_match_when_tables_are_off(monkeypatch):
    monkeypatch.setattr(sliding_module, "MEMO_MAX_ROWS", 0)
    monkeypatch.setattr(sliding_module, "MAX_UTR_NT_PER_GROUP", 500)  # several groups
    model = load_model("miraw").eval()
    prefix = mirna_prefix("UAGCUUAUCAGACUGAUGUUGA")
    scorer = SlidingScorer(model, prefix)
    assert scorer.tables == []
    utrs = random_utrs(np.random.default_rng(5), [90, 400, 333])
    starts = [window_starts(len(u), 40, 1) for u in utrs]
    expected = score_tokens(model, rows_of(prefix, utrs, starts, 40))
    assert np.abs(scorer.score(utrs, starts, batch_size=64) - expected).max() <= 1e-5


def test_scan_uses_shared_steps_for_dense_windows_and_equals_row_scoring(tmp_path, monkeypatch):
    model = load_model("miraw").eval()
    rng = np.random.default_rng(7)
    utrs = random_utrs(rng, [35, 250, 600])
    fasta = tmp_path / "utrs.fa"
    fasta.write_text("".join(f">u{i}\n{''.join('NAUCG'[t] for t in u)}\n" for i, u in enumerate(utrs)))
    mirna = FastaRecord("miR-21", "", "UAGCUUAUCAGACUGAUGUUGA", 1, 1)
    calls = []
    original = SlidingScorer.score
    monkeypatch.setattr(SlidingScorer, "score", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    for step in (1, 40):
        before = len(calls)
        windows = scan(model, [mirna], fasta, tmp_path / f"store{step}", ScanSettings(step=step))
        starts = [window_starts(len(u), 40, step) for u in utrs]
        expected = score_tokens(model, rows_of(mirna_prefix(mirna.seq), utrs, starts, 40))
        assert np.abs(windows["probability"].to_numpy() - expected).max() <= 1e-5
        assert len(calls) - before == (1 if step == 1 else 0)  # step 40 (no overlap): row by row is cheaper
