"""Who makes a call: the actor a hop starts from or ends at when no resource does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from labkit.trace.records import actor

__all__ = ["DEFAULT_CONSUMER", "DEFAULT_PUBLISHER", "Actors"]

#: Who sends or receives when no actor was named.
DEFAULT_PUBLISHER = actor("publisher")
DEFAULT_CONSUMER = actor("consumer")


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.names: list[str] = []


class Actors:
    """The caller of this thread's calls: the innermost `acting_as` block, else `name`'s."""

    def __init__(self) -> None:
        self._default = ""
        self._thread = _PerThread()

    def name(self, name: str | None) -> None:
        """Attribute the following calls to actor `name` (None: back to unnamed)."""
        self._default = actor(name) if name else ""

    @contextmanager
    def acting_as(self, name: str) -> Iterator[None]:
        """Attribute this thread's calls inside the block to actor `name`."""
        names = self._thread.names
        names.append(actor(name))
        try:
            yield
        finally:
            names.pop()

    def caller(self) -> str:
        """The actor of a call made now on this thread ("" when unnamed)."""
        names = self._thread.names
        return names[-1] if names else self._default
