"""Every notebook on both mock backends in one pytest session (loaded with ``-p tests.nbbackends``).

nbval collects each notebook once, for the kernel's default backend (``embedded``). With
``--nbval-endpoint`` this plugin collects it a second time, as ``<notebook>[endpoint]``: its
kernel starts with ``LABKIT_BACKEND=endpoint`` and ``LABKIT_ENDPOINT_URL`` pointing at a
``python -m labkit.server`` that this pytest process starts (in a process of its own: the
server's clock and moto must not share a process with the unit tests) on a free loopback port,
on first use, and stops at the end of the session.

Under ``-n N --dist loadfile`` a notebook on one backend runs whole, in order, on one worker
while the unit tests fill the other workers: one pool for everything instead of phases that
wait for each other.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile

SERVER_START_S = 60
_BANNER = re.compile(r"labkit server on (http://\S+)")


class _Server:
    """One ``python -m labkit.server`` per pytest process, started when first needed."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.url: str | None = None

    def start(self) -> str:
        if self.url is not None:
            return self.url
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "labkit.server", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert self.proc.stdout is not None
        seen = []
        for line in self.proc.stdout:  # the server prints its banner once it listens
            seen.append(line)
            found = _BANNER.search(line)
            if found:
                self.url = found.group(1)
                return self.url
        raise RuntimeError("python -m labkit.server exited before serving:\n" + "".join(seen[-20:]))

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.url = None


_SERVER = _Server()


class EndpointNotebook(IPyNbFile):
    """A notebook whose kernel runs with the lab on the endpoint backend."""

    def setup(self) -> None:
        url = _SERVER.start()
        saved = {key: os.environ.get(key) for key in ("LABKIT_BACKEND", "LABKIT_ENDPOINT_URL")}
        # the kernel inherits this process's environment at launch
        os.environ["LABKIT_BACKEND"] = "endpoint"
        os.environ["LABKIT_ENDPOINT_URL"] = url
        try:
            super().setup()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("nbval").addoption(
        "--nbval-endpoint",
        action="store_true",
        help="also run every notebook on the endpoint backend, against a labkit server",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    opt = parent.config.option
    if opt.nbval_endpoint and opt.nbval and file_path.suffix == ".ipynb":
        rootpath = parent.config.rootpath
        nodeid = f"{file_path.relative_to(rootpath).as_posix()}[endpoint]"
        return EndpointNotebook.from_parent(parent, path=file_path, nodeid=nodeid)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest work first, so no long file starts when the rest of the pool is done.

    Under ``--dist loadfile --no-loadscope-reorder`` a file (a test module, or one notebook on
    one backend) is a unit of work and units go out in this order: modules marked ``heavy``,
    then notebooks with the most code cells first, then the rest as collected.
    """
    cells: dict[str, int] = {}
    for item in items:
        if isinstance(item, IPyNbCell):
            cells[item.parent.nodeid] = cells.get(item.parent.nodeid, 0) + 1

    def rank(indexed: tuple[int, pytest.Item]) -> tuple[int, int, int]:
        index, item = indexed
        if item.get_closest_marker("heavy") is not None:
            return (0, 0, index)
        if isinstance(item, IPyNbCell):
            return (1, -cells[item.parent.nodeid], index)
        return (2, 0, index)

    items[:] = [item for _, item in sorted(enumerate(items), key=rank)]


def pytest_sessionfinish() -> None:
    _SERVER.stop()
