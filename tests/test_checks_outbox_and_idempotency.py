"""labkit.checks.outbox_and_idempotency: each check fails with its hint on a plausible wrong
answer and passes on a right one written otherwise than the worked solution."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import labkit
from labkit.checks import CheckFailed, Passed
from labkit.checks import outbox_and_idempotency as checks
from labkit.lessons import key_table


@pytest.fixture(scope="module")
def shared_lab() -> Iterator[labkit.Lab]:
    lab = labkit.start_lab(seed=9)
    yield lab
    lab.stop()


@pytest.fixture
def lab(shared_lab: labkit.Lab) -> labkit.Lab:
    """The exercises' setup cell, on a clean lab."""
    shared_lab.reset()
    ddb, sqs = shared_lab.client("dynamodb"), shared_lab.client("sqs")
    key_table(ddb, checks.ORDERS_TABLE, "order_id")
    key_table(
        ddb,
        checks.OUTBOX_TABLE,
        "event_id",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    key_table(ddb, checks.SEEN_TABLE, "event_id")
    events_url = sqs.create_queue(QueueName=checks.EVENTS_QUEUE)["QueueUrl"]
    sqs.create_queue(QueueName=checks.FAILED_QUEUE)

    def shop_publisher(event: dict[str, Any], context: Any) -> None:
        for record in event["Records"]:
            item = record["dynamodb"]["NewImage"]
            detail = {"event_id": item["event_id"]["S"], **json.loads(item["detail"]["S"])}
            sqs.send_message(QueueUrl=events_url, MessageBody=json.dumps(detail))

    shared_lab.functions.deploy(checks.PUBLISHER, shop_publisher)
    return shared_lab


def _item(order: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": {"S": order["order_id"]}, "total": {"N": str(order["total"])}}


# -- exercise 1 --------------------------------------------------------------------------------
def test_the_dual_write_is_refused(lab: labkit.Lab) -> None:
    ddb = lab.client("dynamodb")

    def dual_write(order: dict[str, Any]) -> None:
        ddb.put_item(
            TableName=checks.ORDERS_TABLE,
            Item=_item(order),
            ConditionExpression="attribute_not_exists(order_id)",
        )
        ddb.put_item(
            TableName=checks.OUTBOX_TABLE,
            Item={"event_id": {"S": order["order_id"]}, "detail": {"S": json.dumps(order)}},
        )

    with pytest.raises(CheckFailed, match="found the writes PutItem, PutItem"):
        checks.outbox_transaction(lab, dual_write)


def test_a_transaction_without_a_condition_accepts_a_repeated_order(lab: labkit.Lab) -> None:
    ddb = lab.client("dynamodb")

    def no_condition(order: dict[str, Any]) -> None:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": checks.ORDERS_TABLE, "Item": _item(order)}},
                {
                    "Put": {
                        "TableName": checks.OUTBOX_TABLE,
                        "Item": {
                            "event_id": {"S": f"{order['order_id']}:{order['total']}"},
                            "detail": {"S": json.dumps(order)},
                        },
                    }
                },
            ]
        )

    with pytest.raises(CheckFailed, match="attribute_not_exists") as failed:
        checks.outbox_transaction(lab, no_condition)
    assert "accepted, 2 event item(s)" in str(failed.value)


def test_a_transaction_written_otherwise_passes(lab: labkit.Lab) -> None:
    ddb = lab.client("dynamodb")

    def place_order(order: dict[str, Any]) -> None:
        # the event first, the condition naming the key through a placeholder
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": checks.OUTBOX_TABLE,
                        "Item": {
                            "event_id": {"S": "evt-" + order["order_id"]},
                            "detail": {"S": json.dumps({"order": order["order_id"]})},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": checks.ORDERS_TABLE,
                        "Item": _item(order),
                        "ConditionExpression": "attribute_not_exists(#k)",
                        "ExpressionAttributeNames": {"#k": "order_id"},
                    }
                },
            ]
        )

    assert isinstance(checks.outbox_transaction(lab, place_order), Passed)


# -- exercise 2 --------------------------------------------------------------------------------
def _stream(lab: labkit.Lab) -> str:
    table = lab.client("dynamodb").describe_table(TableName=checks.OUTBOX_TABLE)["Table"]
    return str(table["LatestStreamArn"])


