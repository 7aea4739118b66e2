"""What the tracer records: plain frozen values, shared by the tracer, bridges, runtime and plots.

Node ids are ARNs for AWS resources (queue, topic, bus, rule, state machine, function) and
``actor:<name>`` for code outside AWS that sends or receives (a publisher, a consumer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

__all__ = ["Call", "Hop", "HopKind", "HopOptions", "Evidence", "Via", "actor"]

HopKind = Literal[
    "sent",  # an actor put a message into a resource (SendMessage, Publish, PutEvents...)
    "delivered",  # a resource passed a message on to another (SNS -> SQS, rule -> target)
    "filtered",  # a subscription's filter policy or a rule's pattern did not match
    "refused",  # the receiver's resource policy did not let the sender deliver
    "retried",  # a delivery failed with a retriable error: the sender retries it
    "received",  # a consumer received a message from a queue
    "processed",  # a consumer finished (deleted) a message
    "failed",  # a consumer or target failed on it
    "dead-lettered",  # moved to a dead-letter queue after maxReceiveCount
    "redriven",  # moved back from a dead-letter queue
    "started",  # an execution of a state machine started
    "task",  # a state machine task called a service
    "compensated",  # a compensation step ran
]
Evidence = Literal["observed", "inferred"]
Via = Literal["aws", "labkit"]


class HopOptions(TypedDict, total=False):
    """How a hop is known and shown, beyond its source, target, message and kind."""

    evidence: Evidence  # seen in an AWS answer, or inferred from what AWS documents
    via: Via  # done by an AWS service, or by labkit standing in for one
    detail: str
    labels: tuple[tuple[str, str], ...]
    time: float | None  # the lab time it happened at, when not now (a delivery retried later)


def actor(name: str) -> str:
    """The node id of code outside AWS (a publisher or consumer)."""
    return f"actor:{name}"


@dataclass(frozen=True)
class Call:
    """One botocore API call the lab's clients made."""

    seq: int
    time: float  # seconds since the lab (or its last reset) started, on the lab's clock
    service: str
    operation: str
    resource: str  # ARN (or queue URL's ARN) the call was about, "" when none
    message_ids: tuple[str, ...] = ()
    ok: bool = True
    error_code: str = ""
    caller: str = ""  # actor node id, when the caller was named


@dataclass(frozen=True)
class Hop:
    """One message moving from one node to another."""

    seq: int
    time: float
    source: str
    target: str
    message_id: str
    kind: HopKind
    evidence: Evidence
    via: Via = "aws"
    detail: str = ""  # e.g. the filter condition that failed, the error a consumer raised
    labels: tuple[tuple[str, str], ...] = field(default=())
