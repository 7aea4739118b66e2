"""A validated policy or pattern, compiled once (and cached) into a tree that decides fast.

Each entry of the tree carries its decision as a closure, built for the kind of message it reads
(an event, an SNS message body, SNS message attributes), so deciding builds no strings and looks
nothing up by name; the explanations walk the same tree and ask the same closures.

>>> compiled = compile_pattern({"source": ["shop"], "detail": {"total": [{"numeric": [">", 9]}]}})
>>> compiled.matches({"source": "shop", "detail": {"total": 10}})
True
>>> compiled.matches({"source": "shop", "detail": {"total": [1, 2]}})
False
>>> compile_pattern({"source": ["shop"]}) is compile_pattern('{"source": ["shop"]}')
True
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .conditions import Cond, Test, compile_cond
from .syntax import is_or
from .validate import validate_filter_policy, validate_pattern
from .values import MISSING, array_objects, read_attribute, read_json, same, with_iso_time

__all__ = [
    "Compiled",
    "Node",
    "Field",
    "Nested",
    "Or",
    "compile_policy",
    "compile_pattern",
]

#: a decision on the object (or the message attributes) an entry reads its key from
Decide = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Field:
    """A key with its list of conditions."""

    key: str
    conds: tuple[Cond, ...]
    matches: Decide


@dataclass(frozen=True)
class Nested:
    """A key whose value is a sub-pattern (an object, or an array of objects)."""

    key: str
    node: Node
    matches: Decide


@dataclass(frozen=True)
class Or:
    """A "$or": one of the branches must match."""

    branches: tuple[Node, ...]
    matches: Decide


@dataclass(frozen=True)
class Node:
    """An object of the pattern: every entry must match."""

    entries: tuple[Field | Nested | Or, ...]
    matches: Decide


@dataclass(frozen=True)
class Compiled:
    """A validated policy or pattern, ready to decide: `matches(message)`.

    `message` is the event, the message body as a JSON object, or the message attributes,
    after `scope`.
    """

    node: Node
    service: str  # "sns" or "events"
    scope: str  # SNS scope, or "Event"
    matches: Decide


def compile_policy(policy: dict[str, Any] | str, scope: str = "MessageAttributes") -> Compiled:
    """A validated, cached filter policy (what the deliveries use)."""
    return _compile(_as_text(policy), "sns", scope or "MessageAttributes")


def compile_pattern(pattern: dict[str, Any] | str) -> Compiled:
    """A validated, cached event pattern (what the deliveries use)."""
    return _compile(_as_text(pattern), "events", "Event")


def _as_text(pattern: dict[str, Any] | str) -> str:
    return pattern if isinstance(pattern, str) else json.dumps(pattern, sort_keys=True)


@functools.lru_cache(maxsize=1024)
def _compile(text: str, service: str, scope: str) -> Compiled:
    pattern = json.loads(text)
    if service == "sns":
        validate_filter_policy(pattern, scope)
    else:
        validate_pattern(pattern)
    if scope == "MessageAttributes":
        node = _compile_node(pattern, _attribute_field)
    else:
        node = _compile_node(pattern, functools.partial(_json_field, service=service))
    return Compiled(node, service, scope, _root(node, service))


def _root(node: Node, service: str) -> Decide:
    decide = node.matches
    if service == "events" and "time" in _top_keys(node):
        # converting `time` costs a copy of the event: only for the patterns that read it
        return lambda event: decide(with_iso_time(event) if isinstance(event, dict) else {})
    return lambda message: decide(message if isinstance(message, dict) else {})


def _top_keys(node: Node) -> set[str]:
    keys: set[str] = set()
    for entry in node.entries:
        if isinstance(entry, Or):
            for branch in entry.branches:
                keys |= _top_keys(branch)
        else:
            keys.add(entry.key)
    return keys


def _compile_node(pattern: dict[str, Any], field: Callable[[str, list[Any]], Field]) -> Node:
    entries: list[Field | Nested | Or] = []
    for key, value in pattern.items():
        if is_or(key, value):
            branches = tuple(_compile_node(b, field) for b in value)
            entries.append(Or(branches, _any_of(tuple(b.matches for b in branches))))
        elif isinstance(value, dict):
            node = _compile_node(value, field)
            entries.append(Nested(key, node, _nested(key, node.matches)))
        else:
            entries.append(field(key, value))
    return Node(tuple(entries), _all_of(tuple(e.matches for e in entries)))


def _all_of(decisions: tuple[Decide, ...]) -> Decide:
    if len(decisions) == 1:
        return decisions[0]

    def decide(obj: dict[str, Any]) -> bool:
        for matches in decisions:
            if not matches(obj):
                return False
        return True

    return decide


def _any_of(decisions: tuple[Decide, ...]) -> Decide:
    def decide(obj: dict[str, Any]) -> bool:
        for matches in decisions:
            if matches(obj):
                return True
        return False

    return decide


def _nested(key: str, decide: Decide) -> Decide:
    def matches(obj: dict[str, Any]) -> bool:
        value = obj.get(key, MISSING)
        if isinstance(value, dict):
            return decide(value)
        # arrays of objects: every key of the sub-pattern must match inside one element
        elements = array_objects(value)
        if elements:
            return any(decide(e) for e in elements)
        return decide({})

    return matches


# -- one key and its conditions -------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """A key's conditions, grouped for deciding: the key matches when any group does."""

    on_present: bool  # an "exists": true
    on_absent: bool  # an "exists": false
    strings: frozenset[str]  # plain string values
    others: tuple[Any, ...]  # plain values that are not strings (numbers, true, false, null)
    tests: tuple[Test, ...]  # operators other than exists: they need the key present

    @classmethod
    def of(cls, conds: tuple[Cond, ...]) -> _Plan:
        equals = [c.arg for c in conds if c.op == "equals"]
        return cls(
            on_present=any(c.op == "exists" and c.arg for c in conds),
            on_absent=any(c.op == "exists" and not c.arg for c in conds),
            strings=frozenset(a for a in equals if type(a) is str),
            others=tuple(a for a in equals if type(a) is not str),
            tests=tuple(c.test for c in conds if c.op not in ("equals", "exists")),
        )

    @property
    def only_strings(self) -> frozenset[str] | None:
        """The plain strings when they are all the conditions (a string value then needs one
        set look-up), else None."""
        alone = not (self.on_present or self.on_absent or self.others or self.tests)
        return self.strings if alone and self.strings else None

    def accepts(self, present: bool, values: tuple[Any, ...]) -> bool:
        """Whether the key, present or not, with these scalar values, matches."""
        if self.on_present if present else self.on_absent:
            return True
        strings, others, tests = self.strings, self.others, self.tests
        for v in values:
            # plain values match whatever counts as present: "" and null are values too
            if type(v) is str and v in strings:
                return True
            if others and any(same(v, a) for a in others):
                return True
            if present and tests and any(test(v) for test in tests):
                return True
        return False


def _json_field(key: str, rules: list[Any], *, service: str) -> Field:
    conds = tuple(compile_cond(r) for r in rules)
    plan = _Plan.of(conds)
    accepts = plan.accepts
    strings = plan.only_strings

    def matches(obj: dict[str, Any]) -> bool:
        value = obj.get(key, MISSING)
        if strings is not None and type(value) is str:
            return value in strings
        present, values = read_json(value, service=service)
        return accepts(present, values)

    return Field(key, conds, matches)


def _attribute_field(key: str, rules: list[Any]) -> Field:
    conds = tuple(compile_cond(r) for r in rules)
    plan = _Plan.of(conds)
    accepts = plan.accepts
    strings = plan.only_strings
    on_absent = plan.on_absent

    def matches(attributes: dict[str, Any]) -> bool:
        attribute = attributes.get(key, MISSING)
        if attribute is MISSING:
            # SNS: "exists": false matches only when the message has at least one attribute
            return on_absent and bool(attributes)
        if strings is not None and attribute.get("DataType", attribute.get("Type")) == "String":
            raw = attribute.get("StringValue", attribute.get("Value"))
            return type(raw) is str and raw in strings
        values, _ = read_attribute(attribute)
        return accepts(True, values)

    return Field(key, conds, matches)
