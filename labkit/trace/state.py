"""What the tracer remembers between calls, as small dataclasses built together in `TraceState`.

Each part of the tracer is handed the piece it works on and keeps that object; a lab reset
empties every piece in place (`TraceState.reset`), so no part holds a stale one afterwards.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field, fields
from typing import Any

from labkit.trace.records import Call, Hop

__all__ = [
    "ExecutionState",
    "InFlight",
    "QueueInfo",
    "QueueState",
    "Records",
    "RoutingState",
    "Rule",
    "Subscription",
    "TraceState",
    "WiringCache",
]


class _Resettable:
    def reset(self) -> None:
        """Back to the values of a new one, in place."""
        vars(self).update(vars(type(self)()))


@dataclass
class Records(_Resettable):
    """The journal: every call and hop in one numbering, and the ids a message goes by."""

    calls: list[Call] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    #: (kind, source, target, message id) -> index in `hops`, to confirm an inferred hop
    hop_at: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    seq: int = 0
    aliases: dict[str, str] = field(default_factory=dict)  # derived id -> first id
    errors: list[str] = field(default_factory=list)


@dataclass
class InFlight:
    """A message received from a queue and not deleted yet."""

    origin: str
    receives: int
    visible_at: float


@dataclass
class QueueState(_Resettable):
    """SQS messages the tracer follows between receive and delete."""

    receipts: dict[str, tuple[str, str]] = field(default_factory=dict)  # -> (queue, SQS id)
    inflight: defaultdict[str, dict[str, InFlight]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    moved: dict[tuple[str, str], str] = field(default_factory=dict)  # (DLQ, SQS id) -> source


@dataclass
class RoutingState(_Resettable):
    """Raw SNS deliveries inferred and not seen yet: queue -> body -> message ids, oldest first.

    A raw delivery carries no envelope, so the body is all that ties it to its publish.
    """

    raw_pending: defaultdict[str, dict[str, deque[str]]] = field(
        default_factory=lambda: defaultdict(dict)
    )


@dataclass
class ExecutionState(_Resettable):
    """Step Functions executions whose history is still to be harvested."""

    running: dict[str, str] = field(default_factory=dict)  # execution ARN -> machine ARN


@dataclass
class Subscription:
    """An SNS subscription as the tracer routes by it."""

    arn: str
    protocol: str
    endpoint: str
    policy: dict[str, Any] | None
    scope: str
    raw: bool


@dataclass
class Rule:
    """An EventBridge rule with an event pattern, and its targets' ARNs."""

    arn: str
    pattern: str | None
    enabled: bool
    targets: list[str]


@dataclass
class QueueInfo:
    """What the tracer needs of a queue's attributes."""

    arn: str
    visibility: float
    dlq: str
    max_receives: int


@dataclass
class WiringCache(_Resettable):
    """The topology looked up so far; a call that changes a service's wiring drops its part."""

    subscriptions: dict[str, list[Subscription]] = field(default_factory=dict)  # by topic
    rules: dict[str, list[Rule]] = field(default_factory=dict)  # by bus
    queues: dict[str, QueueInfo] = field(default_factory=dict)  # by queue ARN
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by machine ARN
    urls: dict[str, str] = field(default_factory=dict)  # queue ARN -> URL


@dataclass
class TraceState:
    """Everything a lab reset forgets, in one place."""

    records: Records = field(default_factory=Records)
    queues: QueueState = field(default_factory=QueueState)
    routing: RoutingState = field(default_factory=RoutingState)
    executions: ExecutionState = field(default_factory=ExecutionState)
    wiring: WiringCache = field(default_factory=WiringCache)

    def reset(self) -> None:
        """Empty every piece in place."""
        for piece in fields(self):
            getattr(self, piece.name).reset()
