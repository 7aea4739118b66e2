"""The README keeps up with the notebooks: every lesson listed, timed, and its mock gaps named."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
TOPICS = [name for name in LESSONS if name != "00-welcome"]


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_first_screen_says_what_it_is_the_two_commands_and_the_backends() -> None:
    first_screen = "\n".join(README.splitlines()[:40])
    assert "SQS" in first_screen and "SNS" in first_screen and "EventBridge" in first_screen
    assert "make lab" in first_screen and "make test" in first_screen
    for backend in ("`embedded`", "`endpoint`", "`aws`"):
        assert backend in first_screen, backend


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_is_in_the_lesson_table(lesson: str) -> None:
    assert re.search(rf"^\| `{re.escape(lesson)}` \| \w", _section("The lessons"), re.M), lesson


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_has_a_running_time_for_instructors(lesson: str) -> None:
    row = re.search(
        rf"^\| `{re.escape(lesson)}` \| ~(\d+) s \| (.+) \|$", _section("For instructors"), re.M
    )
    assert row, f"{lesson}: no '| `{lesson}` | ~N s | where to pause |' row"
    assert 0 < int(row.group(1)) < 15


@pytest.mark.parametrize("lesson", TOPICS)
def test_every_lesson_names_what_differs_on_real_aws(lesson: str) -> None:
    number = lesson[:2]
    groups = re.findall(
        r"^- \*\*[^*]+\((\d\d(?:, \d\d)*)\)\*\*", _section("Mock vs real AWS"), re.M
    )
    assert any(number in g.split(", ") for g in groups), f"{lesson} has no entry: {groups}"


@pytest.mark.parametrize("lesson", TOPICS)
def test_every_lesson_shows_its_terraform(lesson: str) -> None:
    nb = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
    calls = ("labkit.to_terraform(", "labkit.write_terraform(")
    cells = [c for c in nb.cells if c.cell_type == "code" and any(x in c.source for x in calls)]
    assert cells, f"{lesson} never calls labkit.to_terraform"
    assert any('resource "aws_' in str(c.get("outputs", "")) for c in cells), lesson
