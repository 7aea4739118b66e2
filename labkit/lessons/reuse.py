"""Exercises that work after a kernel restart: the lesson's own definitions, run again.

An exercise block starts with its own setup cell, so it works on a fresh kernel. The functions it
uses (lesson 01's ``consume``, 03's ``make_queue``) are the lesson's teaching code: they live in
the notebook, once. :func:`define_again` reads the notebook and runs those definitions again, so
the setup cell needs no copy of them.
"""

from __future__ import annotations

import ast
import json
import linecache
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.errors import LabError

__all__ = ["define_again"]

#: a markdown heading opening the exercises: "## Exercises", "## 10. Exercises"
_EXERCISES = re.compile(r"^##\s+(\d+\.\s*)?Exercises\b", re.MULTILINE)
#: a section heading: "## 2. A standard queue: send, receive, delete", "## What to remember"
_SECTION = re.compile(r"^##\s+(?:(\d+)\.\s*)?(.+?)\s*$", re.MULTILINE)
#: what a constant may be made of: literals, containers, arithmetic and names of other
#: definitions (``SERVICES = {"payments": payments}``); calls are checked apart (`_is_plain`)
_CONSTANT_PARTS = (
    ast.Constant,
    ast.Name,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.UnaryOp,
    ast.BinOp,
    ast.unaryop,
    ast.operator,
    ast.expr_context,
    ast.keyword,
)


@dataclass(frozen=True)
class _Binding:
    """A top-level statement of a notebook cell that gives a name a value."""

    name: str
    statement: ast.stmt
    plain: bool  # a def, a class, an import or a constant: safe to run again
    cell: int  # index among the notebook's cells
    section: str  # the heading the cell is under, as a learner reads it


def define_again(notebook: str | os.PathLike[str], *names: str, namespace: dict[str, Any]) -> None:
    """Run again, in ``namespace``, the lesson's definitions of ``names``.

    Reads ``notebook`` as last saved (a path from the kernel's working folder, the notebook's own
    folder; the solutions notebook has the same cells above its exercises), finds among the code
    cells before its exercises heading the last top-level ``def``, ``class`` or constant
    assignment of each name, and runs those statements, after the imports their cells make, in
    ``namespace`` (the setup cell passes ``globals()``). A function defined again reads the
    notebook's globals (``sqs``, ``lab``) when it is called, so the setup cell makes those first.
    Prints where each name came from.

    >>> import tempfile
    >>> import nbformat
    >>> from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    >>> lesson = new_notebook(cells=[
    ...     new_markdown_cell("## 1. Counting"),
    ...     new_code_cell("STEP = 2\\n\\ndef count(n):\\n    return n * STEP * FACTOR"),
    ...     new_markdown_cell("## Exercises"),
    ... ])
    >>> path = os.path.join(tempfile.mkdtemp(), "01-lesson.ipynb")
    >>> nbformat.write(lesson, path)
    >>> namespace = {"FACTOR": 10}
    >>> define_again(path, "count", "STEP", namespace=namespace)
    count: defined again from section 1 'Counting'
    STEP: defined again from section 1 'Counting'
    >>> namespace["count"](3)
    60
    """
    if not isinstance(namespace, dict):
        raise LabError(
            "the notebook's globals as namespace",
            f"a {type(namespace).__name__}",
            "call define_again(..., namespace=globals())",
        )
    path = Path(notebook)
    bindings = _bindings(_read(path), path.name)
    chosen: dict[str, _Binding] = {}
    for name in names:
        found = [b for b in bindings if b.name == name]
        plain = [b for b in found if b.plain]
        if plain:
            chosen[name] = plain[-1]
        elif found:
            where = found[-1]
            raise LabError(
                f"{name!r} defined by a def, a class or a constant in {path.name}",
                f"{name!r} given its value by this statement in section {where.section}: "
                f"{_first_line(where.statement)}",
                f"define_again repeats definitions only, not calls to AWS or results of earlier "
                f"cells: make {name} in this cell again, as the lesson does",
            )
        else:
            raise LabError(
                f"a cell before the exercises in {path.name} that defines {name!r}",
                "no such cell",
                f"check the spelling of {name!r}, or define it in this cell",
            )
    order = sorted({(b.cell, b.statement.lineno): b for b in chosen.values()}.items())
    cells = {b.cell for b in chosen.values()}
    imports = [b for b in bindings if b.cell in cells and isinstance(b.statement, _IMPORTS)]
    statements: dict[int, _Binding] = {}
    for binding in [*imports, *(b for _, b in order)]:
        statements.setdefault(id(binding.statement), binding)
    for binding in statements.values():
        module = ast.Module(body=[binding.statement], type_ignores=[])
        try:
            exec(compile(module, _filename(path.name, binding.cell), "exec"), namespace)  # noqa: S102
        except NameError as error:
            raise LabError(
                f"every name {binding.name!r} reads when it is defined",
                f"{error} (section {binding.section}: {_first_line(binding.statement)})",
                f"add {error.name!r} to the names define_again runs again, or make it before "
                "define_again in this cell",
            ) from error
    for name, binding in chosen.items():
        print(f"{name}: defined again from section {binding.section}")


