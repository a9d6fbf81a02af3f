"""Every published version of the original miTAR Keras files (tjgu/miTAR), and which of them the paper used.

The authors replaced ``results/miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5`` on 2020-12-28 (commit 72274f6); the
interpretation paper (Gu et al., Sci Rep 2021) analysed the earlier file (commit f38a5f7, 2020-03-09) for its
DeepMirTar results. miTAR2 and miTAR did not change after 2020-03-09 (only moved to ``scripts_data_models/``), so
their current files are the paper's. Each version is pinned by commit, path and sha256; ``mirlens models
fetch-keras`` downloads every version from the repository's raw files at that commit and imports it under
:attr:`OriginalVersion.model_name` (``keras-miTAR1@2020-03`` beside ``keras-miTAR1``).

The evidence that the paper used miTAR1 of 2020-03 (:data:`PAPER_EVIDENCE`): on the 3,908 DeepMirTar positives,
mutating to N reduces the mean probability by seed 0.162, L4-4 0.165, L13-4 0.478, seed+L13-4 0.719, L4-4+L13-4
0.720 (paper Fig. 6: ~0.16, ~0.16, ~0.48, ~0.72, ~0.72) and the features called from the single-nucleotide impact
are L13-4 (summit L14) and L4-4 (summit L7), as in its Fig. 3; the current file gives 0.234 / 0.236 / 0.473 /
0.676 / 0.649 and other features.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mirlens.data.download import sha256_file
from mirlens.data.registry import MITAR_REPO
from mirlens.errors import InputError

_RAW = "https://raw.githubusercontent.com/" + MITAR_REPO


@dataclass(frozen=True, slots=True)
class OriginalVersion:
    """One published version of an original miTAR Keras file."""

    model: str        # miTAR1 (DeepMirTar), miTAR2 (miRAW), miTAR (both)
    version: str      # the version's date, YYYY-MM
    date: str         # the commit that published these bytes (YYYY-MM-DD)
    commit: str       # tjgu/miTAR commit (40 hex) whose raw file is downloaded
    path: str         # path of the file in the repository at that commit
    sha256: str
    current: bool     # still the file in the repository today
    paper: str        # which of the paper's analyses used it ("" = none)
    note: str = ""

    @property
    def file(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def url(self) -> str:
        return f"{_RAW}/{self.commit}/{self.path}"

    @property
    def key(self) -> str:
        """``miTAR1@2020-03``."""
        return f"{self.model}@{self.version}"

    @property
    def model_name(self) -> str:
        """The name ``fetch-keras`` imports it as: ``keras-miTAR1`` for a current file, ``keras-miTAR1@2020-03``
        for an earlier one."""
        return f"keras-{self.model}" if self.current else f"keras-{self.key}"

    def provenance(self) -> dict:
        """What a model card records about the original file."""
        return {"original_model": self.model, "original_version": self.version, "original_date": self.date,
                "original_repo": MITAR_REPO, "original_commit": self.commit, "original_path": self.path,
                "original_sha256": self.sha256, "original_current": self.current, "paper_use": self.paper,
                **({"original_note": self.note} if self.note else {})}


VERSIONS: tuple[OriginalVersion, ...] = (
    OriginalVersion("miTAR1", "2020-03", "2020-03-09", "f38a5f75e5b143f7ce772e5cf3a2d3c98ed098b7",
                    "results/miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5",
                    "31d1b32db042785826981a83de79f2380256bfddf9daceb9474bc3b43524a0e1", current=False,
                    paper="DeepMirTar analyses (Fig. 1-3, Fig. 6, Table 1, Table 2)",
                    note="replaced by the 2020-12 file in commit 72274f6 (git blob f355ef2)"),
    OriginalVersion("miTAR1", "2020-12", "2020-12-28", "72274f6d7550d753a9eaf60aee12b913748e3bc5",
                    "results/miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5",
                    "ae6c098b72f84b44c4bc97089a1e29cf956ccee9e84c0df7d535df5251d6ab92", current=True, paper="",
                    note="git blob 2190b59; later moved to scripts_data_models/results/ (commit 1458e24)"),
    OriginalVersion("miTAR2", "2020-03", "2020-03-09", "1458e24b6e5e23c4a71c7dd5e50072721e92c5a7",
                    "scripts_data_models/results/miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5",
                    "7c121411d1dfffc85e669cc0f7e8f34a0b423c1c745d8e945bf8d282fd7e7c25", current=True,
                    paper="miRAW analyses (Fig. 1, Fig. 4-6, Table 1, Table 2)",
                    note="git blob 5ac64b4, unchanged since 2020-03-09; downloaded from its later path"),
    OriginalVersion("miTAR", "2020-03", "2020-03-09", "f38a5f75e5b143f7ce772e5cf3a2d3c98ed098b7",
                    "results/miTAR_CNN_BiRNN_b100_lr0.005_dout0.2.h5",
                    "3bb5c1d2603008a099fa7a1b2fa444eff1f97dd691552c2dee2b2c033a0e46e4", current=True, paper="",
                    note="git blob a07b58e, unchanged since 2020-03-09"),
)  # fmt: skip

BY_SHA256: dict[str, OriginalVersion] = {v.sha256: v for v in VERSIONS}
BY_KEY: dict[str, OriginalVersion] = {v.key: v for v in VERSIONS}

PAPER_WEIGHTS = {"deepmirtar": "miTAR1@2020-03", "miraw": "miTAR2@2020-03"}
"""The version of the original weights the paper analysed, per data set."""
CURRENT_WEIGHTS = {"deepmirtar": "miTAR1@2020-12", "miraw": "miTAR2@2020-03"}
"""The files in the repository today, per data set."""
WEIGHTS = {"paper": PAPER_WEIGHTS, "current": CURRENT_WEIGHTS}

PAPER_EVIDENCE = {
    "miTAR1@2020-03": "on the 3,908 DeepMirTar positives, mutating to N reduces the mean probability by seed 0.162, "
                      "L4-4 0.165, L13-4 0.478, seed+L13-4 0.719, L4-4+L13-4 0.720 (paper Fig. 6: ~0.16, ~0.16, "
                      "~0.48, ~0.72, ~0.72), and the features called from its single-nucleotide impact are L13-4 "
                      "(summit L14) and L4-4 (summit L7), the paper's Fig. 3; the 2020-12 file gives 0.234 / 0.236 "
                      "/ 0.473 / 0.676 / 0.649 and other features. The 2020-12 file postdates the paper's "
                      "analyses (it replaced this one on 2020-12-28).",
    "miTAR2@2020-03": "the only version ever published (unchanged since 2020-03-09); the paper's miRAW numbers "
                      "(e.g. LT7-5 ~0.22, seed+LT7-5 ~0.23, L10-4+LT7-5 ~0.65) are reproduced with it.",
}
"""Why each paper version is the one the paper used (shown in the reproduce report)."""


def version_of_file(path: str | os.PathLike[str]) -> OriginalVersion | None:
    """The published version a file is (by sha256), or None."""
    return BY_SHA256.get(sha256_file(path))


def find_versions(directory: str | os.PathLike[str]) -> dict[str, Path]:
    """Every known version found in ``directory`` (searched recursively for ``.h5`` / ``.hdf5`` files, recognised
    by sha256): version key -> path (the first path in sorted order when a version is there twice)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: no such directory")
    found: dict[str, Path] = {}
    for path in sorted(p for p in directory.rglob("*") if p.suffix.lower() in (".h5", ".hdf5") and p.is_file()):
        v = version_of_file(path)
        if v is not None and v.key not in found:
            found[v.key] = path
    return found


def fetch_version(v: OriginalVersion, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
    """The file of version ``v`` in ``directory``: ``DIR/<model>@<version>/<file>`` (or a verified copy already at
    ``DIR/<file>``, where earlier mirlens versions put the current files); downloaded from the raw file at
    ``v.commit`` and sha256-checked when missing (``force``: download again)."""
    from mirlens.data.download import download, is_verified

    directory = Path(directory)
    dest = directory / v.key / v.file
    if not force:
        for candidate in (dest, directory / v.file):
            if is_verified(candidate, v.sha256):
                return candidate
    return download(v.url, dest, v.sha256, force=force)
