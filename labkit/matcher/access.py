"""Resource policies as AWS evaluates them when one service delivers to another.

A queue's access policy decides whether SNS or EventBridge may send to it, a topic's whether
EventBridge may publish, a function's whether SNS or EventBridge may invoke it. The request is a
service principal (``sns.amazonaws.com``), an action (``sqs:SendMessage``), the resource's ARN and
the request's context keys (``aws:SourceArn``, ``aws:SourceAccount``). The rules followed are the
IAM user guide's:

* a statement applies when its Principal, Action and Resource (or NotPrincipal, NotAction,
  NotResource) cover the request and every condition holds;
* an applying ``Deny`` refuses whatever any ``Allow`` says; with no applying ``Allow`` the
  request is refused (implicit deny);
* ``"Principal": "*"`` and ``{"AWS": "*"}`` cover every principal, service principals included;
  ``{"Service": ...}`` names service principals; an account or IAM ARN covers no service;
* actions match case-insensitively, resources case-sensitively, both with ``*`` and ``?``;
* condition keys match case-insensitively; several values of one key: any; several keys or
  operators: all; a key missing from the request makes a condition false (true for the
  ``Not`` operators), except ``...IfExists`` (true) and ``Null``;
* ``ArnEquals`` and ``ArnLike`` compare the six colon-separated parts one by one, each with
  wildcards; ``StringLike`` takes wildcards, ``StringEquals`` does not.

moto's own evaluator (``moto.iam.access_control.IAMPolicyStatement``) serves identity policies:
it knows only ``StringEquals``, treats any other operator as met, cannot name a service
principal, and answers a statement whose condition fails with a refusal (so one ``Allow`` for
another topic would refuse every topic). No package on PyPI evaluates resource policies with
their conditions; so this module does, with the standard library only, beside the matcher's
filter policies and event patterns (the other half of "why was this not delivered?"). A
policy text is parsed once (`parse` is cached), not once per message.

Pages: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

>>> queue = "arn:aws:sqs:us-east-1:123456789012:billing"
>>> topic = "arn:aws:sns:us-east-1:123456789012:orders"
>>> policy = json.dumps({"Statement": [{
...     "Sid": "topic-may-send", "Effect": "Allow",
...     "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
...     "Resource": queue, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})
>>> sent = Request("sns.amazonaws.com", "sqs:SendMessage", queue, {"aws:SourceArn": topic})
>>> evaluate(policy, sent)
Decision(allowed=True, reason="allowed by statement 'topic-may-send'", statement='topic-may-send')
>>> other = Request("events.amazonaws.com", "sqs:SendMessage", queue, {"aws:SourceArn": topic})
>>> print(evaluate(policy, other).reason)
no statement allows it: 'topic-may-send': its principal does not name events.amazonaws.com
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Decision", "Request", "Statement", "evaluate", "parse"]


@dataclass(frozen=True)
class Request:
    """Who asks to do what to which resource, with the request's context keys."""

    principal: str  # a service principal ("sns.amazonaws.com"), an account id or an IAM ARN
    action: str  # "sqs:SendMessage"
    resource: str  # the ARN of the queue, topic or function
    context: Mapping[str, str] = field(default_factory=dict)  # "aws:SourceArn": ...


@dataclass(frozen=True)
class Decision:
    """The answer: allowed or not, and why (the statement that decided, or what was missing)."""

    allowed: bool
    reason: str
    statement: str = ""  # the Sid (or position) of the statement that decided, "" for none


@dataclass(frozen=True)
class Statement:
    """One statement, compiled."""

    sid: str
    effect: str  # "Allow" or "Deny"
    principals: tuple[tuple[str, str], ...] | None  # (kind, value); None: no Principal element
    not_principal: bool
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resources: tuple[re.Pattern[str], ...] | None  # None: no Resource element (covers all)
    not_resource: bool
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)

    def misses(self, request: Request) -> str:
        """What keeps this statement from applying to `request` ("" when it applies)."""
        if self.principals is not None:
            named = any(_principal_covers(p, request.principal) for p in self.principals)
            if named == self.not_principal:
                return f"its principal does not name {request.principal}"
        if any(a.fullmatch(request.action) for a in self.actions) == self.not_action:
            return f"its action does not cover {request.action}"
        if self.resources is not None:
            covered = any(r.fullmatch(request.resource) for r in self.resources)
            if covered == self.not_resource:
                return f"its resource does not cover {request.resource}"
        lowered = {key.lower(): value for key, value in request.context.items()}
        for operator, key, values in self.conditions:
            if not _condition_holds(operator, values, lowered.get(key.lower())):
                found = lowered.get(key.lower())
                return (
                    f"a condition is not met ({operator} {key}: expected "
                    f"{' or '.join(values)}, found {found if found is not None else 'no such key'})"
                )
        return ""


