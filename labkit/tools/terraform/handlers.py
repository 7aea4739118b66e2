"""A deployed handler's source, written out as a module a Lambda function can run.

A handler is a Python function the learner wrote in a notebook cell. Its source comes from
``inspect.getsource`` (IPython keeps every cell's text), together with what it uses from the
notebook: other functions written there, modules of the standard library and boto3 (imported
again), boto3 clients (made again with ``boto3.client``), numbers and strings (written as they
are; an ARN, a URL or a name of the lab becomes an environment variable the function is given,
so the module holds no account id or region), tuples of those, and the values a closure
captured. A list, dict or set it uses is the handler's memory in the lab (notes, counters): it
starts empty, as it does in each new Lambda execution environment. Anything else (the lab
itself, objects of the notebook's own classes) cannot be written out; the export then says at
the function which handler to package.

>>> import json
>>> seen = []
>>> def handler(event, context):
...     seen.extend(json.loads(r["body"]) for r in event["Records"])
>>> module = extract(handler, lambda text: False)
>>> print(module.source.split("\\n\\n", 2)[2])
import json
<BLANKLINE>
# the handler's memory in the lab: empty in each new execution environment
seen = []
<BLANKLINE>
<BLANKLINE>
def handler(event, context):
    seen.extend(json.loads(r["body"]) for r in event["Records"])
<BLANKLINE>
"""

from __future__ import annotations

import builtins
import dis
import inspect
import keyword
import re
import sys
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HandlerModule", "extract"]

_EMPTY = {list: "[]", dict: "{}", set: "set()"}
#: top-level packages a Lambda Python runtime has besides the standard library
RUNTIME_PACKAGES = {"boto3", "botocore"}


@dataclass(frozen=True)
class HandlerModule:
    """A handler as a module: its source (empty when it cannot be written out, with why)."""

    function: str  # the handler's own name, the module's entry point
    source: str = ""
    reason: str = ""
    environment: dict[str, str] = field(default_factory=dict)  # variable -> the lab's literal
    calls: tuple[str, ...] = ()  # the IAM actions of the AWS calls the handler makes itself


class _Unwritable(Exception):
    pass


@dataclass
class _Collector:
    #: decides whether a string is a literal of the lab (ARN, URL, name) to pass as a variable
    is_lab_literal: Callable[[str], bool]
    imports: set[str] = field(default_factory=set)
    constants: list[str] = field(default_factory=list)
    memory: list[str] = field(default_factory=list)
    definitions: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    clients: list[Any] = field(default_factory=list)
    attributes: set[str] = field(default_factory=set)  # every attribute name the code reads
    environment: dict[str, str] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def function(self, fn: types.FunctionType) -> None:
        try:
            source = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError) as exc:
            raise _Unwritable(f"the source of {fn.__name__} is not available ({exc})") from exc
        free = dict(zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True))
        for name, cell in free.items():
            try:
                value = cell.cell_contents
            except ValueError as exc:
                raise _Unwritable(f"{fn.__name__} uses {name} before it is set") from exc
            self.name(name, value, fn)
        self.attributes |= _names_read(fn.__code__)
        for name in sorted(_globals_used(fn.__code__)):
            if name in fn.__globals__:
                self.name(name, fn.__globals__[name], fn)
            elif not hasattr(builtins, name):
                raise _Unwritable(f"{fn.__name__} uses {name}, which is not defined")
        self.definitions.append(source)

    def name(self, name: str, value: Any, user: types.FunctionType) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        if isinstance(value, types.ModuleType):
            self._module(name, value)
        elif isinstance(value, types.FunctionType) and value.__module__ == user.__module__:
            if value.__name__ not in self.seen or value.__name__ == name:
                self.seen.add(value.__name__)
                self.function(value)
            if value.__name__ != name:  # bound under another name (a closure's argument)
                self.aliases.append(f"{name} = {value.__name__}")
        elif _is_client(value):
            self.imports.add("import boto3")
            service = value.meta.service_model.service_name
            self.clients.append(value)
            self.constants.append(f'{name} = boto3.client("{service}")')
        elif callable(value):
            self._imported(name, value)
        elif isinstance(value, str) and self.is_lab_literal(value):
            variable = _variable(name)
            self.imports.add("import os")
            self.environment[variable] = value
            self.constants.append(f'{name} = os.environ["{variable}"]')
        elif _is_constant(value):
            self.constants.append(f"{name} = {value!r}")
        elif type(value) in _EMPTY:
            self.memory.append(f"{name} = {_EMPTY[type(value)]}")
        else:
            raise _Unwritable(
                f"{user.__name__} uses {name}, a {type(value).__name__} of the notebook"
            )

    def _module(self, name: str, module: types.ModuleType) -> None:
        top = module.__name__.partition(".")[0]
        if top not in sys.stdlib_module_names and top not in RUNTIME_PACKAGES:
            raise _Unwritable(f"it uses the module {module.__name__}, which Lambda does not have")
        alias = "" if module.__name__ == name else f" as {name}"
        self.imports.add(f"import {module.__name__}{alias}")

    def _imported(self, name: str, value: Any) -> None:
        module = getattr(value, "__module__", "") or ""
        top = module.partition(".")[0]
        if top not in sys.stdlib_module_names and top not in RUNTIME_PACKAGES:
            raise _Unwritable(f"it uses {name} from {module or 'the notebook'}")
        qualname = getattr(value, "__qualname__", name)
        if "." in qualname or qualname == "<lambda>":
            raise _Unwritable(f"it uses {name}, which cannot be imported by name")
        alias = "" if qualname == name else f" as {name}"
        self.imports.add(f"from {module} import {qualname}{alias}")


