"""The canonical scenarios the tracing, flow and plot tests share (built with plain boto3)."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Any

from labkit.lab.session import Lab
from labkit.lessons.inbox import take_all
from labkit.lessons.permissions import allow_delivery

__all__ = ["fan_out", "event_routing", "poison_message", "saga", "arn", "hops", "nodes"]

ACCOUNT = "123456789012"

HopCounts = dict[tuple[str, str, str], int]

#: What each scenario traces with its default arguments, by short name: (scenario, source,
#: target, hop kind, how many hops).
HOPS: list[tuple[str, str, str, str, int]] = [
    ("fan_out", "shop", "orders", "sent", 3),
    ("fan_out", "orders", "billing", "delivered", 3),
    ("fan_out", "orders", "shipping", "delivered", 2),
    ("fan_out", "orders", "shipping", "filtered", 1),
    ("fan_out", "orders", "audit", "delivered", 3),
    ("fan_out", "billing", "billing-service", "received", 3),
    ("fan_out", "billing", "billing-service", "processed", 3),
    ("fan_out", "shipping", "shipping-service", "received", 2),
    ("fan_out", "shipping", "shipping-service", "processed", 2),
    ("fan_out", "audit", "audit-service", "received", 3),
    ("fan_out", "audit", "audit-service", "processed", 3),
    ("event_routing", "checkout", "shop", "sent", 1),
    ("event_routing", "shop", "big-orders", "delivered", 1),
    ("event_routing", "big-orders", "big-orders-queue", "delivered", 1),
    ("event_routing", "shop", "all-orders", "delivered", 1),
    ("event_routing", "all-orders", "all-orders-queue", "delivered", 1),
    ("event_routing", "shop", "refunds", "filtered", 1),
    ("event_routing", "big-orders-queue", "big-orders-worker", "received", 1),
    ("event_routing", "big-orders-queue", "big-orders-worker", "processed", 1),
    ("event_routing", "all-orders-queue", "all-orders-worker", "received", 1),
    ("event_routing", "all-orders-queue", "all-orders-worker", "processed", 1),
    ("poison_message", "shop", "payments", "sent", 1),
    ("poison_message", "payments", "payments-worker", "received", 3),
    ("poison_message", "payments", "payments-dlq", "dead-lettered", 1),
    ("poison_message", "payments-dlq", "operator", "received", 1),
    ("poison_message", "payments-dlq", "operator", "processed", 1),
    ("saga", "checkout", "order-saga", "started", 1),
    ("saga", "order-saga", "inventory", "task", 1),
    ("saga", "order-saga", "payments", "failed", 1),
    ("saga", "order-saga", "inventory", "compensated", 1),
    ("saga", "inventory", "warehouse", "received", 2),
    ("saga", "inventory", "warehouse", "processed", 2),
]

#: The nodes of each scenario's flow graph: (scenario, label, node kind).
NODES: list[tuple[str, str, str]] = [
    ("fan_out", "shop", "publisher"),
    ("fan_out", "orders", "topic"),
    ("fan_out", "billing", "queue"),
    ("fan_out", "shipping", "queue"),
    ("fan_out", "audit", "queue"),
    ("fan_out", "billing-service", "consumer"),
    ("fan_out", "shipping-service", "consumer"),
    ("fan_out", "audit-service", "consumer"),
    ("event_routing", "checkout", "publisher"),
    ("event_routing", "shop", "bus"),
    ("event_routing", "big-orders", "rule"),
    ("event_routing", "all-orders", "rule"),
    ("event_routing", "refunds", "rule"),
    ("event_routing", "big-orders-queue", "queue"),
    ("event_routing", "all-orders-queue", "queue"),
    ("event_routing", "refunds-queue", "queue"),
    ("event_routing", "big-orders-worker", "consumer"),
    ("event_routing", "all-orders-worker", "consumer"),
    ("poison_message", "shop", "publisher"),
    ("poison_message", "payments", "queue"),
    ("poison_message", "payments-worker", "consumer"),
    ("poison_message", "payments-dlq", "dead-letter queue"),
    ("poison_message", "operator", "consumer"),
    ("saga", "checkout", "publisher"),
    ("saga", "order-saga", "state machine"),
    ("saga", "inventory", "queue"),
    ("saga", "payments", "table"),
    ("saga", "warehouse", "consumer"),
]


def hops(scenario: str) -> HopCounts:
    """The hops `scenario` traces: how many of each (source, target, kind), by short name."""
    return {(source, target, kind): n for name, source, target, kind, n in HOPS if name == scenario}


def nodes(scenario: str) -> dict[str, str]:
    """The kind of every node in `scenario`'s flow graph, by label."""
    return {label: kind for name, label, kind in NODES if name == scenario}


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


