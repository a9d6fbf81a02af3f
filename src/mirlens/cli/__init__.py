"""The ``mirlens`` command line. Each command group lives in its own module; this one assembles the app."""

from __future__ import annotations

from mirlens.cli.app import app, entry, main

__all__ = ["app", "entry", "main"]
