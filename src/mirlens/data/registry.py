"""Registry of the published files mirlens can download: each with a pinned URL and its sha256.

The files come from the miTAR authors' GitHub repository (tjgu/miTAR); every URL names a fixed commit, so the bytes
never change and the checksum can be checked. Data files feed :mod:`mirlens.data.datasets`; the original Keras
model files are registered the same way so that model code can fetch them with the same machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirlens.errors import DataSetError

MITAR_REPO = "tjgu/miTAR"
_RAW = "https://raw.githubusercontent.com/" + MITAR_REPO


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A published file: its name (also the local file name), pinned URL, sha256 and kind."""

    name: str
    url: str
    sha256: str
    kind: str  # "data" or "model"


def _mitar(kind: str, commit: str, folder: str, name: str, sha256: str) -> RemoteFile:
    return RemoteFile(name=name, url=f"{_RAW}/{commit}/{folder}/{name}", sha256=sha256, kind=kind)


_COMMIT_DEEPMIRTAR = "7adaf3e264de20268489835df57c81efdb37c6f0"
_COMMIT_MITAR2 = "1458e24b6e5e23c4a71c7dd5e50072721e92c5a7"
_COMMIT_MITAR1 = "72274f6d7550d753a9eaf60aee12b913748e3bc5"
_COMMIT_MITAR = "f38a5f75e5b143f7ce772e5cf3a2d3c98ed098b7"

_FILES = [
    _mitar("data", _COMMIT_DEEPMIRTAR, "data", "data_DeepMirTar_removeMisMissing_remained_seed1122.txt",
           "e119be730fad64a2f7055ea38143791fc7f79cb85a36b69cab72d52193e53712"),
    _mitar("data", _COMMIT_DEEPMIRTAR, "data", "data_DeepMirTar_removeMisMissing_indTest_seed1122.txt",
           "ef81451daba2d80620d2293d979c9008aa95e111b6a240afaaa029a53019a3f2"),
    _mitar("data", _COMMIT_MITAR2, "scripts_data_models/data", "data_miRaw_noL_noMisMissing_indTest_seed1122.txt",
           "ccd5077dd7dbbe11bd08b73d379d0bf6dbb6b8acaf71c19a9a616a1d8debd8d9"),
    _mitar("data", _COMMIT_MITAR2, "scripts_data_models/data", "data_miRaw_IndTest_noRepeats_3folds.txt",
           "af2649ee354c2fc0a99c22f91717684f34c4b6b80be29db7dba7e808151b0cfc"),
    _mitar("data", _COMMIT_MITAR2, "scripts_data_models/data", "data_DeepMirTar_miRAW_noRepeats_3folds.txt",
           "0240d58e4d82a37a525702ad157fb64422a31bef9d09d548e0aa01681ba50d39"),
    _mitar("data", _COMMIT_MITAR2, "scripts_data_models/data", "data_DeepMirTar_IndTest_noRepeats_3folds.txt",
           "f5ea1381f90fe468c90061186a70a0b2577954bdfe7933e3a2ac6942d7ac2f26"),
    _mitar("model", _COMMIT_MITAR1, "results", "miTAR1_CNN_BiRNN_b30_lr0.005_dout0.2.h5",
           "ae6c098b72f84b44c4bc97089a1e29cf956ccee9e84c0df7d535df5251d6ab92"),
    _mitar("model", _COMMIT_MITAR2, "scripts_data_models/results", "miTAR2_CNN_BiRNN_b200_lr0.1_dout0.4.h5",
           "7c121411d1dfffc85e669cc0f7e8f34a0b423c1c745d8e945bf8d282fd7e7c25"),
    _mitar("model", _COMMIT_MITAR, "results", "miTAR_CNN_BiRNN_b100_lr0.005_dout0.2.h5",
           "3bb5c1d2603008a099fa7a1b2fa444eff1f97dd691552c2dee2b2c033a0e46e4"),
]  # fmt: skip

FILES: dict[str, RemoteFile] = {f.name: f for f in _FILES}
"""Every registered file, by name."""
DATA_FILES: dict[str, RemoteFile] = {n: f for n, f in FILES.items() if f.kind == "data"}
MODEL_FILES: dict[str, RemoteFile] = {n: f for n, f in FILES.items() if f.kind == "model"}


def remote_file(name: str) -> RemoteFile:
    """The registered file called ``name``; :class:`DataSetError` when there is none."""
    try:
        return FILES[name]
    except KeyError:
        raise DataSetError(f"unknown file {name!r}; registered files: {', '.join(FILES)}") from None
