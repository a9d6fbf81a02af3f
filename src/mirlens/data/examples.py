"""Example inputs shipped inside the package (written for mirlens; see scripts/make_examples.py)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

EXAMPLE_FILES = ("mirnas.fa", "utrs.fa", "pairs.tsv")


def example_path(name: str) -> Path:
    """Path of a shipped example file: ``mirnas.fa`` (5 human miRNAs), ``utrs.fa`` (synthetic 3'UTRs with planted
    8mer sites and a control), ``pairs.tsv`` (site-level pairs for ``mirlens score``)."""
    if name not in EXAMPLE_FILES:
        raise ValueError(f"unknown example {name!r}; choose from {', '.join(EXAMPLE_FILES)}")
    return Path(str(resources.files("mirlens") / "examples" / name))
