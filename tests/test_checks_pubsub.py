"""Lesson 04's checks: each passes on a right answer and fails, with a hint, on typical slips."""

from __future__ import annotations

import json
from typing import Any

import pytest

import labkit
from labkit.checks import CheckFailed, Passed
from labkit.checks import pubsub as checks
from labkit.lessons.pubsub import subscriber_queue

V1 = {"version": 1, "order_id": "o-1", "customer": "c-1", "items": 1, "total": 10.0}


def orders_topic(lab: labkit.Lab) -> str:
    return str(lab.client("sns").create_topic(Name="orders")["TopicArn"])


def subscribe(lab: labkit.Lab, topic: str, queue_arn: str, **attributes: str) -> None:
    lab.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes
    )


def place_order(lab: labkit.Lab, topic: str, order: dict[str, Any]) -> None:
    with lab.tracer.acting_as("order-service"):
        lab.client("sns").publish(
            TopicArn=topic,
            Message=json.dumps(order),
            MessageAttributes={
                "version": {"DataType": "Number", "StringValue": str(order["version"])}
            },
        )


def failure(call: Any) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught:
        call()
    return caught.value


# -- exercise 1 ------------------------------------------------------------------------------
def shipping(lab: labkit.Lab, **attributes: str) -> str:
    topic = orders_topic(lab)
    _, arn = subscriber_queue(lab, "shipping", topic)
    subscribe(lab, topic, arn, **attributes)
    return topic


V1_ONLY = {"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"version": [1]})}


def test_shipping_passes_when_only_the_subscriber_side_changed(lab: labkit.Lab) -> None:
    topic = shipping(lab, **V1_ONLY)
    place_order(lab, topic, V1)
    passed = checks.shipping_subscriber(lab)
    assert isinstance(passed, Passed)
    assert "1 Publish calls" in passed.detail


def test_shipping_fails_when_the_publisher_also_sends_to_the_queue(lab: labkit.Lab) -> None:
    topic = shipping(lab, **V1_ONLY)
    place_order(lab, topic, V1)
    sqs = lab.client("sqs")
    with lab.tracer.acting_as("order-service"):
        url = sqs.get_queue_url(QueueName="shipping")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(V1))
    problem = failure(lambda: checks.shipping_subscriber(lab))
    assert "only Publish" in problem.expected
    assert "SendMessage on shipping" in problem.found
    assert "leave place_order" in problem.hint


def test_shipping_passes_after_a_wrong_try_once_the_exercise_runs_again(
    embedded_lab: labkit.Lab,
) -> None:
    # first try: the order service was changed to also send to the queue
    topic = shipping(embedded_lab, **V1_ONLY)
    sqs = embedded_lab.client("sqs")
    url = sqs.get_queue_url(QueueName="shipping")["QueueUrl"]
    with embedded_lab.tracer.acting_as("order-service"):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(V1))
    place_order(embedded_lab, topic, V1)
    assert (
        "run the exercise cell again"
        in failure(lambda: checks.shipping_subscriber(embedded_lab)).hint
    )
    # second try: the exercise cell again (subscribe is idempotent), place_order as on day 1
    _, arn = subscriber_queue(embedded_lab, "shipping", topic)
    subscribe(embedded_lab, topic, arn, **V1_ONLY)
    place_order(embedded_lab, topic, V1)
    assert isinstance(checks.shipping_subscriber(embedded_lab), Passed)


def test_shipping_without_a_version_filter_asks_for_one(embedded_lab: labkit.Lab) -> None:
    topic = shipping(embedded_lab, RawMessageDelivery="true")
    place_order(embedded_lab, topic, V1)
    problem = failure(lambda: checks.shipping_subscriber(embedded_lab))
    assert "version-1" in problem.expected
    assert "takes version 2" in problem.found


def test_shipping_with_the_envelope_asks_for_raw_delivery(embedded_lab: labkit.Lab) -> None:
    shipping(embedded_lab, FilterPolicy=json.dumps({"version": [1]}))
    problem = failure(lambda: checks.shipping_subscriber(embedded_lab))
    assert "RawMessageDelivery" in problem.expected


def test_shipping_that_never_got_an_order_asks_for_one(embedded_lab: labkit.Lab) -> None:
    shipping(embedded_lab, **V1_ONLY)
    problem = failure(lambda: checks.shipping_subscriber(embedded_lab))
    assert "at least one order" in problem.expected


def test_shipping_queue_without_a_policy_is_named(embedded_lab: labkit.Lab) -> None:
    topic = orders_topic(embedded_lab)
    sqs = embedded_lab.client("sqs")
    url = sqs.create_queue(QueueName="shipping")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    subscribe(embedded_lab, topic, arn["QueueArn"], **V1_ONLY)
    problem = failure(lambda: checks.shipping_subscriber(embedded_lab))
    assert problem.found == "the queue has no access policy"
    assert "subscriber_queue" in problem.hint


