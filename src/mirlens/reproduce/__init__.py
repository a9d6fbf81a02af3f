"""``mirlens reproduce``: every analysis of Gu et al. (Sci Rep 2021) on both data sets, cached and resumable,
compared with the paper's reported values and rendered as one self-contained HTML report.

>>> from mirlens.reproduce import Settings, run, model_specs
>>> run(Settings(out=Path("repro"), models=model_specs("models/mitar_keras", None, None), quick=True))
"""

from mirlens.reproduce.pipeline import Results, Settings, model_specs, run

__all__ = ["Results", "Settings", "model_specs", "run"]
