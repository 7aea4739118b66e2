"""Deliveries between services obey the receiver's policy, on both backends, as AWS documents.

Pages: https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html (a refused or
deleted endpoint is a client-side error: not retried, to the subscription's dead-letter queue or
dropped), https://docs.aws.amazon.com/eventbridge/latest/userguide/rule-dlq.html (missing
permissions and deleted targets go straight to the target's dead-letter queue, with RULE_ARN,
TARGET_ARN, ERROR_CODE, ERROR_MESSAGE and RETRY_ATTEMPTS).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import labkit
from labkit.lessons import allow_delivery
from labkit.lessons.inbox import take_all
from labkit.lessons.permissions import delivery_statement
from tests.scenarios import metric_sums, queue_arn


def _queue(lab: labkit.Lab, name: str) -> tuple[str, str]:
    url = lab.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    return url, queue_arn(lab, url)


def _refusals(lab: labkit.Lab, target: str) -> list[Any]:
    return [h for h in lab.flow() if h.target == target and h.kind in ("refused", "failed")]


def _put(lab: labkit.Lab) -> str:
    entry = {"Source": "shop", "DetailType": "OrderPlaced", "Detail": "{}"}
    return str(lab.client("events").put_events(Entries=[entry])["Entries"][0]["EventId"])


def test_sns_delivers_only_where_the_queue_policy_lets_the_topic_in(lab: labkit.Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    open_url, open_arn = _queue(lab, "billing")
    shut_url, shut_arn = _queue(lab, "no-policy")
    allow_delivery(lab, topic, open_arn)
    for arn in (open_arn, shut_arn):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    mid = sns.publish(TopicArn=topic, Message="o-1")["MessageId"]
    assert [json.loads(m["Body"])["Message"] for m in take_all(lab, open_url)] == ["o-1"]
    assert take_all(lab, shut_url) == []
    (refusal,) = _refusals(lab, shut_arn)
    assert (refusal.kind, refusal.message_id, refusal.source) == ("refused", mid, topic)
    assert refusal.detail == "the resource has no policy, so no statement allows it"
    assert not _refusals(lab, open_arn)


def test_a_deny_names_its_statement_and_a_deleted_queue_does_not_break_publish(
    lab: labkit.Lab,
) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = _queue(lab, "locked")
    allow_delivery(lab, topic, arn)
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    policy["Statement"].append(
        {"Sid": "lock", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": arn}
    )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="o-1")
    assert take_all(lab, url) == []
    sqs.delete_queue(QueueUrl=url)
    sns.publish(TopicArn=topic, Message="o-2")  # AWS: a client-side error, not the publisher's
    details = [(h.kind, h.detail) for h in _refusals(lab, arn)]
    assert details == [
        ("refused", "explicitly denied by statement 'lock'"),
        ("failed", "the queue 'locked' does not exist (not retried)"),
    ]


def test_a_refused_copy_goes_to_the_subscriptions_dead_letter_queue(lab: labkit.Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    _, arn = _queue(lab, "shut")
    dlq_url, dlq_arn = _queue(lab, "shut-dlq")
    allow_delivery(lab, topic, dlq_arn)  # SNS needs the dead-letter queue's policy too
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn})
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RedrivePolicy": redrive}
    )
    mid = sns.publish(TopicArn=topic, Message="o-1")["MessageId"]
    (dead,) = take_all(lab, dlq_url)
    envelope = json.loads(dead["Body"])
    assert (envelope["MessageId"], envelope["Message"]) == (mid, "o-1")
    kinds = [(h.kind, h.target) for h in lab.flow() if h.message_id == mid]
    assert ("refused", arn) in kinds and ("dead-lettered", dlq_arn) in kinds


def test_a_rule_refused_by_the_queue_sends_the_event_to_the_targets_dead_letter_queue(
    lab: labkit.Lab,
) -> None:
    events = lab.client("events")
    rule = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    _, arn = _queue(lab, "shut")
    dlq_url, dlq_arn = _queue(lab, "orders-dlq")
    allow_delivery(lab, rule, dlq_arn)
    target = {"Id": "q", "Arn": arn, "DeadLetterConfig": {"Arn": dlq_arn}}
    events.put_targets(Rule="orders", Targets=[target])
    event_id = _put(lab)
    sqs = lab.client("sqs")
    (dead,) = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(dead["Body"])["id"] == event_id
    attributes = {name: v["StringValue"] for name, v in dead["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == rule and attributes["TARGET_ARN"] == arn
    assert attributes["RETRY_ATTEMPTS"] == "0" and attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert "no statement allows it" in attributes["ERROR_MESSAGE"]
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes  # no retry ran out: none was made


def test_eventbridge_needs_the_topic_policy_and_the_function_permission(lab: labkit.Lab) -> None:
    sns, events = lab.client("sns"), lab.client("events")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url, arn = _queue(lab, "phones")
    allow_delivery(lab, topic, arn)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    got: list[Any] = []
    fn = lab.functions.deploy("notify", lambda event, context: got.append(event))
    rule = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    targets = [{"Id": "topic", "Arn": topic}, {"Id": "fn", "Arn": fn.arn}]
    events.put_targets(Rule="orders", Targets=targets)
    _put(lab)  # the topic keeps its default policy; the function has no permission
    lab.functions.run_until_idle()
    assert (take_all(lab, url), got) == ([], [])
    assert {h.target for h in lab.flow() if h.kind == "refused"} == {topic, fn.arn}
    allow_delivery(lab, rule, topic, fn.arn)
    event_id = _put(lab)
    lab.functions.run_until_idle()
    assert [json.loads(json.loads(m["Body"])["Message"])["id"] for m in take_all(lab, url)] == [
        event_id
    ]
    assert [e["id"] for e in got] == [event_id]


def test_a_lab_may_skip_policies_and_says_so(lab: labkit.Lab, request: Any) -> None:
    backend = lab.backend
    lab.stop()
    demo = labkit.start_lab(backend.name, endpoint_url=backend.endpoint_url, enforce_policies=False)
    try:
        assert "resource policies: skipped (enforce_policies=False)" in demo.describe()
        assert "policies skipped" in repr(demo)
        sns = demo.client("sns")
        topic = sns.create_topic(Name="orders")["TopicArn"]
        url, arn = _queue(demo, "no-policy")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        sns.publish(TopicArn=topic, Message="o-1")
        assert len(take_all(demo, url)) == 1
    finally:
        demo.stop()
    enforcing = labkit.start_lab(backend.name, endpoint_url=backend.endpoint_url)
    try:  # the next lab obeys policies again
        assert "resource policies: obeyed" in enforcing.describe()
        sns = enforcing.client("sns")
        topic = sns.create_topic(Name="orders")["TopicArn"]
        url, arn = _queue(enforcing, "no-policy")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        sns.publish(TopicArn=topic, Message="o-1")
        assert take_all(enforcing, url) == []
    finally:
        enforcing.stop()


# -- the metrics AWS publishes ---------------------------------------------------------------------
def test_sns_counts_published_delivered_failed_and_filtered_out(lab: labkit.Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    _, billing = _queue(lab, "billing")
    _, shut = _queue(lab, "shut")
    _, eu = _queue(lab, "eu")
    _, gifts = _queue(lab, "gifts")
    allow_delivery(lab, topic, billing, eu, gifts)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=billing)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=shut)
    region = {"FilterPolicy": json.dumps({"region": ["eu"]})}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=eu, Attributes=region)
    body = {"FilterPolicy": json.dumps({"gift": [True]}), "FilterPolicyScope": "MessageBody"}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=gifts, Attributes=body)
    us = {"region": {"DataType": "String", "StringValue": "us"}}
    sns.publish(TopicArn=topic, Message="{}", MessageAttributes=us)
    sns.publish(TopicArn=topic, Message="{}")
    sums = metric_sums(
        lab,
        "AWS/SNS",
        {"TopicName": "orders"},
        "NumberOfMessagesPublished",
        "NumberOfNotificationsDelivered",
        "NumberOfNotificationsFailed",
        "NumberOfNotificationsFilteredOut",
        "NumberOfNotificationsFilteredOut-MessageAttributes",
        "NumberOfNotificationsFilteredOut-NoMessageAttributes",
        "NumberOfNotificationsFilteredOut-MessageBody",
    )
    assert sums == {
        "NumberOfMessagesPublished": 2,
        "NumberOfNotificationsDelivered": 2,  # billing, twice
        "NumberOfNotificationsFailed": 2,  # shut, twice: no policy
        "NumberOfNotificationsFilteredOut": 4,  # eu twice, gifts twice
        "NumberOfNotificationsFilteredOut-MessageAttributes": 1,
        "NumberOfNotificationsFilteredOut-NoMessageAttributes": 1,
        "NumberOfNotificationsFilteredOut-MessageBody": 2,
    }


def test_eventbridge_counts_matches_invocations_failures_and_dead_letters(
    lab: labkit.Lab,
) -> None:
    events = lab.client("events")
    events.create_event_bus(Name="shop")
    pattern = json.dumps({"source": ["shop"]})
    rule = events.put_rule(Name="orders", EventBusName="shop", EventPattern=pattern)["RuleArn"]
    _, open_arn = _queue(lab, "open")
    _, shut = _queue(lab, "shut")
    _, dlq = _queue(lab, "orders-dlq")
    allow_delivery(lab, rule, open_arn, dlq)
    targets = [
        {"Id": "open", "Arn": open_arn},
        {"Id": "shut", "Arn": shut, "DeadLetterConfig": {"Arn": dlq}},
    ]
    events.put_targets(Rule="orders", EventBusName="shop", Targets=targets)
    entry = {"Source": "shop", "DetailType": "OrderPlaced", "Detail": "{}", "EventBusName": "shop"}
    other = {**entry, "Source": "elsewhere"}
    events.put_events(Entries=[entry, entry, other])
    sums = metric_sums(
        lab,
        "AWS/Events",
        {"EventBusName": "shop", "RuleName": "orders"},
        "MatchedEvents",
        "Invocations",
        "FailedInvocations",
        "InvocationsSentToDlq",
    )
    assert sums == {
        "MatchedEvents": 2,
        "Invocations": 4,
        "FailedInvocations": 2,
        "InvocationsSentToDlq": 2,
    }


def test_sqs_depth_and_age_of_the_oldest_message_are_sampled_on_lab_time(
    embedded_lab: labkit.Lab,
) -> None:
    lab = embedded_lab
    sqs, cloudwatch = lab.client("sqs"), lab.client("cloudwatch")
    url, _ = _queue(lab, "orders")
    sqs.send_message(QueueUrl=url, MessageBody="o-1")
    lab.advance(90)
    now = lab.clock.now()

    def maxima(name: str) -> list[tuple[float, str]]:
        answer = cloudwatch.get_metric_statistics(
            Namespace="AWS/SQS",
            Dimensions=[{"Name": "QueueName", "Value": "orders"}],
            MetricName=name,
            StartTime=now - dt.timedelta(minutes=10),
            EndTime=now + dt.timedelta(minutes=1),
            Period=60,
            Statistics=["Maximum"],
        )
        return [(p["Maximum"], p["Unit"]) for p in answer["Datapoints"]]

    assert maxima("ApproximateAgeOfOldestMessage") == [(90.0, "Seconds")]
    assert maxima("ApproximateNumberOfMessagesVisible") == [(1.0, "Count")]


def test_why_not_delivered_names_the_policy_that_refused(lab: labkit.Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = _queue(lab, "billing")
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    verdict = labkit.why_not_delivered(lab, subscription_arn=sub, message="o-1")
    assert not verdict
    assert verdict.reasons[0].startswith(
        "The queue 'billing' does not let the topic deliver: the resource has no policy"
    )
    assert "sns.amazonaws.com call sqs:SendMessage with aws:SourceArn" in verdict.reasons[0]
    allow_delivery(lab, topic, arn)
    assert labkit.why_not_delivered(lab, subscription_arn=sub, message="o-1")
    other = topic.replace(":orders", ":returns")
    policy = {"Statement": [{**delivery_statement(other, arn), "Sid": "returns-only"}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    verdict = labkit.why_not_delivered(lab, subscription_arn=sub, message="o-1")
    assert "'returns-only': a condition is not met (ArnEquals aws:SourceArn" in verdict.reasons[0]
