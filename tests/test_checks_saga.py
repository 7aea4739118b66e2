"""The checks of lesson 06 pass on right answers and explain typical wrong ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from labkit.checks import CheckFailed, Passed
from labkit.checks import saga as checks
from labkit.lessons import allow_delivery
from tests.scenarios import catch_all, create_table, update_item_task

ROLE = "arn:aws:iam::123456789012:role/travel"


#: Booking a unit for the trip, and cancelling that booking: (UpdateExpression,
#: ConditionExpression), each applied at most once.
BOOK = (
    "SET units_free = units_free - :one, bookings.#trip = :one",
    "units_free >= :one AND attribute_not_exists(bookings.#trip)",
)
CANCEL = (
    "SET units_free = units_free + :one REMOVE bookings.#trip",
    "attribute_exists(bookings.#trip)",
)


def _trip_task(action: tuple[str, str], table: str, field: str) -> dict[str, Any]:
    """`action` as an UpdateItem task on the item of `table` whose id is the input's `field`."""
    update, condition = action
    return update_item_task(
        table,
        {"id": {"S.$": f"$.{field}"}},
        UpdateExpression=update,
        ConditionExpression=condition,
        ExpressionAttributeNames={"#trip.$": "$.trip"},
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


def travel(*, car_catch: str = "CancelHotel", hotel_catch: str = "CancelFlight") -> dict[str, Any]:
    return {
        "StartAt": "BookFlight",
        "States": {
            "BookFlight": {
                **_trip_task(BOOK, "flights", "flight"),
                "Catch": catch_all("TripFailed"),
                "Next": "BookHotel",
            },
            "BookHotel": {
                **_trip_task(BOOK, "hotels", "hotel"),
                "Catch": catch_all(hotel_catch),
                "Next": "BookCar",
            },
            "BookCar": {
                **_trip_task(BOOK, "cars", "car"),
                "Catch": catch_all(car_catch),
                "End": True,
            },
            "CancelHotel": {**_trip_task(CANCEL, "hotels", "hotel"), "Next": "CancelFlight"},
            "CancelFlight": {**_trip_task(CANCEL, "flights", "flight"), "Next": "TripFailed"},
            "TripFailed": {"Type": "Fail", "Error": "TripFailed"},
        },
    }


@pytest.fixture
def travel_lab(embedded_lab: Any) -> Iterator[Any]:
    for table in ("flights", "hotels", "cars"):
        create_table(embedded_lab, table, "id")
    yield embedded_lab


def test_travel_saga_passes_a_right_definition(travel_lab: Any) -> None:
    sfn = travel_lab.client("stepfunctions")
    sfn.create_state_machine(name="travel", definition=json.dumps(travel()), roleArn=ROLE)
    assert isinstance(checks.travel_saga(travel_lab), Passed)


def test_travel_saga_without_a_machine_says_what_to_create(travel_lab: Any) -> None:
    with pytest.raises(CheckFailed, match="state machine named 'travel'"):
        checks.travel_saga(travel_lab)


def test_a_compensation_no_catch_leads_to_is_refused_at_creation(travel_lab: Any) -> None:
    # BookCar's Catch skips CancelHotel, which nothing else leads to: AWS refuses the definition
    sfn = travel_lab.client("stepfunctions")
    wrong = travel(car_catch="CancelFlight")
    with pytest.raises(sfn.exceptions.InvalidDefinition) as refused:
        sfn.create_state_machine(name="travel", definition=json.dumps(wrong), roleArn=ROLE)
    assert 'State "CancelHotel" is not reachable' in str(refused.value)


def test_travel_saga_catches_a_forgotten_compensation(travel_lab: Any) -> None:
    # BookCar's Catch skips CancelHotel (reached only from BookHotel's Catch, where the hotel
    # was never booked): the hotel stays booked when no car is left
    sfn = travel_lab.client("stepfunctions")
    wrong = travel(car_catch="CancelFlight", hotel_catch="CancelHotel")
    sfn.create_state_machine(name="travel", definition=json.dumps(wrong), roleArn=ROLE)
    with pytest.raises(CheckFailed) as failure:
        checks.travel_saga(travel_lab)
    assert "every booking cancelled" in failure.value.expected
    assert "hotels" in failure.value.found


def _create(lab: Any, definition: dict[str, Any]) -> None:
    sfn = lab.client("stepfunctions")
    sfn.create_state_machine(name="travel", definition=json.dumps(definition), roleArn=ROLE)


def test_travel_saga_refuses_compensations_in_forward_order(travel_lab: Any) -> None:
    # the end state is the same (everything cancelled): only the history shows the order
    forward = travel(car_catch="CancelFlight")
    forward["States"]["CancelFlight"]["Next"] = "CancelHotel"
    forward["States"]["CancelHotel"]["Next"] = "TripFailed"
    _create(travel_lab, forward)
    with pytest.raises(CheckFailed) as failure:
        checks.travel_saga(travel_lab)
    assert "reverse order" in failure.value.expected
    assert "CancelFlight → CancelHotel" in failure.value.found


def test_travel_saga_names_a_catch_without_result_path(travel_lab: Any) -> None:
    # without ResultPath the error object replaces the input: CancelHotel has no $.trip
    lost = travel()
    for state in ("BookFlight", "BookHotel", "BookCar"):
        for catch in lost["States"][state]["Catch"]:
            del catch["ResultPath"]
    _create(travel_lab, lost)
    with pytest.raises(CheckFailed) as failure:
        checks.travel_saga(travel_lab)
    assert "ResultPath" in failure.value.hint and "describe_execution" in failure.value.hint
    assert "Error" in failure.value.found


def test_travel_saga_accepts_other_catches_that_aws_runs_the_same(travel_lab: Any) -> None:
    # the booking's own error instead of States.ALL, and the error kept under another name
    other = travel()
    for state in ("BookFlight", "BookHotel", "BookCar"):
        (catch,) = other["States"][state]["Catch"]
        catch["ErrorEquals"] = ["DynamoDB.ConditionalCheckFailedException"]
        catch["ResultPath"] = "$.why"
    _create(travel_lab, other)
    assert isinstance(checks.travel_saga(travel_lab), Passed)


def test_step_kinds_accept_any_casing_and_spaces() -> None:
    answer = {"Charge": "Compensatable", "Reserve": " compensatable", "Ship": "PIVOT",
              "ConfirmOrder": "Retriable "}  # fmt: skip
    assert isinstance(checks.step_kinds(answer), Passed)
    with pytest.raises(CheckFailed) as failure:
        checks.step_kinds({**answer, "Ship": "Retriable"})
    assert "Ship" in failure.value.expected and "any casing" in failure.value.hint


def test_step_kinds_pass_and_hint() -> None:
    assert isinstance(checks.step_kinds(dict(checks.STEP_KINDS)), Passed)
    with pytest.raises(CheckFailed, match="not filled in"):
        checks.step_kinds({"Charge": ..., "Reserve": ..., "Ship": ..., "ConfirmOrder": ...})
    wrong = {**checks.STEP_KINDS, "Ship": "compensatable"}
    with pytest.raises(CheckFailed) as failure:
        checks.step_kinds(wrong)
    assert "point of no return" in failure.value.hint


def _bus_with_rule(lab: Any, pattern: dict[str, Any], *, send: bool) -> None:
    events, sqs = lab.client("events"), lab.client("sqs")
    events.create_event_bus(Name="shop")
    url = sqs.create_queue(QueueName="refund-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    rule = events.put_rule(
        Name="refund-alerts", EventBusName="shop", EventPattern=json.dumps(pattern)
    )
    allow_delivery(lab, rule["RuleArn"], arn["QueueArn"])
    events.put_targets(
        Rule="refund-alerts",
        EventBusName="shop",
        Targets=[{"Id": "alerts", "Arn": arn["QueueArn"]}],
    )
    if send:
        entry = {
            "Source": "shop.payments",
            "DetailType": "PaymentRefunded",
            "Detail": json.dumps({"order_id": "c-9"}),
            "EventBusName": "shop",
        }
        events.put_events(Entries=[entry])


def test_refund_alerts_passes_a_right_rule(embedded_lab: Any) -> None:
    pattern = {"source": ["shop.payments"], "detail-type": ["PaymentRefunded"]}
    _bus_with_rule(embedded_lab, pattern, send=True)
    assert isinstance(checks.refund_alerts(embedded_lab), Passed)


def test_refund_alerts_rejects_a_pattern_that_matches_too_much(embedded_lab: Any) -> None:
    _bus_with_rule(embedded_lab, {"source": ["shop.payments"]}, send=True)
    with pytest.raises(CheckFailed, match="skip PaymentCharged"):
        checks.refund_alerts(embedded_lab)


def test_refund_alerts_asks_for_a_refunded_order(embedded_lab: Any) -> None:
    pattern = {"source": ["shop.payments"], "detail-type": ["PaymentRefunded"]}
    _bus_with_rule(embedded_lab, pattern, send=False)
    with pytest.raises(CheckFailed, match="at least one PaymentRefunded"):
        checks.refund_alerts(embedded_lab)


def test_refund_alerts_passes_a_pattern_worded_differently(embedded_lab: Any) -> None:
    pattern = {"detail-type": [{"prefix": "PaymentRefund"}], "source": ["shop.payments"]}
    _bus_with_rule(embedded_lab, pattern, send=True)
    assert isinstance(checks.refund_alerts(embedded_lab), Passed)
