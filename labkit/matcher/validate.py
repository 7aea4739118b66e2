"""Validation as SNS (Subscribe) and EventBridge (PutRule) do it: the same checks, the same words.

The reasons (`aws_message`) are the services' own; event-ruler, the open-source matcher behind
EventBridge, words most of them (its JsonRuleCompiler).

>>> validate_pattern({"detail": {"state": ["running"]}})
>>> try:
...     validate_filter_policy({"a": []})
... except InvalidFilterPolicy as error:
...     print(error.aws_message)
Empty arrays are not allowed
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from .errors import InvalidEventPattern, InvalidFilterPolicy, MatcherError
from .syntax import (
    MAX_COMBINATIONS,
    MAX_KEYS,
    MAX_POLICY_BYTES,
    NUMERIC_LIMIT,
    OPERATORS,
    SCOPES,
    STRING_OPERATORS,
    is_or,
)
from .values import is_number
from .words import show

__all__ = ["validate_filter_policy", "validate_pattern", "combinations", "uses_wildcard"]


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
    if isinstance(policy, str) and len(policy.encode()) > MAX_POLICY_BYTES:
        # SNS documents the limit (256 KB), not the words it refuses a larger policy with
        raise InvalidFilterPolicy(
            "Filter policy can not be larger than 256 KB",
            f"this policy is {len(policy.encode()):,} bytes of JSON, SNS takes at most "
            f"{MAX_POLICY_BYTES:,}: list fewer values, or use prefix / anything-but / wildcard",
        )
    policy = _parse(policy, InvalidFilterPolicy)
    _check_shape(policy, InvalidFilterPolicy, nested_ok=scope == "MessageBody")
    for branch in _branches(policy):
        keys = _leaf_keys(branch)
        if len(keys) > MAX_KEYS:
            raise InvalidFilterPolicy(
                "Filter policy can not have more than 5 keys",
                f"a policy (or one of its $or alternatives) may name at most {MAX_KEYS} keys; "
                f"this one names {len(keys)}: {', '.join(sorted(keys))}. Split it across "
                "subscriptions or use $or",
            )
    count = combinations(policy)
    if count > MAX_COMBINATIONS:
        raise InvalidFilterPolicy(
            "Filter policy is too complex",
            f"the policy's value combinations come to {count}, SNS allows "
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
    _check_shape(pattern, InvalidEventPattern, nested_ok=True)


def uses_wildcard(pattern: dict[str, Any], in_rule: bool = False) -> bool:
    """Whether an event pattern holds a wildcard filter (EventBridge limits such rules per bus).

    >>> uses_wildcard({"detail": {"file": [{"anything-but": {"wildcard": "*/lib/*"}}]}})
    True
    >>> uses_wildcard({"detail": {"wildcard": ["a field named wildcard"]}})
    False
    """
    for key, value in pattern.items():
        if in_rule and key == "wildcard":
            return True
        if is_or(key, value):
            found = any(uses_wildcard(branch) for branch in value)
        elif isinstance(value, list):
            found = any(isinstance(rule, dict) and uses_wildcard(rule, True) for rule in value)
        else:
            found = isinstance(value, dict) and uses_wildcard(value, in_rule)
        if found:
            return True
    return False


def _parse(value: dict[str, Any] | str, error: type[MatcherError]) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise error(
                "Invalid JSON", "pass json.dumps(your_dict), not a hand-written string"
            ) from None
    if not isinstance(value, dict):
        raise error(
            "Event pattern is not valid" if error is InvalidEventPattern else "Invalid JSON",
            'the top level must be a JSON object: {"key": [values]}',
        )
    return value


def _check_shape(node: dict[str, Any], error: type[MatcherError], *, nested_ok: bool) -> None:
    for key, value in node.items():
        if is_or(key, value):
            for branch in value:
                _check_shape(branch, error, nested_ok=nested_ok)
            continue
        if isinstance(value, dict):
            if not nested_ok:
                raise error(
                    "Filter policy scope MessageAttributes does not support nested filter policy",
                    'nest keys only with FilterPolicyScope "MessageBody"; message attributes '
                    f'are flat: use {{"{next(iter(value), key)}": [...]}} on an attribute named '
                    f'"{next(iter(value), key)}"',
                )
            _check_shape(value, error, nested_ok=nested_ok)
            continue
        quote = "'" if error is InvalidEventPattern else '"'
        if not isinstance(value, list):
            raise error(
                f"{quote}{key}{quote} must be an object or an array",
                f'put the value in a list: "{key}": [{show(value)}]',
            )
        if not value:
            raise error(
                "Empty arrays are not allowed",
                f'give "{key}" at least one value, or leave "{key}" out',
            )
        for rule in value:
            _check_rule(rule, key, error)


def _check_rule(rule: Any, key: str, error: type[MatcherError]) -> None:
    if is_number(rule):
        _check_plain_number(rule, error)
        return
    if rule is None or isinstance(rule, (str, bool)):
        return
    if not isinstance(rule, dict):
        raise error(
            "Match value must be String, number, true, false, or null",
            f'list plain values under "{key}", e.g. "{key}": ["a", "b"], not nested lists',
        )
    if len(rule) != 1:
        raise error(
            "Only one key allowed in match expression",
            f'write each condition as its own object: "{key}": '
            + show([{k: v} for k, v in rule.items()]),
        )
    ((op, arg),) = rule.items()
    if op not in OPERATORS:
        near = [o for o in OPERATORS if o.replace("-", "") == op.replace("-", "").lower()]
        raise error(
            f"Unrecognized match type {op}",
            f"use one of {', '.join(OPERATORS)}"
            + (f' (did you mean "{near[0]}"?)' if near else ""),
        )
    if op == "exists":
        if not isinstance(arg, bool):
            raise error(
                "exists match pattern must be either true or false.",
                'write {"exists": true} or {"exists": false} without quotes around the value',
            )
    elif op in ("prefix", "suffix"):
        if isinstance(arg, dict) and set(arg) == {"equals-ignore-case"}:
            arg = arg["equals-ignore-case"]
        if not isinstance(arg, str):
            raise error(
                f"{op} match pattern must be a string",
                f'write {{"{op}": "text"}} (or {{"{op}": {{"equals-ignore-case": "text"}}}})',
            )
    elif op == "equals-ignore-case":
        if not isinstance(arg, str):
            raise error(f"{op} match pattern must be a string", f'write {{"{op}": "text"}}')
    elif op == "wildcard":
        _check_wildcard(arg, error)
    elif op == "cidr":
        _check_cidr(arg, error)
    elif op == "numeric":
        _check_numeric(arg, error)
    else:
        _check_anything_but(arg, error)


def _check_wildcard(arg: Any, error: type[MatcherError]) -> None:
    if not isinstance(arg, str):
        raise error("wildcard match pattern must be a string", 'write {"wildcard": "dir/*.png"}')
    if "**" in arg:
        raise error(
            "Consecutive wildcard characters at pos " + str(arg.index("**") + 1),
            "one * already matches any number of characters: replace ** with *",
        )
    i = 0
    while i < len(arg):
        if arg[i] == "\\":
            if i + 1 >= len(arg) or arg[i + 1] not in "*\\":
                raise error(
                    f"Invalid escape character at pos {i + 1}",
                    r"a backslash may only escape * or another backslash (\* or \\)",
                )
            i += 2
            continue
        i += 1


def _check_cidr(arg: Any, error: type[MatcherError]) -> None:
    if not isinstance(arg, str):
        # event-ruler says "prefix" here for a cidr that is not a string: EventBridge's words
        raise error("prefix match pattern must be a string", 'write {"cidr": "10.0.0.0/24"}')
    address, slash, mask = arg.partition("/")
    if not slash:
        raise error(
            "Malformed CIDR, one '/' required", 'write the network with its mask: "10.0.0.0/24"'
        )
    if not mask.isdigit():
        raise error("Malformed CIDR, mask bits must be an integer", 'e.g. "10.0.0.0/24"')
    try:
        ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise error(
            f"Nonstandard IP address: {address}", "write four numbers 0-255, e.g. 10.0.0.0/24"
        ) from None


def _check_numeric(arg: Any, error: type[MatcherError]) -> None:
    hint = 'write {"numeric": [">", 0, "<=", 5]} or {"numeric": ["=", 301.5]}'

    def bad(message: str, hint: str = hint) -> MatcherError:
        # SNS reads numeric expressions with its JSON reader, which says where it stopped
        return error(message, hint, located=error is InvalidFilterPolicy)

    if not isinstance(arg, list) or not arg:
        raise bad("Invalid member in numeric match: ]")
    op = arg[0]
    if not isinstance(op, str):
        raise bad(f"Invalid member in numeric match: {show(op)}")
    if op not in ("<", "<=", "=", ">", ">="):
        raise bad(f"Unrecognized numeric range operator: {op}", "use <, <=, =, > or >=")
    if len(arg) < 2 or not is_number(arg[1]):
        raise bad(
            f"Value of {'equals' if op == '=' else op} must be numeric",
            hint + " (numbers without quotes)",
        )
    _check_range(arg[1], error)
    if len(arg) == 2:
        return
    if op not in (">", ">="):
        raise bad(
            "Too many elements in numeric expression", "a range starts with > or >=, then < or <="
        )
    second = arg[2]
    if not isinstance(second, str) or second not in ("<", "<="):
        raise bad(f"Bad numeric range operator: {second}", "a range ends with < or <=")
    if len(arg) < 4 or not is_number(arg[3]):
        raise bad(f"Value of {second} must be numeric")
    _check_range(arg[3], error)
    if arg[3] <= arg[1]:
        raise bad(
            "Bottom must be less than top",
            f"swap the bounds: [{show(op)}, {arg[3]}, {show(second)}, {arg[1]}]",
        )
    if len(arg) > 4:
        raise bad("Too many terms in numeric range expression", "a range has two bounds at most")


def _check_range(value: Any, error: type[MatcherError]) -> None:
    """Numbers a numeric condition compares with lie within what the service matches."""
    if abs(value) > NUMERIC_LIMIT:
        raise error("Numeric value out of range", "numeric matching works between -1e9 and 1e9")


def _check_plain_number(value: Any, error: type[MatcherError]) -> None:
    """SNS matches numbers from -10^9 to 10^9; beyond, it answers an internal error."""
    if error is InvalidFilterPolicy and abs(value) > NUMERIC_LIMIT:
        raise error(
            "Numeric value out of range",
            "SNS matches numbers from -1,000,000,000 to 1,000,000,000: use a smaller value",
            internal=True,
        )


def _check_anything_but(arg: Any, error: type[MatcherError]) -> None:
    if isinstance(arg, dict):
        if len(arg) != 1:
            raise error(
                "Only one key allowed in match expression",
                'e.g. {"anything-but": {"prefix": "init"}}',
            )
        ((op, inner),) = arg.items()
        if op not in STRING_OPERATORS:
            raise error(
                f"Unsupported anything-but pattern: {op}",
                "anything-but takes values, or one of prefix, suffix, equals-ignore-case, wildcard",
            )
        if op == "wildcard":
            _check_wildcard(inner, error)
            return
        items = inner if isinstance(inner, list) and op == "equals-ignore-case" else [inner]
        if not items or not all(isinstance(i, str) for i in items):
            raise error(
                f"{op} match pattern must be a string",
                f'write {{"anything-but": {{"{op}": "text"}}}}',
            )
        return
    items = arg if isinstance(arg, list) else [arg]
    if not items:
        raise error(
            "Empty arrays are not allowed", 'list at least one value: {"anything-but": ["a"]}'
        )
    strings = all(isinstance(i, str) for i in items)
    numbers = all(is_number(i) for i in items)
    for item in items if numbers else ():
        _check_plain_number(item, error)
    if not (strings or numbers):
        raise error(
            "Inside anything but list, start|null|boolean is not supported."
            if any(i is None or isinstance(i, bool) for i in items)
            else "Inside anything but list, all values must be strings or all numbers",
            "anything-but lists hold only strings or only numbers",
        )


def _branches(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy written out as plain AND-policies, one per combination of $or alternatives."""
    out: list[dict[str, Any]] = [{}]
    for key, value in policy.items():
        if is_or(key, value):
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


def combinations(policy: dict[str, Any], depth: int = 1) -> int:
    """SNS's complexity count: value-list lengths times nesting depth, multiplied; $or adds up.

    >>> combinations({"key_a": {"key_b": {"key_c": [1, 2, 3, 4]}}, "key_d": {"key_e": [1, 2, 3]}})
    72
    """
    total = 1
    for key, value in policy.items():
        if is_or(key, value):
            total *= sum(combinations(b, depth) for b in value)
        elif isinstance(value, dict):
            total *= combinations(value, depth + 1)
        else:
            total *= len(value) * depth
    return total
