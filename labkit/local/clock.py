"""The lab's clock: simulated time on moto in-process, the wall clock elsewhere.

On the embedded backend the clock is frozen at a fixed start and only moves when the lab advances
it, so a 30-second visibility timeout passes in no time and every timestamp repeats run after run.
On other backends advancing the clock really waits.

Simulated time also reaches inside moto (see `patch_moto`): an SQS long poll on an empty queue
moves the clock to the moment a message becomes receivable, or to the end of the wait, instead of
blocking on a clock that never moves. Step Functions stays real-time: Wait states and Retry
intervals really sleep on moto's execution thread (poll `describe_execution`), while the
execution history is stamped with simulated time.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import time_machine

from labkit.errors import LabError
from labkit.lab.backends import post_json

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["Clock", "LAB_EPOCH", "simulated_clock", "patch_moto", "attach"]

#: Where simulated time starts: a Monday morning, so schedules read naturally.
LAB_EPOCH = dt.datetime(2026, 1, 5, 9, 0, 0, tzinfo=dt.UTC)

# In-process clocks whose simulated time is running, innermost last. moto's patched waits use the
# innermost one; the lock keeps a long poll's jump and a lab's advance from interleaving.
_RUNNING: list[Clock] = []
_SHIFT_LOCK = threading.RLock()


def simulated_clock() -> Clock | None:
    """The in-process clock whose simulated time is running, or None (time is real here).

    >>> clock = Clock(virtual=True)
    >>> clock.start()
    >>> simulated_clock() is clock
    True
    >>> clock.stop()
    """
    return _RUNNING[-1] if _RUNNING else None


class Clock:
    """Simulated (virtual) or real time, with one API.

    >>> clock = Clock(virtual=True)
    >>> clock.start()
    >>> clock.advance(90)
    >>> clock.elapsed()
    90.0
    >>> clock.stop()
    """

    def __init__(
        self, *, virtual: bool, start: dt.datetime = LAB_EPOCH, remote_url: str | None = None
    ) -> None:
        #: simulated time: in this process, or (remote_url) in a `python -m labkit.server`.
        self.virtual = virtual or remote_url is not None
        self.remote_url = remote_url
        self._start = start
        self._traveller: time_machine.travel | None = None
        self._coordinates: time_machine.Coordinates | None = None
        self._t0 = 0.0
        self._listeners: list[Callable[[float], None]] = []
        # simulated seconds the listeners know have passed (see catch_up)
        self._known_elapsed = 0.0

    def start(self) -> None:
        if self.remote_url is not None:
            self._remote({"reset": True})
            self._known_elapsed = 0.0
        elif self.virtual and self._traveller is None:
            self._traveller = time_machine.travel(self._start, tick=False)
            self._coordinates = self._traveller.start()
            _RUNNING.append(self)
        self._t0 = time.time()
        self._known_elapsed = 0.0

    def stop(self) -> None:
        if self._traveller is not None:
            self._traveller.stop()
        if self in _RUNNING:
            _RUNNING.remove(self)
        self._traveller = None
        self._coordinates = None

    def reset(self) -> None:
        """Back to the start of simulated time (real time simply restarts the count)."""
        if self.remote_url is not None:
            self._remote({"reset": True})
            self._known_elapsed = 0.0
        if self._coordinates is not None:
            self._coordinates.move_to(self._start)
        self._t0 = time.time()
        self._known_elapsed = 0.0

    def now(self) -> dt.datetime:
        """The lab's current time, timezone-aware UTC."""
        if self.remote_url is not None:
            return dt.datetime.fromisoformat(self._remote({})["now"])
        return dt.datetime.fromtimestamp(time.time(), tz=dt.UTC)

    def elapsed(self) -> float:
        """Seconds since the lab (or its last reset) started."""
        if self.remote_url is not None:
            return round((self.now() - self._start).total_seconds(), 6)
        return round(time.time() - self._t0, 6)

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0) -> None:
        """Let time pass: instantly when simulated, by sleeping otherwise."""
        total = float(seconds) + 60.0 * float(minutes)
        if total < 0:
            raise LabError(
                "a duration of zero or more seconds",
                f"{total} s",
                "time only moves forward; pass a positive number, e.g. lab.advance(31)",
            )
        if self.remote_url is not None:
            self._remote({"advance": total})
        elif self._coordinates is not None:
            self.shift(total)
        else:
            time.sleep(total)
        self._known_elapsed += total
        for listener in list(self._listeners):
            listener(total)

    def shift(self, seconds: float) -> None:
        """Move this process's simulated time forward without telling listeners.

        For waits moto performs inside one call (a long poll): the call itself takes the time.

        >>> clock = Clock(virtual=True)
        >>> clock.start()
        >>> clock.shift(1.5)
        >>> clock.elapsed()
        1.5
        >>> clock.stop()
        """
        if self._coordinates is None:
            raise LabError(
                "a clock whose simulated time runs in this process",
                "a real-time or remote clock",
                "shift only simulated in-process time; use advance() otherwise",
            )
        with _SHIFT_LOCK:
            self._coordinates.shift(max(0.0, float(seconds)))

    def on_advance(self, listener: Callable[[float], None]) -> Callable[[], None]:
        """Call `listener(seconds)` after each advance (schedules, pollers); returns an undo."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def catch_up(self) -> float:
        """Tell listeners about simulated time that moved without them (a long poll's wait).

        Returns the seconds caught up (0.0 when nothing moved or time is real).

        >>> clock = Clock(virtual=True)
        >>> clock.start()
        >>> heard = []
        >>> undo = clock.on_advance(heard.append)
        >>> clock.shift(20)
        >>> clock.catch_up(), heard
        (20.0, [20.0])
        >>> clock.stop()
        """
        if not self.virtual:
            return 0.0
        moved = round(self.elapsed() - self._known_elapsed, 6)
        if moved <= 0:
            return 0.0
        self._known_elapsed += moved
        for listener in list(self._listeners):
            listener(moved)
        return moved

    def _remote(self, payload: dict[str, float | bool]) -> dict[str, str]:
        assert self.remote_url is not None
        answer = post_json(f"{self.remote_url}/labkit-api/clock", payload)
        assert isinstance(answer, dict)
        return answer


# -- simulated time inside moto ---------------------------------------------------------------

#: Real seconds an empty long poll still listens for messages sent by other threads (a Step
#: Functions execution, a function runtime) before simulated time jumps ahead.
LONG_POLL_GRACE = 0.02


def patch_moto() -> None:
    """Make moto's own waits safe under a frozen clock (idempotent).

    - SQS ReceiveMessage with WaitTimeSeconds (or the queue's ReceiveMessageWaitTimeSeconds)
      on a queue with nothing receivable: while time is simulated, the call moves the clock to
      the moment a message becomes receivable (visibility timeout or delay over), or to the end
      of the wait, instead of looping forever. With real time it waits as moto does.
    - Step Functions Wait states measure their real sleep with a monotonic clock; moto measures
      it with time.time(), which a frozen clock never moves, so it would wait forever.
    """
    from moto.sqs.models import SQSBackend
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    if not getattr(SQSBackend.receive_message, "_labkit_long_poll", False):
        SQSBackend.receive_message = _long_poll_on_simulated_time(SQSBackend.receive_message)
    if not getattr(WaitFunction._wait_interval, "_labkit_monotonic", False):
        WaitFunction._wait_interval = _wait_interval_monotonic


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
        clock = simulated_clock()
        if clock is None or not wait_seconds_timeout:
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
            clock.shift(target - now + 0.001)

    receive_message._labkit_long_poll = True  # type: ignore[attr-defined]
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


def _wait_interval_monotonic(self: Any, env: Any, wait_seconds: float) -> None:
    """moto's WaitFunction._wait_interval, measuring the real wait with time.monotonic()."""
    started = time.monotonic()
    remaining = float(wait_seconds)
    while remaining > 0:
        env.program_state_event.wait(remaining)
        remaining = wait_seconds - (time.monotonic() - started)
        if not env.is_running():
            return


_wait_interval_monotonic._labkit_monotonic = True  # type: ignore[attr-defined]


def attach(lab: Lab) -> None:
    """After an SQS long poll, tell the clock's listeners (tracer, schedules) the time it took."""
    clock = lab.clock
    if not clock.virtual:
        return

    def note_wait(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["labkit_wait"] = params.get("WaitTimeSeconds")

    def after_receive(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        waited = context.get("labkit_wait")
        # without the parameter the queue's ReceiveMessageWaitTimeSeconds may have applied
        if waited or (waited is None and not parsed.get("Messages")):
            clock.catch_up()

    lab.on("provide-client-params.sqs.ReceiveMessage", note_wait, "labkit-clock-wait")
    lab.on("after-call.sqs.ReceiveMessage", after_receive, "labkit-clock-long-poll")
