"""define_again: an exercise's setup cell runs the lesson's own definitions again."""

from __future__ import annotations

import json
import traceback
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labkit.errors import LabError
from labkit.lessons import define_again

LESSON = [
    new_markdown_cell("# 01 · A lesson\n\n## 1. Start the lab"),
    new_code_cell("import json\n\nREGION = 'us-east-1'\nlab = labkit.start_lab()"),
    new_markdown_cell("## 2. Send, receive, delete\n\nSome words."),
    new_code_cell(
        "%matplotlib inline\n"
        "def consume(body):\n"
        "    return json.loads(body)['n'] * FACTOR\n"
        "\n"
        "SPIKE = 30\n"
        "START_STOCK = {'cake': 5, 'pie': -1 + 3}\n"
        "charged, reserved = [], []\n"
        "HANDLERS = {'consume': consume, 'other': (consume, -1)}\n"
        "faults = FaultPlan()\n"
        "TWICE = {'one': consume(body='{\"n\": 1}'), 'two': consume('{\"n\": 2}')}\n"
        "topic_arn = sns.create_topic(Name='orders')['TopicArn']\n"
        "with lab:\n"
        "    queue_url = make('q')\n"
        "done = [consume(b) for b in bodies]\n"
    ),
    new_markdown_cell("### A subsection"),
    new_code_cell("SPIKE = 40  # the lesson changes its mind\n\n\nclass Order:\n    pass"),
    new_code_cell("not python ?"),
    new_markdown_cell("## Exercises\n\nRun the next cell first."),
    new_code_cell("SPIKE = 50\n\ndef after(): pass"),
]


@pytest.fixture
def lesson(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lesson in the working folder, as a notebook's kernel sees its own folder."""
    path = tmp_path / "01-lesson.ipynb"
    nbformat.write(new_notebook(cells=LESSON), path)
    monkeypatch.chdir(tmp_path)
    return path


def test_a_function_is_defined_again_and_reads_the_namespace_when_called(lesson, capsys) -> None:
    namespace = {"FACTOR": 10, "json": json}
    define_again(lesson.name, "consume", namespace=namespace)
    assert capsys.readouterr().out == (
        "consume: defined again from section 2 'Send, receive, delete'\n"
    )
    assert namespace["consume"]('{"n": 2}') == 20
    namespace["FACTOR"] = 3  # the setup cell's globals, read at call time
    assert namespace["consume"]('{"n": 2}') == 6
    assert "queue_url" not in namespace and "topic_arn" not in namespace and "done" not in namespace


def test_the_imports_of_the_defining_cell_come_along(lesson) -> None:
    namespace: dict = {"FACTOR": 1}
    define_again(lesson.name, "Order", namespace=namespace)
    assert "json" not in namespace  # Order's cell imports nothing
    define_again(lesson.name, "REGION", namespace=namespace)
    assert namespace["json"] is json and namespace["REGION"] == "us-east-1"
    assert "lab" not in namespace  # only the cell's imports and the names asked for


def test_the_last_definition_before_the_exercises_wins(lesson, capsys) -> None:
    namespace: dict = {}
    define_again(lesson.name, "SPIKE", "START_STOCK", "Order", "reserved", namespace=namespace)
    assert namespace["SPIKE"] == 40  # not 30 (overwritten), not 50 (in the exercises)
    assert namespace["START_STOCK"] == {"cake": 5, "pie": 2}
    assert isinstance(namespace["Order"], type)
    assert namespace["charged"] == namespace["reserved"] == []  # one statement defines both
    assert capsys.readouterr().out.splitlines() == [
        "SPIKE: defined again from section 2 'Send, receive, delete'",
        "START_STOCK: defined again from section 2 'Send, receive, delete'",
        "Order: defined again from section 2 'Send, receive, delete'",
        "reserved: defined again from section 2 'Send, receive, delete'",
    ]


def test_a_traceback_shows_the_lesson_line(lesson) -> None:
    namespace: dict = {"FACTOR": 1}
    define_again(lesson.name, "consume", namespace=namespace)
    with pytest.raises(NameError) as raised:
        namespace["consume"]('{"n": 1}')  # json is not in the namespace
    shown = "".join(traceback.format_exception(raised.value))
    assert 'File "<01-lesson.ipynb cell 4>", line 3, in consume' in shown
    assert "return json.loads(body)['n'] * FACTOR" in shown


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("topic_arn", "topic_arn = sns.create_topic(Name='orders')['TopicArn']"),
        ("queue_url", "with lab:"),
        ("done", "done = [consume(b) for b in bodies]"),
        ("lab", "lab = labkit.start_lab()"),
        ("faults", "faults = FaultPlan()"),  # a call of something the lesson did not define
    ],
)
def test_a_value_made_by_a_statement_is_refused(lesson, name, found) -> None:
    namespace: dict = {}
    with pytest.raises(LabError, match="define_again repeats definitions only") as raised:
        define_again(lesson.name, "consume", name, namespace=namespace)
    assert found in raised.value.found
    assert namespace == {}  # nothing ran: the cell can be fixed and run again


def test_a_name_no_cell_defines_is_named(lesson) -> None:
    for name in ("consum", "after", "b"):  # misspelt, only in the exercises, a comprehension's
        with pytest.raises(LabError, match=f"(?s)defines {name!r}.*check the spelling"):
            define_again(lesson.name, name, namespace={})


def test_a_missing_notebook_says_where_it_was_looked_for(lesson) -> None:
    with pytest.raises(LabError, match="(?s)no such file in .*run this cell from the lesson's"):
        define_again("01-lesson-copy.ipynb", "consume", namespace={})


def test_a_file_that_is_not_a_notebook_is_refused(lesson) -> None:
    lesson.with_suffix(".txt").write_text("not a notebook")
    with pytest.raises(LabError, match="a file that is not one"):
        define_again(lesson.with_suffix(".txt").name, "consume", namespace={})


def test_the_namespace_must_be_the_notebooks_globals(lesson) -> None:
    with pytest.raises(LabError, match=r"namespace=globals\(\)"):
        define_again(lesson.name, "consume", namespace=None)  # type: ignore[arg-type]


def test_a_constant_naming_other_definitions_needs_them_first(lesson) -> None:
    namespace: dict = {}
    with pytest.raises(LabError, match="(?s)name 'consume' is not defined.*add 'consume'"):
        define_again(lesson.name, "HANDLERS", namespace=namespace)
    define_again(lesson.name, "HANDLERS", "consume", namespace=namespace)  # in the lesson's order
    assert namespace["HANDLERS"] == {
        "consume": namespace["consume"],
        "other": (namespace["consume"], -1),
    }


def test_a_constant_may_call_the_lessons_own_functions(lesson) -> None:
    namespace: dict = {"json": json, "FACTOR": 10}
    define_again(lesson.name, "consume", "TWICE", namespace=namespace)
    assert namespace["TWICE"] == {"one": 10, "two": 20}
