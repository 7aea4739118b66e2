"""The checks of lesson 07 pass on right answers and explain typical wrong ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import labkit
from labkit.checks import CheckFailed, Passed
from labkit.checks import capstone as checks
from labkit.lessons import allow_delivery, open_shop
from labkit.lessons.pubsub import subscriber_queue
from labkit.lessons.saga import run_executions
from tests.scenarios import (
    catch_all,
    order_status_task,
    state_machine,
    update_item_task,
)

BALANCES = {"ana": 500, "bob": 20}
STOCK = {"lamp": 5, "desk": 0}


@pytest.fixture
def lab() -> Iterator[labkit.Lab]:
    lab = labkit.start_lab()
    yield lab
    lab.stop()


# -- exercise 1 ------------------------------------------------------------------------------
def _shop(lab: labkit.Lab) -> str:
    events, sns = lab.client("events"), lab.client("sns")
    events.create_event_bus(Name="shop")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    rule = events.put_rule(
        Name="all", EventBusName="shop", EventPattern=json.dumps({"source": ["shop.web"]})
    )
    allow_delivery(lab, rule["RuleArn"], topic)
    events.put_targets(Rule="all", EventBusName="shop", Targets=[{"Id": "t", "Arn": topic}])
    return topic


def _put(lab: labkit.Lab, n: int = 2) -> None:
    with lab.tracer.acting_as("shop"):
        lab.client("events").put_events(
            Entries=[
                {"Source": "shop.web", "DetailType": "OrderPlaced", "EventBusName": "shop",
                 "Detail": json.dumps({"order_id": f"o-{i}"})}
                for i in range(n)
            ]
        )  # fmt: skip


def _subscribe(lab: labkit.Lab, topic: str, *, raw: str = "true") -> None:
    _, arn = subscriber_queue(lab, "marketing", topic)
    lab.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": raw}
    )


def test_marketing_refuses_a_queue_without_a_policy_and_a_wrapped_subscription(
    lab: labkit.Lab,
) -> None:
    topic = _shop(lab)
    sqs, sns = lab.client("sqs"), lab.client("sns")
    url = sqs.create_queue(QueueName="marketing")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    _put(lab)
    with pytest.raises(CheckFailed) as failure:
        checks.marketing(lab)
    assert "queue policy" in failure.value.expected and "subscriber_queue" in failure.value.hint
    lab.reset()
    topic = _shop(lab)
    _subscribe(lab, topic, raw="false")
    _put(lab)
    with pytest.raises(CheckFailed, match="raw message delivery"):
        checks.marketing(lab)


def test_marketing_accepts_a_policy_written_by_hand(lab: labkit.Lab) -> None:
    # lesson 02's way: the policy set after creating the queue, with a list of actions
    topic = _shop(lab)
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="marketing")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": ["sns.amazonaws.com"]},
        "Action": ["sqs:SendMessage"],
        "Resource": arn,
        "Condition": {"ArnLike": {"aws:SourceArn": topic}},
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    lab.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    _put(lab)
    assert isinstance(checks.marketing(lab), Passed)


def test_marketing_passes(lab: labkit.Lab) -> None:
    topic = _shop(lab)
    _subscribe(lab, topic)
    _put(lab, 3)
    passed = checks.marketing(lab)
    assert isinstance(passed, Passed)
    assert "marketing received 3 orders" in str(passed)


def test_marketing_needs_the_queue_and_its_subscription(lab: labkit.Lab) -> None:
    topic = _shop(lab)
    with pytest.raises(CheckFailed, match="a queue named 'marketing'"):
        checks.marketing(lab)
    subscriber_queue(lab, "marketing", topic)
    with pytest.raises(CheckFailed, match="subscribed to the topic 'orders'"):
        checks.marketing(lab)


def test_marketing_needs_orders_after_subscribing(lab: labkit.Lab) -> None:
    topic = _shop(lab)
    _put(lab)
    _subscribe(lab, topic)
    with pytest.raises(CheckFailed, match="nothing delivered yet"):
        checks.marketing(lab)


def test_marketing_refuses_a_changed_publisher(lab: labkit.Lab) -> None:
    topic = _shop(lab)
    _subscribe(lab, topic)
    _put(lab)
    with lab.tracer.acting_as("shop"):
        lab.client("sns").publish(TopicArn=topic, Message="{}")
    with pytest.raises(CheckFailed, match=r"the shop sent to \['orders', 'shop'\]"):
        checks.marketing(lab)


# -- exercise 2 ------------------------------------------------------------------------------
def _billing(lab: labkit.Lab) -> tuple[str, str, dict[str, Any]]:
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="billing-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url = sqs.create_queue(QueueName="billing", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    state: dict[str, Any] = {"strict": True}

    def billing(event: Any, context: Any) -> None:
        for record in event["Records"]:
            if state["strict"] and "EUR" in record["body"]:
                raise ValueError(record["body"])

    lab.functions.deploy("billing-worker", billing).consume(url, batch_size=1)
    sqs.send_message(QueueUrl=url, MessageBody="14.90 EUR")
    sqs.send_message(QueueUrl=url, MessageBody="12.5")
    lab.functions.run_until_idle()
    return url, dlq_arn, state


def test_poison_redriven_passes_after_fix_and_redrive(lab: labkit.Lab) -> None:
    _, dlq_arn, state = _billing(lab)
    with pytest.raises(CheckFailed, match="1 message\\(s\\) still in it"):
        checks.poison_redriven(lab)
    state["strict"] = False
    lab.client("sqs").start_message_move_task(SourceArn=dlq_arn)
    lab.functions.run_until_idle()
    assert "1 message(s) redriven to billing" in str(checks.poison_redriven(lab))


def _drops_the_comma(amount: Any) -> float:
    """Reads "14.90 EUR", but no longer "12,50": a new case that lost an old one."""
    return float(str(amount).split()[0])


def _by_pattern(amount: Any) -> float:
    """Another right reader: the first number in the text, comma or point."""
    import re

    found = re.search(r"\d+(?:[.,]\d+)?", str(amount))
    assert found is not None
    return float(found.group().replace(",", "."))


def test_poison_redriven_refuses_a_reader_that_dropped_the_decimal_comma(lab: labkit.Lab) -> None:
    _, dlq_arn, state = _billing(lab)
    state["strict"] = False
    lab.client("sqs").start_message_move_task(SourceArn=dlq_arn)
    lab.functions.run_until_idle()
    with pytest.raises(CheckFailed) as failure:
        checks.poison_redriven(lab, _drops_the_comma)
    assert "'12,50'" in failure.value.expected and "ValueError" in failure.value.found
    assert "redriven" in str(checks.poison_redriven(lab, _by_pattern))


def test_poison_redriven_wants_the_message_processed(lab: labkit.Lab) -> None:
    url, dlq_arn, state = _billing(lab)
    lab.functions.get("billing-worker").mappings[0].disable()
    lab.client("sqs").start_message_move_task(SourceArn=dlq_arn)
    with pytest.raises(CheckFailed, match="billing empty: the redriven message processed"):
        checks.poison_redriven(lab)


def test_poison_redriven_refuses_a_purged_dead_letter_queue(lab: labkit.Lab) -> None:
    _billing(lab)
    sqs = lab.client("sqs")
    sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName="billing-dlq")["QueueUrl"])
    with pytest.raises(CheckFailed, match="1 that never made it back"):
        checks.poison_redriven(lab)


# -- exercise 3 ------------------------------------------------------------------------------
def _update(table: str, key: str, path: str, expression: str, condition: str, values: dict) -> dict:
    return update_item_task(
        table,
        {key: {"S.$": path}},
        UpdateExpression=expression,
        ConditionExpression=condition,
        ExpressionAttributeNames={"#order.$": "$.order_id"},
        ExpressionAttributeValues=values,
    )


def _catch(state: dict, to: str) -> dict:
    return {**state, "Catch": catch_all(to)}


def _purchase(lab: labkit.Lab, *, reverse: bool = True) -> str:
    """The lesson's purchase saga (its input is the order itself); `reverse=False` undoes in
    the wrong order."""
    open_shop(lab, balances=BALANCES, stock=STOCK, couriers=["ES"])
    amount = {":amount": {"N.$": "States.Format('{}', $.amount)"}}
    qty = {":qty": {"N.$": "States.Format('{}', $.qty)"}}
    first, second = ("Release", "Refund") if reverse else ("Refund", "Release")
    states = {
        "LockOrder": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "ResultPath": None,
            "Parameters": {"TableName": "orders", "Item": {"order_id": {"S.$": "$.order_id"}, "status": {"S": "PENDING"}}},  # noqa: E501
            "Next": "Charge",
        },
        "Charge": {**_catch(_update("accounts", "customer", "$.customer", "SET balance = balance - :amount, charges.#order = :amount", "balance >= :amount", amount), "CancelOrder"), "Next": "Reserve"},  # noqa: E501
        "Reserve": {**_catch(_update("inventory", "sku", "$.sku", "SET stock = stock - :qty, holds.#order = :qty", "stock >= :qty", qty), "Refund" if reverse else "Release"), "Next": "BookCourier"},  # noqa: E501
        "BookCourier": {**_catch({"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem", "ResultPath": None, "Parameters": {"TableName": "couriers", "Key": {"country": {"S.$": "$.country"}}, "UpdateExpression": "SET bookings = bookings + :one", "ConditionExpression": "attribute_exists(country)", "ExpressionAttributeValues": {":one": {"N": "1"}}}}, first), "Next": "RecordShipment"},  # noqa: E501
        "RecordShipment": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "ResultPath": None, "Parameters": {"TableName": "shipments", "Item": {"order_id": {"S.$": "$.order_id"}}}, "Next": "ConfirmOrder"},  # noqa: E501
        "ConfirmOrder": {**order_status_task("COMPLETED"), "End": True},
        "Release": {**_update("inventory", "sku", "$.sku", "SET stock = stock + :qty REMOVE holds.#order", "holds.#order = :qty", qty), "Next": second if first == "Release" else "CancelOrder"},  # noqa: E501
        "Refund": {**_update("accounts", "customer", "$.customer", "SET balance = balance + :amount REMOVE charges.#order", "charges.#order = :amount", amount), "Next": second if first == "Refund" else "CancelOrder"},  # noqa: E501
        "CancelOrder": {**order_status_task("CANCELLED"), "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "PurchaseFailed"},
    }  # fmt: skip
    if not reverse:
        states["Reserve"]["Catch"][0]["Next"] = "Refund"
        states["Refund"]["Next"] = "CancelOrder"
        states["Release"]["Next"] = "CancelOrder"
        states["BookCourier"]["Catch"][0]["Next"] = "Refund"
        states["Refund"]["Next"] = "Release"
    definition = {"StartAt": "LockOrder", "States": states}
    return state_machine(lab, "purchase", definition)


def _order(order_id: str, customer: str = "ana", sku: str = "lamp", country: str = "ES") -> dict:
    return {"order_id": order_id, "customer": customer, "amount": 120, "sku": sku, "qty": 1, "country": country}  # noqa: E501  # fmt: skip


def _run(lab: labkit.Lab, machine: str, *orders: dict) -> None:
    sfn = lab.client("stepfunctions")
    arns = [
        sfn.start_execution(stateMachineArn=machine, name=o["order_id"], input=json.dumps(o))["executionArn"]  # noqa: E501
        for o in orders
    ]  # fmt: skip
    run_executions(lab, *arns)


def test_failure_points_passes(lab: labkit.Lab) -> None:
    machine = _purchase(lab)
    _run(lab, machine, _order("c-1"), _order("c-2", country="AQ"), _order("c-3", customer="bob"), _order("c-4", sku="desk"))  # noqa: E501  # fmt: skip
    passed = checks.failure_points(lab, start_balances=BALANCES, start_stock=STOCK)
    assert "consistent: 1 completed, 3 cancelled" in str(passed)


def test_failure_points_names_the_missing_failures(lab: labkit.Lab) -> None:
    machine = _purchase(lab)
    _run(lab, machine, _order("c-1"), _order("c-2", country="AQ"))
    with pytest.raises(CheckFailed, match="failures at BookCourier") as failure:
        checks.failure_points(lab, start_balances=BALANCES, start_stock=STOCK)
    assert "Charge, Reserve" in failure.value.hint


def test_failure_points_passes_on_other_orders_announced_in_two_rounds(lab: labkit.Lab) -> None:
    # any order that fails at each step will do, more than one per step too, and the
    # executions may be waited for in separate runs
    machine = _purchase(lab)
    _run(lab, machine, _order("c-2", country="AQ"), _order("c-5", customer="bob", sku="desk"))
    _run(lab, machine, _order("c-6", sku="desk"), _order("c-7", customer="bob"), _order("c-8"))
    passed = checks.failure_points(lab, start_balances=BALANCES, start_stock=STOCK)
    assert "consistent: 1 completed, 4 cancelled" in str(passed)


def test_failure_points_two_charge_failures_still_ask_for_a_reserve_one(lab: labkit.Lab) -> None:
    machine = _purchase(lab)
    _run(lab, machine, _order("c-2", country="AQ"), _order("c-3", customer="bob"), _order("c-5", customer="bob", sku="desk"))  # noqa: E501  # fmt: skip
    with pytest.raises(CheckFailed, match="failures at BookCourier, Charge") as failure:
        checks.failure_points(lab, start_balances=BALANCES, start_stock=STOCK)
    assert "fail at Reserve:" in failure.value.hint and "out of stock" in failure.value.hint


def test_failure_points_wants_reverse_order(lab: labkit.Lab) -> None:
    machine = _purchase(lab, reverse=False)
    _run(lab, machine, _order("c-2", country="AQ"), _order("c-3", customer="bob"), _order("c-4", sku="desk"))  # noqa: E501  # fmt: skip
    with pytest.raises(CheckFailed, match="BookCourier → Refund, Release, CancelOrder"):
        checks.failure_points(lab, start_balances=BALANCES, start_stock=STOCK)


# -- exercise 4 ------------------------------------------------------------------------------
RIGHT_PAIRS = {s: (pattern, services[0]) for s, (pattern, services, _) in checks.SCENARIOS.items()}


def test_patterns_and_services_accept_synonyms_and_either_service() -> None:
    assert isinstance(checks.patterns_and_services(RIGHT_PAIRS), Passed)
    other = {
        s: ("Pub/Sub" if p == "pubsub" else p.title(), "Amazon EventBridge" if p != "decoupling"
            else "Amazon SQS")
        for s, (p, _) in RIGHT_PAIRS.items()
    }  # fmt: skip
    assert isinstance(checks.patterns_and_services(other), Passed)


def test_patterns_and_services_name_the_scenario_and_why() -> None:
    outage = "the payment provider is down for an hour; no order may be lost"
    wrong = {**RIGHT_PAIRS, outage: ("pub/sub", "SNS")}
    with pytest.raises(CheckFailed) as failure:
        checks.patterns_and_services(wrong)
    assert outage in failure.value.expected and "backlog" in failure.value.hint
