"""SNS filter policies and EventBridge event patterns, matched as the AWS documentation says.

One matcher serves three uses: the deliveries on the embedded backend (see
`labkit.moto_patches.filters_and_patterns`),
the "why was this not delivered?" explanations, and the validation AWS performs at Subscribe and
PutRule time.

>>> policy = {"customer_interests": ["rugby", "tennis"]}
>>> attributes = {"customer_interests": {"DataType": "String", "StringValue": "baseball"}}
>>> verdict = explain_filter(policy, body="hello", attributes=attributes)
>>> verdict.matched
False
>>> print(verdict.reasons[0][:98])
The message attribute "customer_interests" is "baseball", but the policy only accepts a value that
>>> bool(explain_pattern({"source": ["shop.orders"]}, {"source": "shop.orders", "detail": {}}))
True
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import InvalidEventPattern, InvalidFilterPolicy, MatcherError

__all__ = [
    "Verdict",
    "MatcherError",
    "InvalidFilterPolicy",
    "InvalidEventPattern",
    "explain_filter",
    "explain_pattern",
    "filter_matches",
    "pattern_matches",
    "validate_filter_policy",
    "validate_pattern",
    "SCOPES",
]

SCOPES = ("MessageAttributes", "MessageBody")
#: SNS limits (subscription-filter-policy-constraints): keys per policy, value combinations.
MAX_KEYS = 5
MAX_COMBINATIONS = 150
OPERATORS = (
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "cidr",
    "exists",
)
_MISSING = object()


# -- results and errors ---------------------------------------------------------------------------
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


# -- compiled form -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Cond:
    """One value condition in a key's list: the key matches when any of its conditions does."""

    op: str  # "equals" or one of OPERATORS
    arg: Any
    text: str  # how a learner reads it: 'is "rugby"', 'starts with "bas"'
    test: Callable[[Any], bool]  # on one leaf value (for exists: unused)


@dataclass(frozen=True)
class _Field:
    key: str
    conds: tuple[_Cond, ...]


@dataclass(frozen=True)
class _Nested:
    key: str
    node: _Node


@dataclass(frozen=True)
class _Or:
    branches: tuple[_Node, ...]


@dataclass(frozen=True)
class _Node:
    entries: tuple[_Field | _Nested | _Or, ...]


@dataclass(frozen=True)
class _Compiled:
    node: _Node
    service: str  # "sns" or "events"
    scope: str  # SNS scope, or "Event"


# -- values --------------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _num_equal(a: float, b: float) -> bool:
    # the documentation promises six digits after the decimal point; compare at that precision
    return math.isclose(a, b, rel_tol=0.0, abs_tol=5e-7)


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return _num_equal(float(a), float(b))
    return type(a) is type(b) and a == b


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _alternatives(items: list[str], word: str = "or") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


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


def _string_op(op: str, arg: Any) -> tuple[Callable[[Any], bool], str]:
    """prefix / suffix / equals-ignore-case / wildcard on strings (arg may be a list)."""
    ignore_case = isinstance(arg, dict)
    raw = arg["equals-ignore-case"] if ignore_case else arg
    values = raw if isinstance(raw, list) else [raw]
    case = " (ignoring case)" if ignore_case else ""
    if op == "prefix":
        wanted = [v.casefold() if ignore_case else v for v in values]

        def test(v: Any) -> bool:
            s = v.casefold() if ignore_case else v
            return isinstance(v, str) and any(s.startswith(w) for w in wanted)

        return test, f"starts with {_alternatives([_show(v) for v in values])}{case}"
    if op == "suffix":
        wanted = [v.casefold() if ignore_case else v for v in values]

        def test(v: Any) -> bool:
            s = v.casefold() if ignore_case else v
            return isinstance(v, str) and any(s.endswith(w) for w in wanted)

        return test, f"ends with {_alternatives([_show(v) for v in values])}{case}"
    if op == "equals-ignore-case":
        wanted = [v.casefold() for v in values]
        return (
            lambda v: isinstance(v, str) and v.casefold() in wanted,
            f"is {_alternatives([_show(v) for v in values])} in any letter case",
        )
    regexes = [_wildcard_regex(v) for v in values]
    return (
        lambda v: isinstance(v, str) and any(r.fullmatch(v) for r in regexes),
        f"matches the wildcard {_alternatives([_show(v) for v in values])}",
    )