def _failed_arn(lab: labkit.Lab) -> str:
    sqs = lab.client("sqs")
    url = sqs.get_queue_url(QueueName=checks.FAILED_QUEUE)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def test_a_mapping_with_the_default_retries_is_refused(lab: labkit.Lab) -> None:
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=_stream(lab),
        FunctionName=checks.PUBLISHER,
        StartingPosition="TRIM_HORIZON",
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": _failed_arn(lab)}},
    )
    with pytest.raises(CheckFailed, match="up to 24 hours"):
        checks.publisher_mapping(lab)


def test_a_mapping_from_latest_is_refused(lab: labkit.Lab) -> None:
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=_stream(lab),
        FunctionName=checks.PUBLISHER,
        StartingPosition="LATEST",
        MaximumRetryAttempts=2,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": _failed_arn(lab)}},
    )
    with pytest.raises(CheckFailed, match="LATEST skips"):
        checks.publisher_mapping(lab)


def test_a_mapping_written_otherwise_passes(lab: labkit.Lab) -> None:
    # by function ARN, no retries at all, batches of 3, reporting item failures as well
    fn = lab.functions.get(checks.PUBLISHER)
    lab.client("lambda").create_event_source_mapping(
        FunctionName=fn.arn,
        EventSourceArn=_stream(lab),
        StartingPosition="TRIM_HORIZON",
        BatchSize=3,
        MaximumRetryAttempts=0,
        BisectBatchOnFunctionError=True,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": _failed_arn(lab)}},
    )
    assert isinstance(checks.publisher_mapping(lab), Passed)


# -- exercise 3 --------------------------------------------------------------------------------
def _ttl(lab: labkit.Lab, attribute: str = "expires_at") -> None:
    lab.client("dynamodb").update_time_to_live(
        TableName=checks.SEEN_TABLE,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
    )


def test_deduplicating_on_the_eventbridge_id_is_refused(lab: labkit.Lab) -> None:
    _ttl(lab)
    ddb, reservations = lab.client("dynamodb"), Counter[str]()
    week = int(lab.clock.now().timestamp()) + 7 * 24 * 3600

    def reserve(event: dict[str, Any]) -> None:
        try:
            ddb.put_item(
                TableName=checks.SEEN_TABLE,
                Item={"event_id": {"S": event["id"]}, "expires_at": {"N": str(week)}},
                ConditionExpression="attribute_not_exists(event_id)",
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return
        reservations[event["detail"]["order_id"]] += 1

    with pytest.raises(CheckFailed, match="each copy has a new EventBridge id"):
        checks.idempotent_consumer(lab, reserve, reservations)


def test_a_set_in_memory_is_refused(lab: labkit.Lab) -> None:
    _ttl(lab)
    seen: set[str] = set()
    reservations = Counter[str]()

    def reserve(event: dict[str, Any]) -> None:
        if event["detail"]["event_id"] not in seen:
            seen.add(event["detail"]["event_id"])
            reservations[event["detail"]["order_id"]] += 1

    with pytest.raises(CheckFailed, match="a set in memory forgets"):
        checks.idempotent_consumer(lab, reserve, reservations)


def test_an_idempotent_consumer_written_otherwise_passes(lab: labkit.Lab) -> None:
    # another TTL attribute name; the key recorded with ReturnValuesOnConditionCheckFailure
    _ttl(lab, "forget_after")
    ddb, reservations = lab.client("dynamodb"), Counter[str]()

    def reserve(event: dict[str, Any]) -> None:
        detail = event["detail"]
        later = lab.clock.now().timestamp() + 3 * 24 * 3600
        try:
            ddb.put_item(
                TableName=checks.SEEN_TABLE,
                Item={"event_id": {"S": detail["event_id"]}, "forget_after": {"N": f"{later:.0f}"}},
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": "event_id"},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return
        reservations[detail["order_id"]] += 1

    assert isinstance(checks.idempotent_consumer(lab, reserve, reservations), Passed)


def test_without_ttl_the_hint_says_how(lab: labkit.Lab) -> None:
    with pytest.raises(CheckFailed, match="update_time_to_live"):
        checks.idempotent_consumer(lab, lambda event: None, Counter())
