"""The canonical scenarios the tracing, flow and plot tests share (built with plain boto3)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from labkit.lab.session import Lab
from labkit.lessons.inbox import take_all

__all__ = ["fan_out", "event_routing", "poison_message", "saga", "arn"]

ACCOUNT = "123456789012"


def property_examples(quick: int) -> int:
    """Examples a property test draws: `quick` in `make test`, LABKIT_PROPERTY_EXAMPLES if set.

    `make property` sets it to 200 for every property test at full size.
    """
    return int(os.environ.get("LABKIT_PROPERTY_EXAMPLES", quick))


def arn(service: str, name: str, region: str = "us-east-1") -> str:
    """The ARN the scenarios' resources get on moto."""
    if service == "rule":
        return f"arn:aws:events:{region}:{ACCOUNT}:rule/{name}"
    if service == "bus":
        return f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{name}"
    if service == "table":
        return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
    if service == "states":
        return f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{name}"
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{name}"


def update_item_task(table: str, key: dict[str, Any], **parameters: Any) -> dict[str, Any]:
    """A Step Functions task state calling DynamoDB UpdateItem itself (a service integration).

    `parameters` are UpdateItem's own (UpdateExpression, ConditionExpression, ...); the state
    passes its input through unchanged (ResultPath null).
    """
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "ResultPath": None,
        "Parameters": {"TableName": table, "Key": key, **parameters},
    }


def _queue(lab: Lab, name: str, **attributes: str) -> str:
    return str(lab.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def drain(lab: Lab, url: str, consumer: str) -> int:
    """Receive and delete everything in a queue as `consumer`; how many messages."""
    return len(take_all(lab, url, consumer=consumer))


def fan_out(lab: Lab, *, physical: int = 2, digital: int = 1) -> dict[str, Any]:
    """Topic 'orders' -> queues billing, shipping (filter type=physical), audit; then drained."""
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    urls = {name: _queue(lab, name) for name in ("billing", "shipping", "audit")}
    for name, url in urls.items():
        queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        attributes = {"FilterPolicy": json.dumps({"type": ["physical"]})}
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue["Attributes"]["QueueArn"],
            Attributes=attributes if name == "shipping" else {},
        )
    ids = []
    with lab.tracer.acting_as("shop"):
        for i in range(physical + digital):
            kind = "physical" if i < physical else "digital"
            ids.append(
                sns.publish(
                    TopicArn=topic,
                    Message=json.dumps({"order": i}),
                    MessageAttributes={"type": {"DataType": "String", "StringValue": kind}},
                )["MessageId"]
            )
    for name, url in urls.items():
        drain(lab, url, f"{name}-service")
    return {"topic": topic, "urls": urls, "ids": ids}


def event_routing(lab: Lab) -> dict[str, Any]:
    """Bus 'shop' with 3 rules, each to its queue; one OrderPlaced event matches 2 of them."""
    events, sqs = lab.client("events"), lab.client("sqs")
    events.create_event_bus(Name="shop")
    patterns = {
        "big-orders": {
            "source": ["shop"],
            "detail-type": ["OrderPlaced"],
            "detail": {"total": [{"numeric": [">", 100]}]},
        },
        "all-orders": {"source": ["shop"], "detail-type": ["OrderPlaced"]},
        "refunds": {"source": ["shop"], "detail-type": ["RefundIssued"]},
    }
    urls = {}
    for name, pattern in patterns.items():
        urls[name] = _queue(lab, f"{name}-queue")
        queue_arn = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])
        events.put_rule(Name=name, EventBusName="shop", EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule=name,
            EventBusName="shop",
            Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}],
        )
    with lab.tracer.acting_as("checkout"):
        answer = events.put_events(
            Entries=[
                {
                    "EventBusName": "shop",
                    "Source": "shop",
                    "DetailType": "OrderPlaced",
                    "Detail": json.dumps({"order": 7, "total": 250}),
                }
            ]
        )
    for name, url in urls.items():
        drain(lab, url, f"{name}-worker")
    return {"event_id": answer["Entries"][0]["EventId"], "urls": urls}


def poison_message(lab: Lab, *, max_receives: int = 3) -> dict[str, Any]:
    """A message nobody can process: received `max_receives` times, then dead-lettered."""
    sqs = lab.client("sqs")
    dlq_url = _queue(lab, "payments-dlq")
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dlq["Attributes"]["QueueArn"], "maxReceiveCount": "3"}
    redrive["maxReceiveCount"] = str(max_receives)
    url = _queue(lab, "payments", VisibilityTimeout="30", RedrivePolicy=json.dumps(redrive))
    with lab.tracer.acting_as("shop"):
        sent = sqs.send_message(QueueUrl=url, MessageBody='{"card": "expired"}')["MessageId"]
    with lab.tracer.acting_as("payments-worker"):
        for _ in range(max_receives + 1):
            sqs.receive_message(QueueUrl=url)  # the worker fails: no delete
            lab.advance(31)
    moved = drain(lab, dlq_url, "operator")
    return {"message_id": sent, "moved": moved, "url": url, "dlq_url": dlq_url}


def saga(lab: Lab) -> dict[str, Any]:
    """Reserve stock, charge (fails: already charged), release stock as the compensation."""
    ddb, sfn = lab.client("dynamodb"), lab.client("stepfunctions")
    inventory = _queue(lab, "inventory")
    ddb.create_table(
        TableName="payments",
        KeySchema=[{"AttributeName": "order", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="payments", Item={"order": {"S": "7"}})
    definition = {
        "StartAt": "ReserveStock",
        "States": {
            "ReserveStock": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": inventory, "MessageBody": "reserve 7"},
                "Next": "ChargeCard",
            },
            "ChargeCard": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {
                    "TableName": "payments",
                    "Item": {"order": {"S": "7"}},
                    "ConditionExpression": "attribute_not_exists(#o)",
                    "ExpressionAttributeNames": {"#o": "order"},
                },
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "ReleaseStock"}],
                "Next": "Done",
            },
            "ReleaseStock": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": inventory, "MessageBody": "release 7"},
                "Next": "OrderFailed",
            },
            "OrderFailed": {"Type": "Fail", "Error": "PaymentFailed"},
            "Done": {"Type": "Succeed"},
        },
    }
    machine = sfn.create_state_machine(
        name="order-saga",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/saga",
    )["stateMachineArn"]
    with lab.tracer.acting_as("checkout"):
        execution = sfn.start_execution(stateMachineArn=machine, name="order-7", input="{}")
    status = "RUNNING"
    for _ in range(500):
        status = sfn.describe_execution(executionArn=execution["executionArn"])["status"]
        if status != "RUNNING":
            break
        time.sleep(0.01)  # moto runs the execution on a thread
    drain(lab, inventory, "warehouse")
    return {"machine": machine, "execution": execution["executionArn"], "status": status}
