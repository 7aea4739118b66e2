"""The lab's clock: simulated time on moto in-process, the wall clock elsewhere.

On the embedded backend the clock is frozen at a fixed start and only moves when the lab advances
it, so a 30-second visibility timeout passes in no time and every timestamp repeats run after run.
On other backends advancing the clock really waits.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import time_machine

from labkit.backends import post_json
from labkit.errors import LabError

__all__ = ["Clock", "LAB_EPOCH"]

#: Where simulated time starts: a Monday morning, so schedules read naturally.
LAB_EPOCH = dt.datetime(2026, 1, 5, 9, 0, 0, tzinfo=dt.UTC)


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

    def start(self) -> None:
        if self.remote_url is not None:
            self._remote({"reset": True})
        elif self.virtual and self._traveller is None:
            self._traveller = time_machine.travel(self._start, tick=False)
            self._coordinates = self._traveller.start()
        self._t0 = time.time()

    def stop(self) -> None:
        if self._traveller is not None:
            self._traveller.stop()
        self._traveller = None
        self._coordinates = None

    def reset(self) -> None:
        """Back to the start of simulated time (real time simply restarts the count)."""
        if self.remote_url is not None:
            self._remote({"reset": True})
        if self._coordinates is not None:
            self._coordinates.move_to(self._start)
        self._t0 = time.time()

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
            self._coordinates.shift(total)
        else:
            time.sleep(total)
        for listener in list(self._listeners):
            listener(total)

    def on_advance(self, listener: Callable[[float], None]) -> Callable[[], None]:
        """Call `listener(seconds)` after each advance (schedules, pollers); returns an undo."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _remote(self, payload: dict[str, float | bool]) -> dict[str, str]:
        assert self.remote_url is not None
        answer = post_json(f"{self.remote_url}/labkit-api/clock", payload)
        assert isinstance(answer, dict)
        return answer
