"""The lab's clock: simulated time on moto in-process, the wall clock elsewhere.

On the embedded backend the clock is frozen at a fixed start and only moves when the lab advances
it, so a 30-second visibility timeout passes in no time and every timestamp repeats run after run.
On other backends advancing the clock really waits.

Simulated time also reaches inside moto (``labkit.moto_patches.sqs_long_poll``): an SQS long
poll on an empty queue moves the clock to the moment a message becomes receivable, or to the end
of the wait, instead of blocking on a clock that never moves. Step Functions' Wait states,
Retry intervals, task timeouts and heartbeats wait for the simulated clock to pass their end
(``labkit.moto_patches.sfn_lab_time``); `next_timer` says when the next of them ends.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from labkit.endpoint import post_json
from labkit.errors import LabError
from labkit.moto_patches.sqs_long_poll import simulate_waits

if TYPE_CHECKING:
    import time_machine

    from labkit.parts import Hooks

__all__ = ["Clock", "LAB_EPOCH", "follow_long_polls"]

#: The most one advance may move the clock: a century (dates stay far from the year 9999).
MAX_ADVANCE = 100 * 365.25 * 86400
#: Where simulated time starts: a Monday morning, so schedules read naturally.
LAB_EPOCH = dt.datetime(2026, 1, 5, 9, 0, 0, tzinfo=dt.UTC)

# keeps a long poll's jump and a lab's advance from interleaving
_SHIFT_LOCK = threading.RLock()


def _time_machine() -> ModuleType:
    """time-machine, imported without its pytest plugin.

    ``import time_machine`` imports pytest when it is installed (the workbook's dev tools install
    it), only to offer a fixture labkit does not use: a tenth of a second in every notebook's
    first cell. Where pytest is not loaded yet, time-machine is imported as if it were absent.
    """
    if "time_machine" in sys.modules or "pytest" in sys.modules:
        import time_machine
    else:
        sys.modules["pytest"] = None  # type: ignore[assignment]  # makes `import pytest` fail
        try:
            import time_machine
        finally:
            del sys.modules["pytest"]
    return time_machine


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
        self._stop_simulating_waits: Callable[[], None] | None = None
        self._t0 = 0.0
        self._listeners: list[Callable[[float], None]] = []
        # simulated seconds the listeners know have passed (see catch_up)
        self._known_elapsed = 0.0

    def start(self) -> None:
        if self.remote_url is not None:
            self._remote({"reset": True})
            self._known_elapsed = 0.0
        elif self.virtual and self._traveller is None:
            self._traveller = _time_machine().travel(self._start, tick=False)
            self._coordinates = self._traveller.start()
            self._stop_simulating_waits = simulate_waits(self.shift)
        self._t0 = time.time()
        self._known_elapsed = 0.0

    def stop(self) -> None:
        if self._traveller is not None:
            self._traveller.stop()
        if self._stop_simulating_waits is not None:
            self._stop_simulating_waits()
            self._stop_simulating_waits = None
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
        if not total < MAX_ADVANCE:
            raise LabError(
                f"a duration under {MAX_ADVANCE:.0f} seconds (about 100 years)",
                f"{total:g} s",
                "AWS's dates stop at the year 9999 and the lab's clock with them; advance by "
                "what the lesson needs, e.g. lab.advance(minutes=60)",
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
        `catch_up` tells the listeners afterwards (its example shows both).
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
        >>> clock.elapsed(), heard
        (20.0, [])
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

    def timers(self) -> list[tuple[float, str]]:
        """The pending Step Functions waits: (simulated seconds left, execution ARN), soonest
        first; the execution is "" for a task's timeout or heartbeat. Only simulated clocks
        have them: on real time a wait simply takes its time.

        >>> clock = Clock(virtual=True)
        >>> clock.start()
        >>> clock.timers()
        []
        >>> clock.stop()
        """
        if self.remote_url is not None:
            answer: Any = self._remote({})
            return [(float(left), str(owner)) for left, owner in answer.get("timers", [])]
        if self._coordinates is None:
            return []
        from labkit.moto_patches.sfn_lab_time import pending

        return pending(time.time())

    def next_timer(self, execution: str | None = None) -> float | None:
        """Simulated seconds until the next Step Functions wait (of one execution) ends."""
        left = [s for s, owner in self.timers() if execution is None or owner == execution]
        return left[0] if left else None

    def _remote(self, payload: dict[str, float | bool]) -> dict[str, str]:
        assert self.remote_url is not None
        answer = post_json(f"{self.remote_url}/labkit-api/clock", payload)
        assert isinstance(answer, dict)
        return answer


def follow_long_polls(clock: Clock, hooks: Hooks) -> None:
    """After an SQS long poll, tell the clock's listeners (tracer, schedules) the time it took.

    A long poll moves simulated time inside moto (``labkit.moto_patches.sqs_long_poll``); the
    clock's listeners hear of it here, once the call is over.
    """
    if not clock.virtual:
        return

    def note_wait(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["labkit_wait"] = params.get("WaitTimeSeconds")

    def after_receive(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        waited = context.get("labkit_wait")
        # without the parameter the queue's ReceiveMessageWaitTimeSeconds may have applied
        if waited or (waited is None and not parsed.get("Messages")):
            clock.catch_up()

    hooks.on("provide-client-params.sqs.ReceiveMessage", note_wait, "labkit-clock-wait")
    hooks.on("after-call.sqs.ReceiveMessage", after_receive, "labkit-clock-long-poll")
