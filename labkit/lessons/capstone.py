"""Plumbing for the capstone: where every message is, and the chapter's patterns, read from a run.

The order system itself (bus, rules, topic, queues, functions, state machine) is the lesson's.
These helpers only read what ran:

* `ledger`: for each queue, how many messages arrived, were processed, still wait, or sit in its
  dead-letter queue, and whether those numbers add up;
* `patterns`: which of the chapter's patterns the run actually used, each with its evidence
  from the trace (a topic that fanned one message out to several subscribers, a queue that kept
  messages while its consumer failed, an execution that ran compensations);
* `pattern_table`: the same as the chapter's summary table.

>>> import json, labkit
>>> from labkit.lessons import subscriber_queue
>>> lab = labkit.start_lab()
>>> sqs, sns = lab.client("sqs"), lab.client("sns")
>>> topic = sns.create_topic(Name="orders")["TopicArn"]
>>> for name in ("billing", "warehouse"):
...     _, arn = subscriber_queue(lab, name, topic)
...     _ = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
>>> _ = sns.publish(TopicArn=topic, Message="{}")
>>> print(ledger(lab, ["billing", "warehouse"]))
queue     | arrived | processed | waiting | dead-lettered | adds up
----------+---------+-----------+---------+---------------+--------
billing   | 1       | 0         | 1       | 0             | yes
warehouse | 1       | 0         | 1       | 0             | yes
>>> [p.pattern for p in patterns(lab)]
['Pub/sub']
>>> lab.stop()
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.lessons.inbox import held
from labkit.lessons.tables import Table, table
from labkit.trace.flows import Flow, as_flow, short_name

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "QueueCount",
    "Ledger",
    "ledger",
    "Pattern",
    "patterns",
    "pattern_table",
    "executions",
    "SOLVES",
]

#: What each pattern solves, as the chapter puts it (the row appears only when the run used it).
SOLVES = {
    "Pub/sub": "notify many receivers without the sender knowing them",
    "Decoupling": "services do not depend directly on each other: messages wait for them",
    "Saga": "an operation across several services stays consistent when a step fails",
}


# -- where every message is ---------------------------------------------------------------------
@dataclass(frozen=True)
class QueueCount:
    """One queue's messages: arrived = processed + waiting + dead-lettered when nothing is lost."""

    queue: str
    arrived: int
    processed: int
    waiting: int
    dead_lettered: int

    @property
    def adds_up(self) -> bool:
        return self.arrived == self.processed + self.waiting + self.dead_lettered


@dataclass(frozen=True)
class Ledger:
    """`QueueCount` rows, shown as a table; ``ok`` when every row adds up."""

    rows: tuple[QueueCount, ...]

    @property
    def ok(self) -> bool:
        return all(r.adds_up for r in self.rows)

    def __getitem__(self, queue: str) -> QueueCount:
        for row in self.rows:
            if row.queue == queue:
                return row
        raise LabError(
            "a queue in the ledger",
            repr(queue),
            f"use one of: {', '.join(r.queue for r in self.rows)}",
        )

    def table(self) -> Table:
        return table(
            ["queue", "arrived", "processed", "waiting", "dead-lettered", "adds up"],
            [
                [r.queue, r.arrived, r.processed, r.waiting, r.dead_lettered,
                 "yes" if r.adds_up else "NO"]
                for r in self.rows
            ],
        )  # fmt: skip

    def _repr_markdown_(self) -> str:
        return self.table()._repr_markdown_()

    def __str__(self) -> str:
        return str(self.table())

    def __repr__(self) -> str:
        return str(self)


def _queue_url(sqs: Any, name: str) -> str:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except Exception as exc:
        raise LabError(
            "the name of a queue in the lab",
            repr(name),
            "pass queue names as create_queue got them, e.g. ledger(lab, ['billing'])",
        ) from exc


def _in_queue(sqs: Any, url: str) -> tuple[int, str]:
    """(messages in the queue, waiting or in flight; its dead-letter queue's ARN or "")."""
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    count = held(attrs)
    policy = attrs.get("RedrivePolicy")
    dlq = ""
    if policy:
        try:
            dlq = str(json.loads(policy).get("deadLetterTargetArn", ""))
        except ValueError:
            dlq = ""
    return count, dlq


