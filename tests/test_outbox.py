"""The transactional outbox with an idempotent consumer loses no event and applies none twice,
whatever crashes between the write and the publish: an order service that crashes before or
after its transaction and is retried, a publisher that crashes after publishing part of its
batch (its stream batch retried, bisected), a consumer that crashes before it handles a batch
or whose deletes are lost (its messages delivered again). A property test (hypothesis) over
random crash plans."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit
from labkit.lessons import key_table
from labkit.local.functions import Faults
from tests.scenarios import property_examples


@pytest.fixture(scope="module")
def shared_lab() -> Iterator[labkit.Lab]:
    lab = labkit.start_lab("embedded")
    yield lab
    lab.stop()


class PublisherCrash(Exception):
    """The publisher dies after publishing part of its batch."""


def _build(
    lab: labkit.Lab, publisher_crashes: list[int], lost_deletes: float, consumer_crashes: float
) -> str:
    """Tables, queue, publisher and consumer; the events queue's URL."""
    ddb, sqs, lam = lab.client("dynamodb"), lab.client("sqs"), lab.client("lambda")
    key_table(ddb, "orders", "order_id")
    stream = key_table(
        ddb,
        "outbox",
        "event_id",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["LatestStreamArn"]
    key_table(ddb, "seen", "event_id")
    key_table(ddb, "stock", "order_id")
    url = sqs.create_queue(QueueName="order-events", Attributes={"VisibilityTimeout": "5"})[
        "QueueUrl"
    ]
    plan = iter(publisher_crashes)

    def publisher(event: dict[str, Any], context: Any) -> None:
        crash_after = next(plan, -1)  # -1: this invocation does not crash
        for n, record in enumerate(event["Records"]):
            if n == crash_after:
                raise PublisherCrash(f"after {n} of {len(event['Records'])} records")
            item = record["dynamodb"]["NewImage"]
            body = {"event_id": item["event_id"]["S"], "order_id": item["order_id"]["S"]}
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    def consumer(event: dict[str, Any], context: Any) -> None:
        for record in event["Records"]:
            detail = json.loads(record["body"])
            try:  # the key and the effect in one transaction: both or neither
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": "seen",
                                "Item": {"event_id": {"S": detail["event_id"]}},
                                "ConditionExpression": "attribute_not_exists(event_id)",
                            }
                        },
                        {
                            "Update": {
                                "TableName": "stock",
                                "Key": {"order_id": {"S": detail["order_id"]}},
                                "UpdateExpression": "ADD reserved :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                    ]
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise  # a duplicate cancels the transaction; anything else is a failure

    lab.functions.deploy("publisher", publisher)
    lam.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName="publisher",
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        BisectBatchOnFunctionError=True,  # retries: -1, until it succeeds
    )
    faults = Faults(crash=consumer_crashes, duplicate=lost_deletes, seed=3)
    lab.functions.deploy("consumer", consumer, faults=faults)
    lab.functions.connect(url, "consumer", batch_size=3)
    return url


def _place(lab: labkit.Lab, order_id: str, crash_before_commit: bool) -> bool:
    """One attempt of the order service; True if the order is stored after it."""
    if crash_before_commit:
        return False  # died before its transaction: nothing written, the client retries
    try:
        lab.client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "orders",
                        "Item": {"order_id": {"S": order_id}},
                        "ConditionExpression": "attribute_not_exists(order_id)",
                    }
                },
                {
                    "Put": {
                        "TableName": "outbox",
                        "Item": {
                            "event_id": {"S": f"{order_id}/placed"},
                            "order_id": {"S": order_id},
                        },
                    }
                },
            ]
        )
    except ClientError as error:
        assert error.response["Error"]["Code"] == "TransactionCanceledException"
    return True  # placed now, or by an earlier attempt (the retry after a crash past commit)


attempts = st.lists(st.booleans(), min_size=1, max_size=3)  # crashed before commit, per attempt


@settings(
    max_examples=property_examples(15),  # make property: 200
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    orders=st.lists(attempts, min_size=1, max_size=8),
    publisher_crashes=st.lists(st.integers(-1, 3), max_size=12),
    lost_deletes=st.sampled_from([0.0, 0.3, 0.7]),
    consumer_crashes=st.sampled_from([0.0, 0.3]),
)
def test_the_outbox_loses_no_event_and_the_consumer_applies_none_twice(
    shared_lab: labkit.Lab,
    orders: list[list[bool]],
    publisher_crashes: list[int],
    lost_deletes: float,
    consumer_crashes: float,
) -> None:
    lab = shared_lab
    lab.reset()
    lab.tracer.enabled = False  # the property is about what is stored; keep examples quick
    _build(lab, publisher_crashes, lost_deletes, consumer_crashes)
    stored = set()
    for n, tries in enumerate(orders):
        order_id = f"o-{n}"
        for crashed in tries:
            if _place(lab, order_id, crashed):
                stored.add(order_id)
    result = lab.functions.run_until_idle(max_seconds=600)
    assert result.idle, "the run did not settle"
    ddb = lab.client("dynamodb")
    in_table = {i["order_id"]["S"] for i in ddb.scan(TableName="orders")["Items"]}
    outbox = [i["order_id"]["S"] for i in ddb.scan(TableName="outbox")["Items"]]
    reserved = {
        i["order_id"]["S"]: int(i["reserved"]["N"]) for i in ddb.scan(TableName="stock")["Items"]
    }
    assert in_table == stored and sorted(outbox) == sorted(stored)  # both writes or neither
    assert reserved == dict.fromkeys(stored, 1)  # every stored order applied, none twice
    published = sum(
        len(i.message_ids) - len(i.failed_ids)
        for i in result.invocations
        if i.function == "consumer"
    )
    assert published >= len(stored)  # at least once: duplicates allowed, losses not
