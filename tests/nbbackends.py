"""Every notebook on both mock backends in one pytest session (loaded with ``-p tests.nbbackends``).

nbval collects each notebook once, for the kernel's default backend (``embedded``). With
``--nbval-endpoint`` this plugin collects it a second time, as ``<notebook>[endpoint]``: its
kernel starts with ``LABKIT_BACKEND=endpoint`` and ``LABKIT_ENDPOINT_URL`` pointing at a
``python -m labkit.server`` that this pytest process starts on first use
(``tests/labserver.py``, shared with the unit tests) and stops at the end of the session.

Under ``-n N --dist loadfile`` a notebook on one backend runs whole, in order, on one worker
while the unit tests fill the other workers: one pool for everything instead of phases that
wait for each other. With ``--nbval-fork-kernels`` each notebook's kernel is forked from a warm
process (``tests/kernelfork.py``) instead of starting Python and its imports afresh.

A solutions notebook runs from its exercises heading on: the cells before it are its lesson's,
outputs included (tests/test_solutions.py), and the lesson runs whole; its exercises block starts
from its own setup cell, so this also proves that the block works after a kernel restart.

Every figure drawn through labkit is checked as it is drawn (``LABKIT_STRICT_PLOTS``,
`labkit.plots.legibility`): labels on labels or off their axes fail the cell that drew them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile

from labkit.plots.legibility import STRICT_ENV as STRICT_PLOTS
from tests import kernelfork
from tests.labserver import SERVER

sys.path.insert(0, str(Path(__file__).with_name("tools")))

import solutions  # noqa: E402


class EndpointNotebook(IPyNbFile):
    """A notebook whose kernel runs with the lab on the endpoint backend."""

    def setup(self) -> None:
        url = SERVER.start()
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
    group = parser.getgroup("nbval")
    group.addoption(
        "--nbval-endpoint",
        action="store_true",
        help="also run every notebook on the endpoint backend, against a labkit server",
    )
    group.addoption(
        "--nbval-fork-kernels",
        action="store_true",
        help="fork each notebook's kernel from a warm process (tests/kernelfork.py)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # every figure a lesson draws through labkit must read cleanly: a label on a label, or one
    # off its axes, fails the cell that drew it (labkit.plots.legibility); kernels inherit this
    os.environ[STRICT_PLOTS] = "1"
    if not config.option.nbval_fork_kernels:
        return
    if not kernelfork.available():
        config.option.nbval_fork_kernels = False  # ordinary kernels, only slower
        return
    import nbval.kernel

    launcher = str(Path(__file__).with_name("kernelfork.py"))
    original = nbval.kernel.NbvalKernelspecManager.get_kernel_spec

    def get_kernel_spec(self: Any, kernel_name: str) -> Any:
        spec = original(self, kernel_name)
        if kernel_name == nbval.kernel.CURRENT_ENV_KERNEL_NAME:
            spec.argv = [sys.executable, launcher, "-f", "{connection_file}"]
        return spec

    nbval.kernel.NbvalKernelspecManager.get_kernel_spec = get_kernel_spec


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Start this process's zygote before a notebook's kernel is asked for."""
    if item.config.option.nbval_fork_kernels and isinstance(item, IPyNbCell):
        os.environ[kernelfork.SOCKET_ENV] = kernelfork.ZYGOTE.start()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    opt = parent.config.option
    if opt.nbval_endpoint and opt.nbval and file_path.suffix == ".ipynb":
        rootpath = parent.config.rootpath
        nodeid = f"{file_path.relative_to(rootpath).as_posix()}[endpoint]"
        return EndpointNotebook.from_parent(parent, path=file_path, nodeid=nodeid)
    return None


def _lesson_part_of_solutions(item: pytest.Item) -> bool:
    """Whether `item` is a cell of a solutions notebook before its exercises heading."""
    if not isinstance(item, IPyNbCell) or item.parent.path.parent.name != "solutions":
        return False
    cells = item.parent.nb.cells
    start = solutions.exercises_start(item.parent.nb)
    return start is not None and any(cell is item.cell for cell in cells[:start])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Solutions notebooks from their exercises on; then longest work first, so no long file
    starts when the rest of the pool is done.

    Under ``--dist loadfile --no-loadscope-reorder`` a file (a test module, or one notebook on
    one backend) is a unit of work and units go out in this order: modules marked ``heavy``,
    then notebooks with the most code cells first, then the rest as collected.
    """
    lesson_part = [item for item in items if _lesson_part_of_solutions(item)]
    if lesson_part:
        config.hook.pytest_deselected(items=lesson_part)
        items[:] = [item for item in items if not _lesson_part_of_solutions(item)]
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
    SERVER.stop()
    kernelfork.ZYGOTE.stop()
