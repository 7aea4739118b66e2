"""Scheduled EventBridge rules fire on the lab's clock.

AWS: a rule with a ``ScheduleExpression`` sends a ``"Scheduled Event"`` from ``aws.events`` to
its targets at each time the expression names (UTC). moto 5.2.5 validates the expression and
never fires. Here a rule's schedule starts when the rule is created (or updated); whenever the
lab asks (`catch_up`: after each call and each advance of its clock) every rule whose time has
come fires, once per due time, so ``lab.advance(minutes=60)`` fires a ``rate(5 minutes)`` rule
twelve times.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.events_targets import BRIDGED_TARGETS, _service
from labkit.moto_patches.outbox import post
from labkit.moto_patches.registry import Row, Wrap
from labkit.moto_patches.schedule_expressions import InvalidSchedule, parse_schedule

__all__ = ["ROWS", "MAX_FIRINGS", "catch_up", "next_firing"]

#: At most this many firings of one schedule per catch-up (a week of minutes is 10,080).
MAX_FIRINGS = 20_000

_LOCK = threading.RLock()
_SCHEDULED: list[weakref.ref[Any]] = []


def _anchoring(put_rule: Callable[..., Any]) -> Callable[..., Any]:
    def put_rule_and_schedule(self: Any, *args: Any, **kwargs: Any) -> Any:
        expression = kwargs.get("scheduled_expression")
        if expression:
            _check(expression)  # before moto stores the rule: AWS keeps nothing it refuses
        rule = put_rule(self, *args, **kwargs)
        if rule.scheduled_expression:
            now = dt.datetime.fromtimestamp(time.time(), tz=dt.UTC)
            with _LOCK:
                # the schedule starts when the rule is created (or updated)
                rule._labkit_anchor = now
                rule._labkit_next = parse_schedule(rule.scheduled_expression).next_after(now, now)
                rule._labkit_backend = weakref.ref(self)
                if not any(ref() is rule for ref in _SCHEDULED):
                    _SCHEDULED.append(weakref.ref(rule))
        return rule

    return put_rule_and_schedule


def catch_up(now: float | None = None) -> int:
    """Fire every scheduled rule whose time has come (in this process); returns the firings."""
    if not _SCHEDULED:
        return 0
    now_dt = dt.datetime.fromtimestamp(time.time() if now is None else now, tz=dt.UTC)
    fired = 0
    with _LOCK:
        alive = []
        for ref in _SCHEDULED:
            rule = ref()
            backend = getattr(rule, "_labkit_backend", lambda: None)()
            if rule is None or backend is None or not _still_defined(backend, rule):
                continue
            alive.append(ref)
            fired += _fire_due(backend, rule, now_dt)
        _SCHEDULED[:] = alive
    return fired


def _still_defined(backend: Any, rule: Any) -> bool:
    bus = backend.event_buses.get(rule.event_bus_name)
    return bus is not None and bus.rules.get(rule.name) is rule


def _fire_due(backend: Any, rule: Any, now: dt.datetime) -> int:
    schedule = parse_schedule(rule.scheduled_expression)
    fired = 0
    while rule._labkit_next <= now and fired < MAX_FIRINGS:
        at = rule._labkit_next
        if rule.state == "ENABLED":
            _fire(backend, rule, at)
            fired += 1
        rule._labkit_next = schedule.next_after(at, rule._labkit_anchor)
    return fired


def _fire(backend: Any, rule: Any, at: dt.datetime) -> None:
    from moto.moto_api._internal import mock_random

    event = {
        "version": "0",
        "id": str(mock_random.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": backend.account_id,
        "time": at.timestamp(),
        "region": backend.region_name,
        "resources": [rule.arn],
        "detail": {},
        "ingestion-time": at.timestamp(),
    }
    for target in rule.targets:
        if _service(target["Arn"]) not in BRIDGED_TARGETS:
            post(
                "deliveries",
                {
                    "source": rule.arn,
                    "target": target["Arn"],
                    "message_id": event["id"],
                    "kind": "delivered",
                    "detail": f"scheduled {rule.scheduled_expression}",
                },
            )
    rule.send_to_targets(event)


def next_firing() -> float | None:
    """The epoch second of the next scheduled firing in this process (None: no schedules)."""
    with _LOCK:
        times = [
            rule._labkit_next.timestamp()
            for rule in (ref() for ref in _SCHEDULED)
            if rule is not None and rule._labkit_next is not None and rule.state == "ENABLED"
        ]
    return min(times) if times else None


def _check(expression: str) -> None:
    from moto.events.exceptions import ValidationException

    try:
        parse_schedule(expression)
    except InvalidSchedule as error:
        raise ValidationException(f"Parameter ScheduleExpression is not valid. {error}") from None


ROWS: list[Row] = [Wrap("EventsBackend", "put_rule", _anchoring)]
