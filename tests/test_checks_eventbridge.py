"""Lesson 03's checks: each passes on a right answer and fails, with a hint, on typical slips."""

from __future__ import annotations

import json
from typing import Any

import pytest

import labkit
from labkit.checks import CheckFailed, Passed
from labkit.checks import eventbridge as checks
from labkit.lessons import allow_delivery

ORDERS = {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}
GOOD_REFUNDS = {
    "source": ["shop.payments"],
    "detail-type": ["RefundIssued"],
    "detail": {"amount": [{"numeric": [">", 0]}], "currency": [{"anything-but": ["USD"]}]},
}
GOOD_TRANSFORMER = {
    "InputPathsMap": {"order": "$.detail.order_id", "amount": "$.detail.total"},
    "InputTemplate": '{"order": "<order>", "amount": <amount>}',
}


def shop(lab: labkit.Lab) -> str:
    return str(lab.client("events").create_event_bus(Name="shop")["EventBusArn"])


def queue(lab: labkit.Lab, name: str) -> str:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attrs["QueueArn"])


def rule(lab: labkit.Lab, name: str, pattern: dict[str, Any], target: str, **extra: Any) -> None:
    events = lab.client("events")
    rule_arn = events.put_rule(Name=name, EventBusName="shop", EventPattern=json.dumps(pattern))
    if target.split(":")[2] in ("sqs", "sns", "lambda"):
        allow_delivery(lab, rule_arn["RuleArn"], target)
    events.put_targets(
        Rule=name, EventBusName="shop", Targets=[{"Id": "t", "Arn": target, **extra}]
    )


def entry(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "EventBusName": "shop",
    }


def failure(check: Any, lab: labkit.Lab) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught:
        check(lab)
    return caught.value


# -- exercise 1 ------------------------------------------------------------------------------
def test_refund_rule_passes_on_the_worked_answer(lab: labkit.Lab) -> None:
    shop(lab)
    rule(lab, "non-usd-refunds", GOOD_REFUNDS, queue(lab, "refunds"))
    assert isinstance(checks.refund_rule(lab), Passed)


def test_refund_rule_without_a_bus_says_to_create_it(lab: labkit.Lab) -> None:
    error = failure(checks.refund_rule, lab)
    assert "bus named 'shop'" in error.expected and "create_event_bus" in error.hint


def test_refund_rule_missing_is_named(lab: labkit.Lab) -> None:
    shop(lab)
    error = failure(checks.refund_rule, lab)
    assert "non-usd-refunds" in error.expected and "put_rule" in error.hint


@pytest.mark.parametrize(
    ("slip", "pattern", "hint"),
    [
        (
            "zero lets through",
            {
                **GOOD_REFUNDS,
                "detail": {**GOOD_REFUNDS["detail"], "amount": [{"numeric": [">=", 0]}]},
            },
            "zero must not pass",
        ),
        (
            "USD not excluded",
            {**GOOD_REFUNDS, "detail": {"amount": [{"numeric": [">", 0]}]}},
            "anything-but",
        ),
        (
            "no detail-type",
            {k: v for k, v in GOOD_REFUNDS.items() if k != "detail-type"},
            "RefundIssued",
        ),
        ("no source", {k: v for k, v in GOOD_REFUNDS.items() if k != "source"}, "shop.payments"),
        (
            "conditions outside detail",
            {"source": ["shop.payments"], "detail-type": ["RefundIssued"], "currency": ["EUR"]},
            'inside "detail"',
        ),
    ],
)
def test_refund_rule_names_the_sample_it_gets_wrong(
    embedded_lab: labkit.Lab, slip: str, pattern: dict[str, Any], hint: str
) -> None:
    shop(embedded_lab)
    rule(embedded_lab, "non-usd-refunds", pattern, queue(embedded_lab, "refunds"))
    error = failure(checks.refund_rule, embedded_lab)
    assert hint in error.hint, slip
    assert "pattern:" in error.found


def test_refund_rule_with_the_wrong_target(lab: labkit.Lab) -> None:
    shop(lab)
    rule(lab, "non-usd-refunds", GOOD_REFUNDS, queue(lab, "refund"))
    error = failure(checks.refund_rule, lab)
    assert "queue 'refunds'" in error.expected and ":refund" in error.found


# -- exercise 2 ------------------------------------------------------------------------------
def receipts(lab: labkit.Lab, transformer: dict[str, Any] | None, *, put: bool = True) -> None:
    shop(lab)
    extra = {"InputTransformer": transformer} if transformer else {}
    rule(lab, "receipts", ORDERS, queue(lab, "receipts"), **extra)
    if put:
        lab.client("events").put_events(
            Entries=[entry("shop.orders", "OrderPlaced", {"order_id": "o-12", "total": 42})]
        )