def _globals_used(code: types.CodeType) -> set[str]:
    names = {
        str(i.argval)
        for i in dis.get_instructions(code)
        if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")
    }
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _globals_used(const)
    return names


def _names_read(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_read(const)
    return names


def _actions(clients: list[Any], attributes: set[str]) -> tuple[str, ...]:
    """The IAM actions of the client methods the code calls (``sqs.send_message`` ->
    ``sqs:SendMessage``)."""
    found = set()
    for client in clients:
        prefix = client.meta.service_model.signing_name
        for method, operation in client.meta.method_to_api_mapping.items():
            if method in attributes:
                found.add(f"{prefix}:{operation}")
    return tuple(sorted(found))


def _is_client(value: Any) -> bool:
    meta = getattr(value, "meta", None)
    return meta is not None and hasattr(meta, "service_model") and hasattr(meta, "region_name")


def _is_constant(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return True
    return isinstance(value, tuple | frozenset) and all(_is_constant(v) for v in value)


def _variable(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())


def extract(handler: Callable[..., Any], is_lab_literal: Callable[[str], bool]) -> HandlerModule:
    """The handler as module source, or why it cannot be written out."""
    entry = getattr(handler, "__name__", "handler")
    if (
        not isinstance(handler, types.FunctionType)
        or keyword.iskeyword(entry)
        or entry == "<lambda>"
    ):
        return HandlerModule(entry, reason="it is not a function written with def")
    found = _Collector(is_lab_literal)
    try:
        found.function(handler)
    except _Unwritable as exc:
        return HandlerModule(entry, reason=str(exc))
    parts = [
        '"""A Lambda handler written out from the workbook\'s lab."""',
        "from __future__ import annotations",  # its annotations may name what it never imports
    ]
    parts.append("\n".join(sorted(found.imports, key=lambda line: (line.startswith("from"), line))))
    if found.constants:
        parts.append("\n".join(found.constants))
    if found.memory:
        comment = "# the handler's memory in the lab: empty in each new execution environment"
        parts.append("\n".join([comment, *found.memory]))
    definitions = "\n\n\n".join(d.rstrip() for d in found.definitions)
    body = "\n\n".join(p for p in parts if p) + "\n\n\n" + definitions + "\n"
    if found.aliases:
        body += "\n\n" + "\n".join(found.aliases) + "\n"
    try:
        compile(body, f"{entry}.py", "exec")
    except SyntaxError as exc:
        return HandlerModule(entry, reason=f"its source does not compile alone ({exc.msg})")
    calls = _actions(found.clients, found.attributes)
    return HandlerModule(entry, body, environment=found.environment, calls=calls)
