"""Read the original miTAR Keras 2.2.4 HDF5 models with h5py (no TensorFlow) into :class:`MiTAR`."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import torch

from mirlens.errors import ModelFileError
from mirlens.model.architecture import MiTAR, MiTARConfig

_EXPECTED = ["Embedding", "Conv1D", "Dropout", "MaxPooling1D", "Dropout", "Bidirectional", "Dropout", "Dense",
             "Dropout", "Dense"]


def _fail(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(f"{path}: {problem}")


def read_keras_config(path: Path) -> tuple[list[dict], dict]:
    """The layer configs and file attributes of a Keras HDF5 model file."""
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except OSError as exc:
        raise _fail(path, f"not an HDF5 file ({exc.__class__.__name__})") from None
    with f:
        if "model_config" not in f.attrs:
            raise _fail(path, "no model_config in the file: not a full Keras model (weights-only files are not enough)")
        raw = f.attrs["model_config"]
        cfg = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items() if k != "model_config"}
    layers = cfg.get("config", {})
    layers = layers.get("layers", layers) if isinstance(layers, dict) else layers
    if not isinstance(layers, list):
        raise _fail(path, "unreadable model_config")
    return layers, attrs


def config_from_keras(path: Path, layers: list[dict]) -> tuple[MiTARConfig, list[str]]:
    """Check the layer stack is miTAR's and derive the config; returns it and the weighted layers' names."""
    classes = [layer.get("class_name") for layer in layers]
    if classes != _EXPECTED:
        raise _fail(path, f"not a miTAR model: layers {classes}, expected {_EXPECTED}")
    emb, conv, drop, pool, _, bi, _, dense, _, out = (layer["config"] for layer in layers)
    lstm = bi["layer"]["config"]
    checks = [
        (conv.get("activation") == "relu" and conv.get("padding") == "valid", "Conv1D must be relu/valid"),
        (pool.get("pool_size") in ([2], 2) and pool.get("strides") in ([2], 2), "MaxPooling1D must be 2/2"),
        (lstm.get("activation") == "relu", f"LSTM activation {lstm.get('activation')!r}, expected 'relu'"),
        (lstm.get("recurrent_activation") == "hard_sigmoid",
         f"LSTM recurrent activation {lstm.get('recurrent_activation')!r}, expected 'hard_sigmoid'"),
        (not lstm.get("return_sequences") and bi.get("merge_mode") == "concat", "BiLSTM must return concat states"),
        (dense.get("activation") == "relu" and out.get("activation") == "sigmoid" and out.get("units") == 1,
         "dense layers must be relu then one sigmoid unit"),
    ]
    for ok, problem in checks:
        if not ok:
            raise _fail(path, problem)
    input_len = int(emb["batch_input_shape"][1] if "batch_input_shape" in emb else emb["input_length"])
    config = MiTARConfig(
        target_slot=input_len - 26,
        vocab=int(emb["input_dim"]),
        embed_dim=int(emb["output_dim"]),
        conv_filters=int(conv["filters"]),
        conv_width=int(conv["kernel_size"][0]),
        pool=2,
        lstm_units=int(lstm["units"]),
        dense_units=int(dense["units"]),
        dropout=float(drop.get("rate", 0.0)),
    )
    names = [layers[i]["config"]["name"] for i in (0, 1, 5, 7, 9)]
    return config, names


def _weights(f: h5py.File, layer: str) -> dict[str, np.ndarray]:
    group = f["model_weights"][layer] if "model_weights" in f else f[layer]
    names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
    return {n.split("/", 1)[-1].split(":")[0]: np.asarray(group[n]) for n in names}


def import_keras(path: str | Path) -> tuple[MiTAR, dict]:
    """Load an original miTAR ``.h5`` file; returns the model (eval mode) and a card describing its source."""
    path = Path(path)
    layers, attrs = read_keras_config(path)
    config, (emb, conv, bi, dense, out) = config_from_keras(path, layers)
    model = MiTAR(config)
    try:
        with h5py.File(path, "r") as f:
            w_emb, w_conv, w_bi = _weights(f, emb), _weights(f, conv), _weights(f, bi)
            w_dense, w_out = _weights(f, dense), _weights(f, out)
    except KeyError as exc:
        raise _fail(path, f"missing weights ({exc})") from None

    def pick(d: dict[str, np.ndarray], suffix: str) -> np.ndarray:
        hits = [v for k, v in d.items() if k.endswith(suffix)]
        if len(hits) != 1:
            raise _fail(path, f"expected one weight named *{suffix}, found {len(hits)}")
        return hits[0]

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    with torch.no_grad():
        try:
            model.embedding.weight.copy_(t(pick(w_emb, "embeddings")))
            model.conv.weight.copy_(t(pick(w_conv, "kernel").transpose(2, 1, 0)))
            model.conv.bias.copy_(t(pick(w_conv, "bias")))
            for d, direction in enumerate(("forward", "backward")):
                sub = {k: v for k, v in w_bi.items() if f"{direction}_" in k}
                model.lstm.kernel[d].copy_(t(pick(sub, "/kernel")))
                model.lstm.recurrent[d].copy_(t(pick(sub, "recurrent_kernel")))
                model.lstm.bias[d].copy_(t(pick(sub, "bias")))
            model.dense.weight.copy_(t(pick(w_dense, "kernel").T))
            model.dense.bias.copy_(t(pick(w_dense, "bias")))
            model.out.weight.copy_(t(pick(w_out, "kernel").T))
            model.out.bias.copy_(t(pick(w_out, "bias")))
        except RuntimeError as exc:  # shape mismatch
            raise _fail(path, f"weights do not fit the architecture in its config ({exc})") from None
    model.eval()
    card = {
        "source": f"imported from original Keras file {path.name}",
        "keras_version": str(attrs.get("keras_version", "")),
        "keras_backend": str(attrs.get("backend", "")),
        "original_file": path.name,
    }
    card.update(provenance_of(path))
    return model, card


def provenance_of(path: Path) -> dict:
    """The file's sha256 and, when it is a published version of an original miTAR file, that version's provenance
    (:mod:`mirlens.model.originals`: version, date, commit, path, which paper analyses used it)."""
    from mirlens.data.download import sha256_file
    from mirlens.model.originals import BY_SHA256

    digest = sha256_file(path)
    known = BY_SHA256.get(digest)
    if known is None:
        return {"original_sha256": digest}
    return {**known.provenance(), "source": f"original miTAR file {known.key} (tjgu/miTAR {known.commit[:7]}, "
                                            f"{known.date}: {known.path})"}