def _numeric_test(terms: list[Any]) -> tuple[Callable[[Any], bool], str]:
    pairs = list(zip(terms[0::2], terms[1::2], strict=False))
    compare = {
        "=": lambda a, b: _num_equal(a, b),
        "<": lambda a, b: a < b and not _num_equal(a, b),
        "<=": lambda a, b: a <= b or _num_equal(a, b),
        ">": lambda a, b: a > b and not _num_equal(a, b),
        ">=": lambda a, b: a >= b or _num_equal(a, b),
    }

    def test(v: Any) -> bool:
        return _is_number(v) and all(compare[op](float(v), float(x)) for op, x in pairs)

    text = " and ".join(f"{op} {_show(x)}" for op, x in pairs)
    return test, f"is a number {text}"


def _cidr_test(arg: str) -> tuple[Callable[[Any], bool], str]:
    network = ipaddress.ip_network(arg, strict=False)

    def test(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        try:
            return ipaddress.ip_address(v) in network
        except ValueError:
            return False

    return test, f"is an IP address in {arg}"


def _anything_but(arg: Any) -> tuple[Callable[[Any], bool], str]:
    if isinstance(arg, dict):
        ((op, inner),) = arg.items()
        inner_test, inner_text = _string_op(op, inner)
        return (lambda v: isinstance(v, str) and not inner_test(v)), f"does not {_verb(inner_text)}"
    values = arg if isinstance(arg, list) else [arg]
    return (
        lambda v: not any(_same(v, x) for x in values),
        f"is anything but {_alternatives([_show(v) for v in values])}",
    )


def _verb(text: str) -> str:
    """'starts with "x"' -> 'start with "x"' (for "does not ...")."""
    first, _, rest = text.partition(" ")
    verb = {"starts": "start", "ends": "end", "matches": "match", "is": "equal"}.get(first, first)
    return f"{verb} {rest}"


def _compile_cond(rule: Any) -> _Cond:
    if not isinstance(rule, dict):
        return _Cond("equals", rule, f"is {_show(rule)}", lambda v, r=rule: _same(v, r))
    ((op, arg),) = rule.items()
    if op == "exists":
        return _Cond(op, arg, "is present" if arg else "is absent", lambda v: True)
    if op in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
        test, text = _string_op(op, arg)
    elif op == "numeric":
        test, text = _numeric_test(arg)
    elif op == "cidr":
        test, text = _cidr_test(arg)
    else:
        test, text = _anything_but(arg)
    return _Cond(op, arg, text, test)


def _is_or(key: str, value: Any) -> bool:
    """ "$or" is an OR only when it holds 2+ objects whose keys are not operator names."""
    return (
        key == "$or"
        and isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(b, dict) and not (set(b) & set(OPERATORS)) for b in value)
    )


def _compile_node(pattern: dict[str, Any]) -> _Node:
    entries: list[_Field | _Nested | _Or] = []
    for key, value in pattern.items():
        if _is_or(key, value):
            entries.append(_Or(tuple(_compile_node(b) for b in value)))
        elif isinstance(value, dict):
            entries.append(_Nested(key, _compile_node(value)))
        else:
            entries.append(_Field(key, tuple(_compile_cond(r) for r in value)))
    return _Node(tuple(entries))


@functools.lru_cache(maxsize=1024)
def _compile(text: str, service: str, scope: str) -> _Compiled:
    pattern = json.loads(text)
    if service == "sns":
        validate_filter_policy(pattern, scope)
    else:
        validate_pattern(pattern)
    return _Compiled(_compile_node(pattern), service, scope)


def _as_text(pattern: dict[str, Any] | str) -> str:
    return pattern if isinstance(pattern, str) else json.dumps(pattern, sort_keys=True)


def compile_policy(policy: dict[str, Any] | str, scope: str = "MessageAttributes") -> _Compiled:
    """A validated, cached filter policy (what the deliveries use)."""
    return _compile(_as_text(policy), "sns", scope or "MessageAttributes")


