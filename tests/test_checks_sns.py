"""Lesson 02's checks: each passes on a right answer and fails, with a hint, on typical slips."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labkit
from labkit.checks import CheckFailed, Passed
from labkit.checks import sns as checks
from labkit.lessons.inbox import take_all
from tests.scenarios import queue_arn

GOOD_PRIORITY = {
    "total": [{"numeric": [">=", 200]}],
    "region": [{"prefix": "eu-"}],
    "channel": [{"anything-but": ["test"]}],
}
GOOD_GIFT = {"gift": {"note": [{"exists": True}]}, "customer": {"tier": ["gold", "silver"]}}


def topic(lab: labkit.Lab, name: str = "orders", **attributes: str) -> str:
    return str(lab.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"])


def allow(topic_arn: str, queue_arn: str, *, condition: bool = True) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
    }
    if condition:
        statement["Condition"] = {"ArnEquals": {"aws:SourceArn": topic_arn}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def queue(
    lab: labkit.Lab, name: str, topic_arn: str, *, policy: bool = True, **attributes: str
) -> tuple[str, str]:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = queue_arn(lab, url)
    if policy:
        sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json.dumps(allow(topic_arn, arn))}
        )
    return url, arn


def subscribe(lab: labkit.Lab, topic_arn: str, queue_arn: str, **attributes: str) -> None:
    lab.client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes
    )


def subscribed(lab: labkit.Lab, name: str, *, policy: bool = True, **attributes: str) -> str:
    """Topic 'orders' with queue `name` subscribed (subscription `attributes`); the topic's ARN."""
    orders = topic(lab)
    _, arn = queue(lab, name, orders, policy=policy)
    subscribe(lab, orders, arn, **attributes)
    return orders


def failure(check: Any, lab: labkit.Lab) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught:
        check(lab)
    return caught.value


# -- a subscription with a slip: the check says what it expected, found, or what to do -------
CHECK_OF = {
    "shipping": checks.shipping_subscriber,
    "priority": checks.priority_filter,
    "gift-wrap": checks.gift_body_filter,
}


@pytest.mark.parametrize(
    ("queue_name", "attributes", "says"),
    [
        # shipping with the envelope asks for raw delivery
        ("shipping", {}, {"expected": "RawMessageDelivery", "found": "'false'"}),
        # shipping subscribed but never sent to asks for an order
        ("shipping", {"RawMessageDelivery": "true"}, {"hint": "place an order"}),
        # priority without any policy explains how to add one
        ("priority", {}, {"expected": "FilterPolicy", "hint": "set_subscription_attributes"}),
        # gift on attributes asks for the body scope (nested keys are refused on attributes, by
        # AWS too, so the slip is a flat policy)
        (
            "gift-wrap",
            {"FilterPolicy": '{"tier": ["gold", "silver"]}'},
            {"expected": "MessageBody"},
        ),
    ],
)
def test_a_slip_is_named(
    lab: labkit.Lab, queue_name: str, attributes: dict[str, str], says: dict[str, str]
) -> None:
    subscribed(lab, queue_name, **attributes)
    problem = failure(CHECK_OF[queue_name], lab)
    for part, fragment in says.items():
        assert fragment in getattr(problem, part)


# -- exercise 1 ------------------------------------------------------------------------------
def test_shipping_passes_on_a_raw_subscriber_that_received_an_order(lab: labkit.Lab) -> None:
    orders = subscribed(lab, "shipping", RawMessageDelivery="true")
    lab.client("sns").publish(TopicArn=orders, Message='{"order_id": "o-10"}')
    assert isinstance(checks.shipping_subscriber(lab), Passed)