def test_shipping_before_the_lesson_names_the_topic(embedded_lab: labkit.Lab) -> None:
    problem = failure(lambda: checks.shipping_subscriber(embedded_lab))
    assert problem.expected == "an SNS topic named 'orders'"


# -- exercise 2 ------------------------------------------------------------------------------
def billing_v2(lab: labkit.Lab, **attributes: str) -> None:
    topic = orders_topic(lab)
    _, arn = subscriber_queue(lab, "billing-v2", topic)
    subscribe(lab, topic, arn, **attributes)


@pytest.mark.parametrize(
    ("policy", "scope"),
    [
        ({"version": [2]}, "MessageAttributes"),
        ({"version": [{"numeric": ["=", 2]}]}, "MessageAttributes"),
        ({"version": [2]}, "MessageBody"),
    ],
)
def test_version_filter_passes_on_policies_that_take_version_2_only(
    embedded_lab: labkit.Lab, policy: dict[str, Any], scope: str
) -> None:
    billing_v2(embedded_lab, FilterPolicy=json.dumps(policy), FilterPolicyScope=scope)
    assert isinstance(checks.version_filter(embedded_lab), Passed)


@pytest.mark.parametrize(
    ("policy", "wrong_on", "hint_part"),
    [
        ({"version": ["2"]}, "a version-2 order", "in quotes"),
        ({"version": [1, 2]}, "a version-1 order", "only 2"),
        ({"version": [{"anything-but": [1]}]}, "a version-3 order", "name the version"),
        ({"version": [{"numeric": [">=", 2]}]}, "a version-3 order", "name the version"),
    ],
)
def test_version_filter_names_the_sample_a_slip_gets_wrong(
    embedded_lab: labkit.Lab, policy: dict[str, Any], wrong_on: str, hint_part: str
) -> None:
    billing_v2(embedded_lab, FilterPolicy=json.dumps(policy))
    problem = failure(lambda: checks.version_filter(embedded_lab))
    assert problem.expected.startswith(wrong_on)
    assert hint_part in problem.hint


def test_version_filter_without_a_policy_says_how_to_add_one(lab: labkit.Lab) -> None:
    billing_v2(lab)
    problem = failure(lambda: checks.version_filter(lab))
    assert problem.expected == "a FilterPolicy on the billing-v2 subscription"


def test_version_filter_is_checked_against_what_sns_delivers(lab: labkit.Lab) -> None:
    """The probes agree with the lab's own deliveries, on both backends."""
    topic = orders_topic(lab)
    url, arn = subscriber_queue(lab, "billing-v2", topic)
    subscribe(lab, topic, arn, FilterPolicy=json.dumps({"version": [2]}))
    for version in (1, 2, 3):
        place_order(lab, topic, {**V1, "version": version, "order_id": f"o-{version}"})
    got = [json.loads(json.loads(m["Body"])["Message"])["version"] for m in take(lab, url)]
    wanted = [p.version for p in checks.VERSION_PROBES if p.should_match]
    assert got == wanted == [2]


def take(lab: labkit.Lab, url: str) -> list[dict[str, Any]]:
    from labkit.lessons.inbox import take_all

    return take_all(lab, url)


# -- exercise 3 ------------------------------------------------------------------------------
def good_reader(body: str) -> tuple[str, float]:
    order = json.loads(body)
    if order.get("version") == 1:
        return order["order_id"], float(order["total"])
    raise ValueError(f"unknown version {order.get('version')!r}")


def strict_reader(body: str) -> tuple[str, float]:
    order = json.loads(body)
    if set(order) != {"version", "order_id", "customer", "items", "total"}:
        raise TypeError("unexpected fields")
    return order["order_id"], float(order["total"])


def trusting_reader(body: str) -> tuple[str, float]:
    order = json.loads(body)
    return order["order_id"], order["total"]


