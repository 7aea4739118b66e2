"""What a runtime's mappings and pushes share: its ledger, its agenda of what finishes later,
its queues, the tracer and its resources; and how close two lab times must be to count as one."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.local.functions.destinations import Destinations
    from labkit.local.functions.polling import Queues
    from labkit.local.functions.recursion import Chains
    from labkit.local.functions.resources import Resources
    from labkit.local.functions.results import Ledger
    from labkit.parts import HopSink

__all__ = ["TICK", "Agenda", "Shared"]

#: Lab times are kept to the microsecond; closer than this counts as the same moment.
TICK = 1e-6


class Agenda:
    """Actions due at later lab times (batches finishing), run in time order; at the same time,
    in the order `ticket` numbered them.

    >>> agenda, done = Agenda(iter(range(9)).__next__), []
    >>> agenda.later(2.0, lambda: done.append("b")); agenda.later(1.0, lambda: done.append("a"))
    >>> agenda.run_due(1.5), done, agenda.times()
    (True, ['a'], [2.0])
    """

    def __init__(self, ticket: Callable[[], int]) -> None:
        self._ticket = ticket
        self._due: list[tuple[float, int, Callable[[], None]]] = []

    def later(self, at: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._due, (at, self._ticket(), action))

    def run_due(self, now: float) -> bool:
        """Run every action due by `now` (those they add too, when due); True if any ran."""
        ran = False
        while self._due and self._due[0][0] <= now + TICK:
            _, _, action = heapq.heappop(self._due)
            action()
            ran = True
        return ran

    def times(self) -> list[float]:
        return [at for at, _, _ in self._due]

    def clear(self) -> None:
        self._due.clear()


@dataclass(frozen=True)
class Shared:
    """One runtime's parts, handed to its mappings and pushes."""

    ledger: Ledger
    agenda: Agenda
    queues: Queues
    hops: HopSink
    resources: Resources
    chains: Chains
    destinations: Destinations
