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

>>> from labkit.moto_patches import sqs_fifo_groups as fifo_groups
>>> fifo_groups.patch_moto()
>>> fifo_groups.is_patched()
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["patch_moto", "unpatch_moto", "is_patched"]

_ORIGINAL_RECEIVE: Callable[..., Any] | None = None


def _forget_timed_out(receive: Callable[..., Any]) -> Callable[..., Any]:
    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            pending = queue.pending_messages
            for message in [m for m in pending if m.visible]:
                pending.discard(message)
        return receive(self, queue_name, *args, **kwargs)

    receive_message._labkit_fifo_groups = True  # type: ignore[attr-defined]
    return receive_message


def patch_moto() -> None:
    """Apply the correction to moto in this process (idempotent)."""
    global _ORIGINAL_RECEIVE
    from moto.sqs.models import SQSBackend

    if _ORIGINAL_RECEIVE is None:
        _ORIGINAL_RECEIVE = SQSBackend.receive_message
        SQSBackend.receive_message = _forget_timed_out(_ORIGINAL_RECEIVE)  # type: ignore[method-assign]


def unpatch_moto() -> None:
    """Put moto's own receive back (idempotent); only safe when nothing wrapped it since."""
    global _ORIGINAL_RECEIVE
    from moto.sqs.models import SQSBackend

    if _ORIGINAL_RECEIVE is not None:
        if getattr(SQSBackend.receive_message, "_labkit_fifo_groups", False):
            SQSBackend.receive_message = _ORIGINAL_RECEIVE  # type: ignore[method-assign]
        _ORIGINAL_RECEIVE = None


def is_patched() -> bool:
    """Whether the correction is applied in this process."""
    return _ORIGINAL_RECEIVE is not None
