"""The SQS fast path: same observable behaviour as stock moto 5.2.5, on random call sequences.

Each hypothesis example runs one random sequence twice in this process, on a fresh SQS backend
with the same seed and the same frozen clock: once on stock moto, once with the fast path. Every
response (bodies, ids, receipt handles, receive counts, order, errors) and every queue's
attributes (the ApproximateNumber* counters included) after every step must be equal.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import moto.sqs.models
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.moto_api._internal import mock_random
from moto.sqs.models import Message, Queue, sqs_backends

from labkit.lab.backends import FAKE_CREDENTIALS
from labkit.local.clock import Clock
from labkit.moto_patches import REGISTRY
from tests.scenarios import property_examples

pytestmark = pytest.mark.heavy  # seconds of work: the test pool starts it first

ACCOUNT, REGION = "123456789012", "us-east-1"
MOTO_SQS_MODELS = moto.sqs.models.__file__
SOURCE, DLQ = 0, 1
#: (source queue, its dead-letter queue, source attributes) for each kind of world
WORLDS: dict[str, tuple[str, str, dict[str, str]]] = {
    "standard": ("orders", "orders-dlq", {}),
    "fifo": ("orders.fifo", "orders-dlq.fifo", {"FifoQueue": "true"}),
    "cbd-fifo": (
        "events.fifo",
        "events-dlq.fifo",
        {"FifoQueue": "true", "ContentBasedDeduplication": "true", "DelaySeconds": "1"},
    ),
}


# -- the operations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    """One step: `kind` on the source queue or its dead-letter queue, with small choices.

    `a` picks a count, a message (body, dedup id, attributes) or a handle; `b` a visibility
    timeout, delay or group; `c` is 0 for "any handle ever received", else "a handle this queue
    handed out", and for a receive the message attributes it asks for.
    """

    kind: str
    queue: int
    a: int = 0
    b: int = 0
    c: int = 0


# weighted by repetition: purges are rare (a purge empties the queue and blocks the next minute)
KINDS = ("send", "batch", "receive", "receive", "receive", "delete", "delete") + (
    "delete_batch",
    "visibility",
    "advance",
    "advance",
    "purge",
)
#: every sequence starts with messages in the queue and some of them received
PROLOGUE = (Op("batch", SOURCE, 3, 0), Op("receive", SOURCE, 1, 2))
ops = st.builds(
    Op,
    st.sampled_from(KINDS),
    st.sampled_from([SOURCE, SOURCE, SOURCE, DLQ]),  # sends always go to the source queue
    st.integers(0, 30),
    st.integers(0, 11),
    st.integers(0, 4),
)
sequences = st.tuples(
    st.sampled_from(sorted(WORLDS)),
    st.lists(ops, min_size=2, max_size=9).map(lambda tail: [*PROLOGUE, *tail]),
)

VISIBILITY = (None, 0, 1, 4)  # receive's VisibilityTimeout choices (None: the queue's 3 s)
CHANGE_TO = (0, 2, 10)
ADVANCE = (0.5, 1.5, 3.5, 61)
DELAY = (None, 0, 2)
#: receive's MessageAttributeNames choices, picked by `c`
ATTRIBUTE_NAMES = (None, ["All"], ["trace.*"], ["kind"], [".*"])


def _world(sqs: Any, kind: str) -> tuple[str, str]:
    """The source queue (visibility 3 s, dead letters after 2 receives) and its DLQ."""
    source, dlq, attributes = WORLDS[kind]
    dlq_attributes = {"FifoQueue": "true"} if dlq.endswith(".fifo") else {}
    dlq_url = sqs.create_queue(QueueName=dlq, Attributes=dlq_attributes)["QueueUrl"]
    redrive = (
        f'{{"deadLetterTargetArn": "arn:aws:sqs:{REGION}:{ACCOUNT}:{dlq}", "maxReceiveCount": 2}}'
    )
    source_url = sqs.create_queue(
        QueueName=source,
        Attributes={**attributes, "VisibilityTimeout": "3", "RedrivePolicy": redrive},
    )["QueueUrl"]
    return source_url, dlq_url


def _entry(kind: str, n: int, k: int) -> dict[str, Any]:
    """A message: few distinct bodies, groups and dedup ids, so that they collide."""
    entry: dict[str, Any] = {"MessageBody": f"body-{n % 3}"}
    if n % 4 == 1:  # some messages carry attributes, which a receive may filter
        entry["MessageAttributes"] = {
            "kind": {"DataType": "String", "StringValue": f"k{n % 2}"},
            "trace.id": {"DataType": "Number", "StringValue": str(n)},
            "trace.raw": {"DataType": "Binary", "BinaryValue": bytes([n % 256])},
        }
    if kind == "standard":
        delay = DELAY[k % 3]
        if delay is not None:
            entry["DelaySeconds"] = delay
    else:
        entry["MessageGroupId"] = f"g{k % 2}"
        if kind == "fifo" or n % 2:
            entry["MessageDeduplicationId"] = f"d{n}"
    return entry


def _counters(queue: Queue) -> tuple[int, int, int]:
    return (
        queue.approximate_number_of_messages,
        queue.approximate_number_of_messages_not_visible,
        queue.approximate_number_of_messages_delayed,
    )


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


@functools.cache
def _client() -> Any:
    """One client for every run: making a client costs more than a whole short sequence."""
    return boto3.client("sqs", region_name=REGION, **FAKE_CREDENTIALS)


def _run(world: str, sequence: list[Op]) -> list[Any]:
    """Play `sequence` on a fresh backend and frozen clock; return everything observed."""
    sqs_backends[ACCOUNT][REGION].reset()
    mock_random.seed(7)
    clock = Clock(virtual=True)
    clock.start()
    try:
        sqs = _client()
        urls = _world(sqs, world)
        names = WORLDS[world][:2]
        backend = sqs_backends[ACCOUNT][REGION]
        handles: list[tuple[int, str]] = []  # (queue, receipt handle), every one received
        seen: list[Any] = []
        for step, op in enumerate(sequence):
            try:
                seen.append(_apply(sqs, world, op, urls, handles, step, clock))
            except ClientError as err:
                seen.append(("error", op.kind, err.response["Error"]))
            # the counters after every step (what GetQueueAttributes reads for them)
            seen.append([_counters(backend.get_queue(q)) for q in names])
        # and every attribute at the end, through the API
        for url in urls:
            seen.append(_strip(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])))
        return seen
    finally:
        clock.stop()


def _apply(
    sqs: Any,
    world: str,
    op: Op,
    urls: tuple[str, str],
    handles: list[tuple[int, str]],
    step: int,
    clock: Clock,
) -> Any:
    url = urls[op.queue]
    if op.kind == "send":
        url = urls[SOURCE]
        return _strip(sqs.send_message(QueueUrl=url, **_entry(world, op.a, op.b)))
    if op.kind == "batch":
        entries = [
            {"Id": f"e{i}", **_entry(world, op.b + i, op.b + step + i)} for i in range(1 + op.a % 4)
        ]
        return _strip(sqs.send_message_batch(QueueUrl=urls[SOURCE], Entries=entries))
    if op.kind == "receive":
        kwargs: dict[str, Any] = {}
        if VISIBILITY[op.b % 4] is not None:
            kwargs["VisibilityTimeout"] = VISIBILITY[op.b % 4]
        if ATTRIBUTE_NAMES[op.c] is not None:
            kwargs["MessageAttributeNames"] = ATTRIBUTE_NAMES[op.c]
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=1 + op.a % 3 if op.a < 20 else 10,  # mostly a few
            MessageSystemAttributeNames=["All"],
            **kwargs,
        )
        handles.extend((op.queue, m["ReceiptHandle"]) for m in got.get("Messages", []))
        return _strip(got)
    if op.kind == "advance":
        clock.advance(ADVANCE[op.a % 4])
        return ("advanced", ADVANCE[op.a % 4])
    if op.kind == "purge":
        return _strip(sqs.purge_queue(QueueUrl=url))
    # mostly a handle this queue handed out; sometimes any (stale and foreign ones must fail
    # the same way)
    own = [h for q, h in handles if q == op.queue]
    pool = own if own and op.c else [h for _, h in handles]
    if not pool:
        return None
    handle = pool[op.a % len(pool)]
    if op.kind == "delete":
        return _strip(sqs.delete_message(QueueUrl=url, ReceiptHandle=handle))
    if op.kind == "delete_batch":
        picked = [pool[(op.a + i * op.b) % len(pool)] for i in range(1 + op.b % 4)]
        entries = [{"Id": f"d{i}", "ReceiptHandle": h} for i, h in enumerate(picked)]
        return _strip(sqs.delete_message_batch(QueueUrl=url, Entries=entries))
    return _strip(
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=CHANGE_TO[op.b % 3]
        )
    )


@pytest.fixture(scope="module")
def moto_world() -> Iterator[None]:
    """One mock for the module (each run resets the SQS backend), with the fast path alone.

    labkit's other changes to moto's SQS (FIFO groups, the dedup window, the long poll on
    simulated time, redrive bookkeeping) are off here: the patched run differs from the stock
    run by the fast path only.
    """
    with REGISTRY.only("sqs_fastpath"), mock_aws():
        yield


def _both(world: str, sequence: list[Op]) -> tuple[list[Any], list[Any]]:
    with REGISTRY.stock():
        assert not isinstance(Queue.__dict__["attributes"].fget, type)  # really stock
        stock = _run(world, sequence)
    assert REGISTRY.applied == ("sqs_fastpath",)
    return stock, _run(world, sequence)


@settings(
    max_examples=property_examples(100),  # make property: 200
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=sequences)
def test_fast_path_is_observably_identical_to_stock_moto(
    moto_world: None, case: tuple[str, list[Op]]
) -> None:
    stock, fast = _both(*case)
    assert fast == stock


def _split(seen: list[Any], sequence: list[Op]) -> tuple[list[Any], list[Any], list[Any]]:
    """(response per step, (visible, in flight, delayed) per queue per step, final attributes)"""
    steps = 2 * len(sequence)
    return seen[0:steps:2], seen[1:steps:2], seen[steps:]


# hand-written sequences: the differential worlds do reach the interesting states
REDRIVE = [
    Op("batch", SOURCE, 2, 0),  # three messages, the first delayed 2 s
    Op("advance", SOURCE, 2),
    Op("receive", SOURCE, 20, 3),  # visibility 4 s
    Op("advance", SOURCE, 3),
    Op("receive", SOURCE, 20, 3),
    Op("advance", SOURCE, 3),
    Op("receive", SOURCE, 20, 3),  # third receive: all three move to the dead-letter queue
    Op("receive", DLQ, 20, 0),
    Op("delete", DLQ, 0, 0, 1),  # a handle the dead-letter queue handed out
]
FIFO_GROUPS = [
    Op("batch", SOURCE, 2, 1),  # bodies 1, 2, 0 in groups g1, g0, g1 (dedup ids d1, d2, d3)
    Op("send", SOURCE, 1, 0),  # d1 again: dropped while d1 is in the queue
    Op("receive", SOURCE, 0, 3),  # the oldest message
    Op("receive", SOURCE, 20, 3),  # group g1 is in flight: only g0 flows
]


def test_differential_world_reaches_delays_and_dead_letters(moto_world: None) -> None:
    stock, fast = _both("standard", REDRIVE)
    assert fast == stock
    responses, counters, final = _split(stock, REDRIVE)
    assert counters[0][SOURCE][2] == 1
    assert counters[1][SOURCE][2] == 0
    assert len(responses[2]["Messages"]) == 3
    assert counters[2][SOURCE][1] == 3
    assert responses[6] == {}  # past maxReceiveCount: moved, not delivered
    assert counters[6][SOURCE][0] == 0
    assert counters[6][DLQ][0] == 3
    dead = responses[7]["Messages"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in dead} == {"3"}
    assert responses[8] == {}
    assert counters[8][DLQ][1] == 2  # one deleted
    assert final[1]["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "2"
    assert '"maxReceiveCount": 2' in final[0]["Attributes"]["RedrivePolicy"]


def test_differential_world_reaches_fifo_order_dedup_and_group_blocking(
    moto_world: None,
) -> None:
    stock, fast = _both("fifo", FIFO_GROUPS)
    assert fast == stock
    responses, counters, _ = _split(stock, FIFO_GROUPS)
    assert counters[1][SOURCE][0] == 3  # the duplicate dropped
    first = responses[2]["Messages"]
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in first] == [("body-1", "g1")]
    rest = responses[3]["Messages"]
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in rest] == [("body-2", "g0")]


def test_fast_path_reads_one_attribute_without_counting_messages(
    moto_world: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs_backends[ACCOUNT][REGION].reset()
    sqs = boto3.client("sqs", region_name=REGION, **FAKE_CREDENTIALS)
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=5)
    counting = Queue.approximate_number_of_messages_delayed
    counted: list[int] = []

    def spy(queue: Queue) -> int:
        counted.append(counting.fget(queue))
        return counted[-1]

    monkeypatch.setattr(Queue, "approximate_number_of_messages_delayed", property(spy))
    queue = sqs_backends[ACCOUNT][REGION].get_queue("deep")
    sqs.send_message(QueueUrl=url, MessageBody="y")
    assert queue.attributes["VisibilityTimeout"] == 30
    assert counted == []
    assert queue.attributes["ApproximateNumberOfMessagesDelayed"] == 1
    assert counted == [1]


def test_fast_deepcopy_of_a_message_is_a_deep_copy(moto_world: None) -> None:
    message = Message("m-1", "body", system_attributes={"AWSTraceHeader": "Root=1"})
    message.message_attributes = {"kind": {"DataType": "String", "StringValue": "a"}}
    message._old_receipt_handles = ["h-0"]
    fast = copy.deepcopy(message)
    with REGISTRY.stock():
        assert "__deepcopy__" not in vars(Message)
        stock = copy.deepcopy(message)
    assert vars(fast) == vars(stock) == vars(message)
    assert type(fast) is Message
    for name in ("message_attributes", "_old_receipt_handles", "system_attributes"):
        assert getattr(fast, name) is not getattr(message, name)
    assert fast.message_attributes["kind"] is not message.message_attributes["kind"]
