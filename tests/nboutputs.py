"""The outputs a notebook stores, as the tests that read them without running it see them."""

from __future__ import annotations

from pathlib import Path

import nbformat


def stored_outputs(path: Path) -> list[tuple[int, nbformat.NotebookNode]]:
    """Every output of the notebook's code cells, with the index of its cell, in order."""
    nb = nbformat.read(path, as_version=4)
    return [
        (i, out)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    ]