_IMPORTS = (ast.Import, ast.ImportFrom)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFS = (*_FUNCTIONS, ast.ClassDef)


def _read(path: Path) -> list[dict[str, Any]]:
    """The cells of the notebook at ``path``, or an error saying where it was looked for.

    A notebook is JSON (nbformat 4: ``cells``, each with ``cell_type`` and ``source``); reading it
    with :mod:`json` keeps the setup cell quick (importing nbformat and its schema validator takes
    seconds on a busy machine).
    """
    if not path.is_file():
        raise LabError(
            f"the lesson's notebook {str(path)!r}",
            f"no such file in {Path.cwd()}",
            "run this cell from the lesson's folder (JupyterLab starts a notebook's kernel there) "
            "and keep the lesson's file name; a copy of the lesson elsewhere needs the lesson "
            "beside it",
        )
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [
            {"cell_type": c["cell_type"], "source": "".join(c["source"])}
            for c in cells
            if isinstance(c, dict)
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise LabError(
            f"a notebook (.ipynb) at {str(path)!r}",
            f"a file that is not one ({type(error).__name__}: {error})",
            "pass the lesson's .ipynb file",
        ) from error


def _bindings(cells: list[dict[str, Any]], notebook: str) -> list[_Binding]:
    """Every name the code cells before the exercises heading bind at their top level."""
    section = "'(the top)'"
    parsed: list[tuple[int, str, ast.Module]] = []
    for index, cell in enumerate(cells):
        source = cell["source"]
        if cell["cell_type"] == "markdown":
            if _EXERCISES.search(source):
                break
            if headings := _SECTION.findall(source):
                number, title = headings[-1]
                section = f"{number} {title!r}" if number else repr(title)
            continue
        if cell["cell_type"] != "code":
            continue
        filename = _filename(notebook, index)
        python = _python(source)
        try:
            tree = ast.parse(python, filename)
        except SyntaxError:
            continue  # a cell that is not Python defines nothing
        linecache.cache[filename] = (len(python), None, python.splitlines(True), filename)
        parsed.append((index, section, tree))
    functions = {s.name for _, _, tree in parsed for s in tree.body if isinstance(s, _FUNCTIONS)}
    found: list[_Binding] = []
    for index, section, tree in parsed:
        for statement in tree.body:
            plain = _is_plain(statement, functions)
            for bound in _names_bound(statement):
                found.append(_Binding(bound, statement, plain, index, section))
    return found


def _python(source: str) -> str:
    """A cell's source as Python: IPython's magics (``%reset -f``) and ``!`` commands rewritten."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _is_plain(statement: ast.stmt, functions: set[str]) -> bool:
    """A def, a class, an import or a constant: running it again changes nothing in AWS.

    A constant is made of literals, containers, arithmetic, names, and calls of the lesson's own
    functions (a state machine definition built with ``update(...)``); never a call of a method
    (``sqs.create_queue(...)``), an attribute, a subscript or a comprehension.
    """
    if isinstance(statement, (*_DEFS, *_IMPORTS)):
        return True
    if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        names = [
            n for t in targets for n in (t.elts if isinstance(t, ast.Tuple | ast.List) else [t])
        ]
        return all(isinstance(n, ast.Name) for n in names) and all(
            isinstance(node, _CONSTANT_PARTS)
            or (isinstance(node, ast.Call) and _calls_one_of(node, functions))
            for node in ast.walk(statement.value)
        )
    return False


def _calls_one_of(call: ast.Call, functions: set[str]) -> bool:
    return isinstance(call.func, ast.Name) and call.func.id in functions


def _names_bound(statement: ast.stmt) -> list[str]:
    """The global names a top-level statement binds (inside ``with``, ``for`` and ``if`` too)."""
    if isinstance(statement, _DEFS):
        return [statement.name]
    if isinstance(statement, _IMPORTS):
        return [(a.asname or a.name).split(".")[0] for a in statement.names]
    names: list[str] = []
    for node in ast.iter_child_nodes(statement):
        if isinstance(node, _OWN_SCOPE):
            continue  # its names are its own (a lambda's arguments, a comprehension's variable)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, ast.stmt | ast.expr | ast.withitem | ast.excepthandler):
            names.extend(_names_bound(node))  # type: ignore[arg-type]
    return names


_OWN_SCOPE = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _filename(notebook: str, index: int) -> str:
    """Where a traceback says a statement defined again comes from (its source is in linecache)."""
    return f"<{notebook} cell {index + 1}>"


def _first_line(statement: ast.stmt) -> str:
    text = ast.unparse(statement).splitlines()[0]
    return text if len(text) <= 80 else text[:77] + "..."