def compile_pattern(pattern: dict[str, Any] | str) -> _Compiled:
    """A validated, cached event pattern (what the deliveries use)."""
    return _compile(_as_text(pattern), "events", "Event")


# -- evaluation ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Leaf:
    """What a message holds under one key: its scalar values, and whether the key is there."""

    present: bool
    values: tuple[Any, ...]
    shown: str  # the value as a learner sees it, for sentences
    note: str = ""  # why a value that looks right is not compared (a type mismatch)


def _scalars(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [s for item in value for s in _scalars(item)]
    if isinstance(value, dict):
        return []
    return [value]


def _json_leaf(value: Any, service: str) -> _Leaf:
    if value is _MISSING:
        return _Leaf(False, (), "missing")
    values = tuple(_scalars(value))
    if service == "sns":
        # SNS: "exists": true needs a non-null and non-empty value
        present = any(v is not None and v != "" for v in values)
    else:
        # event-ruler: a leaf with any value (null too) is there; objects and empty arrays are not
        present = bool(values)
    return _Leaf(present, values, _show(value))


def _attribute_leaf(attributes: dict[str, Any], key: str) -> _Leaf:
    if key not in attributes:
        return _Leaf(False, (), "missing")
    attr = attributes[key]
    kind = str(attr.get("DataType") or attr.get("Type") or "String")
    raw = attr.get("StringValue", attr.get("Value"))
    base = kind.split(".")[0]
    if kind.startswith(("String.Array", "Number.Array")) or kind == "String.Array":
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError):
            return _Leaf(True, (), _show(raw), "its value is not a JSON array")
        values = tuple(_scalars(parsed if isinstance(parsed, list) else [parsed]))
        return _Leaf(True, values, str(raw))
    if base == "Number":
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return _Leaf(True, (), _show(raw))
        value = int(number) if number.is_integer() and "." not in str(raw) else number
        return _Leaf(True, (value,), f"{raw} (a Number)")
    if base == "Binary":
        return _Leaf(True, (), "binary data", "SNS does not compare Binary attributes")
    return _Leaf(True, (raw,), _show(raw))


class _Ctx:
    """How to read keys and how to speak about them for one kind of message."""

    def __init__(self, service: str, scope: str) -> None:
        self.service = service
        self.scope = scope
        if service == "events":
            self.thing, self.field_word = "event", "event field"
        elif scope == "MessageBody":
            self.thing, self.field_word = "message body", "message body property"
        else:
            self.thing, self.field_word = "message", "message attribute"


def _leaf_ok(field: _Field, leaf: _Leaf) -> bool:
    for cond in field.conds:
        if cond.op == "exists":
            if cond.arg == leaf.present:
                return True
        elif leaf.present or (leaf.values and cond.op == "equals"):
            if cond.op == "anything-but":
                # anything-but needs the key, and one value (of an array) outside the list
                if leaf.values and any(cond.test(v) for v in leaf.values):
                    return True
            elif any(cond.test(v) for v in leaf.values):
                return True
    return False


def _wants(field: _Field) -> str:
    """The conditions of one key as a learner reads them: 'is "rugby" or "tennis"'."""
    equals = [_show(c.arg) for c in field.conds if c.op == "equals"]
    parts = [f"is {_alternatives(equals)}"] if equals else []
    parts += [c.text for c in field.conds if c.op != "equals"]
    return _alternatives(parts)


