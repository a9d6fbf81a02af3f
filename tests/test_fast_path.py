"""The inference fast path equals the layer-by-layer path on random models and follows weight changes."""

from __future__ import annotations

import pytest
import torch

from mirlens.model.architecture import MiTAR, MiTARConfig


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
