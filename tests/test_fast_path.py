"""The inference fast path equals the layer-by-layer path on random models and follows weight changes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlens.model.architecture import MiTAR, MiTARConfig, mirna_runs


@pytest.mark.parametrize("slot", [40, 53])
def test_fast_path_equals_layerwise_and_tracks_weight_updates(slot):
    torch.manual_seed(slot)
    model = MiTAR(MiTARConfig(target_slot=slot)).eval()
    x = torch.randint(0, 5, (37, model.config.input_len))
    with torch.no_grad():
        layerwise = model.head(model.lstm(model.conv_pool(x)))
        assert (model(x) - layerwise).abs().max() <= 1e-5
        model.lstm.recurrent.mul_(2.0)  # an in-place update (as an optimizer step) must not leave stale folding
        model.lstm.bias.add_(0.1)
        layerwise = model.head(model.lstm(model.conv_pool(x)))
        assert (model(x) - layerwise).abs().max() <= 1e-5
    assert model(x).requires_grad  # with autograd on, forward takes the differentiable path


@pytest.mark.parametrize("cfg", [MiTARConfig(target_slot=40), MiTARConfig(target_slot=53),
                                 MiTARConfig(target_slot=12, mirna_slot=4, conv_width=5, conv_filters=8)])
def test_rows_sharing_a_mirna_share_its_steps_and_give_the_same_logits(cfg):
    torch.manual_seed(3)
    model = MiTAR(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)  # outputs vary (relu LSTM states of larger weights grow fast: 2.5x already amplifies rounding)
    x = torch.randint(0, 5, (64, cfg.input_len))
    mirnas = torch.randint(0, 5, (3, cfg.mirna_slot))
    x[:, : cfg.mirna_slot] = mirnas[torch.arange(64) // 22]  # 3 runs of one miRNA each: steps shared
    shuffled = torch.cat((x[:40], x[40:].flip(0)))
    shuffled[::5, : cfg.mirna_slot] = mirnas[2]  # equal miRNAs that are not adjacent: exact all the same
    with torch.no_grad():
        for rows in (x, shuffled):
            layerwise = model.head(model.lstm(model.conv_pool(rows)))
            fast = model(rows)
            assert layerwise.std() > 0.03
            assert (fast - layerwise).abs().max() <= 1e-5 * max(1.0, layerwise.abs().max().item())
    assert len(mirna_runs(x[:, : cfg.mirna_slot])[0]) == 3


def test_score_tokens_groups_by_mirna_but_keeps_row_order():
    from mirlens.predict.score import mirna_order, score_tokens

    torch.manual_seed(4)
    model = MiTAR(MiTARConfig(target_slot=40)).eval()
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 5, (300, 66)).astype(np.uint8)
    tokens[:, :26] = rng.integers(0, 5, (5, 26))[rng.integers(0, 5, 300)]
    order = mirna_order(tokens, model)
    assert sorted(order) == list(range(300))
    keys = [tokens[i, :26].tobytes() for i in order]
    assert sum(a != b for a, b in zip(keys, keys[1:])) == 4  # five runs, one per miRNA
    got = score_tokens(model, tokens, batch_size=64)
    with torch.no_grad():
        one_by_one = torch.sigmoid(model.head(model.lstm(model.conv_pool(torch.from_numpy(tokens).long()))))
    assert np.abs(got - one_by_one.numpy()).max() <= 1e-5
