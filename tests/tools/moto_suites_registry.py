"""A pytest plugin that holds labkit's registry of changes to moto for a whole session.

`make moto-suites` runs moto's own test suites with it (``-p moto_suites_registry``, with
tests/tools on PYTHONPATH): every change applies as its moto module is imported, exactly as in a
lab. When MOTO_SUITES_APPLIED names a folder, each process (the xdist controller and every
worker) writes there which changes were in force and which never met their moto module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labkit.moto_patches import REGISTRY

__all__ = ["pytest_configure", "pytest_unconfigure"]


def pytest_configure(config: pytest.Config) -> None:
    """Hold the registry before moto's test modules are collected (and import moto's models)."""
    REGISTRY.acquire()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Record what was in force, then let go."""
    folder = os.environ.get("MOTO_SUITES_APPLIED")
    if folder:
        process = os.environ.get("PYTEST_XDIST_WORKER", "controller")
        record = {"applied": list(REGISTRY.applied), "pending": list(REGISTRY.pending())}
        (Path(folder) / f"{process}.json").write_text(json.dumps(record))
    REGISTRY.release()
