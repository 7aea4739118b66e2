"""EventBridge refuses a PutEvents request over its size limit and a rule beyond its documented
limits, before it delivers or stores anything.

AWS: the entries of one PutEvents request must total less than 1 MB (API reference, PutEvents,
since the 2026 increase from 256 KB), each entry counted as the user guide's "Calculating PutEvents
event entry size" says (14 bytes for ``Time``, the UTF-8 bytes of ``Source``, ``DetailType``,
``Detail`` and each of ``Resources``); PutRule takes an ``EventPattern`` of at most 4,096
characters (API reference, length constraint); and at most 30 rules per event bus may contain
wildcard filters, a quota that cannot be adjusted (user guide, quotas); a target's RetryPolicy
allows 0-185 retries and an event age of 60-86,400 seconds (API reference, RetryPolicy). moto
5.2.5 checks none of these: a 2 MB event is delivered, a 31st wildcard rule stored.

The documentation gives the codes (ValidationException, LimitExceededException), not all the
messages. The PutEvents one is the message EventBridge answers with, as quoted in bug reports;
the pattern length one has the form of every AWS length-constraint error; the wildcard one
completes the API reference's description of LimitExceededException.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import labkit.matcher as matching
from labkit.matcher.syntax import MAX_WILDCARD_RULES
from labkit.moto_patches.registry import Row, Wrap
from labkit.moto_patches.retry_schedules import InvalidRetryPolicy, check_retry_policy

__all__ = ["ROWS", "MAX_PATTERN_CHARACTERS", "MAX_REQUEST_BYTES", "entry_size"]

#: "the total entry size must be less than 1MB" (1 MiB, as for SQS and asynchronous Lambda).
MAX_REQUEST_BYTES = 1_048_576
#: PutRule's EventPattern: "Length Constraints: Maximum length of 4096".
MAX_PATTERN_CHARACTERS = 4_096
_TIME_BYTES = 14


def entry_size(entry: Mapping[str, Any]) -> int:
    """A PutEvents entry's size as EventBridge counts it.

    >>> entry_size({"Source": "shop", "DetailType": "Order", "Detail": "{}", "Time": 0})
    25
    """
    size = _TIME_BYTES if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key) or "").encode())
    return size + sum(len(str(r).encode()) for r in entry.get("Resources") or [])


def _within_size(put_events: Callable[..., Any]) -> Callable[..., Any]:
    def put_events_within_size(self: Any, events: list[dict[str, Any]]) -> Any:
        if sum(entry_size(entry) for entry in events) >= MAX_REQUEST_BYTES:
            from moto.events.exceptions import ValidationException

            raise ValidationException("Total size of the entries in the request is over the limit.")
        return put_events(self, events)

    return put_events_within_size


def _uses_wildcard(raw: Any) -> bool:
    try:
        pattern = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return False  # moto's parser refuses it, with EventBridge's reason
    return isinstance(pattern, dict) and matching.uses_wildcard(pattern)


def _within_limits(put_rule: Callable[..., Any]) -> Callable[..., Any]:
    def put_rule_within_limits(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        from moto.core.exceptions import JsonRESTError
        from moto.events.exceptions import ResourceNotFoundException, ValidationException

        pattern = kwargs.get("event_pattern")
        if isinstance(pattern, str) and len(pattern) > MAX_PATTERN_CHARACTERS:
            raise ValidationException(
                f"1 validation error detected: Value '{pattern}' at 'eventPattern' failed to "
                f"satisfy constraint: Member must have length less than or equal to "
                f"{MAX_PATTERN_CHARACTERS}"
            )
        if pattern and _uses_wildcard(pattern):
            try:
                bus = self._get_event_bus(
                    self._normalize_event_bus_arn(kwargs.get("event_bus_arn"))
                )
            except ResourceNotFoundException:
                bus = None  # moto answers for a missing bus
            others = [
                rule
                for rule in (bus.rules.values() if bus else ())
                if rule.name != name and matching.uses_wildcard(rule.event_pattern.get_pattern())
            ]
            if len(others) >= MAX_WILDCARD_RULES:
                raise JsonRESTError(
                    "LimitExceededException",
                    "The request failed because it attempted to create resource beyond allowed "
                    f"service quota: an event bus holds at most {MAX_WILDCARD_RULES} rules "
                    "whose patterns contain wildcard filters.",
                )
        return put_rule(self, name, *args, **kwargs)

    return put_rule_within_limits


def _retry_policies_checked(put_targets: Callable[..., Any]) -> Callable[..., Any]:
    def put_targets_checked(self: Any, name: str, event_bus_arn: Any, targets: Any) -> Any:
        from moto.events.exceptions import ValidationException

        for target in targets or ():
            try:
                check_retry_policy(target.get("RetryPolicy"))
            except InvalidRetryPolicy as error:
                raise ValidationException(f"Target {target.get('Id')}: {error}") from None
        return put_targets(self, name, event_bus_arn, targets)

    return put_targets_checked


ROWS: list[Row] = [
    Wrap("EventsBackend", "put_events", _within_size),
    Wrap("EventsBackend", "put_targets", _retry_policies_checked),
    Wrap("EventsBackend", "put_rule", _within_limits),
]
