"""The solutions notebooks are what their lessons make (tests/tools/solutions.py), nothing else.

A lesson's exercise cells hold their worked answers in their metadata; `make notebooks` writes
notebooks/solutions/ from them. A solutions notebook edited by hand, or a lesson changed without
rebuilding, fails here; outputs are nbval's business.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))

import solutions  # noqa: E402

WITH_EXERCISES = [p for p in solutions.lessons() if solutions.has_exercises(p)]
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_lessons_have_exercises() -> None:
    # an exercise tag lost everywhere would make every test below pass on nothing
    assert len(WITH_EXERCISES) >= len(SOLUTIONS) > 0


@pytest.mark.parametrize("lesson", WITH_EXERCISES, ids=_name)
def test_every_exercise_has_a_solution(lesson: Path) -> None:
    assert solutions.unsolved(nbformat.read(lesson, as_version=4)) == []


@pytest.mark.parametrize("lesson", WITH_EXERCISES, ids=_name)
def test_solutions_notebook_is_what_its_lesson_makes(lesson: Path) -> None:
    target = solutions.solutions_of(lesson)
    assert target.exists(), f"{_name(lesson)} has exercises: run `make notebooks NB={lesson}`"
    built = solutions.solved(nbformat.read(lesson, as_version=4))
    found = solutions.differences(built, nbformat.read(target, as_version=4))
    rebuild = f"`make notebooks NB={_name(lesson)}`"
    assert found == [], (
        f"{_name(target)} is not what {_name(lesson)} makes: {found}. Edited the solutions "
        f"notebook? `python tests/tools/solutions.py adopt {_name(target)}`, then {rebuild}. "
        f"Edited the lesson? {rebuild}."
    )


@pytest.mark.parametrize("target", SOLUTIONS, ids=_name)
def test_every_solutions_notebook_has_a_lesson_with_exercises(target: Path) -> None:
    assert solutions.lesson_of(target) in WITH_EXERCISES, f"{_name(target)}: no lesson exercises"


def _merged(outputs: list[dict]) -> list[dict]:
    """Outputs as nbval compares them: a stream printed in several pieces counts as one."""
    merged: list[dict] = []
    for out in outputs:
        if merged and out["output_type"] == "stream" and merged[-1].get("name") == out["name"]:
            merged[-1] = {**merged[-1], "text": merged[-1]["text"] + out["text"]}
        else:
            merged.append(dict(out))
    return merged


@pytest.mark.parametrize("lesson", WITH_EXERCISES, ids=_name)
def test_before_the_exercises_the_solutions_are_the_lesson_outputs_included(lesson: Path) -> None:
    # what lets the notebook tests run a solutions notebook from its exercises heading only:
    # everything before it is the lesson's, which they run whole
    nb, target = nbformat.read(lesson, as_version=4), solutions.solutions_of(lesson)
    solved = nbformat.read(target, as_version=4)
    start = solutions.exercises_start(nb)
    assert start is not None and solutions.exercises_start(solved) == start
    differing = [
        f"cell {i} ({mine.id})"
        for i, (mine, theirs) in enumerate(zip(nb.cells[:start], solved.cells[:start], strict=True))
        if mine.cell_type == "code"
        and (mine.source, _merged(mine.outputs)) != (theirs.source, _merged(theirs.outputs))
    ]
    assert differing == [], (
        f"{_name(target)} differs from {_name(lesson)} before the exercises in {differing}: "
        f"run `make notebooks NB={_name(lesson)}`"
    )


# -- the tool itself, on a small lesson ------------------------------------------------------------


@pytest.fixture
def lesson(tmp_path: Path) -> Path:
    """A lesson with one exercise and its check, and its built solutions notebook."""
    nb = nbformat.v4.new_notebook()
    exercise = nbformat.v4.new_code_cell("answer = ...  # a number", id="ex")
    exercise.metadata = {"tags": [solutions.TAG], solutions.KEY: ["answer = 42\n", "print(answer)"]}
    check = nbformat.v4.new_code_cell("assert answer == 42", id="check")
    check.metadata = {"tags": [solutions.RAISES]}
    nb.cells = [nbformat.v4.new_markdown_cell("# A lesson", id="title"), exercise, check]
    path = tmp_path / "01-lesson.ipynb"
    (tmp_path / "solutions").mkdir()
    nbformat.write(nb, path)
    assert solutions.build(path) == tmp_path / "solutions" / "01-lesson.ipynb"
    return path


def _cells(path: Path) -> list[tuple[str, str, dict]]:
    return [(c.id, c.source, c.metadata) for c in nbformat.read(path, as_version=4).cells]


def test_build_answers_the_exercise_and_expects_the_check_to_pass(lesson: Path) -> None:
    assert _cells(solutions.solutions_of(lesson)) == [
        ("title", "# A lesson", {}),
        ("ex", "answer = 42\nprint(answer)", {"tags": [solutions.TAG]}),
        ("check", "assert answer == 42", {}),
    ]


def test_build_and_adopt_change_nothing_the_second_time(lesson: Path) -> None:
    target = solutions.solutions_of(lesson)
    before = lesson.read_bytes(), target.read_bytes()
    solutions.build(lesson)
    solutions.adopt(target)
    assert (lesson.read_bytes(), target.read_bytes()) == before


def test_a_changed_answer_is_drift_until_adopted(lesson: Path) -> None:
    target = solutions.solutions_of(lesson)
    nb = nbformat.read(target, as_version=4)
    nb.cells[1].source = "answer = 6 * 7"
    nbformat.write(nb, target)
    made = solutions.solved(nbformat.read(lesson, as_version=4))
    assert solutions.differences(made, nb) == ["cell 1 (ex): source differs"]
    with pytest.raises(SystemExit, match="adopt"):
        solutions.build(lesson)  # would throw the edit away
    solutions.adopt(target)
    made = solutions.solved(nbformat.read(lesson, as_version=4))
    assert solutions.differences(made, nb) == []
    assert nbformat.read(lesson, as_version=4).cells[1].source == "answer = ...  # a number"


def test_adopt_refuses_edits_outside_the_exercises(lesson: Path) -> None:
    target = solutions.solutions_of(lesson)
    nb = nbformat.read(target, as_version=4)
    nb.cells[0].source = "# A better title"
    nbformat.write(nb, target)
    before = lesson.read_bytes()
    with pytest.raises(SystemExit, match=r"cell 0 \(title\): source differs"):
        solutions.adopt(target)
    assert lesson.read_bytes() == before


def test_an_exercise_without_a_solution_is_not_built(lesson: Path) -> None:
    nb = nbformat.read(lesson, as_version=4)
    del nb.cells[1].metadata[solutions.KEY]
    nbformat.write(nb, lesson)
    assert solutions.unsolved(nb) == ["ex"]
    with pytest.raises(SystemExit, match="without a 'solution'"):
        solutions.build(lesson)
