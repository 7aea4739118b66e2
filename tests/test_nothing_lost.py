"""Nothing lost, nothing applied twice: SNS fan-out into failing consumers, property-tested.

Random messages are published to a topic that fans out to one to three queues, each with a
dead-letter queue and a function consuming it through an event source mapping. The functions
crash at random, run slow (past their timeout, or past the queue's visibility timeout, so the
queue delivers again), and lose deletes (duplicate deliveries). Each consumer is idempotent: it
remembers the keys it has applied. Whatever happens, every message ends applied exactly once by
each queue's consumer, or in that queue's dead-letter queue; none is lost, none applied twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit
from labkit.lessons import allow_delivery
from labkit.local.functions import Faults
from tests.scenarios import property_examples

pytestmark = pytest.mark.heavy  # seconds of work: the test pool starts it first


@dataclass(frozen=True)
class Consumer:
    crash: float
    slow: float
    slow_seconds: float
    duplicate: float
    max_receives: int
    batch_size: int
    report_failures: bool
    concurrency: int
    seed: int


consumers = st.builds(
    Consumer,
    crash=st.sampled_from([0.0, 0.2, 0.5, 0.8]),
    slow=st.sampled_from([0.0, 0.3]),
    slow_seconds=st.sampled_from([2.0, 5.0, 45.0]),
    duplicate=st.sampled_from([0.0, 0.3]),
    max_receives=st.integers(1, 4),
    batch_size=st.integers(1, 10),
    report_failures=st.booleans(),
    concurrency=st.integers(1, 3),
    seed=st.integers(0, 10_000),
)


@pytest.fixture(scope="module")
def shared_lab() -> Iterator[labkit.Lab]:
    lab = labkit.start_lab("embedded")
    lab.tracer.enabled = False  # the property is about delivery; keep each example quick
    yield lab
    lab.stop()


ACCOUNT = "123456789012"  # moto's


def arn(lab: labkit.Lab, name: str) -> str:
    return f"arn:aws:sqs:{lab.region}:{ACCOUNT}:{name}"


def drain(lab: labkit.Lab, url: str) -> list[dict[str, Any]]:
    """Every message left in the queue (received and kept in flight: the clock stands still)."""
    sqs, found = lab.client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=3600).get(
            "Messages", []
        )
        if not got:
            return found
        found += got


@settings(
    max_examples=property_examples(100),  # make property: 200
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    keys=st.lists(st.integers(0, 10_000), min_size=1, max_size=8, unique=True),
    queues=st.lists(consumers, min_size=1, max_size=3),
)
def test_every_message_is_applied_once_or_dead_lettered(
    shared_lab: labkit.Lab, keys: list[int], queues: list[Consumer]
) -> None:
    lab = shared_lab
    lab.reset()
    lab.tracer.enabled = False
    sqs, sns = lab.client("sqs"), lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    applied: dict[str, Counter[int]] = {}
    urls: dict[str, tuple[str, str]] = {}
    for n, spec in enumerate(queues):
        name = f"consumer-{n}"
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        policy = {
            "deadLetterTargetArn": arn(lab, f"{name}-dlq"),
            "maxReceiveCount": spec.max_receives,
        }
        url = sqs.create_queue(
            QueueName=name,
            Attributes={"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(policy)},
        )["QueueUrl"]
        allow_delivery(lab, topic, arn(lab, name))
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn(lab, name))
        urls[name] = (url, dlq)
        done: Counter[int] = Counter()
        applied[name] = done

        def handler(event: dict[str, Any], context: Any, done: Counter[int] = done) -> None:
            for record in event["Records"]:
                key = json.loads(json.loads(record["body"])["Message"])["key"]
                if done[key] == 0:  # idempotent: a key already applied is skipped
                    done[key] += 1

        faults = Faults(
            crash=spec.crash,
            slow=spec.slow,
            slow_seconds=spec.slow_seconds,
            duplicate=spec.duplicate,
            seed=spec.seed,
        )
        fn = lab.functions.deploy(
            name, handler, concurrency=spec.concurrency, timeout=10, faults=faults
        )
        fn.consume(url, batch_size=spec.batch_size, report_failures=spec.report_failures)
    for first in range(0, len(keys), 10):
        entries = [
            {"Id": str(i), "Message": json.dumps({"key": key})}
            for i, key in enumerate(keys[first : first + 10])
        ]
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)

    result = lab.functions.run_until_idle(max_seconds=24 * 3600)

    assert result.idle
    for name, (url, dlq) in urls.items():
        assert drain(lab, url) == [], f"{name} still holds messages"
        dead = Counter(json.loads(json.loads(m["Body"])["Message"])["key"] for m in drain(lab, dlq))
        done = applied[name]
        assert all(count == 1 for count in done.values()), f"{name} applied a key twice"
        assert all(count == 1 for count in dead.values()), f"{name} dead-lettered a key twice"
        lost = [key for key in keys if done[key] == 0 and dead[key] == 0]
        assert lost == [], f"{name} lost {lost}"
        assert set(done) | set(dead) == set(keys)
