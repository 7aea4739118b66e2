"""Every lesson's exercises come last and depend on nothing above them.

Each exercises block opens with one setup cell that forgets the lesson's names (``%reset -f``),
starts a clean lab and makes again what the exercises use, so the block works after a kernel
restart. Read statically here (cheap); `make notebooks` and nbval run the blocks.
"""

from __future__ import annotations

import ast
import builtins
import re
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))

import solutions  # noqa: E402

LESSONS = [p for p in solutions.lessons() if solutions.has_exercises(p)]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _block(lesson: Path) -> tuple[list[str], list[nbformat.NotebookNode]]:
    """The headings before the exercises, and the cells from the exercises heading on."""
    nb = nbformat.read(lesson, as_version=4)
    cells, start = nb.cells, solutions.exercises_start(nb)
    assert start is not None, f"{_name(lesson)}: no '## Exercises' heading"
    headings = [h for c in cells[:start] if c.cell_type == "markdown" for h in _headings(c.source)]
    return headings, cells[start:]


def _headings(markdown: str) -> list[str]:
    return re.findall(r"^##\s+(?:\d+\.\s*)?(.+?)\s*$", markdown, re.MULTILINE)


def _sources(cell: nbformat.NotebookNode) -> list[str]:
    """A code cell's source, and its worked answer when it is an exercise."""
    answer = "".join(cell.metadata.get(solutions.KEY, []))
    return [cell.source, answer] if answer else [cell.source]


@pytest.mark.parametrize("lesson", LESSONS, ids=_name)
def test_the_exercises_come_last_and_open_with_one_setup_cell(lesson: Path) -> None:
    headings, block = _block(lesson)
    assert any(h.startswith("What to remember") for h in headings), "exercises before the summary"
    assert not any(solutions.EXERCISES_HEADING.match(f"## {h}") for h in headings)
    code = [c for c in block if c.cell_type == "code"]
    first = block.index(code[0])
    assert all(c.cell_type == "markdown" for c in block[:first])
    assert "run it first, after a kernel restart" in "".join(c.source for c in block[:first])
    setup = code[0].source
    assert setup.startswith("%reset -f\n"), setup[:40]
    assert "labkit.start_lab(" in setup


@pytest.mark.parametrize("lesson", LESSONS, ids=_name)
def test_the_exercises_read_no_name_from_the_lesson_above(lesson: Path) -> None:
    """Every global an exercise cell (stub or answer) reads is made inside the block: by the
    setup cell, by define_again, or by an exercise; nothing survives ``%reset -f``."""
    _, block = _block(lesson)
    trees = [
        ast.parse(TransformerManager().transform_cell(source))
        for cell in block
        if cell.cell_type == "code"
        for source in _sources(cell)
    ]
    made = set(dir(builtins))
    read: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (made if isinstance(node.ctx, ast.Store) else read).add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                made.add(node.name)
            elif isinstance(node, ast.arg):
                made.add(node.arg)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                made.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "define_again":
                made.update(a.value for a in node.args[1:] if isinstance(a, ast.Constant))
    made.add("get_ipython")  # what IPython's magics become
    assert sorted(read - made) == []
