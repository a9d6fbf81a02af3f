"""The model families behind one interface, and building a model from its stored configuration.

Every family takes the same input (the token rows of :mod:`mirlens.data.encoding`) and offers ``config``
(``target_slot``, ``mirna_slot``, ``input_len``, ``to_dict``), ``forward(tokens) -> logits``, ``predict_proba``,
``layer_outputs`` and ``training_logits(tokens, masks)``, so scoring, scans, mutagenesis, layer correlations and
training run on any of them.

==============  =====================================================================================
architecture    family
==============  =====================================================================================
``mitar``       :class:`~mirlens.model.architecture.MiTAR`: the paper's CNN + BiLSTM on the token sequence
``pairing``     :class:`~mirlens.model.pairing.PairingModel`: a CNN on the miRNA x target pairing map
==============  =====================================================================================

A stored configuration without an ``architecture`` key is a miTAR model (every model written before the key
existed).
"""

from __future__ import annotations

from typing import Union

from mirlens.model.architecture import MiTAR, MiTARConfig
from mirlens.model.pairing import ARCHITECTURE as PAIRING, PairingConfig, PairingModel

MITAR = "mitar"
ARCHITECTURES: tuple[str, ...] = (PAIRING, MITAR)

Model = Union[MiTAR, PairingModel]
Config = Union[MiTARConfig, PairingConfig]


def architecture_of(config: dict | Config) -> str:
    """The family name of a configuration (a dict as stored, or a config object)."""
    if isinstance(config, dict):
        return config.get("architecture", MITAR)
    return PAIRING if isinstance(config, PairingConfig) else MITAR


def make_config(architecture: str, **sizes) -> Config:
    """A configuration of ``architecture`` with ``sizes`` (``None`` values keep the family's defaults)."""
    sizes = {k: v for k, v in sizes.items() if v is not None}
    if architecture == PAIRING:
        return PairingConfig(**sizes)
    if architecture == MITAR:
        return MiTARConfig(**sizes)
    raise ValueError(f"unknown model architecture {architecture!r}; choose from {', '.join(ARCHITECTURES)}")


def config_from_dict(d: dict) -> Config:
    arch = architecture_of(d)
    if arch == PAIRING:
        return PairingConfig.from_dict(d)
    if arch == MITAR:
        return MiTARConfig.from_dict(d)
    raise ValueError(f"unknown model architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")


def build_model(config: dict | Config) -> Model:
    """A freshly initialised model of the family and sizes of ``config``."""
    if isinstance(config, dict):
        config = config_from_dict(config)
    return PairingModel(config) if isinstance(config, PairingConfig) else MiTAR(config)


def fit_target_slot(model: Model, longest_target: int) -> Model:
    """``model``, or for a pairing model whose target slot is shorter than ``longest_target`` the same model with
    a slot that fits (:meth:`PairingModel.with_target_slot`), so that analyses needing whole targets (mutagenesis,
    layer correlations) run on longer targets too. miTAR models keep their slot (their weights depend on it)."""
    if isinstance(model, PairingModel) and longest_target > model.config.target_slot:
        return model.with_target_slot(longest_target)
    return model
