"""FIFO message groups in moto: a group waits only while one of its messages is really in flight.

AWS: while a message of a FIFO group is received and not deleted (in flight), no other message
of that group is handed out; once it is deleted or its visibility timeout ends, the group flows
again, in send order. Stock moto 5.2.5 keeps a set of "pending" messages and drops a timed-out
one from it only when its receive loop reaches that message. Every other timed-out message still
in the set keeps its group blocked, so a receive can skip the head of a group and hand out a
later message of it: after several messages of one group time out together, or after a peek
with ``VisibilityTimeout=0``, moto delivers a group out of order.

The correction: before each receive on a FIFO queue, forget the pending messages that are
visible again. What is left in flight still blocks its group, exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS"]


def _forget_timed_out(receive: Callable[..., Any]) -> Callable[..., Any]:
    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            pending = queue.pending_messages
            for message in [m for m in pending if m.visible]:
                pending.discard(message)
        return receive(self, queue_name, *args, **kwargs)

    return receive_message


ROWS: list[Row] = [Wrap("SQSBackend", "receive_message", _forget_timed_out)]
