"""Scoring models on labelled pairs and collecting metrics and curve tables (no drawing here).

Threshold metrics use the probability; AUROC, AUPRC and the curves rank by the logit (float32 probabilities of
strong pairs tie at exactly 1.0, so the curves' ``threshold`` column is in logit units). Targets longer than a
model's slot are scored by their best window (:func:`mirlens.predict.score.score_pair_table`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mirlens.errors import MirlensError
from mirlens.evaluation.curves import curve_tables
from mirlens.evaluation.metrics import DEFAULT_THRESHOLD, binary_metrics
from mirlens.model.architecture import MiTAR
from mirlens.predict.score import score_pair_table


@dataclass
class Evaluation:
    """Metrics (one row per model x data), ROC and PR points (long tables keyed by ``model`` and ``data``), and
    every pair's logit and probability."""

    metrics: pd.DataFrame
    roc: pd.DataFrame
    pr: pd.DataFrame
    predictions: pd.DataFrame


def labelled(pairs: pd.DataFrame, name: str) -> pd.DataFrame:
    if not len(pairs):
        raise MirlensError(f"{name}: no pairs to evaluate")
    if pairs["label"].isna().any():
        n = int(pairs["label"].isna().sum())
        raise MirlensError(f"{name}: {n} pair(s) have no label; evaluation needs a 0/1 label for every pair")
    return pairs


def evaluate_models(models: dict[str, MiTAR], data: dict[str, pd.DataFrame], *,
                    threshold: float = DEFAULT_THRESHOLD, progress=None) -> Evaluation:
    """Score every model on every labelled pair table."""
    metrics, rocs, prs, preds = [], [], [], []
    for data_name, pairs in data.items():
        pairs = labelled(pairs, data_name)
        y = pairs["label"].to_numpy(dtype=np.int64)
        for model_name, model in models.items():
            scores = score_pair_table(model, pairs, progress=progress)
            probs, logits = scores["probability"].to_numpy(), scores["logit"].to_numpy()
            metrics.append({"model": model_name, "data": data_name,
                            **binary_metrics(y, probs, threshold, ranking=logits)})
            roc, pr = curve_tables(y, logits, model=model_name, data=data_name)
            rocs.append(roc)
            prs.append(pr)
            preds.append(pd.DataFrame({"model": model_name, "data": data_name, "mirna_id": pairs["mirna_id"].values,
                                       "target_id": pairs["target_id"].values, "label": y, "logit": logits,
                                       "probability": probs}))
    return Evaluation(pd.DataFrame(metrics), pd.concat(rocs, ignore_index=True), pd.concat(prs, ignore_index=True),
                      pd.concat(preds, ignore_index=True))
