"""Step Functions Wait states under a frozen clock: the real wait is measured monotonically.

AWS: a Wait state pauses the execution for the given seconds (or until a timestamp). moto 5.2.5
sleeps on the execution's thread and measures the sleep with ``time.time()``, which never moves
while a lab's clock is frozen, so a Wait would never end. Measured with ``time.monotonic()`` it
ends after its real duration, as before; the execution history is still stamped with the lab's
(simulated) time.
"""

from __future__ import annotations

import time
from typing import Any

from labkit.moto_patches.registry import Replace, Row

__all__ = ["ROWS"]


def _wait_interval_monotonic(self: Any, env: Any, wait_seconds: float) -> None:
    """moto's WaitFunction._wait_interval, measuring the real wait with time.monotonic()."""
    started = time.monotonic()
    remaining = float(wait_seconds)
    while remaining > 0:
        env.program_state_event.wait(remaining)
        remaining = wait_seconds - (time.monotonic() - started)
        if not env.is_running():
            return


ROWS: list[Row] = [Replace("WaitFunction", "_wait_interval", _wait_interval_monotonic)]
