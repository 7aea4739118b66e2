"""labkit.checks.lambda_consumers: each check fails, with the cause in its hint, on plausible
wrong answers, and passes on right answers written otherwise than the worked solutions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import labkit
from labkit.checks import CheckFailed, Passed
from labkit.checks import lambda_consumers as checks
from labkit.lessons.decoupling import send_orders
from tests.scenarios import queue_arn

COUNTRIES = {"FR", "DE", "PT", "NL"}


@pytest.fixture(scope="module")
def lab() -> Iterator[labkit.Lab]:
    the_lab = labkit.start_lab(seed=8)
    yield the_lab
    the_lab.stop()


def _payments(lab: labkit.Lab, visibility: str, receives: Any, **mapping: Any) -> None:
    """The exercise's setup, then a learner's wiring with these values."""
    lab.reset()
    fn = lab.functions.deploy(
        "payments", lambda e, c: None, timeout=20, concurrency=10, duration=2.0
    )
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="payments-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": queue_arn(lab, dlq), "maxReceiveCount": receives})
    url = sqs.create_queue(
        QueueName="payments", Attributes={"VisibilityTimeout": visibility, "RedrivePolicy": policy}
    )["QueueUrl"]
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn(lab, url), FunctionName=fn.arn, **mapping
    )


REPORT = {"FunctionResponseTypes": ["ReportBatchItemFailures"]}


@pytest.mark.parametrize(
    ("visibility", "receives", "mapping", "wrong"),
    [
        ("60", 5, {**REPORT, "ScalingConfig": {"MaximumConcurrency": 5}}, "six x|6 x"),
        ("120", 3, {**REPORT, "ScalingConfig": {"MaximumConcurrency": 5}}, "maxReceiveCount"),
        ("120", 5, {"ScalingConfig": {"MaximumConcurrency": 5}}, "ReportBatchItemFailures"),
        ("120", 5, REPORT, "no ScalingConfig"),
        (
            "120",
            5,
            {**REPORT, "ScalingConfig": {"MaximumConcurrency": 10}},
            "MaximumConcurrency 10",
        ),
    ],
)
def test_payments_wiring_names_what_is_missing(
    lab: labkit.Lab, visibility: str, receives: int, mapping: dict, wrong: str
) -> None:
    _payments(lab, visibility, receives, **mapping)
    with pytest.raises(CheckFailed, match=wrong):
        checks.payments_wiring(lab)


def test_payments_wiring_wants_the_function_then_the_queues(lab: labkit.Lab) -> None:
    lab.reset()
    with pytest.raises(CheckFailed, match="the function 'payments'"):
        checks.payments_wiring(lab)
    lab.functions.deploy("payments", lambda e, c: None, timeout=20)
    with pytest.raises(CheckFailed, match="a queue named 'payments'"):
        checks.payments_wiring(lab)


def test_payments_wiring_takes_a_right_answer_written_otherwise(lab: labkit.Lab) -> None:
    # a longer timeout than six times, the count as text, the function's ARN, a lower cap
    _payments(lab, "150", "6", **REPORT, ScalingConfig={"MaximumConcurrency": 3})
    passed = checks.payments_wiring(lab)
    assert isinstance(passed, Passed) and "at most 3 of 3 invocations at once" in str(passed)


# -- exercise 2 ---------------------------------------------------------------------------------
def _ship(lab: labkit.Lab, handler: Callable[[dict, Any], Any]) -> tuple[Any, list[str]]:
    """The exercise's setup, the learner's handler deployed, the shipments sent and run."""
    lab.reset()
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="shipments-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": queue_arn(lab, dlq), "maxReceiveCount": 5})
    url = sqs.create_queue(
        QueueName="shipments", Attributes={"VisibilityTimeout": "60", "RedrivePolicy": policy}
    )["QueueUrl"]
    lab.functions.deploy("shipping", lambda e, c: None, timeout=10, duration=1.0)
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn(lab, url), FunctionName="shipping", BatchSize=10, **REPORT
    )
    shipped: list[str] = []
    lab.functions.deploy("shipping", lambda e, c: handler(e, shipped), timeout=10, duration=1.0)
    send_orders(sqs, url, [json.dumps({"id": i, "country": c}) for i, c in checks.SHIPMENTS])
    return lab.functions.run_until_idle(), shipped


def _raises(event: dict, shipped: list[str]) -> None:
    for record in event["Records"]:
        shipment = json.loads(record["body"])
        if shipment["country"] not in COUNTRIES:
            raise KeyError(shipment["country"])
        shipped.append(shipment["id"])


def _reports_bodies(event: dict, shipped: list[str]) -> dict:
    failures = []
    for record in event["Records"]:
        shipment = json.loads(record["body"])
        if shipment["country"] not in COUNTRIES:
            failures.append({"itemIdentifier": record["body"]})
        else:
            shipped.append(shipment["id"])
    return {"batchItemFailures": failures}


def _skips(event: dict, shipped: list[str]) -> None:
    for record in event["Records"]:
        shipment = json.loads(record["body"])
        if shipment["country"] in COUNTRIES:
            shipped.append(shipment["id"])


def _reports_with_try(event: dict, shipped: list[str]) -> dict:
    """Right, written otherwise: try/except per record, the failures as a comprehension."""
    bad = []
    for record in event["Records"]:
        try:
            shipment = json.loads(record["body"])
            {"FR": 1, "DE": 1, "PT": 1, "NL": 1}[shipment["country"]]
        except KeyError:
            bad.append(record["messageId"])
        else:
            shipped.append(shipment["id"])
    return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}


@pytest.mark.parametrize(
    ("handler", "wrong"),
    [
        (_raises, "shipped 5 times"),
        (_reports_bodies, "each itemIdentifier the messageId"),
        (_skips, "deletes it"),
    ],
)
def test_partial_failures_names_the_cause(
    lab: labkit.Lab, handler: Callable[[dict, Any], Any], wrong: str
) -> None:
    run, shipped = _ship(lab, handler)
    with pytest.raises(CheckFailed, match=wrong):
        checks.partial_failures(lab, run, shipped)


def test_partial_failures_takes_a_right_answer_written_otherwise(lab: labkit.Lab) -> None:
    run, shipped = _ship(lab, _reports_with_try)
    assert isinstance(checks.partial_failures(lab, run, shipped), Passed)
    with pytest.raises(CheckFailed, match="the list `shipped`"):
        checks.partial_failures(lab, run, None)
