"""Why a message or event did (not) match, in learner sentences.

The decisions are the compiled tree's own (`Compiled.matches` and each entry's `matches`); this
module only finds the entries that failed and says why, so it cannot disagree with the fast path.

>>> verdict = explain_pattern({"detail": {"state": ["running"]}}, {"detail": {"state": "stop"}})
>>> verdict.matched
False
>>> print(verdict.reasons[0][:62])
The event field "detail.state" is "stop", but the pattern only
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .compile import Compiled, Field, Nested, Node, Or, compile_pattern, compile_policy
from .values import (
    MISSING,
    array_objects,
    body_json,
    is_number,
    read_attribute,
    read_json,
    with_iso_time,
)
from .words import alternatives, show

__all__ = ["Verdict", "explain_filter", "explain_pattern"]


@dataclass(frozen=True)
class Verdict:
    """Whether a message (or event) matches, and in learner sentences why or why not.

    >>> v = Verdict(False, ('The message attribute "store" is missing.',))
    >>> bool(v), str(v)
    (False, 'not delivered: The message attribute "store" is missing.')
    """

    matched: bool
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.matched

    def __str__(self) -> str:
        head = "delivered" if self.matched else "not delivered"
        return f"{head}: {' '.join(self.reasons)}" if self.reasons else head


def explain_filter(
    policy: dict[str, Any] | str,
    *,
    scope: str = "MessageAttributes",
    body: str = "",
    attributes: dict[str, Any] | None = None,
) -> Verdict:
    """Whether a published message passes an SNS subscription's filter policy, and why (not).

    `attributes` has the shape Publish takes: {"name": {"DataType": "String", "StringValue": ...}}.

    >>> reason = explain_filter({"store": [{"exists": True}]}, attributes={}).reasons[0]
    >>> print(reason[:80])
    The message attribute "store" is missing, but the policy needs it to be present.
    """
    compiled = compile_policy(policy, scope)
    if compiled.scope == "MessageBody":
        message = body_json(body)
        if message is None:
            return Verdict(
                False,
                (
                    "The subscription filters on the message body (FilterPolicyScope "
                    '"MessageBody"), but the body is not a JSON object, so nothing in it can '
                    "match. Publish a JSON object, or filter on message attributes instead.",
                ),
            )
        return _verdict(compiled, message, "filter policy")
    return _verdict(compiled, attributes or {}, "filter policy")


def explain_pattern(pattern: dict[str, Any] | str, event: dict[str, Any]) -> Verdict:
    """Whether an EventBridge pattern matches an event, and which field and condition failed.

    >>> verdict = explain_pattern({"source": ["shop"]}, {"source": "shop", "detail": {}})
    >>> print(verdict)
    delivered: Every condition of the event pattern matches.
    """
    return _verdict(compile_pattern(pattern), with_iso_time(event), "event pattern")


def _verdict(compiled: Compiled, message: dict[str, Any], name: str) -> Verdict:
    if compiled.matches(message):
        return Verdict(True, (f"Every condition of the {name} matches.",))
    return Verdict(False, tuple(_Speaker(compiled, message).node(compiled.node, message, "")))


@dataclass(frozen=True)
class _Leaf:
    """What a message holds under one key, as the sentences need it."""

    present: bool
    values: tuple[Any, ...]
    shown: str  # the value as a learner sees it
    note: str = ""  # why a value that looks right is not compared (a type mismatch)


#: how each form of a message attribute (values.read_attribute) is shown, and why it gave no value
_ATTRIBUTE_FORMS = {
    "not an array": (None, "its value is not a JSON array"),
    "array": ("{raw}", ""),
    "number": ("{raw} (a Number)", ""),
    "not a number": (None, ""),
    "binary": ("binary data", "SNS does not compare Binary attributes"),
    "string": (None, ""),
}


class _Speaker:
    """The sentences for one message: which entries failed and why, in the message's own words."""

    def __init__(self, compiled: Compiled, message: dict[str, Any]) -> None:
        self.compiled = compiled
        self.attributes = message if compiled.scope == "MessageAttributes" else None
        self.events = compiled.service == "events"
        if self.events:
            self.thing, self.field_word, self.rule = "event", "event field", "pattern"
        elif self.attributes is None:
            self.thing, self.field_word = "message body", "message body property"
            self.rule = "policy"
        else:
            self.thing, self.field_word, self.rule = "message", "message attribute", "policy"

    def node(self, node: Node, obj: dict[str, Any], prefix: str, number: str = "") -> list[str]:
        """Why `node` does not match `obj`: one or more sentences per failing entry.

        `number` is the "$or" branch this node is (``"2."`` in branch 2), so the branches of a
        "$or" inside it are numbered (2.1), (2.2): never (2) ... (1).
        """
        failures: list[str] = []
        for entry in node.entries:
            if entry.matches(obj):
                continue
            if isinstance(entry, Or):
                parts = [
                    f"({number}{i}) {' '.join(self.node(branch, obj, prefix, f'{number}{i}.'))}"
                    for i, branch in enumerate(entry.branches, 1)
                ]
                failures.append(
                    f'None of the {len(entry.branches)} "$or" alternatives matches: '
                    + " ".join(parts)
                )
                continue
            path = f"{prefix}.{entry.key}" if prefix else entry.key
            if isinstance(entry, Nested):
                failures.extend(self.nested(entry, obj.get(entry.key, MISSING), path, number))
            else:
                failures.append(self.field(entry, obj, path))
        return failures

    def nested(self, entry: Nested, value: Any, path: str, number: str = "") -> list[str]:
        elements = array_objects(value)
        if not elements:
            return self.node(entry.node, value if isinstance(value, dict) else {}, path, number)
        # no element matches: explain the one that came closest (the first of the fewest failures)
        closest = min((self.node(entry.node, e, path, number) for e in elements), key=len)
        if len(elements) == 1:
            return closest
        return [
            f'No single element of the array "{path}" matches every condition under it '
            f"(conditions on different elements do not combine). In the closest element: "
            + " ".join(closest)
        ]

    def field(self, entry: Field, obj: dict[str, Any], path: str) -> str:
        if self.attributes is None:
            value = obj.get(entry.key, MISSING)
            service = self.compiled.service
            present, values = read_json(value, service=service)
            shown = "missing" if value is MISSING else show(value)
            return self.sentence(entry, _Leaf(present, values, shown), path)
        if entry.key not in self.attributes:
            if not self.attributes and any(c.op == "exists" and not c.arg for c in entry.conds):
                return (
                    f'The message has no attributes at all, and SNS matches "{entry.key}": '
                    '[{"exists": false}] only on a message that carries at least one attribute. '
                    "Publish with any other message attribute."
                )
            return self.sentence(entry, _Leaf(False, (), "missing"), path)
        attribute = self.attributes[entry.key]
        values, form = read_attribute(attribute)
        raw = attribute.get("StringValue", attribute.get("Value"))
        template, note = _ATTRIBUTE_FORMS[form]
        shown = show(raw) if template is None else template.format(raw=raw)
        return self.sentence(entry, _Leaf(True, values, shown, note), path)

    def sentence(self, entry: Field, leaf: _Leaf, path: str) -> str:
        """The key, what it holds, what the rule accepts, and what to do."""
        name = f'The {self.field_word} "{path}"'
        if all(c.op == "exists" and c.arg for c in entry.conds):
            wants = "needs it to be present"
        else:
            wants = f"only accepts a value that {_wants(entry)}"
        if not leaf.present and not leaf.values:
            fix = (
                f'add "{path}" to the {self.thing}'
                if self.attributes is None
                else f'publish with a "{path}" message attribute'
            )
            if leaf.shown != "missing":
                return (
                    f"{name} is {leaf.shown}, which counts as no value, but the {self.rule} "
                    f"{wants}."
                )
            return (
                f"{name} is missing, but the {self.rule} {wants}. Either {fix}, "
                f'or take "{path}" out of the {self.rule}.'
            )
        if wants == "needs it to be present" and leaf.shown == '""' and not self.events:
            return (
                f'{name} is "", but the {self.rule} needs it to be present, and SNS counts an '
                f'empty string as absent for "exists": true. Send a non-empty value, or take '
                f'"{path}" out of the {self.rule}.'
            )
        sentence = f"{name} is {leaf.shown}, but the {self.rule} {wants}."
        numeric = any(c.op == "numeric" for c in entry.conds)
        if numeric and leaf.values and not any(is_number(v) for v in leaf.values):
            if self.attributes is not None:
                sentence += (
                    ' Numeric matching compares only attributes sent with DataType "Number".'
                )
            else:
                sentence += " Numeric matching only works on JSON numbers: send it without quotes."
        elif any(c.op == "exists" and c.arg is False for c in entry.conds) and leaf.present:
            sentence += f' Leave "{path}" out of the {self.thing} for "exists": false to match.'
        elif leaf.note:
            sentence += f" ({leaf.note}.)"
        elif (
            all(c.op == "equals" for c in entry.conds)
            and leaf.shown.startswith("[")
            and leaf.values
        ):
            # an array: it matches when one element does; the policy's list holds single values
            sentence += (
                f" An array matches when one of its elements does: send one of those values "
                f"in it, or add one of its elements (such as {show(leaf.values[0])}) to the list "
                f'under "{path}".'
            )
        elif all(c.op == "equals" for c in entry.conds):
            sentence += (
                f' Send one of those values, or add {leaf.shown} to the list under "{path}".'
            )
        else:
            sentence += " Send a value that fits, or change the condition."
        return sentence


def _wants(field: Field) -> str:
    """The conditions of one key as a learner reads them: 'is "rugby" or "tennis"'."""
    equals = [show(c.arg) for c in field.conds if c.op == "equals"]
    parts = [f"is {alternatives(equals)}"] if equals else []
    parts += [c.text for c in field.conds if c.op != "equals"]
    return alternatives(parts)
