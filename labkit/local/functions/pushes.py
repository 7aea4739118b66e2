"""Asynchronous invocations: what SNS and EventBridge push to a function (through labkit's
bridges), Lambda's retries of a failed one (up to two, one then two minutes later, within the
event's maximum age) and, after the last, the function's dead-letter queue and on-failure
destination.

AWS (How Lambda handles errors and retries with asynchronous invocation; Capturing records of
Lambda asynchronous invocations): ``MaximumRetryAttempts`` (0-2) and ``MaximumEventAgeInSeconds``
(60-21,600) of ``put_function_event_invoke_config`` limit the retries; an event that runs out of
either goes to the dead-letter queue and the on-failure destination, or is discarded. A function
whose reserved concurrency is zero is not run at all: its new events go there at once, without
retries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from labkit.local.functions.destinations import invocation_record
from labkit.local.functions.invocation import Delivery, invoke
from labkit.local.functions.recursion import RECURSION_STOPPED
from labkit.local.functions.shared import TICK

if TYPE_CHECKING:
    from labkit.local.functions.events import Trigger
    from labkit.local.functions.function import Function
    from labkit.local.functions.invocation import Invoked
    from labkit.local.functions.shared import Shared

__all__ = ["ASYNC_RETRY_DELAYS", "LAMBDA_RETRIES", "NOT_RUN", "Push", "Pushes"]

#: Asynchronous invocations (SNS, EventBridge): two retries, one then two minutes apart.
ASYNC_RETRY_DELAYS = (60.0, 120.0)
#: Where a retried asynchronous invocation comes from in the trace: Lambda's own event queue, not
#: the service (SNS, EventBridge) that handed the event over once.
LAMBDA_RETRIES = "service:Lambda retries"
#: Why an event of a function with zero reserved concurrency was not run.
NOT_RUN = "Function not invoked: its reserved concurrency is zero"


@dataclass(frozen=True)
class Push:
    """One event waiting to be invoked: its attempt, and the lab time it is due at."""

    event: Any
    trigger: Trigger
    source: str
    message_id: str
    attempt: int = 1
    due: float = 0.0
    since: float = 0.0  # when Lambda took the event (its age counts from here)


class Pushes:
    """The pushes waiting for each of a runtime's functions, invoked as workers free up."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._waiting: dict[Function, list[Push]] = {}

    def add(self, fn: Function, push: Push) -> None:
        """Queue `push` by when it is due (a new push does not wait behind a later retry)."""
        waiting = self._waiting.setdefault(fn, [])
        waiting.append(push)
        waiting.sort(key=lambda p: p.due)  # stable: pushes due together keep their order

    def forget(self, fn: Function) -> None:
        """Drop what waits for `fn` (it was replaced)."""
        self._waiting.pop(fn, None)

    def clear(self) -> None:
        self._waiting.clear()

    def run_due(self, functions: Iterable[Function], now: float) -> bool:
        """Invoke the pushes due by `now` while their functions have free workers."""
        ran = False
        for fn in functions:
            waiting = self._waiting.get(fn)
            while waiting and waiting[0].due <= now + TICK:
                if fn.free_worker(now) is None:
                    break
                self._invoke(fn, waiting.pop(0), now)
                ran = True
        return ran

    def wake_times(self, functions: Iterable[Function]) -> list[float]:
        """For each function with pushes waiting: when its earliest is due and a worker free."""
        return [
            max(min(p.due for p in waiting), fn.free_at())
            for fn in functions
            if (waiting := self._waiting.get(fn))
        ]

    def _invoke(self, fn: Function, push: Push, now: float) -> None:
        shared = self._shared
        if fn.reserved == 0:
            shared.hops.add_hop(
                push.source or fn.arn, fn.arn, push.message_id, "failed", detail=NOT_RUN
            )
            self._give_up(fn, push, NOT_RUN, "", "ZeroReservedConcurrency", invoked=0)
            return
        depth = shared.chains.depth([push.message_id])
        if not shared.chains.allowed(depth):
            # Lambda's recursive loop detection: the event goes to the dead-letter queue, if any
            shared.hops.add_hop(
                push.source or fn.arn, fn.arn, push.message_id, "failed", detail=RECURSION_STOPPED
            )
            self._give_up(fn, push, RECURSION_STOPPED, "", "RecursiveInvocation", invoked=0)
            return
        if push.attempt > 1:
            shared.ledger.count_retry()
        delivery = Delivery(push.trigger, push.source, (push.message_id,), push.attempt)
        invoked = invoke(
            fn, push.event, now, delivery, ledger=shared.ledger, chains=shared.chains, depth=depth
        )
        shared.hops.add_hop(
            push.source or fn.arn if push.attempt == 1 else LAMBDA_RETRIES,
            fn.arn,
            push.message_id,
            "failed" if invoked.error else "processed",
            detail=invoked.error[:200],
            labels=(("attempt", str(push.attempt)),),
        )
        if invoked.error:
            self._failed(fn, push, invoked, now)

    def _failed(self, fn: Function, push: Push, invoked: Invoked, now: float) -> None:
        """Retry, or after the last retry (or past the event's age) give up."""
        retries, max_age = fn.async_limits()
        condition = "RetriesExhausted"
        if push.attempt <= retries:
            due = now + invoked.took + ASYNC_RETRY_DELAYS[push.attempt - 1]
            if due - push.since <= max_age:
                self.add(fn, replace(push, attempt=push.attempt + 1, due=due))
                return
            condition = "EventAgeExceeded"
        self._give_up(fn, push, invoked.error, invoked.request_id, condition, push.attempt)

    def _give_up(
        self, fn: Function, push: Push, error: str, request_id: str, condition: str, invoked: int
    ) -> None:
        """To the function's dead-letter queue and on-failure destination, else dropped."""
        destination = fn.on_failure()
        if destination:
            record = invocation_record(fn.arn, request_id, condition, invoked, push.event, error)
            self._shared.destinations.send(
                destination, record, sender=fn.arn, origin=push.message_id
            )
        if fn.dead_letter_url:
            self._dead_letter(fn, push, error, request_id)
        if destination or fn.dead_letter_url:
            self._shared.ledger.dead_lettered(push.message_id)
        else:
            self._shared.ledger.discarded(push.message_id)

    def _dead_letter(self, fn: Function, push: Push, error: str, request_id: str) -> None:
        """Send the event to the function's dead-letter queue, with Lambda's attributes."""
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": request_id or "none"},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": error[:256] or "error"},
        }
        shared = self._shared
        sent = shared.queues.send(
            fn.dead_letter_url, json.dumps(push.event), attributes, caller=fn.name
        )
        shared.hops.link(sent, push.message_id)
        shared.hops.add_hop(
            fn.arn,
            shared.resources.queue_arn(fn.dead_letter_url),
            push.message_id,
            "dead-lettered",
            detail=f"failed {push.attempt} attempts: {error}"[:200],
        )