def order_status_task(status: str, order_id: str = "$.order_id") -> dict[str, Any]:
    """A task state setting the order's status in table 'orders'; `order_id` is its id's path."""
    return update_item_task(
        "orders",
        {"order_id": {"S.$": order_id}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": status}},
    )


def catch_all(state: str) -> list[dict[str, Any]]:
    """A task's Catch: any error, kept under $.error, goes on to `state`."""
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": state}]


#: The smallest state machine: one Pass state.
PASS_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def _queue(lab: Lab, name: str, **attributes: str) -> str:
    return str(lab.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def queue_arn(lab: Lab, url: str) -> str:
    """The ARN of the queue at `url`."""
    answer = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(answer["Attributes"]["QueueArn"])


def queue_with_dlq(
    lab: Lab, name: str, *, max_receives: int, visibility: int = 30, **attributes: str
) -> tuple[str, str]:
    """Queue `name` that moves a message to `name`-dlq at its `max_receives` + 1st receive.

    Returns (queue URL, dead-letter queue URL).
    """
    dlq = _queue(lab, f"{name}-dlq")
    redrive = {"deadLetterTargetArn": queue_arn(lab, dlq), "maxReceiveCount": str(max_receives)}
    url = _queue(
        lab,
        name,
        VisibilityTimeout=str(visibility),
        RedrivePolicy=json.dumps(redrive),
        **attributes,
    )
    return url, dlq


def create_table(lab: Lab, name: str, key: str) -> None:
    """A DynamoDB table whose items are keyed by the string attribute `key`."""
    lab.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def state_machine(lab: Lab, name: str, definition: dict[str, Any] = PASS_MACHINE) -> str:
    """Create a state machine running `definition`; its ARN."""
    return str(
        lab.client("stepfunctions").create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/lab",
        )["stateMachineArn"]
    )


def finished(sfn: Any, execution: str, timeout: float = 5.0) -> str:
    """The execution's status once it is no longer RUNNING (or RUNNING after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(sfn.describe_execution(executionArn=execution)["status"])
        if status != "RUNNING" or time.monotonic() > deadline:
            return status
        time.sleep(0.01)  # moto runs the execution on a thread


def drain(lab: Lab, url: str, consumer: str) -> int:
    """Receive and delete everything in a queue as `consumer`; how many messages."""
    return len(take_all(lab, url, consumer=consumer))


def fan_out(lab: Lab, *, physical: int = 2, digital: int = 1) -> dict[str, Any]:
    """Topic 'orders' -> queues billing, shipping (filter type=physical), audit; then drained."""
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    urls = {name: _queue(lab, name) for name in ("billing", "shipping", "audit")}
    for name, url in urls.items():
        attributes = {"FilterPolicy": json.dumps({"type": ["physical"]})}
        allow_delivery(lab, topic, queue_arn(lab, url))
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn(lab, url),
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
    events = lab.client("events")
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
        target = {"Id": "q", "Arn": queue_arn(lab, urls[name])}
        rule = events.put_rule(Name=name, EventBusName="shop", EventPattern=json.dumps(pattern))
        allow_delivery(lab, rule["RuleArn"], target["Arn"])
        events.put_targets(Rule=name, EventBusName="shop", Targets=[target])
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
    url, dlq_url = queue_with_dlq(lab, "payments", max_receives=max_receives)
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
    create_table(lab, "payments", "order")
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
    machine = state_machine(lab, "order-saga", definition)
    with lab.tracer.acting_as("checkout"):
        execution = sfn.start_execution(stateMachineArn=machine, name="order-7", input="{}")
    status = finished(sfn, execution["executionArn"])
    drain(lab, inventory, "warehouse")
    return {"machine": machine, "execution": execution["executionArn"], "status": status}


def metric_sums(
    lab: Lab, namespace: str, dimensions: dict[str, str], *names: str, hours: float = 1
) -> dict[str, float]:
    """Each metric's sum over the last `hours` of lab time, read with get_metric_data."""
    cloudwatch = lab.client("cloudwatch")
    now = lab.clock.now()
    dims = [{"Name": k, "Value": v} for k, v in dimensions.items()]
    queries = [
        {
            "Id": f"m{i}",
            "Label": name,
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
                "Period": 60 if hours <= 3 else 3600,
                "Stat": "Sum",
            },
        }
        for i, name in enumerate(names)
    ]
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=queries,
        StartTime=now - dt.timedelta(hours=hours),
        EndTime=now + dt.timedelta(minutes=1),
    )
    return {r["Label"]: sum(r["Values"]) for r in answer["MetricDataResults"]}
