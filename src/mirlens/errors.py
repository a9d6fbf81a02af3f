"""The project's own exceptions.

Every problem a user can cause (bad input file, unknown letter, wrong model file, ...) raises a subclass of
:class:`MirlensError` with a message that names the record and the problem. The CLI turns these into a one-line
error and a non-zero exit code, never a traceback.
"""

from __future__ import annotations


class MirlensError(Exception):
    """Base class of every error mirlens reports to a user."""


class InputError(MirlensError, ValueError):
    """A sequence, pair file or FASTA file cannot be used as given."""

    def __init__(self, problem: str, *, source: str | None = None, record: str | int | None = None):
        self.problem = problem
        self.source = source
        self.record = record
        where = []
        if source is not None:
            where.append(str(source))
        if record is not None:
            where.append(f"record {record}" if not isinstance(record, str) else record)
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {problem}" if prefix else problem)


class ModelFileError(MirlensError):
    """A model file or directory is missing, unreadable, or not a miTAR model."""


class DataSetError(MirlensError):
    """A named data set is unknown, missing, or fails its checksum."""


class TrainingDiverged(MirlensError):
    """A training run blew up before any epoch gave finite outputs (nothing usable to keep)."""