def test_receipt_transformer_passes_and_leaves_the_receipt_in_place(lab: labkit.Lab) -> None:
    receipts(lab, GOOD_TRANSFORMER)
    assert isinstance(checks.receipt_transformer(lab), Passed)
    assert isinstance(checks.receipt_transformer(lab), Passed)  # peeking consumed nothing


def test_receipt_without_transformer(lab: labkit.Lab) -> None:
    receipts(lab, None)
    assert "InputTransformer" in failure(checks.receipt_transformer, lab).expected


def test_receipt_with_the_amount_quoted(lab: labkit.Lab) -> None:
    quoted = {**GOOD_TRANSFORMER, "InputTemplate": '{"order": "<order>", "amount": "<amount>"}'}
    receipts(lab, quoted)
    error = failure(checks.receipt_transformer, lab)
    assert "without quotes" in error.hint and '"42"' in error.found


def test_receipt_with_a_wrong_path(lab: labkit.Lab) -> None:
    wrong = {
        **GOOD_TRANSFORMER,
        "InputPathsMap": {"order": "$.order_id", "amount": "$.detail.total"},
    }
    receipts(lab, wrong)
    assert "$.detail.order_id" in failure(checks.receipt_transformer, lab).expected


def test_receipt_before_any_order(lab: labkit.Lab) -> None:
    receipts(lab, GOOD_TRANSFORMER, put=False)
    error = failure(checks.receipt_transformer, lab)
    assert error.found == "an empty queue" and "put_events" in error.hint


# -- exercise 3 ------------------------------------------------------------------------------
def payments(lab: labkit.Lab, archive_pattern: dict[str, Any] | None, *, replay: bool) -> None:
    bus = shop(lab)
    rule(lab, "non-usd-refunds", GOOD_REFUNDS, queue(lab, "refunds"))
    events = lab.client("events")
    kwargs = {"EventPattern": json.dumps(archive_pattern)} if archive_pattern else {}
    archive = events.create_archive(ArchiveName="payments-archive", EventSourceArn=bus, **kwargs)
    start = lab.clock.now()
    events.put_events(
        Entries=[
            entry(
                "shop.payments",
                "RefundIssued",
                {"refund_id": "r-1", "amount": 25, "currency": "EUR"},
            ),
            entry(
                "shop.payments",
                "RefundIssued",
                {"refund_id": "r-2", "amount": 30, "currency": "USD"},
            ),
        ]
    )
    if replay:
        events.start_replay(
            ReplayName="payments-replay",
            EventSourceArn=archive["ArchiveArn"],
            EventStartTime=start,
            EventEndTime=lab.clock.now(),
            Destination={"Arn": bus},
        )


def test_payments_replay_passes_on_the_worked_answer(lab: labkit.Lab) -> None:
    payments(lab, {"source": ["shop.payments"]}, replay=True)
    assert isinstance(checks.payments_replay(lab), Passed)


def test_payments_archive_that_keeps_everything(lab: labkit.Lab) -> None:
    payments(lab, None, replay=True)
    error = failure(checks.payments_replay, lab)
    assert "keeps every event" in error.found and "shop.payments" in error.hint


def test_payments_without_a_replay(lab: labkit.Lab) -> None:
    payments(lab, {"source": ["shop.payments"]}, replay=False)
    error = failure(checks.payments_replay, lab)
    assert "payments-replay" in error.expected and "start_replay" in error.hint


def test_payments_archive_created_after_the_events(lab: labkit.Lab) -> None:
    bus = shop(lab)
    lab.client("events").put_events(
        Entries=[entry("shop.payments", "RefundIssued", {"amount": 1, "currency": "EUR"})]
    )
    lab.client("events").create_archive(
        ArchiveName="payments-archive",
        EventSourceArn=bus,
        EventPattern=json.dumps({"source": ["shop.payments"]}),
    )
    error = failure(checks.payments_replay, lab)
    assert "only keeps events put after it exists" in error.hint


# -- exercise 4 ------------------------------------------------------------------------------
def test_nightly_report_wrong_schedule(lab: labkit.Lab) -> None:
    events = lab.client("events")
    events.put_rule(Name="nightly-report", ScheduleExpression="cron(0 14 * * ? *)")
    error = failure(checks.nightly_report, lab)
    assert "cron(0 2 * * ? *)" in error.expected and "cron(0 14" in error.found


def test_nightly_report_missing_target(lab: labkit.Lab) -> None:
    queue(lab, "reports")
    lab.client("events").put_rule(Name="nightly-report", ScheduleExpression="cron(0 2 * * ? *)")
    error = failure(checks.nightly_report, lab)
    assert "reports" in error.expected and error.found == "targets none"


# -- the matcher the checks use --------------------------------------------------------------
@pytest.mark.parametrize(
    ("probe", "verdict"),
    [(p, p.should_match) for p in checks.REFUND_PROBES],
    ids=[p.description for p in checks.REFUND_PROBES],
)
def test_the_worked_pattern_sorts_every_probe(probe: checks.Probe, verdict: bool) -> None:
    assert checks.pattern_matches(GOOD_REFUNDS, probe.event()) is verdict


