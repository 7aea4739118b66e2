"""The flow: a lab's hops as a read-only sequence, a graph, message paths, depths and sagas.

>>> import labkit
>>> lab = labkit.start_lab()
>>> sqs = lab.client("sqs")
>>> url = sqs.create_queue(QueueName="orders")["QueueUrl"]
>>> _ = sqs.send_message(QueueUrl=url, MessageBody="order 1")
>>> flow = labkit.flow(lab)
>>> [(flow.kind_of(n), short_name(n)) for n in flow.graph().nodes]
[('publisher', 'publisher'), ('queue', 'orders')]
>>> lab.stop()
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, overload, runtime_checkable

from labkit.errors import LabError
from labkit.trace.records import Call, Hop

if TYPE_CHECKING:
    import networkx as nx


__all__ = [
    "Flow",
    "SagaStep",
    "NODE_KINDS",
    "EDGE_KINDS",
    "as_flow",
    "FlowLike",
    "FlowSource",
    "short_name",
]

#: Node kinds, in the left-to-right order the plots lay them out.
NODE_KINDS = (
    "publisher",
    "topic",
    "bus",
    "state machine",
    "rule",
    "queue",
    "table",
    "log group",
    "service",
    "dead-letter queue",
    "function",
    "consumer",
)
#: Edge kinds: the hop kinds, plus "wired" for a link that carried nothing yet.
EDGE_KINDS = (
    "sent",
    "started",
    "delivered",
    "filtered",
    "refused",
    "retried",
    "received",
    "processed",
    "failed",
    "dead-lettered",
    "redriven",
    "task",
    "compensated",
    "wired",
)
#: Hops that put a message into their target / take it out of their source (queue depth).
INTO_TARGET = {"sent", "delivered", "dead-lettered", "redriven", "task", "compensated"}
OUT_OF_SOURCE = {"processed", "dead-lettered", "redriven"}


def short_name(node: str) -> str:
    """What a learner calls a node: the resource's name, or the actor's.

    >>> short_name("arn:aws:sqs:us-east-1:123456789012:orders")
    'orders'
    >>> short_name("arn:aws:events:us-east-1:123456789012:rule/shop/big-orders")
    'big-orders'
    >>> short_name("actor:billing")
    'billing'
    """
    if node.startswith("actor:"):
        return node[len("actor:") :]
    if node.startswith("arn:"):
        tail = node.split(":", 5)[-1]
        if ":stateMachine:" in node or ":function:" in node:
            return node.rsplit(":", 1)[-1]
        return tail.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return node.rsplit(":", 1)[-1]


def _resource_kind(node: str) -> str:
    if node.startswith("actor:"):
        return "publisher"
    parts = node.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return "service"
    service, rest = parts[2], parts[5]
    if service == "sqs":
        return "queue"
    if service == "sns":
        return "topic"
    if service == "events":
        return "rule" if rest.startswith("rule/") else "bus"
    if service == "states":
        return "state machine"
    if service == "lambda":
        return "function"
    if service == "dynamodb":
        return "table"
    if service == "logs":
        return "log group"
    return "service"


@dataclass(frozen=True)
class SagaStep:
    """One step of a saga's execution: a forward task, a failure or a compensation."""

    execution: str
    state: str
    kind: str  # "forward", "failed" or "compensation"
    target: str
    time: float
    seq: int
    detail: str = ""