def ledger(lab: Lab, queues: Sequence[str], *, flow: Flow | None = None) -> Ledger:
    """Where every message of each queue is: arrived, processed, waiting, dead-lettered.

    ``arrived`` and ``processed`` come from the lab's trace (distinct messages delivered or
    sent into the queue / deleted from it by a consumer); ``waiting`` (visible, in flight or
    delayed) and ``dead-lettered`` (in the queue's dead-letter queue) come from SQS itself. A
    message redriven from the dead-letter queue is the same message: it is not counted twice.
    """
    if isinstance(queues, str):
        queues = [queues]
    flow = as_flow(lab) if flow is None else flow
    sqs = lab.client("sqs")
    arrived: dict[str, set[str]] = defaultdict(set)
    processed: dict[str, set[str]] = defaultdict(set)
    for hop in flow:
        if hop.kind in ("delivered", "sent"):
            arrived[hop.target].add(hop.message_id)
        elif hop.kind == "processed":
            processed[hop.source].add(hop.message_id)
    rows = []
    # the ledger's own reads stay out of the trace it reads
    with lab.tracer.paused():
        for name in queues:
            url = _queue_url(sqs, name)
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            arn = attrs["Attributes"]["QueueArn"]
            waiting, dlq_arn = _in_queue(sqs, url)
            dead = 0
            if dlq_arn:
                dead, _ = _in_queue(sqs, _queue_url(sqs, dlq_arn.rsplit(":", 1)[-1]))
            rows.append(QueueCount(name, len(arrived[arn]), len(processed[arn]), waiting, dead))
    return Ledger(tuple(rows))


# -- the chapter's patterns, from what ran ------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    """One pattern the run used: what it solves, what implemented it, and the evidence."""

    pattern: str
    solves: str
    implemented_with: str
    evidence: str


def _names(nodes: Sequence[str] | set[str]) -> str:
    return ", ".join(sorted(short_name(n) for n in nodes))


def _service(node: str) -> str:
    return node.split(":")[2] if node.startswith("arn:") and node.count(":") >= 5 else ""


def _pub_sub(flow: Flow) -> Pattern | None:
    fan: dict[tuple[str, str], set[str]] = defaultdict(set)
    for hop in flow:
        if hop.kind == "delivered" and flow.kind_of(hop.source) in ("topic", "bus", "rule"):
            fan[(hop.source, hop.message_id)].add(hop.target)
    widest: dict[str, set[str]] = {}
    for (source, _), targets in fan.items():
        if len(targets) > len(widest.get(source, set())):
            widest[source] = targets
    spread = {s: t for s, t in widest.items() if len(t) >= 2}
    if not spread:
        return None
    parts = []
    for source, targets in sorted(spread.items(), key=lambda item: short_name(item[0])):
        parts.append(
            f"{flow.kind_of(source)} {short_name(source)} gave one message to "
            f"{len(targets)} receivers ({_names(targets)})"
        )
    publishers = defaultdict(set)
    for hop in flow:
        if hop.kind == "sent" and hop.source.startswith("actor:"):
            publishers[hop.source].add(hop.target)
    for who, targets in sorted(publishers.items()):
        if len(targets) == 1 and any(flow.kind_of(t) in ("topic", "bus") for t in targets):
            only = next(iter(targets))
            parts.append(
                f"the publisher {short_name(who)} only ever addressed the "
                f"{flow.kind_of(only)} {short_name(only)}"
            )
    services = sorted(
        {"SNS" if _service(s) == "sns" else "EventBridge" for s in spread}
    )  # fmt: skip
    return Pattern(
        "Pub/sub",
        SOLVES["Pub/sub"],
        " + ".join(services) + f" ({_names(set(spread))})",
        "; ".join(parts),
    )


