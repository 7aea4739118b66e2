"""Shared fixtures: a lab on each backend, and one moto server (own process) for `endpoint`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

import labkit
from labkit.plots.legibility import STRICT_ENV
from tests.labserver import SERVER


def pytest_configure(config: pytest.Config) -> None:
    """Every figure drawn in the tests is checked for legibility, as in the lessons' runs."""
    os.environ[STRICT_ENV] = "1"


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """Each test's figures are closed after it (pyplot keeps every figure until closed)."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


BACKEND_PARAMS = ["embedded", "endpoint"]


def assert_explained(error: BaseException, *fragments: str) -> None:
    """`error` says what was expected, what was found and what to do, with every fragment."""
    text = str(error)
    assert "Expected" in text and "found" in text and "What to do" in text, text
    for fragment in fragments:
        assert fragment in text, text


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
