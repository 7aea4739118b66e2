"""Read a queue empty: receive everything waiting, delete it, hand it back.

Lessons after the SQS one need "what did this queue get?" many times; the receive-and-delete
loop itself is taught in lesson 01, so here it is one call.

>>> import labkit
>>> from labkit.lessons.inbox import take_all
>>> lab = labkit.start_lab()
>>> sqs = lab.client("sqs")
>>> url = sqs.create_queue(QueueName="billing")["QueueUrl"]
>>> _ = sqs.send_message(QueueUrl=url, MessageBody='{"order_id": "o-1"}')
>>> [m["Body"] for m in take_all(lab, url)]
['{"order_id": "o-1"}']
>>> take_all(lab, url)
[]
>>> _ = sqs.send_message(QueueUrl=url, MessageBody='{"order_id": "o-2"}')
>>> take_bodies(lab, url)
[{'order_id': 'o-2'}]
>>> lab.stop()
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "take_all",
    "take_bodies",
    "depth",
    "held",
    "needs_lab",
    "COUNTERS",
    "MAX_MESSAGES",
]

#: A safety stop: a queue that keeps refilling (a loop of redeliveries) cannot hang a cell.
MAX_MESSAGES = 10_000
#: The queue attributes that together count every message a queue holds.
COUNTERS = (
    "ApproximateNumberOfMessages",  # waiting, receivable now
    "ApproximateNumberOfMessagesNotVisible",  # in flight: received, not yet deleted
    "ApproximateNumberOfMessagesDelayed",  # sent with a delay that has not run out
)


def needs_lab(lab: Any, call: str) -> None:
    """A lesson helper was given its lab first, not a name or URL.

    >>> try:
    ...     needs_lab("https://queue/orders", "take_all(lab, queue_url)")
    ... except LabError as error:
    ...     print(error.expected)
    the lab first: take_all(lab, queue_url)
    """
    if isinstance(lab, str) or not hasattr(lab, "client"):
        raise LabError(
            f"the lab first: {call}",
            f"{lab!r} where the lab goes",
            f"pass the lab the first cell started as the first argument: {call}",
        )


def held(attributes: Mapping[str, Any]) -> int:
    """Messages a queue holds, from its attributes (waiting, in flight and delayed).

    >>> held({"ApproximateNumberOfMessages": "3", "ApproximateNumberOfMessagesNotVisible": "2"})
    5
    """
    return sum(int(attributes.get(name, 0)) for name in COUNTERS)


def depth(sqs: Any, queue_url: str) -> int:
    """Messages in the queue now: waiting, in flight and delayed (one GetQueueAttributes)."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(COUNTERS))
    return held(attributes["Attributes"])


def take_all(
    lab: Lab, queue_url: str | None = None, *, consumer: str | None = None
) -> list[dict[str, Any]]:
    """Receive and delete every message waiting in `queue_url`; return them, oldest first.

    Each message is the dict SQS returns, with ``Body``, ``MessageAttributes`` (all of them)
    and ``Attributes`` (all of them, e.g. ``MessageGroupId`` on a FIFO queue). `consumer`
    names the reader in the lab's trace (plots then show it instead of "consumer"). Messages
    that are in flight (received elsewhere and not yet visible again) are not taken.
    """
    needs_lab(lab, "take_all(lab, queue_url)")
    if not isinstance(queue_url, str) or "/" not in queue_url:
        raise LabError(
            "a queue URL (what create_queue or get_queue_url returns)",
            repr(queue_url),
            'pass sqs.get_queue_url(QueueName="...")["QueueUrl"], not the queue name or ARN',
        )
    sqs = lab.client("sqs")
    taken: list[dict[str, Any]] = []
    while len(taken) < MAX_MESSAGES:
        with lab.tracer.acting_as(consumer) if consumer else nullcontext():
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
        taken.extend(batch)
    return taken


def take_bodies(
    lab: Lab, queue_url: str | None = None, *, consumer: str | None = None
) -> list[Any]:
    """`take_all`, keeping only each message's body: parsed when it is JSON, as text otherwise."""
    needs_lab(lab, "take_bodies(lab, queue_url)")
    bodies: list[Any] = []
    for message in take_all(lab, queue_url, consumer=consumer):
        try:
            bodies.append(json.loads(message["Body"]))
        except ValueError:
            bodies.append(message["Body"])
    return bodies
