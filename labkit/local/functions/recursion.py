"""Lambda's recursive loop detection: a chain of invocations stops after 16.

AWS (Lambda developer guide, "Lambda recursive loop detection"): when a function's output goes
back to the queue or topic that invokes it, Lambda counts the invocations caused by the same
first event; it stops the next one after 16, and sends the event to a dead-letter queue or
on-failure destination if one is configured. AWS tracks the chain in the event's tracing header;
here the chain is followed by message id: whatever a handler sends while it runs (SendMessage,
SendMessageBatch, Publish, PublishBatch, PutEvents through the lab's clients) belongs to the
chain of the event it is handling, one invocation further on.

>>> chains = Chains(lambda event, handler, unique_id: None)
>>> chains.depth(["m-1"]), chains.allowed(15), chains.allowed(LIMIT)
(0, True, False)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

__all__ = ["LIMIT", "RECURSION_STOPPED", "Chains"]

#: Invocations one chain may make; the next is stopped.
LIMIT = 16
#: What the trace says of a stopped invocation (the error Lambda reports for it).
RECURSION_STOPPED = (
    f"RecursiveInvocationException: Lambda stopped a recursive loop after {LIMIT} invocations"
)

#: the calls whose answers name the messages or events a handler sent (service, operation)
SENDS: dict[tuple[str, str], Callable[[dict[str, Any]], list[Any]]] = {
    ("sqs", "SendMessage"): lambda answer: [answer.get("MessageId")],
    ("sqs", "SendMessageBatch"): lambda answer: [e["MessageId"] for e in answer["Successful"]],
    ("sns", "Publish"): lambda answer: [answer.get("MessageId")],
    ("sns", "PublishBatch"): lambda answer: [e["MessageId"] for e in answer["Successful"]],
    ("eventbridge", "PutEvents"): lambda answer: [e.get("EventId") for e in answer["Entries"]],
}


class Chains:
    """How many invocations led to each message a handler sent.

    `register(event_name, handler, unique_id)` adds a botocore handler for the lab's lifetime
    (``Hooks.on``); `origin` maps a derived id (an SNS message's copy in a queue) to the id it
    came from.
    """

    def __init__(
        self,
        register: Callable[[str, Callable[..., Any], str], None],
        origin: Callable[[str], str] = lambda message_id: message_id,
    ) -> None:
        self._origin = origin
        self._depth: dict[str, int] = {}
        self._running = threading.local()
        for (service, operation), read in SENDS.items():
            register(
                f"after-call.{service}.{operation}",
                partial(self._sent, read),
                f"labkit-chains.{service}.{operation}",
            )

    def depth(self, message_ids: Iterable[str]) -> int:
        """The invocations that led to these messages (0: they came from outside)."""
        found = [self._depth.get(i, self._depth.get(self._origin(i), 0)) for i in message_ids]
        return max(found, default=0)

    @staticmethod
    def allowed(depth: int) -> bool:
        """Whether an invocation on messages `depth` invocations deep may run."""
        return depth < LIMIT

    @contextmanager
    def invoking(self, depth: int) -> Iterator[None]:
        """The block runs a handler `depth + 1` invocations deep: what it sends is that deep."""
        previous = getattr(self._running, "depth", None)
        self._running.depth = depth + 1
        try:
            yield
        finally:
            self._running.depth = previous

    def clear(self) -> None:
        self._depth.clear()

    def _sent(self, read: Callable[[dict[str, Any]], list[Any]], parsed: Any, **_: Any) -> None:
        depth = getattr(self._running, "depth", None)
        if depth is None or not isinstance(parsed, dict) or "Error" in parsed:
            return
        for message_id in read(parsed):
            if message_id:
                self._depth[message_id] = depth
