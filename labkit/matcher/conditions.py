"""One condition of a key's list, compiled: a test on one scalar value, and how a learner reads it.

>>> cond = compile_cond({"numeric": [">", 0, "<=", 5]})
>>> cond.text, cond.test(5), cond.test(6), cond.test("5")
('is a number > 0 and <= 5', True, False, False)
>>> compile_cond({"anything-but": {"prefix": "init"}}).text
'does not start with "init"'
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .syntax import STRING_OPERATORS
from .values import is_number, num_equal, same
from .words import alternatives, show, verb

__all__ = ["Cond", "Test", "compile_cond"]

#: a test on one scalar value
Test = Callable[[Any], bool]


@dataclass(frozen=True)
class Cond:
    """One value condition in a key's list: the key matches when any of its conditions does."""

    op: str  # "equals" or one of OPERATORS
    arg: Any
    text: str  # how a learner reads it: 'is "rugby"', 'starts with "bas"'
    test: Test  # on one scalar value (for exists: unused)


def compile_cond(rule: Any) -> Cond:
    """A (validated) rule from a key's list: a plain value, or {operator: argument}."""
    if not isinstance(rule, dict):
        return Cond("equals", rule, f"is {show(rule)}", lambda v: same(v, rule))
    ((op, arg),) = rule.items()
    if op == "exists":
        return Cond(op, arg, "is present" if arg else "is absent", lambda v: True)
    if op in STRING_OPERATORS:
        test, text = _string_op(op, arg)
    elif op == "numeric":
        test, text = _numeric(arg)
    elif op == "cidr":
        test, text = _cidr(arg)
    else:
        test, text = _anything_but(arg)
    return Cond(op, arg, text, test)


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _string_op(op: str, arg: Any) -> tuple[Test, str]:
    """prefix / suffix / equals-ignore-case / wildcard on strings (arg may be a list)."""
    ignore_case = isinstance(arg, dict)
    raw = arg["equals-ignore-case"] if ignore_case else arg
    values = raw if isinstance(raw, list) else [raw]
    shown = alternatives([show(v) for v in values])
    case = " (ignoring case)" if ignore_case else ""
    if op in ("prefix", "suffix"):
        wanted = tuple(v.casefold() if ignore_case else v for v in values)
        # str.startswith / endswith take a tuple: any of them
        ends = str.startswith if op == "prefix" else str.endswith

        def test(v: Any) -> bool:
            return isinstance(v, str) and ends(v.casefold() if ignore_case else v, wanted)

        word = "starts" if op == "prefix" else "ends"
        return test, f"{word} with {shown}{case}"
    if op == "equals-ignore-case":
        folded = frozenset(v.casefold() for v in values)
        return (
            lambda v: isinstance(v, str) and v.casefold() in folded,
            f"is {shown} in any letter case",
        )
    regexes = [_wildcard_regex(v) for v in values]
    return (
        lambda v: isinstance(v, str) and any(r.fullmatch(v) for r in regexes),
        f"matches the wildcard {shown}",
    )


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": num_equal,
    "<": lambda a, b: a < b and not num_equal(a, b),
    "<=": lambda a, b: a <= b or num_equal(a, b),
    ">": lambda a, b: a > b and not num_equal(a, b),
    ">=": lambda a, b: a >= b or num_equal(a, b),
}


def _numeric(terms: list[Any]) -> tuple[Test, str]:
    pairs = list(zip(terms[0::2], terms[1::2], strict=False))
    bounds = tuple((_COMPARE[op], float(x)) for op, x in pairs)

    def test(v: Any) -> bool:
        if not is_number(v):
            return False
        number = float(v)
        for compare, bound in bounds:
            if not compare(number, bound):
                return False
        return True

    text = " and ".join(f"{op} {show(x)}" for op, x in pairs)
    return test, f"is a number {text}"


def _cidr(arg: str) -> tuple[Test, str]:
    network = ipaddress.ip_network(arg, strict=False)

    def test(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        try:
            return ipaddress.ip_address(v) in network
        except ValueError:
            return False

    return test, f"is an IP address in {arg}"


def _anything_but(arg: Any) -> tuple[Test, str]:
    if isinstance(arg, dict):
        ((op, inner),) = arg.items()
        inner_test, inner_text = _string_op(op, inner)
        return (lambda v: isinstance(v, str) and not inner_test(v)), f"does not {verb(inner_text)}"
    values = arg if isinstance(arg, list) else [arg]
    return (
        lambda v: not any(same(v, x) for x in values),
        f"is anything but {alternatives([show(v) for v in values])}",
    )