def evaluate(policy: str | Mapping[str, Any] | None, request: Request) -> Decision:
    """Whether `policy` (its JSON text, or parsed) lets `request` through, and why."""
    if not policy:
        return Decision(False, "the resource has no policy, so no statement allows it")
    statements = parse(policy if isinstance(policy, str) else json.dumps(policy, sort_keys=True))
    allowed_by = ""
    missed: list[str] = []
    for statement in statements:
        miss = statement.misses(request)
        if miss:
            if statement.effect == "Allow":
                missed.append(f"{statement.sid!r}: {miss}")
            continue
        if statement.effect == "Deny":
            return Decision(
                False, f"explicitly denied by statement {statement.sid!r}", statement.sid
            )
        allowed_by = allowed_by or statement.sid
    if allowed_by:
        return Decision(True, f"allowed by statement {allowed_by!r}", allowed_by)
    detail = "; ".join(missed) if missed else "the policy has no Allow statement"
    return Decision(False, f"no statement allows it: {detail}")


@functools.lru_cache(maxsize=512)
def parse(text: str) -> tuple[Statement, ...]:
    """The statements of a policy's JSON text, compiled (once per text)."""
    document = json.loads(text)
    written = document.get("Statement", [])
    if isinstance(written, Mapping):
        written = [written]
    return tuple(_statement(s, i) for i, s in enumerate(written))


# -- inside ------------------------------------------------------------------------------------
def _listed(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


@functools.lru_cache(maxsize=4096)  # the same few ARNs and actions, at every delivery
def _wildcard(text: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(pattern, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _statement(written: Mapping[str, Any], position: int) -> Statement:
    not_principal = "NotPrincipal" in written
    principal = written.get("NotPrincipal" if not_principal else "Principal")
    principals: tuple[tuple[str, str], ...] | None
    if principal is None:
        principals = None
    elif principal == "*":
        principals = (("AWS", "*"),)
    else:
        principals = tuple(
            (kind, value) for kind, values in principal.items() for value in _listed(values)
        )
    not_action = "NotAction" in written
    actions = _listed(written.get("NotAction" if not_action else "Action"))
    not_resource = "NotResource" in written
    resource = written.get("NotResource" if not_resource else "Resource")
    conditions = tuple(
        (operator, key, _listed(values))
        for operator, keys in (written.get("Condition") or {}).items()
        for key, values in keys.items()
    )
    return Statement(
        sid=str(written.get("Sid") or f"statement {position + 1}"),
        effect=str(written.get("Effect", "")),
        principals=principals,
        not_principal=not_principal,
        actions=tuple(_wildcard(a, ignore_case=True) for a in actions),
        not_action=not_action,
        resources=None if resource is None else tuple(_wildcard(r) for r in _listed(resource)),
        not_resource=not_resource,
        conditions=conditions,
    )


def _principal_covers(principal: tuple[str, str], who: str) -> bool:
    kind, value = principal
    if kind == "AWS" and value == "*":
        return True
    if kind == "Service":
        return value == who
    if kind == "AWS":
        return value == who or (value.isdigit() and who in (value, f"arn:aws:iam::{value}:root"))
    return False


def _arn_matches(pattern: str, arn: str) -> bool:
    wanted, found = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != len(found):
        return False
    return all(_wildcard(w).fullmatch(f) for w, f in zip(wanted, found, strict=True))


_TESTS: dict[str, Any] = {
    "StringEquals": lambda want, got: want == got,
    "StringEqualsIgnoreCase": lambda want, got: want.lower() == got.lower(),
    "StringLike": lambda want, got: _wildcard(want).fullmatch(got) is not None,
    "ArnEquals": _arn_matches,
    "ArnLike": _arn_matches,
}


def _condition_holds(operator: str, values: tuple[str, ...], found: str | None) -> bool:
    if operator == "Null":
        return (found is None) == (values[0].lower() == "true")
    base = operator.removesuffix("IfExists")
    if found is None:
        return base != operator or base.startswith(("StringNot", "ArnNot"))
    negated = base.replace("Not", "", 1) if base.startswith(("StringNot", "ArnNot")) else ""
    test = _TESTS.get(negated or base)
    if test is None:
        return False  # an operator these deliveries never use: the statement does not apply
    matched = any(test(value, found) for value in values)
    return not matched if negated else matched
