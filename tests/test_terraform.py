"""The Terraform export: parseable HCL, every resource present, every reference declared."""

from __future__ import annotations

import json
import re
from typing import Any

import hcl2

import labkit
from labkit.tools.terraform import export
from tests.scenarios import create_table, queue_arn, queue_with_dlq, state_machine

REFERENCE = re.compile(r"\b(aws_[a-z0-9_]+)\.([a-z0-9_]+)\.(arn|name|url|id)\b")


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _resources(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    parsed = hcl2.loads(text)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for block in parsed["resource"]:
        for rtype, named in block.items():
            for name, body in named.items():
                found[(_unquote(rtype), _unquote(name))] = body
    return found


def _build(lab: labkit.Lab) -> dict[str, str]:
    sqs, sns, events = lab.client("sqs"), lab.client("sns"), lab.client("events")
    billing, dlq = queue_with_dlq(lab, "billing", max_receives=3, visibility=45)
    fifo = sqs.create_queue(
        QueueName="ledger.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    arn_of = {url: queue_arn(lab, url) for url in (billing, fifo)}
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn_of[billing])
    sns.set_subscription_attributes(
        SubscriptionArn=sub["SubscriptionArn"],
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"total": [{"numeric": [">=", 100]}]}),
    )
    sns.set_subscription_attributes(
        SubscriptionArn=sub["SubscriptionArn"],
        AttributeName="RawMessageDelivery",
        AttributeValue="true",
    )
    events.create_event_bus(Name="shop")
    events.put_rule(
        Name="big-orders",
        EventBusName="shop",
        EventPattern=json.dumps(
            {"source": ["shop.orders"], "detail": {"total": [{"numeric": [">", 100]}]}}
        ),
    )
    events.put_targets(
        Rule="big-orders",
        EventBusName="shop",
        Targets=[
            {
                "Id": "to-ledger",
                "Arn": arn_of[fifo],
                "SqsParameters": {"MessageGroupId": "orders"},
                "InputTransformer": {
                    "InputPathsMap": {"id": "$.detail.id"},
                    "InputTemplate": '{"order": <id>, "note": "${literal}"}',
                },
            },
            {"Id": "to-topic", "Arn": topic},
        ],
    )
    events.put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
    create_table(lab, "stock", "sku")
    definition = {
        "StartAt": "Bill",
        "States": {
            "Bill": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": billing, "MessageBody.$": "$"},
                "End": True,
            }
        },
    }
    state_machine(lab, "checkout", definition)
    return {"billing": billing, "dlq_arn": queue_arn(lab, dlq), "topic": topic}


def test_every_resource_and_reference(lab: labkit.Lab) -> None:
    made = _build(lab)
    text = export(lab)
    resources = _resources(text)

    assert set(resources) == {
        ("aws_sqs_queue", "billing"),
        ("aws_sqs_queue", "billing_dlq"),
        ("aws_sqs_queue", "ledger_fifo"),
        ("aws_sns_topic", "orders"),
        ("aws_sns_topic_subscription", "orders_to_billing"),
        ("aws_sqs_queue_policy", "billing_from_sns"),
        ("aws_cloudwatch_event_bus", "shop"),
        ("aws_cloudwatch_event_rule", "big_orders"),
        ("aws_cloudwatch_event_rule", "hourly"),
        ("aws_cloudwatch_event_target", "big_orders_to_ledger"),
        ("aws_cloudwatch_event_target", "big_orders_to_topic"),
        ("aws_dynamodb_table", "stock"),
        ("aws_sfn_state_machine", "checkout"),
    }

    billing = resources[("aws_sqs_queue", "billing")]
    assert "aws_sqs_queue.billing_dlq.arn" in billing["redrive_policy"]
    assert made["dlq_arn"] not in text  # written as a reference, never as a literal
    assert billing["visibility_timeout_seconds"] == 45
    fifo = resources[("aws_sqs_queue", "ledger_fifo")]
    assert fifo["fifo_queue"] is True and fifo["content_based_deduplication"] is True

    sub = resources[("aws_sns_topic_subscription", "orders_to_billing")]
    assert sub["topic_arn"] == "${aws_sns_topic.orders.arn}"
    assert sub["endpoint"] == "${aws_sqs_queue.billing.arn}"
    assert sub["raw_message_delivery"] is True
    assert '"numeric" = [">=", 100]' in sub["filter_policy"]

    target = resources[("aws_cloudwatch_event_target", "big_orders_to_ledger")]
    assert target["arn"] == "${aws_sqs_queue.ledger_fifo.arn}"
    assert target["event_bus_name"] == "${aws_cloudwatch_event_bus.shop.name}"
    transformer = target["input_transformer"][0]
    assert _unquote(transformer["input_paths"]['"id"']) == "$.detail.id"
    assert "$${literal}" in transformer["input_template"]  # escaped, not interpolated
    assert target["sqs_target"][0]["message_group_id"] == '"orders"'
    assert (
        resources[("aws_cloudwatch_event_target", "big_orders_to_topic")]["arn"]
        == "${aws_sns_topic.orders.arn}"
    )
    assert _unquote(resources[("aws_cloudwatch_event_rule", "hourly")]["schedule_expression"]) == (
        "rate(1 hour)"
    )
    machine = resources[("aws_sfn_state_machine", "checkout")]
    assert "aws_sqs_queue.billing.url" in machine["definition"]

    declared = set(resources)
    for rtype, name, _attr in REFERENCE.findall(text):
        assert (rtype, name) in declared, f"{rtype}.{name} is referenced but not declared"


def test_an_empty_lab_exports_only_the_provider(embedded_lab: labkit.Lab) -> None:
    parsed = hcl2.loads(export(embedded_lab))
    assert "resource" not in parsed
    assert _unquote(parsed["provider"][0]['"aws"']["region"]) == "us-east-1"