class Flow(Sequence[Hop]):
    """A read-only sequence of hops, with the lab's wiring, viewed as a graph.

    Make one with ``labkit.flow(lab)`` or ``lab.tracer.flow()``; it does not change afterwards.
    """

    def __init__(
        self,
        hops: Iterable[Hop],
        *,
        calls: Iterable[Call] = (),
        aliases: Mapping[str, str] | None = None,
        wiring: Iterable[tuple[str, str, str]] = (),
        dead_letter_queues: Iterable[str] = (),
    ) -> None:
        self._hops = tuple(sorted(hops, key=lambda h: h.seq))
        self._calls = tuple(calls)
        self._aliases = dict(aliases or {})
        self._wiring = tuple(wiring)
        dlqs = set(dead_letter_queues)
        dlqs.update(h.target for h in self._hops if h.kind == "dead-lettered")
        self._dlqs = frozenset(dlqs)
        receivers = {h.target for h in self._hops if h.kind in ("received", "processed")}
        self._consumers = frozenset(n for n in receivers if n.startswith("actor:"))

    # -- the sequence ----------------------------------------------------------------------
    @overload
    def __getitem__(self, index: int) -> Hop: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Hop, ...]: ...
    def __getitem__(self, index: int | slice) -> Hop | tuple[Hop, ...]:
        return self._hops[index]

    def __len__(self) -> int:
        return len(self._hops)

    def __iter__(self) -> Iterator[Hop]:
        return iter(self._hops)

    def __repr__(self) -> str:
        return f"<Flow: {len(self._hops)} hops, {len(self.messages())} messages>"

    @property
    def calls(self) -> tuple[Call, ...]:
        """The API calls traced along with the hops."""
        return self._calls

    @property
    def wiring(self) -> tuple[tuple[str, str, str], ...]:
        """The lab's links (source, target, what) when the flow was taken."""
        return self._wiring

    # -- nodes and edges ---------------------------------------------------------------------
    def kind_of(self, node: str) -> str:
        """The kind of a node: one of NODE_KINDS."""
        if node in self._dlqs:
            return "dead-letter queue"
        if node.startswith("actor:"):
            return "consumer" if node in self._consumers else "publisher"
        return _resource_kind(node)

    def nodes(self) -> tuple[str, ...]:
        """Every node, in order of first appearance (hops first, then idle wiring)."""
        seen: dict[str, None] = {}
        for hop in self._hops:
            seen.setdefault(hop.source)
            seen.setdefault(hop.target)
        for source, target, _ in self._wiring:
            seen.setdefault(source)
            seen.setdefault(target)
        return tuple(seen)

    def counts(self) -> dict[tuple[str, str, str], int]:
        """How many hops went along each (source, target, kind), in order of first appearance."""
        counts: dict[tuple[str, str, str], int] = {}
        for hop in self._hops:
            key = (hop.source, hop.target, hop.kind)
            counts[key] = counts.get(key, 0) + 1
        return counts

    def graph(self, *, idle: bool = True) -> nx.MultiDiGraph:
        """A networkx MultiDiGraph: node attr ``kind``, ``label``; one edge per (u, v, kind).

        Edges carry ``kind``, ``count``, ``evidence`` (observed, inferred or mixed) and
        ``via``. With ``idle``, wiring that carried nothing yet appears as kind ``wired``
        with count 0.
        """
        import networkx as nx

        graph = nx.MultiDiGraph()
        for node in self.nodes():
            graph.add_node(node, kind=self.kind_of(node), label=short_name(node))
        evidence: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        via: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for hop in self._hops:
            evidence[(hop.source, hop.target, hop.kind)].add(hop.evidence)
            via[(hop.source, hop.target, hop.kind)].add(hop.via)
        for (source, target, kind), count in self.counts().items():
            seen = evidence[(source, target, kind)]
            graph.add_edge(
                source,
                target,
                key=kind,
                kind=kind,
                count=count,
                evidence=seen.pop() if len(seen) == 1 else "mixed",
                via="/".join(sorted(via[(source, target, kind)])),
            )
        if idle:
            for source, target, what in self._wiring:
                if not graph.has_edge(source, target):
                    graph.add_edge(
                        source, target, key="wired", kind="wired", count=0,
                        evidence="inferred", via="aws", wiring=what,
                    )  # fmt: skip
        else:
            graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
        return graph

    # -- messages ----------------------------------------------------------------------------
    def messages(self) -> tuple[str, ...]:
        """Every message id (as first known), in order of first appearance."""
        return tuple(dict.fromkeys(h.message_id for h in self._hops))

    def origin(self, message_id: str) -> str:
        """The id a message was first known by (an SQS copy's id maps to the SNS MessageId)."""
        return self._aliases.get(message_id, message_id)

    def path(self, message_id: str) -> tuple[Hop, ...]:
        """The hops of one message, in order; accepts any of its ids (SNS, SQS, event)."""
        origin = self.origin(message_id)
        hops = tuple(h for h in self._hops if h.message_id == origin)
        if not hops:
            known = ", ".join(self.messages()[:5]) or "none yet"
            raise LabError(
                "the id of a message this flow has seen",
                f"{message_id!r} (known: {known})",
                "take the MessageId from publish/send_message or an EventId from put_events, "
                "and take the flow after sending: labkit.flow(lab)",
            )
        return hops

    def where(self, *, kind: str | None = None, node: str | None = None) -> Flow:
        """The hops of one kind and/or touching one node, as a smaller Flow."""
        hops = [
            h
            for h in self._hops
            if (kind is None or h.kind == kind) and (node is None or node in (h.source, h.target))
        ]
        return Flow(
            hops,
            calls=self._calls,
            aliases=self._aliases,
            wiring=self._wiring,
            dead_letter_queues=self._dlqs,
        )

    def queue_depths(self) -> dict[str, tuple[tuple[float, int, int], ...]]:
        """For each queue: (time, seq, messages in it) after every change, from (0, 0, 0).

        A message counts from the moment it arrives until it is deleted or moved on; a
        received message still counts (it is in flight, not gone).
        """
        depth: dict[str, int] = {}
        series: dict[str, list[tuple[float, int, int]]] = {}
        for node in self.nodes():
            if self.kind_of(node) in ("queue", "dead-letter queue"):
                depth[node] = 0
                series[node] = [(0.0, 0, 0)]
        for hop in self._hops:
            if hop.kind in INTO_TARGET and hop.target in depth:
                depth[hop.target] += 1
                series[hop.target].append((hop.time, hop.seq, depth[hop.target]))
            if hop.kind in OUT_OF_SOURCE and hop.source in depth:
                depth[hop.source] -= 1
                series[hop.source].append((hop.time, hop.seq, depth[hop.source]))
        return {queue: tuple(points) for queue, points in series.items()}

    def executions(self) -> tuple[str, ...]:
        """State machine executions started in this flow, in order."""
        return tuple(dict.fromkeys(h.message_id for h in self._hops if h.kind == "started"))

    def saga(self, execution: str | None = None) -> tuple[SagaStep, ...]:
        """The steps of one execution (default: the last one that ran a task), in order."""
        steps: dict[str, list[SagaStep]] = defaultdict(list)
        for hop in self._hops:
            if hop.kind not in ("task", "compensated", "failed"):
                continue
            labels = dict(hop.labels)
            run = labels.get("execution", hop.message_id)
            kind = {"task": "forward", "compensated": "compensation", "failed": "failed"}
            steps[run].append(
                SagaStep(
                    run,
                    labels.get("state", ""),
                    kind[hop.kind],
                    hop.target,
                    hop.time,
                    hop.seq,
                    hop.detail,
                )
            )
        if not steps:
            raise LabError(
                "a finished Step Functions execution in the flow",
                "no task steps",
                "start the state machine with start_execution(..., name=...), wait until "
                "describe_execution says it is no longer RUNNING, then take the flow",
            )
        if execution is None:
            execution = list(steps)[-1]
        if execution not in steps:
            raise LabError(
                "the ARN of an execution in the flow",
                repr(execution),
                f"use one of: {', '.join(steps)}",
            )
        return tuple(steps[execution])


@runtime_checkable
class FlowSource(Protocol):
    """Anything that can give its flow so far: a lab (``lab.flow()``), a tracer."""

    def flow(self) -> Flow: ...


#: What a plot draws or `as_flow` reads: a Flow, anything with a ``flow()`` method, some hops.
FlowLike: TypeAlias = Flow | FlowSource | Sequence[Hop]


def as_flow(source: FlowLike) -> Flow:
    """A Flow from a Flow, anything with a ``flow()`` method (a lab), or a sequence of hops.

    >>> len(as_flow([]))
    0
    """
    if isinstance(source, Flow):
        return source
    if isinstance(source, FlowSource):
        return source.flow()
    if isinstance(source, Sequence) and all(isinstance(h, Hop) for h in source):
        return Flow(source)
    raise LabError(
        "a Flow, a Lab or a list of Hop records",
        type(source).__name__,
        "pass labkit.flow(lab) or the lab itself",
    )
