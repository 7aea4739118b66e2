"""labkit.lessons.pubsub: subscriber queues, a publisher's calls, the flow behind a topic."""

from __future__ import annotations

import json

import pytest

import labkit
from labkit.checks.sns import queue_policy_problem
from labkit.errors import LabError
from labkit.lessons.pubsub import downstream, publisher_calls, sender_principal, subscriber_queue


def test_subscriber_queue_lets_in_only_its_topic(lab: labkit.Lab) -> None:
    topic = lab.client("sns").create_topic(Name="orders")["TopicArn"]
    url, arn = subscriber_queue(lab, "billing", topic)
    policy = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    text = policy["Attributes"]["Policy"]
    assert queue_policy_problem(text, arn, topic) == ""
    other = topic.replace(":orders", ":other")
    assert queue_policy_problem(text, arn, other) != ""
    assert json.loads(text)["Statement"][0]["Principal"] == {"Service": "sns.amazonaws.com"}


def test_subscriber_queue_for_a_rule_names_eventbridge(embedded_lab: labkit.Lab) -> None:
    events = embedded_lab.client("events")
    rule = events.put_rule(Name="billing", EventPattern=json.dumps({"source": ["shop"]}))
    url, _ = subscriber_queue(embedded_lab, "billing-events", rule["RuleArn"])
    attrs = embedded_lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    statement = json.loads(attrs["Attributes"]["Policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == rule["RuleArn"]


def test_subscriber_queue_dead_letter_queue_takes_a_message_after_the_last_receive(
    lab: labkit.Lab,
) -> None:
    topic = lab.client("sns").create_topic(Name="orders")["TopicArn"]
    url, _ = subscriber_queue(lab, "billing", topic, dead_letter_after=2)
    sqs = lab.client("sqs")
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    assert redrive["deadLetterTargetArn"].endswith(":billing-dlq")
    assert int(redrive["maxReceiveCount"]) == 2


def test_sender_principal_refuses_what_cannot_send() -> None:
    assert sender_principal("arn:aws:sns:us-east-1:1:orders") == "sns.amazonaws.com"
    with pytest.raises(LabError) as caught:
        sender_principal("arn:aws:sqs:us-east-1:1:orders")
    assert "topic" in caught.value.expected


def test_publisher_calls_compare_periods_and_ignore_others(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    with lab.tracer.acting_as("shop"):
        sns.publish(TopicArn=topic, Message="1")
    mark = lab.tracer.calls[-1].seq
    sns.publish(TopicArn=topic, Message="not the shop")
    with lab.tracer.acting_as("shop"):
        sns.publish(TopicArn=topic, Message="2")
    assert publisher_calls(lab, "shop") == (("sns", "Publish", "orders"),) * 2
    assert publisher_calls(lab, "shop", since=mark) == (("sns", "Publish", "orders"),)
    assert publisher_calls(labkit.flow(lab), "shop", since=mark) == (("sns", "Publish", "orders"),)
    assert publisher_calls(lab, "nobody") == ()


def test_downstream_keeps_one_topic_and_what_it_feeds(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    sns, events = lab.client("sns"), lab.client("events")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    _, billing = subscriber_queue(lab, "billing", topic, dead_letter_after=3)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=billing)
    rule = events.put_rule(Name="all", EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    _, other = subscriber_queue(lab, "audit", rule)
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": other}])
    with lab.tracer.acting_as("shop"):
        sns.publish(TopicArn=topic, Message="{}")
        mark = lab.tracer.calls[-1].seq
        sns.publish(TopicArn=topic, Message="{}")
        events.put_events(Entries=[{"Source": "shop", "DetailType": "x", "Detail": "{}"}])
    part = downstream(lab, topic)
    names = {labkit.trace.flows.short_name(n) for n in part.nodes()}
    assert names == {"shop", "orders", "billing", "billing-dlq"}
    assert part.kind_of(billing.replace(":billing", ":billing-dlq")) == "dead-letter queue"
    graph = part.graph()
    assert graph.edges[(topic, billing, "delivered")]["count"] == 2
    later = downstream(lab, topic, since=mark).graph()
    assert later.edges[(topic, billing, "delivered")]["count"] == 1


def test_downstream_of_an_unknown_node_names_what_the_flow_has(embedded_lab: labkit.Lab) -> None:
    with pytest.raises(LabError) as caught:
        downstream(embedded_lab, "arn:aws:sns:us-east-1:123456789012:nope")
    assert "nothing yet" in caught.value.found