def test_shipping_passes_on_a_policy_worded_otherwise_and_raw_delivery_set_later(
    lab: labkit.Lab,
) -> None:
    # IAM action names ignore case, lists of one equal the value, ArnLike without wildcards
    # equals ArnEquals; raw delivery may be switched on after subscribing
    orders = topic(lab)
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="shipping")["QueueUrl"]
    arn = queue_arn(lab, url)
    policy = {
        "Version": "2012-10-17",
        "Id": "shipping-from-orders",
        "Statement": [
            {
                "Sid": "OrdersTopicSends",
                "Condition": {"ArnLike": {"aws:SourceArn": [orders]}},
                "Resource": [arn],
                "Action": ["SQS:SendMessage"],
                "Principal": {"Service": ["sns.amazonaws.com"]},
                "Effect": "Allow",
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sns = lab.client("sns")
    subscription = sns.subscribe(
        TopicArn=orders, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    sns.publish(TopicArn=orders, Message='{"order_id": "o-10"}')
    assert isinstance(checks.shipping_subscriber(lab), Passed)


def test_shipping_with_a_filter_policy_is_told_it_wants_every_order(lab: labkit.Lab) -> None:
    subscribed(lab, "shipping", RawMessageDelivery="true", FilterPolicy='{"region": ["eu-west"]}')
    problem = failure(checks.shipping_subscriber, lab)
    assert "every order" in problem.expected and "eu-west" in problem.found
    assert "without a FilterPolicy" in problem.hint


def test_shipping_without_a_queue_policy_says_what_aws_needs(lab: labkit.Lab) -> None:
    orders = subscribed(lab, "shipping", policy=False, RawMessageDelivery="true")
    lab.client("sns").publish(TopicArn=orders, Message="o-10")
    problem = failure(checks.shipping_subscriber, lab)
    assert problem.found == "the queue has no access policy"
    assert "queue_for_topic" in problem.hint


def test_shipping_before_the_lesson_ran_names_the_missing_topic(lab: labkit.Lab) -> None:
    problem = failure(checks.shipping_subscriber, lab)
    assert problem.expected == "an SNS topic named 'orders'"


# -- exercise 2 ------------------------------------------------------------------------------
def test_priority_passes_on_the_right_policy(lab: labkit.Lab) -> None:
    subscribed(lab, "priority", FilterPolicy=json.dumps(GOOD_PRIORITY))
    assert isinstance(checks.priority_filter(lab), Passed)


@pytest.mark.parametrize(
    ("slip", "hint_part"),
    [
        ({"total": [{"numeric": [">", 200]}]}, '">"'),
        ({"region": [{"prefix": "eu"}]}, "dash"),
        ({"channel": [{"anything-but": ["web"]}]}, "list of conditions"),
        ({"channel": ["web", "app"]}, "kiosk"),
    ],
)
def test_priority_names_the_sample_order_a_slip_gets_wrong(
    embedded_lab: labkit.Lab, slip: dict[str, Any], hint_part: str
) -> None:
    subscribed(embedded_lab, "priority", FilterPolicy=json.dumps({**GOOD_PRIORITY, **slip}))
    problem = failure(checks.priority_filter, embedded_lab)
    assert problem.expected.startswith("an order of")
    assert hint_part in f"{problem.expected} {problem.hint}"


# -- exercise 3 ------------------------------------------------------------------------------
def test_gift_passes_on_a_body_policy(lab: labkit.Lab) -> None:
    subscribed(
        lab, "gift-wrap", FilterPolicy=json.dumps(GOOD_GIFT), FilterPolicyScope="MessageBody"
    )
    assert isinstance(checks.gift_body_filter(lab), Passed)


def test_gift_with_one_tier_points_at_the_missing_one(embedded_lab: labkit.Lab) -> None:
    policy = {**GOOD_GIFT, "customer": {"tier": ["gold"]}}
    subscribed(
        embedded_lab, "gift-wrap", FilterPolicy=json.dumps(policy), FilterPolicyScope="MessageBody"
    )
    problem = failure(checks.gift_body_filter, embedded_lab)
    assert "silver" in problem.expected
    assert "filtered out" in problem.found


# -- exercise 4 ------------------------------------------------------------------------------
def fifo_setup(lab: labkit.Lab) -> tuple[str, str]:
    attrs = {"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    refunds = topic(lab, "refunds.fifo", **attrs)
    url, arn = queue(
        lab, "refund-ledger.fifo", refunds, FifoQueue="true", ContentBasedDeduplication="true"
    )
    subscribe(lab, refunds, arn)
    return refunds, url


def publish_and_read(lab: labkit.Lab, refunds: str, url: str, steps: Any, group: str) -> list:
    for step in steps:
        lab.client("sns").publish(TopicArn=refunds, Message=step, MessageGroupId=group)
    return take_all(lab, url)


def test_refund_ledger_passes_on_the_steps_in_order(lab: labkit.Lab) -> None:
    refunds, url = fifo_setup(lab)
    messages = publish_and_read(lab, refunds, url, checks.REFUND_STEPS, "c-9")
    assert isinstance(checks.refund_ledger(lab, messages), Passed)


def test_refund_ledger_passes_with_own_deduplication_ids_and_raw_delivery(
    lab: labkit.Lab,
) -> None:
    # without content-based deduplication a FIFO topic takes a MessageDeduplicationId per
    # publish; raw delivery leaves the bare texts in the queue
    refunds = topic(lab, "refunds.fifo", FifoTopic="true")
    url, arn = queue(lab, "refund-ledger.fifo", refunds, FifoQueue="true")
    subscribe(lab, refunds, arn, RawMessageDelivery="true")
    for step in checks.REFUND_STEPS:
        lab.client("sns").publish(
            TopicArn=refunds, Message=step, MessageGroupId="c-9", MessageDeduplicationId=step
        )
    assert isinstance(checks.refund_ledger(lab, take_all(lab, url)), Passed)


def test_refund_ledger_published_before_subscribing_reads_nothing(lab: labkit.Lab) -> None:
    attrs = {"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    refunds = topic(lab, "refunds.fifo", **attrs)
    url, arn = queue(
        lab, "refund-ledger.fifo", refunds, FifoQueue="true", ContentBasedDeduplication="true"
    )
    messages = publish_and_read(lab, refunds, url, checks.REFUND_STEPS, "c-9")
    subscribe(lab, refunds, arn)
    with pytest.raises(CheckFailed) as caught:
        checks.refund_ledger(lab, messages)
    assert caught.value.found == "0 messages, groups: none"
    assert "after subscribing" in caught.value.hint


def test_refund_ledger_out_of_order_shows_the_order_found(lab: labkit.Lab) -> None:
    refunds, url = fifo_setup(lab)
    messages = publish_and_read(lab, refunds, url, ("requested", "paid", "approved"), "c-9")
    with pytest.raises(CheckFailed) as caught:
        checks.refund_ledger(lab, messages)
    assert caught.value.found == "requested, paid, approved"


def test_refund_ledger_in_the_wrong_group_names_the_group_found(lab: labkit.Lab) -> None:
    refunds, url = fifo_setup(lab)
    messages = publish_and_read(lab, refunds, url, checks.REFUND_STEPS, "c-1")
    with pytest.raises(CheckFailed) as caught:
        checks.refund_ledger(lab, messages)
    assert "group 'c-9'" in caught.value.expected
    assert "c-1" in caught.value.found


def test_refund_ledger_without_the_messages_says_how_to_read_them(lab: labkit.Lab) -> None:
    fifo_setup(lab)
    problem = failure(checks.refund_ledger, lab)
    assert "take_all" in problem.hint


def test_refund_ledger_without_the_queue_names_it(embedded_lab: labkit.Lab) -> None:
    topic(embedded_lab, "refunds.fifo", FifoTopic="true", ContentBasedDeduplication="true")
    problem = failure(checks.refund_ledger, embedded_lab)
    assert problem.expected == "an SQS queue named 'refund-ledger.fifo'"
    assert "FifoQueue='true'" in problem.hint


# -- the queue-policy reader -----------------------------------------------------------------
QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"
TOPIC = "arn:aws:sns:us-east-1:123456789012:t"


def test_policy_reader_accepts_the_lessons_policy_and_names_each_problem() -> None:
    assert checks.queue_policy_problem(json.dumps(allow(TOPIC, QUEUE)), QUEUE, TOPIC) == ""
    broad = json.dumps(allow(TOPIC, QUEUE, condition=False))
    assert "aws:SourceArn" in checks.queue_policy_problem(broad, QUEUE, TOPIC)
    other = json.dumps(allow(TOPIC + "-other", QUEUE))
    assert "no statement allows" in checks.queue_policy_problem(other, QUEUE, TOPIC)
    deny = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}]}
    assert "Deny" in checks.queue_policy_problem(json.dumps(deny), QUEUE, TOPIC)
    assert "not valid JSON" in checks.queue_policy_problem("{", QUEUE, TOPIC)


@settings(max_examples=60, deadline=None)
@given(
    total=st.floats(min_value=0, max_value=10_000, allow_nan=False).map(lambda x: round(x, 2)),
    region=st.sampled_from(["eu-west", "eu-north", "us-east", "europe-west", "ap-south"]),
    channel=st.sampled_from(["web", "app", "test"]),
)
def test_the_reference_priority_policy_agrees_with_its_definition(
    total: float, region: str, channel: str
) -> None:
    """The probes' matcher on the lesson's solution equals the rule stated in words."""
    sample = checks.Probe("x", True, "", attributes={"total": total, "region": region,
                                                      "channel": channel})  # fmt: skip
    expected = total >= 200 and region.startswith("eu-") and channel != "test"
    assert sample.matches(GOOD_PRIORITY, "MessageAttributes") == expected


def test_priority_hint_says_which_condition_turned_a_wanted_order_away(lab: labkit.Lab) -> None:
    # ">" instead of ">=": the order of exactly 200 is filtered out, and the explainer says why
    strict = {**GOOD_PRIORITY, "total": [{"numeric": [">", 200]}]}
    subscribed(lab, "priority", FilterPolicy=json.dumps(strict))
    problem = failure(checks.priority_filter, lab)
    assert problem.expected.startswith("an order of exactly 200")
    assert problem.hint.startswith('The message attribute "total" is 200 (a Number)')
    assert "> 200" in problem.hint and "For this exercise:" in problem.hint


# -- answers written differently from the solutions, that SNS treats the same ---------------------
@pytest.mark.parametrize(
    "policy",
    [
        # the same conditions in other words: a range with two bounds, anything-but as a string
        {
            "total": [{"numeric": [">=", 200, "<", 1e9]}],
            "region": [{"prefix": "eu-"}],
            "channel": [{"anything-but": "test"}],
        },
        # the keys in another order
        dict(reversed(list(GOOD_PRIORITY.items()))),
    ],
)
def test_priority_passes_on_policies_worded_differently(
    embedded_lab: labkit.Lab, policy: dict[str, Any]
) -> None:
    subscribed(embedded_lab, "priority", FilterPolicy=json.dumps(policy))
    assert isinstance(checks.priority_filter(embedded_lab), Passed)


def test_gift_passes_on_tiers_listed_the_other_way_round(embedded_lab: labkit.Lab) -> None:
    policy = {"customer": {"tier": ["silver", "gold"]}, "gift": {"note": [{"exists": True}]}}
    subscribed(
        embedded_lab, "gift-wrap", FilterPolicy=json.dumps(policy), FilterPolicyScope="MessageBody"
    )
    assert isinstance(checks.gift_body_filter(embedded_lab), Passed)


# -- exercise 5 ------------------------------------------------------------------------------
def _audit(lab: labkit.Lab, *, policy: dict[str, Any] | None, dlq: bool) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    orders = topic(lab)
    url = sqs.create_queue(QueueName="audit")["QueueUrl"]
    arn = queue_arn(lab, url)
    sub = sns.subscribe(TopicArn=orders, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    if policy is not None:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    if dlq:
        dlq_url = sqs.create_queue(QueueName="audit-dlq")["QueueUrl"]
        dlq_arn = queue_arn(lab, dlq_url)
        sqs.set_queue_attributes(
            QueueUrl=dlq_url, Attributes={"Policy": json.dumps(allow(orders, dlq_arn))}
        )
        sns.set_subscription_attributes(
            SubscriptionArn=sub,
            AttributeName="RedrivePolicy",
            AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}),
        )


def test_reachable_audit_passes_on_the_worked_answer(lab: labkit.Lab) -> None:
    arn = "arn:aws:sqs:us-east-1:123456789012:audit"
    _audit(lab, policy=allow("arn:aws:sns:us-east-1:123456789012:orders", arn), dlq=True)
    assert isinstance(checks.reachable_audit(lab), Passed)


@pytest.mark.parametrize(
    ("condition", "dlq", "said"),
    [
        (None, True, "the resource has no policy"),
        (False, True, "lets any topic send"),
        (True, False, "an SQS queue named 'audit-dlq'"),
    ],
)
def test_reachable_audit_names_what_is_missing(
    embedded_lab: labkit.Lab, condition: bool | None, dlq: bool, said: str
) -> None:
    orders, arn = (
        "arn:aws:sns:us-east-1:123456789012:orders",
        "arn:aws:sqs:us-east-1:123456789012:audit",
    )
    policy = None if condition is None else allow(orders, arn, condition=condition)
    _audit(embedded_lab, policy=policy, dlq=dlq)
    with pytest.raises(CheckFailed) as failed:
        checks.reachable_audit(embedded_lab)
    assert said in str(failed.value)
