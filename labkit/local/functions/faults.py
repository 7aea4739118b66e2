"""Seeded failure injection for a function: crashes, slowness, outages and lost deletes."""

from __future__ import annotations

import random
from dataclasses import dataclass

from labkit.errors import LabError

__all__ = ["Faults", "draw", "loses_delete"]


@dataclass(frozen=True)
class Faults:
    """Seeded failure injection for a function.

    ``crash``: probability that an invocation fails (the handler is not called);
    ``slow`` / ``slow_seconds``: probability that an invocation takes ``slow_seconds`` more
    simulated time (past the timeout it times out, past the visibility timeout the message is
    delivered again); ``outages``: ``(start, end)`` windows in lab seconds during which every
    invocation fails; ``duplicate``: probability, per processed message, that its delete is lost,
    so the queue delivers it again (at-least-once delivery). Same seed, same faults.

    >>> Faults(crash=0.2, seed=7).crash
    0.2
    """

    crash: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()
    duplicate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("crash", "slow", "duplicate"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise LabError(
                    f"{name} as a probability between 0 and 1",
                    f"{name}={value!r}",
                    f"write e.g. Faults({name}=0.2) for one invocation in five",
                )
        if self.slow_seconds < 0:
            raise LabError(
                "slow_seconds of zero or more",
                repr(self.slow_seconds),
                "write the extra simulated time, e.g. Faults(slow=0.1, slow_seconds=5)",
            )
        outages = tuple((float(a), float(b)) for a, b in self.outages)
        for start, end in outages:
            if end <= start:
                raise LabError(
                    "outage windows as (start, end) with end after start, in lab seconds",
                    repr((start, end)),
                    "write e.g. Faults(outages=[(60, 120)]) for a one-minute outage",
                )
        object.__setattr__(self, "outages", outages)

    def in_outage(self, at: float) -> bool:
        """True when lab time `at` falls inside an outage window."""
        return any(start <= at < end for start, end in self.outages)


def draw(faults: Faults, rng: random.Random, at: float) -> tuple[str, float]:
    """The faults for one invocation at lab time `at`: (error or "", extra simulated seconds).

    Crash and slowness are drawn even during an outage, so an outage leaves the draws after it
    as they would have been.

    >>> draw(Faults(outages=[(0, 10)]), random.Random(0), 5.0)[0][:6]
    'Outage'
    """
    crash = rng.random() < faults.crash if faults.crash else False
    slow = rng.random() < faults.slow if faults.slow else False
    if faults.in_outage(at):
        return "Outage: the function's dependency is unavailable (injected)", 0.0
    if crash:
        return "Crash: the function crashed (injected)", 0.0
    return "", faults.slow_seconds if slow else 0.0


def loses_delete(faults: Faults, rng: random.Random) -> bool:
    """Whether the delete of one processed message is lost (drawn only when duplicates are on)."""
    return bool(faults.duplicate) and rng.random() < faults.duplicate
