"""Model layer: the miTAR architecture, its configuration, weight import and storage."""

from mirlens.model.architecture import MiTAR, MiTARConfig
from mirlens.model.store import load_model, save_model

__all__ = ["MiTAR", "MiTARConfig", "load_model", "save_model"]
