"""Timing worker for the original Keras model, run by bench_scoring.py under an interpreter that has TensorFlow.

    python keras_worker.py H5 TOKENS.npy BATCH N_SINGLE     -> prints JSON {batched_pairs_per_s, single_pairs_per_s}

Not imported by mirlens; TensorFlow/tf_keras are a benchmark-only dependency.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402


def main() -> None:
    h5, tokens_path, batch, n_single = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    model = keras.models.load_model(h5, compile=False)
    x = np.load(tokens_path).astype(np.int64)
    model.predict(x[:batch], batch_size=batch, verbose=0)  # warm-up (graph tracing)
    t = time.perf_counter()
    probs = model.predict(x, batch_size=batch, verbose=0).reshape(-1)
    batched = len(x) / (time.perf_counter() - t)
    model.predict(x[:1], verbose=0)
    t = time.perf_counter()
    for i in range(n_single):
        model.predict(x[i : i + 1], verbose=0)  # one fragment per call, as the original prediction scripts scan
    single = n_single / (time.perf_counter() - t)
    np.save(tokens_path + ".keras_probs.npy", probs)
    print(json.dumps({"batched_pairs_per_s": batched, "single_pairs_per_s": single}))


if __name__ == "__main__":
    main()
