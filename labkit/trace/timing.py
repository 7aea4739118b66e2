"""The time a record carries: seconds on the lab's simulated clock since the lab started."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.local.clock import Clock

__all__ = ["TraceTime"]


class TraceTime:
    """Seconds since the lab started, on its simulated clock, and the wall time they stand for.

    A remote simulated clock (on a labkit server) only moves when this lab advances it, so the
    time is followed locally (`advanced`) instead of asked of the server on every record.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._remote_elapsed: float | None = None
        self._epoch = dt.datetime.fromtimestamp(0, tz=dt.UTC)
        self.sync()

    def sync(self) -> None:
        """Read the clock again (at start and after a reset)."""
        clock = self._clock
        elapsed = clock.elapsed()
        if clock.remote_url is not None:
            self._remote_elapsed = elapsed
        self._epoch = clock.now() - dt.timedelta(seconds=elapsed)

    def advanced(self, seconds: float) -> None:
        """The lab moved a remote clock on by `seconds`."""
        if self._remote_elapsed is not None:
            self._remote_elapsed = round(self._remote_elapsed + seconds, 6)

    def now(self) -> float:
        """Seconds since the lab started."""
        if self._remote_elapsed is not None:
            return self._remote_elapsed
        return self._clock.elapsed()

    def at(self, timestamp: dt.datetime) -> float:
        """Seconds since the lab started at `timestamp` (an execution history's, say)."""
        return round((timestamp - self._epoch).total_seconds(), 6)

    def iso(self, seconds: float) -> str:
        """The wall time `seconds` after the lab started, as an EventBridge event's ``time``."""
        return (self._epoch + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