def _field_reason(field: _Field, leaf: _Leaf, path: str, ctx: _Ctx) -> str:
    name = f'The {ctx.field_word} "{path}"'
    rule = _word(ctx)
    if all(c.op == "exists" and c.arg for c in field.conds):
        wants = "needs it to be present"
    else:
        wants = f"only accepts a value that {_wants(field)}"
    if not leaf.present and not leaf.values:
        fix = (
            f'add "{path}" to the {ctx.thing}'
            if ctx.service == "events" or ctx.scope == "MessageBody"
            else f'publish with a "{path}" message attribute'
        )
        if leaf.shown != "missing":
            return f"{name} is {leaf.shown}, which counts as no value, but the {rule} {wants}."
        return (
            f"{name} is missing, but the {rule} {wants}. Either {fix}, "
            f'or take "{path}" out of the {rule}.'
        )
    sentence = f"{name} is {leaf.shown}, but the {rule} {wants}."
    numeric = [c for c in field.conds if c.op == "numeric"]
    if numeric and leaf.values and not any(_is_number(v) for v in leaf.values):
        if ctx.scope == "MessageAttributes" and ctx.service == "sns":
            sentence += ' Numeric matching compares only attributes sent with DataType "Number".'
        else:
            sentence += " Numeric matching only works on JSON numbers: send it without quotes."
    elif any(c.op == "exists" and c.arg is False for c in field.conds) and leaf.present:
        sentence += f' Leave "{path}" out of the {ctx.thing} for "exists": false to match.'
    elif leaf.note:
        sentence += f" ({leaf.note}.)"
    elif all(c.op == "equals" for c in field.conds):
        sentence += f' Send one of those values, or add {leaf.shown} to the list under "{path}".'
    else:
        sentence += " Send a value that fits, or change the condition."
    return sentence


def _word(ctx: _Ctx) -> str:
    return "pattern" if ctx.service == "events" else "policy"


def _eval(node: _Node, obj: Any, prefix: str, ctx: _Ctx, explain: bool) -> list[str]:
    """Failures of `node` against `obj` (an empty list means it matches)."""
    failures: list[str] = []
    for entry in node.entries:
        if isinstance(entry, _Or):
            branch_failures = []
            for branch in entry.branches:
                found = _eval(branch, obj, prefix, ctx, explain)
                if not found:
                    branch_failures = []
                    break
                branch_failures.append(found)
            else:
                if not explain:
                    return ["x"]
                parts = [f"({i}) {' '.join(f)}" for i, f in enumerate(branch_failures, 1)]
                failures.append(
                    f'None of the {len(entry.branches)} "$or" alternatives matches: '
                    + " ".join(parts)
                )
            continue
        path = f"{prefix}.{entry.key}" if prefix else entry.key
        value = obj.get(entry.key, _MISSING) if isinstance(obj, dict) else _MISSING
        if isinstance(entry, _Nested):
            found = _eval_nested(entry.node, value, path, ctx, explain)
        else:
            found = _eval_field(entry, value, path, ctx, explain)
        if found:
            if not explain:
                return found
            failures.extend(found)
    return failures


def _eval_nested(node: _Node, value: Any, path: str, ctx: _Ctx, explain: bool) -> list[str]:
    if isinstance(value, list):
        # arrays of objects: every key of the sub-pattern must match inside one element
        elements = [e for e in _flatten_lists(value) if isinstance(e, dict)]
        if not elements:
            return _eval(node, {}, path, ctx, explain)
        first: list[str] = []
        for element in elements:
            found = _eval(node, element, path, ctx, explain)
            if not found:
                return []
            # explain the element that came closest
            first = found if not first or len(found) < len(first) else first
        if not explain:
            return first
        if len(elements) == 1:
            return first
        return [
            f'No single element of the array "{path}" matches every condition under it '
            f"(conditions on different elements do not combine). In the closest element: "
            + " ".join(first)
        ]
    return _eval(node, value if isinstance(value, dict) else {}, path, ctx, explain)


