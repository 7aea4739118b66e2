"""HCL text for Terraform: values and blocks written flat, then laid out as ``terraform fmt`` does.

The writer emits every line without indentation; :func:`fmt` then applies the layout rules of
HashiCorp's ``hclwrite`` formatter (the code behind ``terraform fmt``):

* each line is indented two spaces per open bracket level, where a line that opens several
  brackets at once (``jsonencode({``) opens one level;
* in a run of consecutive lines that each hold a whole ``name = value`` (the value closes every
  bracket it opens), the ``=`` signs are aligned one space after the longest name;
* a line whose value opens a bracket and continues below breaks the run, as do blank lines,
  comments and block headers.

python-hcl2's writer (``hcl2.dumps``, 8.1) is not ``fmt``: it aligns the ``=`` of an attribute
whose value spans lines with its neighbours, writes commas between object items and puts each
list item on its own line, all of which ``terraform fmt -check`` reports; so the export keeps
this small formatter;
``tests/test_terraform.py`` checks it against ``fmt``'s rules and, where the binary is
installed, against ``terraform fmt -check`` itself.

>>> print(fmt('resource "aws_sqs_queue" "q" {\\nname = "q"\\ndelay_seconds = 5\\n}'), end="")
resource "aws_sqs_queue" "q" {
  name          = "q"
  delay_seconds = 5
}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Block", "Comment", "Expr", "Template", "fmt", "quote", "render_value"]

_OPEN, _CLOSE = "{[(", "}])"


class Expr(str):
    """An HCL expression written as it is (a reference, a function call)."""


class Template(str):
    """A quoted HCL template, already escaped, with ``${...}`` interpolations in it."""


@dataclass(frozen=True)
class Comment:
    """A comment line inside a block (``# ...``)."""

    text: str


@dataclass
class Block:
    """A block: its type and labels, attributes in order, nested blocks, comments."""

    kind: str
    labels: tuple[str, ...] = ()
    body: list[tuple[str, Any] | Block | Comment] = field(default_factory=list)

    def set(self, name: str, value: Any) -> Block:
        self.body.append((name, value))
        return self

    def nested(self, kind: str) -> Block:
        inner = Block(kind)
        self.body.append(inner)
        return inner

    def comment(self, text: str) -> Block:
        self.body.append(Comment(text))
        return self

    def lines(self) -> list[str]:
        header = " ".join([self.kind, *(f'"{label}"' for label in self.labels), "{"])
        out = [header]
        previous: str = ""
        for item in self.body:
            if isinstance(item, Comment):
                out.append(f"# {item.text}" if item.text else "#")
                previous = "comment"
            elif isinstance(item, Block):
                if previous in ("attr", "block"):
                    out.append("")
                out.extend(item.lines())
                previous = "block"
            else:
                if previous == "block":
                    out.append("")
                name, value = item
                out.extend(_attribute(name, value))
                previous = "attr"
        out.append("}")
        return out

    def text(self) -> str:
        return fmt("\n".join(self.lines()))


def quote(text: str) -> str:
    """A literal string as a quoted HCL string: escapes, and ``${``/``%{`` doubled.

    >>> quote('say "${hi}"')
    '"say \\\\"$${hi}\\\\""'
    """
    text = json.dumps(text, ensure_ascii=False)[1:-1]
    return '"' + text.replace("${", "$${").replace("%{", "%%{") + '"'


def render_value(value: Any) -> list[str]:
    """A value as HCL lines (unindented): objects and lists of objects span lines."""
    if isinstance(value, Expr):
        return [str(value)]
    if isinstance(value, Template):
        return [str(value)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if value is None:
        return ["null"]
    if isinstance(value, int | float):
        return [json.dumps(value)]
    if isinstance(value, str):
        return [quote(value)]
    if isinstance(value, dict):
        if not value:
            return ["{}"]
        lines = ["{"]
        for key, item in value.items():
            inner = render_value(item)
            lines.append(f"{_key(key)} = {inner[0]}")
            lines.extend(inner[1:])
        lines.append("}")
        return lines
    if isinstance(value, list | tuple):
        if not value:
            return ["[]"]
        items = [render_value(v) for v in value]
        if all(len(i) == 1 for i in items):
            return ["[" + ", ".join(i[0] for i in items) + "]"]
        lines = ["["]
        for item in items:
            lines.extend(item[:-1])
            lines.append(item[-1] + ",")
        lines.append("]")
        return lines
    raise TypeError(f"cannot write {type(value).__name__} as HCL")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"for", "in", "if", "true", "false", "null"}


def _key(key: str) -> str:
    """An object key: bare when it is a plain identifier, else quoted."""
    key = str(key)
    return key if _IDENTIFIER.fullmatch(key) and key not in _KEYWORDS else quote(key)


def _attribute(name: str, value: Any) -> list[str]:
    lines = render_value(value)
    return [f"{name} = {lines[0]}", *lines[1:]]


# -- the formatter ----------------------------------------------------------------------------
_STRING = re.compile(r'"(?:[^"\\$]|\\.|\$\{[^}]*\}|\$(?!\{))*"')


@dataclass(frozen=True)
class _Line:
    code: str  # the line without its leading spaces
    brackets: int  # net brackets opened on the line
    lead: str  # text before an aligned "=", "" when the line takes no part in alignment
    rest: str  # text after that "="


def _scan(code: str) -> tuple[int, int]:
    """Net brackets of a line (strings and comments skipped), and the column of its first
    ``=`` assignment (-1 if none)."""
    net, equals, i = 0, -1, 0
    while i < len(code):
        ch = code[i]
        if ch == '"':
            match = _STRING.match(code, i)
            i = match.end() if match else len(code)
            continue
        if ch == "#" or code.startswith("//", i):
            break
        if ch in _OPEN:
            net += 1
        elif ch in _CLOSE:
            net -= 1
        elif ch == "=" and equals < 0 and i > 0:
            pair = code[i - 1 : i + 2]
            if pair[0] not in "=!<>" and not pair.endswith(("==", "=>")):
                equals = i
        i += 1
    return net, equals


def _analyse(code: str) -> _Line:
    net, equals = _scan(code)
    if equals > 0:
        after, _ = _scan(code[equals + 1 :])
        if after == 0:
            return _Line(code, net, code[:equals].rstrip(), code[equals + 1 :].strip())
    return _Line(code, net, "", "")


def fmt(text: str) -> str:
    """Lay HCL text out as ``terraform fmt`` does (indentation and aligned ``=``)."""
    lines = [_analyse(raw.strip()) for raw in text.strip("\n").splitlines()]
    indents: list[int] = []
    widths: list[int] = []
    for line in lines:
        if not line.code:
            widths.append(0)
            continue
        if line.brackets < 0:
            closed = -line.brackets
            while closed > 0 and indents:
                if closed >= indents[-1]:
                    closed -= indents.pop()
                else:
                    indents[-1] -= closed
                    closed = 0
        widths.append(2 * len(indents))
        if line.brackets > 0:
            indents.append(line.brackets)
    out: list[str] = []
    run: list[int] = []

    def close_run() -> None:
        longest = max(widths[i] + len(lines[i].lead) for i in run)
        for i in run:
            pad = " " * (longest - widths[i] - len(lines[i].lead) + 1)
            out[i] = " " * widths[i] + lines[i].lead + pad + "= " + lines[i].rest
        run.clear()

    for i, line in enumerate(lines):
        out.append(" " * widths[i] + line.code if line.code else "")
        if line.lead:
            run.append(i)
        elif run:
            close_run()
    if run:
        close_run()
    return "\n".join(out).rstrip() + "\n"