def broken_billing(lab: labkit.Lab, handler: Any) -> str:
    """Billing on the orders topic with a dead-letter queue; one richer order dead-lettered by a
    strict handler; then `handler` deployed (or not, when None). Returns the DLQ's ARN."""
    topic = orders_topic(lab)
    url, arn = subscriber_queue(lab, "billing", topic, dead_letter_after=3)
    subscribe(lab, topic, arn, RawMessageDelivery="true")

    def strict(event: Any, context: Any) -> None:
        for record in event["Records"]:
            strict_reader(record["body"])

    lab.functions.deploy("charge", strict).consume(url)
    place_order(lab, topic, {**V1, "currency": "EUR"})
    lab.functions.run_until_idle()
    if handler is not None:
        lab.functions.deploy("charge", handler)
    sqs = lab.client("sqs")
    dlq = sqs.get_queue_url(QueueName="billing-dlq")["QueueUrl"]
    return str(
        sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def tolerant(event: Any, context: Any) -> None:
    for record in event["Records"]:
        good_reader(record["body"])


def test_tolerant_billing_passes_after_a_fix_and_a_redrive(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    dlq_arn = broken_billing(lab, tolerant)
    lab.client("sqs").start_message_move_task(SourceArn=dlq_arn)
    lab.functions.run_until_idle()
    passed = checks.tolerant_billing(lab, good_reader)
    assert "charged the 1 order(s)" in passed.detail


@pytest.mark.parametrize(
    ("reader", "expected_part", "hint_part"),
    [
        (strict_reader, "extra fields", "ignore the others"),
        (trusting_reader, "version-2", "never return the object"),
        (None, "the function read_order", "define def read_order"),
    ],
)
def test_tolerant_billing_names_the_sample_a_reader_gets_wrong(
    embedded_lab: labkit.Lab, reader: Any, expected_part: str, hint_part: str
) -> None:
    problem = failure(lambda: checks.tolerant_billing(embedded_lab, reader))
    assert expected_part in problem.expected
    assert hint_part in problem.hint


def reader_of_both_versions(body: str) -> list[Any]:
    """The exercise allows reading version 2's amount too; a list is a pair as well."""
    order = json.loads(body)
    match order.get("version"):
        case 1:
            return [order["order_id"], order["total"]]
        case 2:
            return [order["order_id"], float(order["total"]["amount"])]
        case version:
            raise ValueError(f"unknown version {version!r}")


def test_tolerant_billing_passes_on_a_reader_of_both_versions(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab

    def charge(event: Any, context: Any) -> dict[str, list[Any]]:
        for record in event["Records"]:
            reader_of_both_versions(record["body"])
        return {"batchItemFailures": []}  # a partial batch response that reports no failure

    dlq_arn = broken_billing(lab, charge)
    lab.client("sqs").start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=5)
    lab.functions.run_until_idle()
    assert isinstance(checks.tolerant_billing(lab, reader_of_both_versions), Passed)


def test_tolerant_billing_names_a_version_2_amount_left_as_text(embedded_lab: labkit.Lab) -> None:
    def reader(body: str) -> tuple[str, Any]:
        order = json.loads(body)
        if order.get("version") == 2:
            return order["order_id"], order["total"]["amount"]
        return good_reader(body)

    problem = failure(lambda: checks.tolerant_billing(embedded_lab, reader))
    assert "a version-2 order" in problem.expected and "'20.00'" in problem.found
    assert "float(order['total']['amount'])" in problem.hint


def test_tolerant_billing_without_the_redrive_asks_for_it(embedded_lab: labkit.Lab) -> None:
    broken_billing(embedded_lab, tolerant)
    problem = failure(lambda: checks.tolerant_billing(embedded_lab, good_reader))
    assert "moved back" in problem.expected
    assert "start_message_move_task" in problem.hint


def test_tolerant_billing_redriven_into_the_strict_handler_fails(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    dlq_arn = broken_billing(lab, None)  # the strict handler is still deployed
    lab.client("sqs").start_message_move_task(SourceArn=dlq_arn)
    lab.functions.run_until_idle()
    problem = failure(lambda: checks.tolerant_billing(lab, good_reader))
    assert "billing-dlq empty" in problem.expected
    assert "1 message(s)" in problem.found


# -- exercise 4 ------------------------------------------------------------------------------
RIGHT_SERVICES = {situation: service for situation, (service, _) in checks.SERVICE_CHOICES.items()}


def test_choose_service_accepts_any_casing_and_the_amazon_prefix() -> None:
    written = {s: {"sns": "Amazon SNS", "eventbridge": "EventBridge"}[v]
               for s, v in RIGHT_SERVICES.items()}  # fmt: skip
    assert isinstance(checks.choose_service(written), Passed)
    assert isinstance(checks.choose_service(RIGHT_SERVICES), Passed)


def test_choose_service_names_the_situation_and_why() -> None:
    replay = "feed last week's orders again to a new consumer after a bug fix"
    problem = failure(lambda: checks.choose_service({**RIGHT_SERVICES, replay: "sns"}))
    assert replay in problem.expected and "archives and replays" in problem.hint
    unfilled = failure(lambda: checks.choose_service(dict.fromkeys(RIGHT_SERVICES, ...)))
    assert "not filled in" in unfilled.found