def _flatten_lists(value: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in value:
        out.extend(_flatten_lists(item) if isinstance(item, list) else [item])
    return out


def _eval_field(field: _Field, value: Any, path: str, ctx: _Ctx, explain: bool) -> list[str]:
    leaf = _json_leaf(value, ctx.service)
    if _leaf_ok(field, leaf):
        return []
    if not explain:
        return ["x"]
    return [_field_reason(field, leaf, path, ctx)]


def _run(compiled: _Compiled, message: Any, explain: bool) -> list[str]:
    ctx = _Ctx(compiled.service, compiled.scope)
    if compiled.service == "sns" and compiled.scope == "MessageAttributes":
        return _eval_attributes(compiled.node, message or {}, ctx, explain)
    return _eval(compiled.node, message, "", ctx, explain)


def _eval_attributes(
    node: _Node, attributes: dict[str, Any], ctx: _Ctx, explain: bool
) -> list[str]:
    failures: list[str] = []
    for entry in node.entries:
        if isinstance(entry, _Or):
            branch_failures = []
            for branch in entry.branches:
                found = _eval_attributes(branch, attributes, ctx, explain)
                if not found:
                    branch_failures = []
                    break
                branch_failures.append(found)
            else:
                if not explain:
                    return ["x"]
                parts = [f"({i}) {' '.join(f)}" for i, f in enumerate(branch_failures, 1)]
                failures.append(
                    f'None of the {len(entry.branches)} "$or" alternatives matches: '
                    + " ".join(parts)
                )
            continue
        assert isinstance(entry, _Field)  # validation keeps attribute policies flat
        leaf = _attribute_leaf(attributes, entry.key)
        ok = _leaf_ok(entry, leaf)
        only_absent = (
            ok and not attributes and any(c.op == "exists" and c.arg is False for c in entry.conds)
        )
        if only_absent and not any(c.op != "exists" and leaf.present for c in entry.conds):
            # SNS: "exists": false matches only when the message has at least one attribute
            ok = False
            if explain:
                failures.append(
                    f'The message has no attributes at all, and SNS matches "{entry.key}": '
                    '[{"exists": false}] only on a message that carries at least one attribute. '
                    "Publish with any other message attribute."
                )
                continue
        if ok:
            continue
        if not explain:
            return ["x"]
        failures.append(_field_reason(entry, leaf, entry.key, ctx))
    return failures


def _verdict(failures: list[str], ctx_word: str, total: int) -> Verdict:
    if failures:
        return Verdict(False, tuple(failures))
    return Verdict(True, (f"Every condition of the {ctx_word} matches.",))


# -- public API ----------------------------------------------------------------------------------
def filter_matches(
    policy: dict[str, Any] | str | _Compiled,
    *,
    scope: str = "MessageAttributes",
    body: str = "",
    attributes: dict[str, Any] | None = None,
) -> bool:
    """Whether SNS delivers a message through a subscription with this policy (fast, no words).

    >>> filter_matches({"price_usd": [{"numeric": [">", 100]}]},
    ...                attributes={"price_usd": {"DataType": "Number", "StringValue": "150"}})
    True
    """
    compiled = policy if isinstance(policy, _Compiled) else compile_policy(policy, scope)
    if compiled.scope == "MessageBody":
        message = _body_json(body)
        if message is None:
            return False
        return not _run(compiled, message, False)
    return not _run(compiled, attributes or {}, False)


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
    ctx_word = "filter policy"
    if compiled.scope == "MessageBody":
        message = _body_json(body)
        if message is None:
            return Verdict(
                False,
                (
                    "The subscription filters on the message body (FilterPolicyScope "
                    '"MessageBody"), but the body is not a JSON object, so nothing in it can '
                    "match. Publish a JSON object, or filter on message attributes instead.",
                ),
            )
        return _verdict(_run(compiled, message, True), ctx_word, 0)
    return _verdict(_run(compiled, attributes or {}, True), ctx_word, 0)


def pattern_matches(pattern: dict[str, Any] | str | _Compiled, event: dict[str, Any]) -> bool:
    """Whether an EventBridge rule with this pattern matches the event (fast, no words).

    >>> pattern_matches({"detail": {"amount": [{"numeric": [">", 0]}]}}, {"detail": {"amount": 5}})
    True
    """
    compiled = pattern if isinstance(pattern, _Compiled) else compile_pattern(pattern)
    return not _run(compiled, _normalise_event(event), False)


def explain_pattern(pattern: dict[str, Any] | str, event: dict[str, Any]) -> Verdict:
    """Whether an EventBridge pattern matches an event, and which field and condition failed.

    >>> verdict = explain_pattern({"detail": {"state": ["running"]}}, {"detail": {"state": "stop"}})
    >>> print(str(verdict)[:89])
    not delivered: The event field "detail.state" is "stop", but the pattern only accepts a v
    """
    failures = _run(compile_pattern(pattern), _normalise_event(event), True)
    return _verdict(failures, "event pattern", 0)


def _body_json(body: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _normalise_event(event: dict[str, Any]) -> dict[str, Any]:
    """EventBridge matches `time` as an ISO-8601 string, whatever form the caller held it in."""
    when = event.get("time")
    if _is_number(when) or isinstance(when, dt.datetime):
        event = dict(event)
        moment = when if isinstance(when, dt.datetime) else dt.datetime.fromtimestamp(when, dt.UTC)
        event["time"] = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


# -- validation ----------------------------------------------------------------------------------
def validate_filter_policy(policy: dict[str, Any] | str, scope: str = "MessageAttributes") -> None:
    """Raise InvalidFilterPolicy for a policy SNS rejects (the same checks, the same words).

    >>> validate_filter_policy({"store": [{"wildcard": "fan*"}]}, "MessageAttributes")
    >>> try:
    ...     validate_filter_policy({"a": {"b": ["x"]}}, "MessageAttributes")
    ... except InvalidFilterPolicy as error:
    ...     print(error.aws_message)
    Filter policy scope MessageAttributes does not support nested filter policy
    """
    scope = scope or "MessageAttributes"
    if scope not in SCOPES:
        raise InvalidFilterPolicy(
            f"Invalid value for FilterPolicyScope: {scope}",
            'set FilterPolicyScope to "MessageAttributes" or "MessageBody"',
        )
    policy = _parse(policy, InvalidFilterPolicy)
    _check_shape(policy, InvalidFilterPolicy, nested_ok=scope == "MessageBody", depth=1)
    for branch in _branches(policy):
        keys = _leaf_keys(branch)
        if len(keys) > MAX_KEYS:
            raise InvalidFilterPolicy(
                "Filter policy can not have more than 5 keys",
                f"a policy (or one of its $or alternatives) may name at most {MAX_KEYS} keys; "
                f"this one names {len(keys)}: {', '.join(sorted(keys))}. Split it across "
                "subscriptions or use $or",
            )
    combinations = _combinations(policy, 1)
    if combinations > MAX_COMBINATIONS:
        raise InvalidFilterPolicy(
            "Filter policy is too complex",
            f"the policy's value combinations come to {combinations}, SNS allows "
            f"{MAX_COMBINATIONS} (multiply the lengths of the value lists, times the nesting "
            "depth; add up $or alternatives): list fewer values, or use prefix / anything-but",
        )


def validate_pattern(pattern: dict[str, Any] | str) -> None:
    """Raise InvalidEventPattern for a pattern EventBridge rejects at PutRule time.

    >>> try:
    ...     validate_pattern({"source": "shop"})
    ... except InvalidEventPattern as error:
    ...     print(error.aws_message, "/", error.hint)
    'source' must be an object or an array / put the value in a list: "source": ["shop"]
    """
    pattern = _parse(pattern, InvalidEventPattern)
    _check_shape(pattern, InvalidEventPattern, nested_ok=True, depth=1)


def _parse(value: dict[str, Any] | str, error: type[MatcherError]) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise error(  # type: ignore[call-arg]
                "Invalid JSON", "pass json.dumps(your_dict), not a hand-written string"
            ) from None
    if not isinstance(value, dict):
        raise error(  # type: ignore[call-arg]
            "Event pattern is not valid" if error is InvalidEventPattern else "Invalid JSON",
            'the top level must be a JSON object: {"key": [values]}',
        )
    return value


def _check_shape(
    node: dict[str, Any], error: type[MatcherError], *, nested_ok: bool, depth: int
) -> None:
    for key, value in node.items():
        if key == "$or" and isinstance(value, list) and _is_or(key, value):
            for branch in value:
                _check_shape(branch, error, nested_ok=nested_ok, depth=depth)
            continue
        if isinstance(value, dict):
            if not nested_ok:
                raise error(  # type: ignore[call-arg]
                    "Filter policy scope MessageAttributes does not support nested filter policy",
                    'nest keys only with FilterPolicyScope "MessageBody"; message attributes '
                    f'are flat: use {{"{next(iter(value), key)}": [...]}} on an attribute named '
                    f'"{next(iter(value), key)}"',
                )
            _check_shape(value, error, nested_ok=nested_ok, depth=depth + 1)
            continue
        quote = "'" if error is InvalidEventPattern else '"'
        if not isinstance(value, list):
            raise error(  # type: ignore[call-arg]
                f"{quote}{key}{quote} must be an object or an array",
                f'put the value in a list: "{key}": [{_show(value)}]',
            )
        if not value:
            raise error(  # type: ignore[call-arg]
                "Empty arrays are not allowed",
                f'give "{key}" at least one value, or leave "{key}" out',
            )
        for rule in value:
            _check_rule(rule, key, error)


def _check_rule(rule: Any, key: str, error: type[MatcherError]) -> None:
    def bad(message: str, hint: str) -> MatcherError:
        return error(message, hint)  # type: ignore[call-arg]

    if rule is None or isinstance(rule, (str, bool)) or _is_number(rule):
        return
    if not isinstance(rule, dict):
        raise bad(
            "Match value must be String, number, true, false, or null",
            f'list plain values under "{key}", e.g. "{key}": ["a", "b"], not nested lists',
        )
    if len(rule) != 1:
        raise bad(
            "Only one key allowed in match expression",
            f'write each condition as its own object: "{key}": '
            + _show([{k: v} for k, v in rule.items()]),
        )
    ((op, arg),) = rule.items()
    if op not in OPERATORS:
        near = [o for o in OPERATORS if o.replace("-", "") == op.replace("-", "").lower()]
        raise bad(
            f"Unrecognized match type {op}",
            f"use one of {', '.join(OPERATORS)}"
            + (f' (did you mean "{near[0]}"?)' if near else ""),
        )
    if op == "exists":
        if not isinstance(arg, bool):
            raise bad(
                "exists match pattern must be either true or false.",
                'write {"exists": true} or {"exists": false} without quotes around the value',
            )
    elif op in ("prefix", "suffix"):
        if isinstance(arg, dict) and set(arg) == {"equals-ignore-case"}:
            arg = arg["equals-ignore-case"]
        if not isinstance(arg, str):
            raise bad(
                f"{op} match pattern must be a string",
                f'write {{"{op}": "text"}} (or {{"{op}": {{"equals-ignore-case": "text"}}}})',
            )
    elif op == "equals-ignore-case":
        if not isinstance(arg, str):
            raise bad(f"{op} match pattern must be a string", f'write {{"{op}": "text"}}')
    elif op == "wildcard":
        _check_wildcard(arg, bad)
    elif op == "cidr":
        _check_cidr(arg, bad)
    elif op == "numeric":
        _check_numeric(arg, bad)
    else:
        _check_anything_but(arg, bad)


def _check_wildcard(arg: Any, bad: Callable[[str, str], MatcherError]) -> None:
    if not isinstance(arg, str):
        raise bad("wildcard match pattern must be a string", 'write {"wildcard": "dir/*.png"}')
    if "**" in arg:
        raise bad(
            "Consecutive wildcard characters at pos " + str(arg.index("**") + 1),
            "one * already matches any number of characters: replace ** with *",
        )
    i = 0
    while i < len(arg):
        if arg[i] == "\\":
            if i + 1 >= len(arg) or arg[i + 1] not in "*\\":
                raise bad(
                    f"Invalid escape character at pos {i + 1}",
                    r"a backslash may only escape * or another backslash (\* or \\)",
                )
            i += 2
            continue
        i += 1


def _check_cidr(arg: Any, bad: Callable[[str, str], MatcherError]) -> None:
    if not isinstance(arg, str):
        raise bad("prefix match pattern must be a string", 'write {"cidr": "10.0.0.0/24"}')
    address, slash, mask = arg.partition("/")
    if not slash:
        raise bad(
            "Malformed CIDR, one '/' required", 'write the network with its mask: "10.0.0.0/24"'
        )
    if not mask.isdigit():
        raise bad("Malformed CIDR, mask bits must be an integer", 'e.g. "10.0.0.0/24"')
    try:
        ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise bad(
            f"Nonstandard IP address: {address}", "write four numbers 0-255, e.g. 10.0.0.0/24"
        ) from None


def _check_numeric(arg: Any, bad: Callable[[str, str], MatcherError]) -> None:
    hint = 'write {"numeric": [">", 0, "<=", 5]} or {"numeric": ["=", 301.5]}'
    if not isinstance(arg, list) or not arg:
        raise bad("Invalid member in numeric match: ]", hint)
    op = arg[0]
    if not isinstance(op, str):
        raise bad(f"Invalid member in numeric match: {_show(op)}", hint)
    if op not in ("<", "<=", "=", ">", ">="):
        raise bad(f"Unrecognized numeric range operator: {op}", "use <, <=, =, > or >=")
    if len(arg) < 2 or not _is_number(arg[1]):
        raise bad(
            f"Value of {'equals' if op == '=' else op} must be numeric",
            hint + " (numbers without quotes)",
        )
    if abs(arg[1]) > 1e9:
        raise bad("Numeric value out of range", "numeric matching works between -1e9 and 1e9")
    if len(arg) == 2:
        return
    if op not in (">", ">="):
        raise bad(
            "Too many elements in numeric expression", "a range starts with > or >=, then < or <="
        )
    second = arg[2]
    if not isinstance(second, str) or second not in ("<", "<="):
        raise bad(f"Bad numeric range operator: {second}", "a range ends with < or <=")
    if len(arg) < 4 or not _is_number(arg[3]):
        raise bad(f"Value of {second} must be numeric", hint)
    if arg[3] <= arg[1]:
        raise bad(
            "Bottom must be less than top",
            f"swap the bounds: [{_show(op)}, {arg[3]}, {_show(second)}, {arg[1]}]",
        )
    if len(arg) > 4:
        raise bad("Too many terms in numeric range expression", "a range has two bounds at most")


def _check_anything_but(arg: Any, bad: Callable[[str, str], MatcherError]) -> None:
    if isinstance(arg, dict):
        if len(arg) != 1:
            raise bad(
                "Only one key allowed in match expression",
                'e.g. {"anything-but": {"prefix": "init"}}',
            )
        ((op, inner),) = arg.items()
        if op not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            raise bad(
                f"Unsupported anything-but pattern: {op}",
                "anything-but takes values, or one of prefix, suffix, equals-ignore-case, wildcard",
            )
        if op == "wildcard":
            _check_wildcard(inner, bad)
            return
        items = inner if isinstance(inner, list) and op == "equals-ignore-case" else [inner]
        if not items or not all(isinstance(i, str) for i in items):
            raise bad(
                f"{op} match pattern must be a string",
                f'write {{"anything-but": {{"{op}": "text"}}}}',
            )
        return
    items = arg if isinstance(arg, list) else [arg]
    if not items:
        raise bad(
            "Empty arrays are not allowed", 'list at least one value: {"anything-but": ["a"]}'
        )
    strings = all(isinstance(i, str) for i in items)
    numbers = all(_is_number(i) for i in items)
    if not (strings or numbers):
        raise bad(
            "Inside anything but list, start|null|boolean is not supported."
            if any(i is None or isinstance(i, bool) for i in items)
            else "Inside anything but list, all values must be strings or all numbers",
            "anything-but lists hold only strings or only numbers",
        )


def _branches(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy written out as plain AND-policies, one per combination of $or alternatives."""
    out: list[dict[str, Any]] = [{}]
    for key, value in policy.items():
        if _is_or(key, value):
            out = [{**done, **alt} for done in out for b in value for alt in _branches(b)]
        else:
            out = [{**done, key: value} for done in out]
    return out


def _leaf_keys(policy: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in policy.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            keys |= _leaf_keys(value, path)
        else:
            keys.add(path)
    return keys


def _combinations(policy: dict[str, Any], depth: int) -> int:
    """SNS's complexity count: value-list lengths times nesting depth, multiplied; $or adds up."""
    total = 1
    for key, value in policy.items():
        if _is_or(key, value):
            total *= sum(_combinations(b, depth) for b in value)
        elif isinstance(value, dict):
            total *= _combinations(value, depth + 1)
        else:
            total *= len(value) * depth
    return total
