"""Downloading a file safely: to a temporary file next to the destination, checked, then renamed into place.

A destination path therefore only ever holds a complete file whose sha256 matched; a failed or mismatching
download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from mirlens.errors import DataSetError
from mirlens.tables import plain_file_mode

CHUNK = 1 << 20
TIMEOUT_S = 60


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes (read in chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_verified(path: str | os.PathLike[str], sha256: str) -> bool:
    """True when ``path`` is a file whose sha256 is ``sha256``."""
    path = Path(path)
    return path.is_file() and sha256_file(path) == sha256.lower()


def download(url: str, dest: str | os.PathLike[str], sha256: str | None, *, force: bool = False) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is already there (``force``: download anyway).
    ``sha256=None`` checks nothing here (for files whose container bytes are not pinned; the caller checks the
    content) and keeps any complete file already at ``dest``.

    Raises :class:`DataSetError` when the download fails or its sha256 is not ``sha256`` (the message names the
    file, the expected and the actual checksum); ``dest`` is then left as it was.
    """
    dest = Path(dest)
    if not force and (is_verified(dest, sha256) if sha256 else dest.is_file()):
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.fchmod(fd, plain_file_mode())  # the mode a plain write would give, not mkstemp's 0600
    except OSError as exc:
        raise DataSetError(f"cannot write to {dest.parent}: {exc}") from None
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                    for chunk in iter(lambda: response.read(CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                raise DataSetError(f"cannot download {dest.name} from {url}: {exc}") from None
        got = digest.hexdigest()
        if sha256 and got != sha256.lower():
            raise DataSetError(
                f"checksum mismatch for {dest.name} downloaded from {url}: expected sha256 {sha256.lower()}, got {got}"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