def test_refund_rule_hint_says_which_field_turned_a_wanted_refund_away(lab: labkit.Lab) -> None:
    # a minimum of 1 keeps out the 0.5 GBP refund; the explainer names the field and the bound
    shop(lab)
    strict = {
        **GOOD_REFUNDS,
        "detail": {**GOOD_REFUNDS["detail"], "amount": [{"numeric": [">=", 1]}]},
    }
    rule(lab, "non-usd-refunds", strict, queue(lab, "refunds"))
    error = failure(checks.refund_rule, lab)
    assert "0.5 GBP" in error.expected
    assert error.hint.startswith('The event field "detail.amount" is 0.5')
    assert ">= 1" in error.hint and "For this exercise:" in error.hint


# -- answers written differently from the solution, that AWS accepts ---------------------------
def test_receipt_transformer_accepts_the_unquoted_placeholder_aws_documents(
    lab: labkit.Lab,
) -> None:
    # {"order": <order>} gives the value's JSON: "o-12" arrives with its quotes
    unquoted = {**GOOD_TRANSFORMER, "InputTemplate": '{"order": <order>, "amount": <amount>}'}
    receipts(lab, unquoted)
    assert isinstance(checks.receipt_transformer(lab), Passed)


def nightly(lab: labkit.Lab, schedule: str) -> None:
    arn = queue(lab, "reports")
    events = lab.client("events")
    rule = events.put_rule(Name="nightly-report", ScheduleExpression=schedule)
    allow_delivery(lab, rule["RuleArn"], arn)
    events.put_targets(Rule="nightly-report", Targets=[{"Id": "reports", "Arn": arn}])
    lab.advance(minutes=2 * 24 * 60)


@pytest.mark.parametrize("schedule", ["cron(0 2 ? * * *)", "cron(00 02 * * ? *)"])
def test_nightly_report_accepts_equivalent_crons(embedded_lab: labkit.Lab, schedule: str) -> None:
    nightly(embedded_lab, schedule)
    assert isinstance(checks.nightly_report(embedded_lab), Passed)


@pytest.mark.parametrize(
    ("schedule", "found"),
    [("cron(0 2 ? * MON-FRI *)", "MON-FRI"), ("rate(1 day)", "rate(1 day)")],
)
def test_nightly_report_refuses_a_schedule_that_is_not_every_night_at_two(
    embedded_lab: labkit.Lab, schedule: str, found: str
) -> None:
    nightly(embedded_lab, schedule)
    error = failure(checks.nightly_report, embedded_lab)
    assert "every day at 02:00 UTC" in error.expected and found in error.found


def test_refund_rule_passes_on_a_pattern_worded_differently(embedded_lab: labkit.Lab) -> None:
    # anything-but with a single string, and a positive amount as a range with two bounds
    other = {
        "source": ["shop.payments"],
        "detail-type": ["RefundIssued"],
        "detail": {
            "amount": [{"numeric": [">", 0, "<=", 1e9]}],
            "currency": [{"anything-but": "USD"}],
        },
    }
    shop(embedded_lab)
    rule(embedded_lab, "non-usd-refunds", other, queue(embedded_lab, "refunds"))
    assert isinstance(checks.refund_rule(embedded_lab), Passed)


def test_payments_replay_passes_with_an_archive_pattern_worded_differently(
    embedded_lab: labkit.Lab,
) -> None:
    payments(embedded_lab, {"source": [{"prefix": "shop.payments"}]}, replay=True)
    assert isinstance(checks.payments_replay(embedded_lab), Passed)


# -- exercise 5 ------------------------------------------------------------------------------
def _returns(lab: labkit.Lab, *, fixed: bool) -> None:
    events, sqs = lab.client("events"), lab.client("sqs")
    shop(lab)
    rule = events.put_rule(Name="returns", EventBusName="shop", EventPattern=json.dumps(ORDERS))
    arns = {}
    for name in ("returns", "returns-failed"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arns[name] = attrs["Attributes"]["QueueArn"]
    allow_delivery(lab, rule["RuleArn"], arns["returns-failed"])
    if fixed:
        allow_delivery(lab, rule["RuleArn"], arns["returns"])
    target = {
        "Id": "r",
        "Arn": arns["returns"],
        "DeadLetterConfig": {"Arn": arns["returns-failed"]},
    }
    events.put_targets(Rule="returns", EventBusName="shop", Targets=[target])


def test_returns_target_passes_on_the_worked_answer(lab: labkit.Lab) -> None:
    _returns(lab, fixed=True)
    assert isinstance(checks.returns_target(lab), Passed)


def test_returns_target_names_the_refusal(embedded_lab: labkit.Lab) -> None:
    _returns(embedded_lab, fixed=False)
    with pytest.raises(CheckFailed) as failed:
        checks.returns_target(embedded_lab)
    assert "no statement allows it" in str(failed.value)
