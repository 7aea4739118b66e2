"""What a lab's parts need of each other, as small protocols.

The lab (`labkit.lab.session.Lab`) builds its parts and hands each one only these: a place to
register botocore hooks, a source of clients, somewhere to record hops. A part never sees the
whole lab, so it can be built and tested with any object that has these few methods.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from labkit.trace.records import Evidence, Hop, HopKind, Via

__all__ = ["Clients", "Hook", "Hooks", "HopSink"]

Hook = Callable[..., Any]


class Hooks(Protocol):
    """Where a part registers botocore event handlers and lab life-cycle callbacks."""

    def on(self, event_name: str, handler: Hook, unique_id: str) -> None:
        """Register a botocore handler for the lab's lifetime (its clients, made or to come)."""
        ...

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Run `callback` after every reset of the lab."""
        ...

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the lab stops."""
        ...


class Clients(Protocol):
    """Where a part gets boto3 clients: the lab's own, made from its one session."""

    @property
    def region(self) -> str: ...

    def client(self, service: str) -> Any: ...


class HopSink(Protocol):
    """Where a part records what it did with messages: the lab's tracer."""

    @property
    def enabled(self) -> bool: ...

    def add_hop(
        self,
        source: str,
        target: str,
        message_id: str,
        kind: HopKind,
        *,
        evidence: Evidence = "observed",
        via: Via = "labkit",
        detail: str = "",
        labels: tuple[tuple[str, str], ...] = (),
        time: float | None = None,
    ) -> Hop: ...

    def link(self, derived_id: str, origin_id: str) -> None: ...

    def origin(self, message_id: str) -> str: ...

    def fan_out(
        self, topic: str, message_id: str, params: dict[str, Any], time: float | None = None
    ) -> None: ...

    def track_execution(self, execution_arn: str, machine_arn: str) -> None: ...

    def acting_as(self, name: str) -> AbstractContextManager[None]: ...

    def internal(self) -> AbstractContextManager[None]: ...
