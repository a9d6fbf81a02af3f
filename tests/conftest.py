"""Shared fixtures. Data from ../shared is read at run time, never copied into the repository."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP (see mirlens/__init__.py)

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_path() -> Path:
    return Path(os.environ.get("MIRLENS_SHARED", REPO.parent / "shared"))


CHROMIUM = Path(os.environ.get("MIRLENS_CHROMIUM", "/usr/bin/chromium"))
"""The headless browser of the page tests (Debian's chromium, driven by Playwright)."""


def require_browser() -> None:
    """Playwright and the Debian chromium binary; fail under CI=true, skip elsewhere."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        problem = "the playwright Python package is missing (pip install -e '.[test]')"
    if problem is None and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium chromium-driver)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)


def require(path: Path) -> Path:
    """Return ``path``; if it is missing, fail under CI (CI=true) and skip elsewhere."""
    if not path.exists():
        msg = f"{path} is missing (tests read ../shared at run time)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require(shared_path())


@pytest.fixture(scope="session")
def mitar_data_dir(shared_dir) -> Path:
    return require(shared_dir / "data" / "mitar")


@pytest.fixture(scope="session")
def keras_dir(shared_dir) -> Path:
    return require(shared_dir / "models" / "mitar_keras")


@pytest.fixture(scope="session")
def keras_refs(shared_dir) -> Path:
    return require(shared_dir / "refs" / "keras")


@pytest.fixture(scope="session")
def mitar_tests_dir(mitar_data_dir) -> Path:
    """The miTAR authors' example inputs (FASTA files, bare miRNA sequences)."""
    return require(mitar_data_dir / "tests")


@pytest.fixture(scope="session")
def gene_level_dir(shared_dir) -> Path:
    return require(shared_dir / "data" / "miraw_gene_level")


@pytest.fixture(scope="session")
def keras_2020_dir(shared_dir) -> Path:
    """The miTAR1 file as of 2020-03 (the version the paper analysed; its README has the provenance)."""
    return require(shared_dir / "models" / "mitar_keras_2020-03")
