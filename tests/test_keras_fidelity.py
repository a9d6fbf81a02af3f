"""The PyTorch port reproduces the original Keras models (reference outputs in ../shared/refs/keras)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mirlens.data.encoding import encode_pairs
from mirlens.data.readers import read_pairs
from mirlens.model.keras_import import import_keras
from mirlens.predict.score import score_pairs

KERAS_FILES = {
    "miTAR1": "miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5",
    "miTAR2": "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5",
    "miTAR": "miTAR_CNN_BiRNN_b100_lr0.005_dout0.2.h5",
}
CASES = [
    ("miTAR1", "data_DeepMirTar_removeMisMissing_indTest_seed1122.txt"),
    ("miTAR1", "data_DeepMirTar_removeMisMissing_remained_seed1122.txt"),
    ("miTAR1", "data_DeepMirTar_test.txt"),
    ("miTAR2", "data_miRaw_noL_noMisMissing_indTest_seed1122.txt"),
    ("miTAR", "data_DeepMirTar_IndTest_noRepeats_3folds.txt"),
    ("miTAR", "data_miRaw_noL_noMisMissing_indTest_seed1122.txt"),
]


@pytest.fixture(scope="module")
def keras_models(keras_dir):
    return {name: import_keras(keras_dir / fname)[0] for name, fname in KERAS_FILES.items()}


def test_imported_shapes(keras_models):
    assert keras_models["miTAR1"].config.input_len == 79
    assert keras_models["miTAR"].config.input_len == 79
    assert keras_models["miTAR2"].config.input_len == 66
    assert keras_models["miTAR2"].config.steps == 27


@pytest.mark.parametrize("model_name,data_file", CASES)
def test_predictions_match_keras(keras_models, mitar_data_dir, keras_refs, model_name, data_file):
    ref = pd.read_csv(keras_refs / f"pred_{model_name}_{data_file.removesuffix('.txt')}.tsv", sep="\t")
    pairs = read_pairs(mitar_data_dir / data_file, max_mirna_len=None)
    assert len(pairs) == len(ref)
    assert list(pairs["mirna_id"]) == [str(x) for x in ref["mirna_id"]]
    prob = score_pairs(keras_models[model_name], pairs)
    assert np.abs(prob - ref["prob"].to_numpy()).max() <= 1e-5


def test_every_layer_matches_keras(keras_models, mitar_data_dir, keras_refs):
    ref = np.load(keras_refs / "layers_miTAR2_miRaw_indTest_first32.npz")
    pairs = read_pairs(mitar_data_dir / "data_miRaw_noL_noMisMissing_indTest_seed1122.txt").iloc[:32]
    tokens = encode_pairs(pairs["mirna"].tolist(), pairs["target"].tolist(), 40)
    np.testing.assert_array_equal(tokens, ref["tokens"])  # our encoding is the original one
    out = keras_models["miTAR2"].layer_outputs(torch.from_numpy(tokens))
    layer_of = {"embedding": "00_", "conv": "01_", "pool": "03_", "bilstm": "05_", "dense": "07_", "output": "09_"}
    for ours, prefix in layer_of.items():
        (key,) = [k for k in ref.files if k.startswith(prefix)]
        theirs = ref[key].reshape(out[ours].shape)
        assert np.abs(out[ours].numpy() - theirs).max() <= 1e-5, ours
    # dropout layers are identity at inference: their reference outputs equal the previous layer's
    np.testing.assert_array_equal(ref[[k for k in ref.files if k.startswith("02_")][0]],
                                  ref[[k for k in ref.files if k.startswith("01_")][0]])
    # the backward/forward split of the BiLSTM: forward state first (Keras concat order)
    np.testing.assert_allclose(out["bilstm"][:, :32].numpy(), out["lstm_forward"].numpy())


def test_fast_path_equals_layerwise_path(keras_models):
    """The fused conv+pool path used for scoring equals the layer-by-layer path."""
    model = keras_models["miTAR1"]
    tokens = torch.randint(0, 5, (64, 79))
    with torch.no_grad():
        fast = torch.sigmoid(model(tokens))
    slow = model.layer_outputs(tokens)["output"]
    assert torch.abs(fast - slow).max() <= 1e-6


def test_wrong_model_files_are_reported(tmp_path, keras_dir):
    from mirlens.errors import ModelFileError

    not_h5 = tmp_path / "x.h5"
    not_h5.write_text("hello")
    with pytest.raises(ModelFileError, match="not an HDF5 file"):
        import_keras(not_h5)
    with pytest.raises(ModelFileError, match="no such file"):
        import_keras(tmp_path / "missing.h5")
    import h5py

    weights_only = tmp_path / "w.h5"
    with h5py.File(weights_only, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a full Keras model"):
        import_keras(weights_only)
