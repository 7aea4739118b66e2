"""Worked solutions made from the lessons, so the two cannot disagree.

A lesson's exercise cells carry the tag `exercise` and their worked answer in the cell metadata
under `solution` (a list of source lines). `build` writes notebooks/solutions/NN-name.ipynb from
its lesson: the same cells, each exercise's stub replaced by its answer. `adopt` copies the
exercise cells of an edited solutions notebook back into its lesson.

python tests/tools/solutions.py build                     # every lesson with exercises
python tests/tools/solutions.py build notebooks/01-sqs-queues.ipynb
python tests/tools/solutions.py adopt notebooks/solutions/01-sqs-queues.ipynb
"""

from __future__ import annotations

import copy
import re
import sys
from itertools import zip_longest
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
TAG = "exercise"
KEY = "solution"
RAISES = "raises-exception"
#: The heading that opens a lesson's exercises block ("## Exercises", "## 8. Exercises").
EXERCISES_HEADING = re.compile(r"##\s+(?:\d+\.\s+)?Exercises\b")


def lesson_of(path: Path) -> Path:
    """The lesson a notebook belongs to (a lesson belongs to itself)."""
    return path.parent.parent / path.name if path.parent.name == "solutions" else path


def solutions_of(lesson: Path) -> Path:
    """Where a lesson's solutions notebook lives."""
    return lesson.parent / "solutions" / lesson.name


def lessons(folder: Path = NOTEBOOKS) -> list[Path]:
    """Every lesson, in course order."""
    return sorted(folder.glob("*.ipynb"))


def exercises(nb: NotebookNode) -> list[NotebookNode]:
    """The cells tagged as exercises."""
    return [c for c in nb.cells if TAG in c.metadata.get("tags", [])]


def exercises_start(nb: NotebookNode) -> int | None:
    """The index of the cell that opens the exercises block (its heading), if there is one.

    From there on a lesson stands alone: its first code cell starts a clean lab, so the block
    runs after a kernel restart, and a solutions notebook is tested from there
    (tests/nbbackends.py).
    """
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and EXERCISES_HEADING.match(cell.source.lstrip()):
            return index
    return None


def has_exercises(lesson: Path) -> bool:
    return lesson.exists() and bool(exercises(nbformat.read(lesson, as_version=4)))


def unsolved(nb: NotebookNode) -> list[str]:
    """The ids of exercise cells without a worked solution."""
    return [c.id for c in exercises(nb) if not c.metadata.get(KEY)]


def solved(lesson: NotebookNode) -> NotebookNode:
    """The solutions notebook a lesson makes, without outputs."""
    if missing := unsolved(lesson):
        raise ValueError(f"exercise cells without a {KEY!r}: {', '.join(missing)}")
    nb = copy.deepcopy(lesson)
    after_exercise = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if TAG in cell.metadata.get("tags", []):
            cell.source = "".join(cell.metadata.pop(KEY))
            after_exercise = True
        elif after_exercise and cell.cell_type == "code":
            # the check after an exercise fails on the lesson's stub; on the answer it must pass,
            # so an answer that breaks stops `make notebooks` instead of being stored as an error
            tags = [t for t in cell.metadata.get("tags", []) if t != RAISES]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
            after_exercise = False
    return nb


def differences(
    expected: NotebookNode, actual: NotebookNode, *, metadata: bool = True
) -> list[str]:
    """How two notebooks' cells differ, outputs aside (nbval compares those)."""
    fields = ("cell_type", "id", "source") + (("metadata",) if metadata else ())
    found = []
    for i, (want, got) in enumerate(zip_longest(expected.cells, actual.cells)):
        if got is None:
            found.append(f"cell {i} ({want.id}) is missing")
        elif want is None:
            found.append(f"cell {i} ({got.id}) is not in the lesson")
        else:
            found += [f"cell {i} ({want.id}): {f} differs" for f in fields if want[f] != got[f]]
    return found


def _unadopted(old: NotebookNode, lesson: NotebookNode) -> list[str]:
    """Exercise cells whose answer in the solutions notebook is not the lesson's."""
    answers = {c.id: c.source for c in old.cells}
    return [
        c.id
        for c in exercises(lesson)
        if c.id in answers and answers[c.id] != "".join(c.metadata.get(KEY, []))
    ]


def build(lesson_path: Path) -> Path | None:
    """Write a lesson's solutions notebook; None for a lesson without exercises.

    Outputs of cells whose source did not change are kept, so a build alone leaves an executed
    notebook executed; `make notebooks` runs it afterwards either way.
    """
    lesson = nbformat.read(lesson_path, as_version=4)
    if not exercises(lesson):
        return None
    if missing := unsolved(lesson):
        raise SystemExit(f"{lesson_path}: exercise cells without a {KEY!r}: {', '.join(missing)}")
    built = solved(lesson)
    target = solutions_of(lesson_path)
    if target.exists():
        old = nbformat.read(target, as_version=4)
        if edited := _unadopted(old, lesson):
            raise SystemExit(
                f"{target}: exercise cells {', '.join(edited)} differ from the lesson's answers; "
                f"`adopt` the notebook to keep them, or delete it to rebuild it from the lesson"
            )
        ran = {c.id: c for c in old.cells if c.cell_type == "code"}
        for cell in built.cells:
            if cell.cell_type == "code" and cell.id in ran and ran[cell.id].source == cell.source:
                cell.outputs = ran[cell.id].outputs
                cell.execution_count = ran[cell.id].execution_count
    nbformat.write(built, target)
    return target


def adopt(solutions_path: Path) -> Path:
    """Copy an edited solutions notebook's exercise answers into its lesson's metadata."""
    lesson_path = lesson_of(solutions_path)
    lesson = nbformat.read(lesson_path, as_version=4)
    edited = nbformat.read(solutions_path, as_version=4)
    answers = {c.id: c.source for c in edited.cells}
    for cell in exercises(lesson):
        if cell.id not in answers:
            raise SystemExit(f"{solutions_path}: no cell {cell.id} (exercise of {lesson_path})")
        cell.metadata[KEY] = answers[cell.id].splitlines(keepends=True)
    # metadata aside: Jupyter adds its own (scrolled, collapsed) and build writes it anew
    if elsewhere := differences(solved(lesson), edited, metadata=False):
        raise SystemExit(
            f"{solutions_path}: edits outside the exercise cells belong in {lesson_path}, "
            f"nothing adopted: {'; '.join(elsewhere)}"
        )
    nbformat.write(lesson, lesson_path)
    return lesson_path


def main(args: list[str]) -> int:
    if not args or args[0] not in ("build", "adopt"):
        print(__doc__, file=sys.stderr)
        return 2
    command, paths = args[0], [Path(a) for a in args[1:]]
    if command == "adopt":
        for path in paths:
            print(f"{adopt(path)}: answers adopted from {path}", file=sys.stderr)
        return 0
    wanted = list(dict.fromkeys(lesson_of(p) for p in paths)) or lessons()
    found = (
        [solutions_of(p) for p in wanted]
        if paths
        else sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))
    )
    orphans = [str(t) for t in found if t.exists() and not has_exercises(lesson_of(t))]
    if orphans:
        print(f"solutions of lessons without exercises: {', '.join(orphans)}", file=sys.stderr)
        return 1
    # one path a line on stdout: `make notebooks` executes what was built
    for lesson in wanted:
        if built := build(lesson):
            print(built)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
