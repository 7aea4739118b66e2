"""SQS long polling on simulated time: a wait that would never end moves the clock instead.

AWS: a ReceiveMessage with ``WaitTimeSeconds`` (or the queue's ``ReceiveMessageWaitTimeSeconds``)
on a queue with nothing to receive waits until a message becomes receivable or the wait ends.
moto 5.2.5 does that by looping on the clock, which never moves while a lab's time is frozen: the
call would hang. While a lab's simulated time runs in this process (it registers a jump with
`simulate_waits`), the call instead moves simulated time to the moment a message becomes
receivable (visibility timeout or delay over) or to the end of the wait, exactly what a learner
would have seen after waiting. With real time it waits as moto does.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Undo, Wrap

__all__ = ["ROWS", "LONG_POLL_GRACE", "simulate_waits", "simulating"]

#: Real seconds an empty long poll still listens for messages sent by other threads (a Step
#: Functions execution, a function runtime) before simulated time jumps ahead.
LONG_POLL_GRACE = 0.02

Jump = Callable[[float], None]
# the jumps of the simulated clocks running in this process, innermost last
_JUMPS: list[Jump] = []
_LOCK = threading.Lock()


def simulate_waits(jump: Jump) -> Undo:
    """While registered, long polls move simulated time with ``jump(seconds)``; returns the undo.

    >>> moved = []
    >>> undo = simulate_waits(moved.append)
    >>> simulating()
    True
    >>> undo()
    >>> simulating()
    False
    """
    with _LOCK:
        _JUMPS.append(jump)

    def undo() -> None:
        with _LOCK:
            if jump in _JUMPS:
                _JUMPS.remove(jump)

    return undo


def simulating() -> bool:
    """True while a simulated clock in this process takes long polls' waits."""
    return bool(_JUMPS)


def _current() -> Jump | None:
    return _JUMPS[-1] if _JUMPS else None


def _long_poll_on_simulated_time(receive: Callable[..., Any]) -> Callable[..., Any]:
    from moto.core.utils import unix_time

    @functools.wraps(receive)
    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        jump = _current()
        if jump is None or not wait_seconds_timeout:
            return receive(
                self, queue_name, count, wait_seconds_timeout, visibility_timeout,
                message_attribute_names,
            )  # fmt: skip
        queue = self.get_queue(queue_name)
        polling_end = unix_time() + int(wait_seconds_timeout)
        while True:
            # one non-waiting receive is exactly moto's first pass of its long-poll loop
            result = receive(
                self, queue_name, count, 0, visibility_timeout, message_attribute_names
            )
            now = unix_time()
            if result or now > polling_end:
                return result
            with queue._messages_lock:
                sent_meanwhile = queue._messages_lock.wait(LONG_POLL_GRACE)
            if sent_meanwhile:
                continue
            moment = _next_receivable(queue, now)
            target = polling_end if moment is None else min(moment, polling_end)
            # moto compares strictly (visible once now > visible_at): land just past the moment
            jump(target - now + 0.001)

    return receive_message


def _next_receivable(queue: Any, now: float) -> float | None:
    """When the next message of `queue` stops being invisible or delayed (epoch seconds).

    A message whose timeout ends exactly `now` counts: its timeout has elapsed, so it is due now
    (moto, comparing strictly, hands it out one millisecond later; the caller lands there).
    """
    now_ms = now * 1000.0
    upcoming = [
        moment
        for message in list(queue._messages)
        if (moment := max(message.visible_at, message.delayed_until)) >= now_ms
    ]
    return min(upcoming) / 1000.0 if upcoming else None


ROWS: list[Row] = [Wrap("SQSBackend", "receive_message", _long_poll_on_simulated_time)]
