"""Shared fixtures: a lab on each backend, and one moto server (own process) for `endpoint`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

import labkit

BACKEND_PARAMS = ["embedded", "endpoint"]


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A `python -m labkit.server` on a free loopback port, for the whole test session."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit.server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise RuntimeError(f"labkit.server did not start: {line!r}")
    url = line.split("labkit server on ", 1)[1].split()[0]
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(params=BACKEND_PARAMS)
def lab(request: pytest.FixtureRequest) -> Iterator[labkit.Lab]:
    """A fresh lab on each backend; tests using it run twice."""
    if request.param == "endpoint":
        url = request.getfixturevalue("server_url")
        the_lab = labkit.start_lab("endpoint", endpoint_url=url)
    else:
        the_lab = labkit.start_lab("embedded")
    yield the_lab
    the_lab.stop()


@pytest.fixture
def embedded_lab() -> Iterator[labkit.Lab]:
    the_lab = labkit.start_lab("embedded")
    yield the_lab
    the_lab.stop()
