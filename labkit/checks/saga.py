"""Checks for lesson 06 (sagas): they run the learner's travel saga, read their step kinds and
their refund-alerts rule, and say what is missing with a hint.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from labkit.checks import Passed, expect

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["travel_saga", "step_kinds", "refund_alerts", "STEP_KINDS", "TRAVEL_TABLES"]

#: The kind of each forward step of the lesson's purchase saga.
STEP_KINDS = {
    "Charge": "compensatable",
    "Reserve": "compensatable",
    "Ship": "pivot",
    "ConfirmOrder": "retriable",
}
#: table -> the input field naming what to book in it.
TRAVEL_TABLES = {"flights": "flight", "hotels": "hotel", "cars": "car"}
#: The cancellations a trip must run, in order, when the car (or the hotel) is not free.
_REVERSE = {"car": ["CancelHotel", "CancelFlight"], "hotel": ["CancelFlight"]}
_HINTS = {
    "compensatable": "it can be undone (a refund, a release), so it may come before a failure",
    "pivot": "once the courier accepts, the purchase goes through: the point of no return",
    "retriable": "it comes after the pivot and is retried until it succeeds, never undone",
}


def _machine(lab: Lab, name: str) -> str | None:
    sfn = lab.client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] == name:
            return str(machine["stateMachineArn"])
    return None


def _free(lab: Lab, table: str, item: str) -> tuple[int, dict[str, Any]]:
    got = lab.client("dynamodb").get_item(TableName=table, Key={"id": {"S": item}})["Item"]
    return int(got["units_free"]["N"]), got.get("bookings", {}).get("M", {})


def _run_trip(lab: Lab, machine: str, trip: str, free: dict[str, int]) -> dict[str, Any]:
    """Run one trip with its own flight, hotel and car (`free` units each); what it left."""
    from labkit.lessons.saga import run_executions

    ddb, sfn = lab.client("dynamodb"), lab.client("stepfunctions")
    trip_input = {"trip": trip}
    for table, field in TRAVEL_TABLES.items():
        item = f"{trip}-{field}"
        ddb.put_item(
            TableName=table,
            Item={"id": {"S": item}, "units_free": {"N": str(free[table])}, "bookings": {"M": {}}},
        )
        trip_input[field] = item
    arn = sfn.start_execution(stateMachineArn=machine, name=trip, input=json.dumps(trip_input))[
        "executionArn"
    ]
    status = run_executions(lab, arn, timeout=10.0)[arn]
    left = {table: _free(lab, table, trip_input[field]) for table, field in TRAVEL_TABLES.items()}
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = [
        (e["stateEnteredEventDetails"]["name"], e["stateEnteredEventDetails"].get("input", ""))
        for e in history
        if e["type"].endswith("StateEntered")
    ]
    return {"status": status, "left": left, "entered": entered}


def _lost_input(entered: list[tuple[str, str]]) -> str | None:
    """The first compensation whose input is only an error: a Catch without ResultPath."""
    for name, text in entered:
        if not name.startswith("Cancel"):
            continue
        try:
            given = json.loads(text or "{}")
        except ValueError:
            continue
        if isinstance(given, dict) and "Error" in given and "trip" not in given:
            return name
    return None


def travel_saga(lab: Lab) -> Passed:
    """Exercise 1: the travel state machine books flight, hotel, car and compensates failures."""
    sfn = lab.client("stepfunctions")
    tables = set(lab.client("dynamodb").list_tables()["TableNames"])
    expect(
        set(TRAVEL_TABLES) <= tables,
        "the tables flights, hotels and cars",
        f"tables {sorted(tables)}",
        "run the cell that creates them (make_table) before the exercise",
    )
    machine = _machine(lab, "travel")
    expect(
        machine is not None,
        "a state machine named 'travel'",
        "no such state machine",
        "fill in `travel` and call sfn.create_state_machine(name='travel', "
        "definition=json.dumps(travel), roleArn=role_arn)",
    )
    assert machine is not None
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=machine)["definition"])
    states = definition.get("States", {})
    needed = {"BookFlight", "BookHotel", "BookCar", "CancelHotel", "CancelFlight", "TripFailed"}
    expect(
        needed <= set(states),
        f"the states {sorted(needed)}",
        f"states {sorted(states)}",
        "name the states exactly as the exercise says",
    )
    # A trip where everything is free: all three booked, once.
    seq = sum(1 for _ in sfn.list_executions(stateMachineArn=machine)["executions"])
    ok = _run_trip(lab, machine, f"check-{seq + 1}-ok", {"flights": 1, "hotels": 1, "cars": 1})
    expect(
        ok["status"] == "SUCCEEDED",
        "a trip with a free flight, hotel and car to SUCCEED",
        f"its execution {ok['status']}",
        "chain BookFlight → BookHotel → BookCar with Next, and end BookCar with End: true",
    )
    booked = [t for t, (free, _) in ok["left"].items() if free == 0]
    expect(
        len(booked) == 3,
        "the flight, the hotel and the car booked",
        f"booked: {booked or 'nothing'}",
        "each Book state must use book(table, field) for its own table",
    )
    # No car left: hotel and flight cancelled, nothing held, the execution FAILED.
    for free_car, free_hotel, failing in ((0, 1, "car"), (1, 0, "hotel")):
        name = f"check-{seq + 2 + (failing == 'hotel')}-no-{failing}"
        free = {"flights": 1, "hotels": free_hotel, "cars": free_car}
        run = _run_trip(lab, machine, name, free)
        held = {t: list(b) for t, (_, b) in run["left"].items() if b}
        lost = _lost_input(run["entered"])
        expect(
            lost is None,
            f"{lost} to receive the trip (trip, flight, hotel, car) from the Catch before it",
            f"an input holding only the error: {dict(run['entered']).get(lost or '', '')}",
            "a Catch without ResultPath replaces the state's whole input with the error object, "
            'so the cancellation cannot find $.trip; add "ResultPath": "$.error" to each Catch '
            "(sfn.describe_execution and get_execution_history show each state's input)",
        )
        expect(
            run["status"] == "FAILED",
            f"a trip with no {failing} left to end FAILED (in TripFailed)",
            f"its execution {run['status']}",
            f"give Book{failing.title()} a Catch that leads to the compensations and then to "
            "the Fail state TripFailed",
        )
        expect(
            not held and all(f == free[t] for t, (f, _) in run["left"].items()),
            f"with no {failing} left: every booking cancelled, everything free again",
            f"still booked: {held}",
            "BookCar's Catch goes to CancelHotel, then CancelFlight; BookHotel's Catch goes "
            "straight to CancelFlight (the hotel was never booked)",
        )
        ran = [name for name, _ in run["entered"] if name.startswith("Cancel")]
        wanted = _REVERSE[failing]
        expect(
            ran == wanted,
            f"with no {failing} left, the cancellations in reverse order of the bookings: "
            + " → ".join(wanted),
            "the execution's history: " + (" → ".join(ran) or "no cancellation"),
            "the last booking made is undone first: "
            + (
                "BookCar's Catch → CancelHotel → CancelFlight → TripFailed"
                if failing == "car"
                else "BookHotel's Catch → CancelFlight → TripFailed"
            ),
        )
    return Passed(
        "travel saga",
        "flight, hotel and car booked, or the bookings made cancelled, last one first",
    )


def step_kinds(answer: Any) -> Passed:
    """Exercise 2: each forward step of the purchase is compensatable, pivot or retriable."""
    expect(
        isinstance(answer, dict),
        "a dict from step name to kind",
        type(answer).__name__,
        'write step_kinds = {"Charge": "compensatable", ...}',
    )
    missing = [step for step in STEP_KINDS if step not in answer]
    expect(
        not missing,
        f"a kind for each of {list(STEP_KINDS)}",
        f"missing {missing}",
        "keep the four keys of the skeleton",
    )
    for step, kind in STEP_KINDS.items():
        given = answer[step]
        said = given.strip().lower() if isinstance(given, str) else given
        expect(
            said == kind,
            f"{step} classified as one of compensatable, pivot, retriable (the right one)",
            f"{given!r}" if given is not ... else "... (not filled in)",
            f"think about {step}: {_HINTS[kind]} (run the check again after changing "
            "step_kinds; any casing is fine)",
        )
    return Passed("step kinds", "compensatable, compensatable, pivot, retriable")


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching for the simple patterns of this exercise (source, detail-type)."""
    from moto.events.models import EventPattern

    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))


