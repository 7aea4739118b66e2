"""Plumbing for the pub/sub lesson: subscriber queues, a publisher's calls, part of a flow.

The boto3 calls the lesson teaches (publish, subscribe, put_events, put_rule, put_targets) stay
in the notebook; these helpers do the parts earlier lessons already taught.

>>> import labkit
>>> lab = labkit.start_lab()
>>> sns = lab.client("sns")
>>> topic = sns.create_topic(Name="orders")["TopicArn"]
>>> url, arn = subscriber_queue(lab, "billing", topic)
>>> _ = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
>>> with lab.tracer.acting_as("shop"):
...     _ = sns.publish(TopicArn=topic, Message="{}")
>>> publisher_calls(lab, "shop")
(('sns', 'Publish', 'orders'),)
>>> [short_name(n) for n in downstream(labkit.flow(lab), topic).nodes()]
['shop', 'orders', 'billing']
>>> lab.stop()
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.lessons.inbox import needs_lab
from labkit.lessons.permissions import delivery_statement, sender_principal
from labkit.trace.flows import Flow, as_flow, short_name
from labkit.trace.records import actor

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["subscriber_queue", "sender_principal", "publisher_calls", "downstream"]


def subscriber_queue(
    lab: Lab, name: str = "", sender_arn: str = "", *, dead_letter_after: int = 0
) -> tuple[str, str]:
    """Create queue `name` that only `sender_arn` may send to; return its URL and ARN.

    The access policy lets the sender's service (SNS or EventBridge) call sqs:SendMessage when
    ``aws:SourceArn`` is `sender_arn` (lessons 02 and 03 build it by hand). With
    `dead_letter_after` > 0 the queue also gets a dead-letter queue ``<name>-dlq`` that takes a
    message after that many receives (lesson 01).
    """
    needs_lab(lab, "subscriber_queue(lab, name, sender_arn)")
    sender_principal(sender_arn)  # a sender that cannot deliver is refused before anything exists
    sqs = lab.client("sqs")
    attributes: dict[str, str] = {}
    if dead_letter_after > 0:
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = _arn(sqs, dlq_url)
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(dead_letter_after)}
        )
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = _arn(sqs, url)
    statement = {**delivery_statement(sender_arn, arn), "Sid": "sender-may-send"}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def _arn(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attrs["Attributes"]["QueueArn"])


def publisher_calls(
    lab_or_flow: Lab | Flow, publisher: str, *, since: int = 0
) -> tuple[tuple[str, str, str], ...]:
    """The calls `publisher` made, as (service, operation, resource name), oldest first.

    Only calls after the call numbered `since` count (``Call.seq``), so two periods can be
    compared. Message ids are left out: they differ on every publish by design.
    """
    if isinstance(lab_or_flow, Flow):
        calls = lab_or_flow.calls
    else:
        calls = lab_or_flow.tracer.calls  # type: ignore[attr-defined]
    who = actor(publisher)
    return tuple(
        (c.service, c.operation, short_name(c.resource) if c.resource else "")
        for c in calls
        if c.caller == who and c.seq > since
    )


def downstream(flow_or_lab: Flow | Lab | None, start: str, *, since: int = 0) -> Flow:
    """The part of a flow that starts at `start` (a topic or bus ARN): the hops and wiring into
    it, and everything reachable from it (rules, queues, dead-letter queues, consumers).

    With `since`, only hops numbered after it (``Hop.seq``) count; the wiring stays whole.
    """
    flow = as_flow(flow_or_lab)
    graph = flow.graph()
    if start not in graph:
        names = ", ".join(sorted({short_name(n) for n in graph.nodes})) or "nothing yet"
        raise LabError(
            "the ARN of a topic or bus in the flow",
            f"{start!r} (the flow has: {names})",
            "pass topic_arn or the bus ARN, and take the flow after publishing",
        )
    import networkx as nx

    keep = {start} | nx.descendants(graph, start)

    def inside(source: str, target: str) -> bool:
        return source in keep or target == start

    return Flow(
        [h for h in flow if h.seq > since and inside(h.source, h.target)],
        calls=flow.calls,
        wiring=[w for w in flow.wiring if inside(w[0], w[1])],
        dead_letter_queues=[n for n in keep if flow.kind_of(n) == "dead-letter queue"],
    )