def _decoupling(flow: Flow) -> Pattern | None:
    depths = flow.queue_depths()
    failed: dict[str, set[str]] = defaultdict(set)
    failed_at: dict[str, list[float]] = defaultdict(list)
    processed: dict[str, set[str]] = defaultdict(set)
    redriven: dict[str, set[str]] = defaultdict(set)
    for hop in flow:
        if hop.kind == "failed" and flow.kind_of(hop.source) == "queue":
            failed[hop.source].add(hop.message_id)
            failed_at[hop.source].append(hop.time)
        elif hop.kind == "processed":
            processed[hop.source].add(hop.message_id)
        elif hop.kind == "redriven":
            redriven[hop.target].add(hop.message_id)
    held = {
        q: max(d for _, _, d in series)
        for q, series in depths.items()
        if flow.kind_of(q) == "queue" and processed[q]
    }
    held = {q: n for q, n in held.items() if n >= 2}
    if not held:
        return None
    peak = max(held, key=lambda q: (held[q], short_name(q)))
    parts = [
        f"queues took the load at once and their consumers drained them at their own pace "
        f"({short_name(peak)} held up to {held[peak]} messages)"
    ]
    for queue in sorted(failed, key=short_name):
        waited = (failed[queue] & processed[queue]) - redriven[queue]
        if queue in held and waited:
            times = failed_at[queue]
            parts.append(
                f"{len(waited)} messages of {short_name(queue)} waited out consumer failures "
                f"(t={min(times):.0f}–{max(times):.0f} s) and were processed afterwards"
            )
        rescued = failed[queue] & processed[queue] & redriven[queue]
        if rescued:
            parts.append(
                f"{len(rescued)} message(s) of {short_name(queue)} its consumer could not "
                f"handle waited in its dead-letter queue, were redriven and processed"
            )
    dlqs = [q for q in depths if flow.kind_of(q) == "dead-letter queue"]
    with_dlq = f" + dead-letter queues ({_names(set(dlqs))})" if dlqs else ""
    return Pattern(
        "Decoupling",
        SOLVES["Decoupling"],
        f"SQS ({_names(set(held))}){with_dlq}",
        "; ".join(parts),
    )


def executions(flow: Flow) -> tuple[str, ...]:
    """The Step Functions executions whose steps are in the flow, in order of first step."""
    found: dict[str, None] = {}
    for hop in flow:
        if hop.kind in ("task", "compensated", "failed"):
            run = dict(hop.labels).get("execution")
            if run:
                found.setdefault(run)
    return tuple(found)


def _saga(flow: Flow) -> Pattern | None:
    runs = executions(flow)
    if not runs:
        return None
    compensated: dict[str, list[str]] = {}
    machines: set[str] = set()
    touched: set[str] = set()
    for hop in flow:
        if hop.kind in ("task", "compensated", "failed") and flow.kind_of(hop.source) == (
            "state machine"
        ):
            machines.add(hop.source)
            touched.add(hop.target)
    for execution in runs:
        steps = flow.saga(execution)
        undo = [s.state for s in steps if s.kind == "compensation"]
        failed = [s.state for s in steps if s.kind == "failed"]
        if failed and undo:
            compensated[execution] = [*failed, *undo]
    if not compensated:
        return None
    shapes = sorted({f"{c[0]} failed → {', '.join(c[1:])}" for c in compensated.values()})
    return Pattern(
        "Saga",
        SOLVES["Saga"],
        f"Step Functions ({_names(machines)}) + DynamoDB ({_names(touched)})",
        f"{len(compensated)} of {len(runs)} executions compensated: " + "; ".join(shapes),
    )


def patterns(lab_or_flow: Any = None) -> tuple[Pattern, ...]:
    """The chapter's patterns that the run used, each with the evidence found in its trace."""
    flow = as_flow(lab_or_flow)
    found = (_pub_sub(flow), _decoupling(flow), _saga(flow))
    return tuple(p for p in found if p is not None)


def pattern_table(lab_or_flow: Any = None, *, evidence: bool = True) -> Table:
    """The chapter's summary table (pattern, what it solves, implemented with), from the run."""
    rows = []
    for p in patterns(lab_or_flow):
        row = [p.pattern, p.solves, p.implemented_with]
        rows.append([*row, p.evidence] if evidence else row)
    header = ["pattern", "what it solves", "implemented with (in this run)"]
    return table([*header, "evidence from the trace"] if evidence else header, rows)