def refund_alerts(lab: Lab) -> Passed:
    """Exercise 3: a rule 'refund-alerts' sends PaymentRefunded events, and only those."""
    events, sqs = lab.client("events"), lab.client("sqs")
    rules = {r["Name"]: r for r in events.list_rules(EventBusName="shop")["Rules"]}
    expect(
        "refund-alerts" in rules,
        "a rule named 'refund-alerts' on the 'shop' bus",
        f"rules {sorted(rules)}",
        'call route("refund-alerts", refund_pattern, alerts_url)',
    )
    pattern = json.loads(rules["refund-alerts"].get("EventPattern") or "{}")
    probes = [
        ("shop.payments", "PaymentRefunded", True),
        ("shop.payments", "PaymentCharged", False),
        ("shop.orders", "PaymentRefunded", False),
        ("shop.inventory", "StockReleased", False),
    ]
    for source, detail_type, wanted in probes:
        event = {"source": source, "detail-type": detail_type, "detail": {"order_id": "x"}}
        expect(
            _matches(pattern, event) == wanted,
            f"the pattern to {'match' if wanted else 'skip'} {detail_type} from {source}",
            f"pattern {json.dumps(pattern)} does the opposite",
            'match the source ["shop.payments"] and the detail-type ["PaymentRefunded"]',
        )
    try:
        url = sqs.get_queue_url(QueueName="refund-alerts")["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        url = ""
    expect(bool(url), "a queue named 'refund-alerts'", "none", "create it with create_queue")
    waiting = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    expect(
        int(waiting) >= 1,
        "at least one PaymentRefunded event waiting in 'refund-alerts'",
        f"{waiting} messages",
        'place a refunded order (place_order(order("c-9", country="AQ"))) and run '
        "run_until_quiet(lab)",
    )
    return Passed("refund alerts", f"{waiting} refund event(s) reached customer care")
