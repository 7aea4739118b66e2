"""labkit's layering, read from its import graph (``ast``, every import including those inside
functions; imports for type hints only are left out).

The parts a lab is built from sit below it; the matcher and the moto changes stand alone; plots
read flows; lessons and checks sit on top; only the face knows the notebook's global lab.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import networkx as nx

LABKIT = Path(__file__).resolve().parents[1] / "labkit"

#: package (first name under labkit) -> the packages it may import, besides itself.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "endpoint": {"errors"},
    "loader": set(),
    "matcher": set(),  # standard library only: it could go upstream
    "moto_patches": {"matcher", "loader"},  # moto, the standard library and the matcher
    "trace": {"errors", "matcher"},
    "parts": {"trace"},
    "local": {"errors", "endpoint", "moto_patches", "trace"},
    "plots": {"errors", "trace"},
    "lab": {"errors", "endpoint", "loader", "matcher", "parts", "local", "moto_patches", "trace"},
    "lessons": {"errors", "local", "matcher", "plots", "trace", "tools"},
    "checks": {"errors", "lessons", "matcher", "trace"},
    "tools": {"errors", "endpoint", "local", "moto_patches", "plots", "trace"},
    "server": {"tools"},
}
#: within a package allowed above, the only modules one may reach
ONLY: dict[tuple[str, str], tuple[str, ...]] = {
    ("parts", "trace"): ("labkit.trace.records",),
    ("local", "trace"): ("labkit.trace.records",),
    ("local", "moto_patches"): (
        "labkit.moto_patches.delivery_metrics",
        "labkit.moto_patches.delivery_retries",
        "labkit.moto_patches.events_schedules",
        "labkit.moto_patches.events_targets",
        "labkit.moto_patches.lambda_esm_validation",
        "labkit.moto_patches.outbox",
        "labkit.moto_patches.sfn_lab_time",
        "labkit.moto_patches.sqs_long_poll",
    ),
    ("trace", "matcher"): ("labkit.matcher",),
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(LABKIT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_only(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found.update(id(n) for n in ast.walk(node))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module(p) for p in LABKIT.rglob("*.py")}

    def resolve(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = defaultdict(set)
    for path in LABKIT.rglob("*.py"):
        tree = ast.parse(path.read_text())
        skip = _type_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("labkit"):
                    target = resolve(name)
                    if target and target != _module(path):
                        graph[_module(path)].add(target)
    return graph


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "face"


def test_every_import_follows_the_layers() -> None:
    broken = []
    for source, targets in _graph().items():
        mine = _package(source)
        if mine == "face":
            continue
        for target in targets:
            theirs = _package(target)
            if theirs == mine:
                continue
            if theirs not in ALLOWED[mine]:
                broken.append(f"{source} -> {target}")
            only = ONLY.get((mine, theirs))
            if only is not None and target not in only:
                broken.append(f"{source} -> {target} (only {', '.join(only)})")
    assert broken == []


def test_no_import_cycles_between_modules() -> None:
    graph = nx.DiGraph([(a, b) for a, targets in _graph().items() for b in targets])
    graph.remove_nodes_from(["labkit"])  # the face imports everything and nothing imports it
    assert list(nx.simple_cycles(graph)) == []


def test_the_matcher_imports_only_the_standard_library_and_itself() -> None:
    import sys

    for path in (LABKIT / "matcher").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert name.startswith("labkit.matcher") or top in sys.stdlib_module_names, (
                    path,
                    name,
                )


def test_parts_find_each_other_by_what_they_are_given() -> None:
    """No part looks the lab up: no getattr(lab, ...), no module-name strings, no global lab."""
    found = []
    for path in LABKIT.rglob("*.py"):
        text = path.read_text()
        module = _module(path)
        wiring = r"(import_module|__import__)\(\s*f?[\"']labkit"  # a part named by a string
        for pattern in (r"getattr\(\s*(self\.)?lab\b", wiring):
            if re.search(pattern, text):
                found.append(f"{module}: {pattern}")
        if "current_lab(" in text and module not in ("labkit", "labkit.lab.session"):
            found.append(f"{module}: current_lab()")
    assert found == []


def _notebook_code() -> list[tuple[str, str]]:
    import json

    cells = []
    for path in sorted((LABKIT.parent / "notebooks").rglob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                # IPython magics and shell escapes are not Python
                lines = [line for line in source.splitlines() if line.lstrip()[:1] not in "%!"]
                cells.append((path.name, "\n".join(lines)))
    return cells


def test_notebooks_import_the_face_their_checks_and_the_lessons_only() -> None:
    allowed = re.compile(r"^labkit(\.lessons(\.\w+)?|\.checks\.\w+)?$")
    found = []
    for name, code in _notebook_code():
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            else:
                modules = []
            for module in modules:
                if module.startswith("labkit") and not allowed.match(module):
                    found.append(f"{name}: {module}")
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                if not node.attr.startswith("__"):
                    found.append(f"{name}: .{node.attr}")
            if isinstance(node, ast.ImportFrom) and any(a.name.startswith("_") for a in node.names):
                found.append(f"{name}: private name from {node.module}")
    assert found == []
