"""Shared fixtures: a lab on each backend, and one moto server (own process) for `endpoint`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import labkit
from tests.labserver import SERVER

BACKEND_PARAMS = ["embedded", "endpoint"]


@pytest.fixture(scope="session")
def server_url() -> str:
    """A `python -m labkit.server` on a free loopback port (stopped when the session ends)."""
    return SERVER.start()


def pytest_sessionfinish() -> None:
    SERVER.stop()


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
