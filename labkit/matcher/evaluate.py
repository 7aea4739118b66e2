"""Deciding fast, without words: what the deliveries ask for every message and event.

>>> filter_matches({"store": ["fans"]}, attributes={"store": {"Type": "String", "Value": "fans"}})
True
>>> filter_matches({"a": ["b"]}, scope="MessageBody", body="not json")
False
"""

from __future__ import annotations

from typing import Any

from .compile import Compiled, compile_pattern, compile_policy
from .values import body_json

__all__ = ["filter_matches", "pattern_matches"]


def filter_matches(
    policy: dict[str, Any] | str | Compiled,
    *,
    scope: str = "MessageAttributes",
    body: str = "",
    attributes: dict[str, Any] | None = None,
) -> bool:
    """Whether SNS delivers a message through a subscription with this policy (fast, no words).

    `attributes` may have the shape Publish takes (DataType, StringValue) or the one moto keeps
    (Type, Value).

    >>> filter_matches({"price_usd": [{"numeric": [">", 100]}]},
    ...                attributes={"price_usd": {"DataType": "Number", "StringValue": "150"}})
    True
    """
    compiled = policy if isinstance(policy, Compiled) else compile_policy(policy, scope)
    if compiled.scope == "MessageBody":
        message = body_json(body)
        return message is not None and compiled.matches(message)
    return compiled.matches(attributes or {})


def pattern_matches(pattern: dict[str, Any] | str | Compiled, event: dict[str, Any]) -> bool:
    """Whether an EventBridge rule with this pattern matches the event (fast, no words).

    `event` may be JSON as EventBridge delivers it, or the dict moto builds (`time` in epoch
    seconds or a datetime): it is read where it is and never changed; only the values the
    pattern looks at are taken in their JSON form.

    >>> pattern_matches({"detail": {"amount": [{"numeric": [">", 0]}]}}, {"detail": {"amount": 5}})
    True
    >>> pattern_matches({"time": [{"prefix": "1970-01-01T"}]}, {"time": 60.0})
    True
    """
    compiled = pattern if isinstance(pattern, Compiled) else compile_pattern(pattern)
    return compiled.matches(event)
