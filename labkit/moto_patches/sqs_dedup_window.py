"""Corrections that make moto's SQS behave as AWS documents, where the lessons depend on it.

The FIFO deduplication window. AWS: a message sent with a MessageDeduplicationId already sent
successfully in the last 5 minutes is accepted but not delivered, "even after the message has
been received and deleted" (SQS Developer Guide, FIFO key terms); with DeduplicationScope
``messageGroup`` the id counts within its message group. Stock moto 5.2.5 only compares against
messages still in the queue, so an id resent after a delete is delivered twice. Here every FIFO
queue remembers when each id was first sent, on the lab's clock: ``lab.advance(301)`` opens the
window again.

This is separate from the fast path (``labkit.moto_patches.sqs_fastpath``), which changes no
behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS", "DEDUPLICATION_WINDOW_SECONDS"]

#: How long AWS remembers a FIFO MessageDeduplicationId after its first successful send.
DEDUPLICATION_WINDOW_SECONDS = 300
# past this many remembered ids a queue forgets those whose window is over
_PRUNE_ABOVE = 1_000


def _with_dedup_window(add_message: Callable[..., None]) -> Callable[..., None]:
    def add_message_once_per_window(self: Any, message: Any) -> None:
        # a message never received is a fresh send; moved dead letters are not deduplicated
        if self.fifo_queue and message.deduplication_id and not message.approximate_receive_count:
            scope = message.group_id if self.deduplication_scope == "messageGroup" else None
            key = (scope, message.deduplication_id)
            sent_at = message.sent_timestamp / 1000.0
            window: dict[tuple[str | None, str], float] = self.__dict__.setdefault(
                "_labkit_dedup_window", {}
            )
            first = window.get(key)
            if first is not None and sent_at - first < DEDUPLICATION_WINDOW_SECONDS:
                return  # accepted, not delivered: what AWS does with a duplicate
            if len(window) > _PRUNE_ABOVE:
                for old in [
                    k for k, t in window.items() if sent_at - t >= DEDUPLICATION_WINDOW_SECONDS
                ]:
                    del window[old]
            window[key] = sent_at
        add_message(self, message)

    return add_message_once_per_window


ROWS: list[Row] = [Wrap("Queue", "add_message", _with_dedup_window)]
