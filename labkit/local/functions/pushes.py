"""Asynchronous invocations: what SNS and EventBridge push to a function (through labkit's
bridges), Lambda's retries of a failed one (up to two, one then two minutes later) and, after
the last, the function's dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from labkit.local.functions.invocation import Delivery, invoke
from labkit.local.functions.recursion import RECURSION_STOPPED
from labkit.local.functions.shared import TICK

if TYPE_CHECKING:
    from labkit.local.functions.events import Trigger
    from labkit.local.functions.function import Function
    from labkit.local.functions.invocation import Invoked
    from labkit.local.functions.shared import Shared

__all__ = ["ASYNC_RETRY_DELAYS", "LAMBDA_RETRIES", "Push", "Pushes"]

#: Asynchronous invocations (SNS, EventBridge): two retries, one then two minutes apart.
ASYNC_RETRY_DELAYS = (60.0, 120.0)
#: Where a retried asynchronous invocation comes from in the trace: Lambda's own event queue, not
#: the service (SNS, EventBridge) that handed the event over once.
LAMBDA_RETRIES = "service:Lambda retries"


@dataclass(frozen=True)
class Push:
    """One event waiting to be invoked: its attempt, and the lab time it is due at."""

    event: Any
    trigger: Trigger
    source: str
    message_id: str
    attempt: int = 1
    due: float = 0.0


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
        depth = shared.chains.depth([push.message_id])
        if not shared.chains.allowed(depth):
            # Lambda's recursive loop detection: the event goes to the dead-letter queue, if any
            shared.hops.add_hop(
                push.source or fn.arn, fn.arn, push.message_id, "failed", detail=RECURSION_STOPPED
            )
            self._give_up(fn, push, RECURSION_STOPPED, request_id="")
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
        """Retry, or after the last retry send to the dead-letter queue or drop."""
        if push.attempt <= fn.retries:
            delay = ASYNC_RETRY_DELAYS[push.attempt - 1]
            self.add(fn, replace(push, attempt=push.attempt + 1, due=now + invoked.took + delay))
        else:
            self._give_up(fn, push, invoked.error, invoked.request_id)

    def _give_up(self, fn: Function, push: Push, error: str, request_id: str) -> None:
        """To the function's dead-letter queue if it has one, else dropped."""
        if fn.dead_letter_url:
            self._dead_letter(fn, push, error, request_id)
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
