"""labkit's bridges, checked against the behaviour the AWS documentation describes."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.lab.backends import Backend
from labkit.lessons import allow_delivery
from labkit.lessons.inbox import take_all
from labkit.local import bridges
from labkit.local.clock import Clock
from labkit.moto_patches.schedule_expressions import InvalidSchedule, parse_schedule
from labkit.trace.routing import MOTO_NATIVE_TARGETS
from tests.scenarios import finished, state_machine

#: The services of the targets a lab's rules can name: queues, topics, functions, state
#: machines, log groups and other buses.
TARGET_SERVICES = {"sqs", "sns", "lambda", "states", "logs", "events"}


def make_queue(lab: labkit.Lab, name: str, **attributes: str) -> tuple[str, str]:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"]


def bodies(lab: labkit.Lab, url: str) -> list[str]:
    return [m["Body"] for m in take_all(lab, url)]


def put_order(lab: labkit.Lab, detail: dict[str, Any] | None = None) -> str:
    answer = lab.client("events").put_events(
        Entries=[
            {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps(detail or {})}
        ]
    )
    return str(answer["Entries"][0]["EventId"])


def rule_to(lab: labkit.Lab, target: dict[str, Any], name: str = "orders") -> str:
    events = lab.client("events")
    arn = events.put_rule(Name=name, EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    if target["Arn"].split(":")[2] in ("sqs", "sns", "lambda"):
        allow_delivery(lab, arn, target["Arn"])
    events.put_targets(Rule=name, Targets=[target])
    return str(arn)


def test_every_target_is_delivered_by_moto_or_by_a_bridge_never_both() -> None:
    """The tracer infers only moto's own deliveries; a bridge records each of the others."""
    bridged = set(bridges.BRIDGED_TARGETS)
    assert not MOTO_NATIVE_TARGETS & bridged
    assert MOTO_NATIVE_TARGETS | bridged == TARGET_SERVICES


# -- EventBridge -> SNS ----------------------------------------------------------------------
def test_eventbridge_to_sns_publishes_the_event_and_the_topic_fans_out(lab: labkit.Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(lab, "billing")
    allow_delivery(lab, topic, arn)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    rule = rule_to(lab, {"Id": "topic", "Arn": topic})
    event_id = put_order(lab, {"total": 30})
    (body,) = bodies(lab, url)
    envelope = json.loads(body)
    assert envelope["TopicArn"] == topic
    event = json.loads(envelope["Message"])
    assert event["id"] == event_id and event["detail"] == {"total": 30}
    assert event["source"] == "shop" and event["detail-type"] == "OrderPlaced"
    assert isinstance(event["time"], str) and event["time"].endswith("Z")
    hops = [(h.source, h.target, h.kind, h.via) for h in lab.tracer.hops]
    assert (rule, topic, "delivered", "labkit") in hops
    assert any(s == topic and t == arn and k == "delivered" for s, t, k, _ in hops)


def test_bridged_targets_honour_input_and_input_transformer(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(lab, "inbox")
    allow_delivery(lab, topic, arn)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    events = lab.client("events")
    rule = events.put_rule(Name="r", EventPattern=json.dumps({"source": ["shop"]}))
    allow_delivery(lab, rule["RuleArn"], topic)
    events.put_targets(
        Rule="r",
        Targets=[
            {"Id": "const", "Arn": topic, "Input": json.dumps({"fixed": True})},
            {
                "Id": "shaped",
                "Arn": topic,
                "InputTransformer": {
                    "InputPathsMap": {"total": "$.detail.total"},
                    "InputTemplate": '{"amount": <total>}',
                },
            },
        ],
    )
    put_order(lab, {"total": 7})
    assert sorted(bodies(lab, url)) == sorted(['{"fixed": true}', '{"amount": 7}'])


# -- EventBridge -> Step Functions ------------------------------------------------------------
def test_eventbridge_to_step_functions_starts_an_execution_with_the_event(
    lab: labkit.Lab,
) -> None:
    sfn = lab.client("stepfunctions")
    machine = state_machine(lab, "saga")
    rule = rule_to(lab, {"Id": "saga", "Arn": machine})
    event_id = put_order(lab, {"order": 9})
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    started_with = json.loads(described["input"])
    assert started_with["id"] == event_id and started_with["detail"] == {"order": 9}
    assert finished(sfn, executions[0]["executionArn"]) == "SUCCEEDED"
    assert (rule, machine, "started", "labkit") in [
        (h.source, h.target, h.kind, h.via) for h in lab.tracer.hops
    ]


# -- -> functions ----------------------------------------------------------------------------
def test_eventbridge_to_function_gives_the_handler_the_event(lab: labkit.Lab) -> None:
    got: list[Any] = []
    fn = lab.functions.deploy("notify", lambda event, context: got.append(event))
    rule = rule_to(lab, {"Id": "fn", "Arn": fn.arn})
    event_id = put_order(lab, {"order": 1})
    result = lab.functions.run_until_idle()
    assert [e["id"] for e in got] == [event_id]
    assert got[0]["detail"] == {"order": 1} and got[0]["source"] == "shop"
    assert "ingestion-time" not in got[0]
    (invocation,) = result.invocations
    assert (invocation.trigger, invocation.source, invocation.outcome) == ("events", rule, "ok")
    hops = [(h.source, h.target, h.kind, h.via) for h in lab.tracer.hops]
    assert (rule, fn.arn, "delivered", "labkit") in hops
    assert (rule, fn.arn, "processed", "labkit") in hops


def test_sns_to_function_uses_lambdas_sns_record(lab: labkit.Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    got: list[Any] = []
    fn = lab.functions.deploy("audit", lambda event, context: got.append(event))
    allow_delivery(lab, topic, fn.arn)
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=fn.arn,
        Attributes={"FilterPolicy": json.dumps({"kind": ["big"]})},
    )["SubscriptionArn"]
    attrs = {"kind": {"DataType": "String", "StringValue": "big"}}
    kept = sns.publish(TopicArn=topic, Message="hello", Subject="hi", MessageAttributes=attrs)
    small = {"kind": {"DataType": "String", "StringValue": "small"}}
    sns.publish(TopicArn=topic, Message="filtered out", MessageAttributes=small)
    lab.functions.run_until_idle()
    assert len(got) == 1
    (record,) = got[0]["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == subscription
    message = record["Sns"]
    assert message["Type"] == "Notification" and message["TopicArn"] == topic
    assert message["MessageId"] == kept["MessageId"] and message["Message"] == "hello"
    assert message["Subject"] == "hi"
    assert message["MessageAttributes"] == {"kind": {"Type": "String", "Value": "big"}}
    assert {"Timestamp", "Signature", "SigningCertUrl", "UnsubscribeUrl"} <= set(message)


def test_failed_async_invocations_retry_twice_then_go_to_the_functions_dlq(
    embedded_lab: labkit.Lab,
) -> None:
    lab = embedded_lab
    dlq, _ = make_queue(lab, "notify-dlq")

    def handler(event: Any, context: Any) -> None:
        raise RuntimeError("mail server down")

    fn = lab.functions.deploy("notify", handler, dead_letter=dlq)
    rule_to(lab, {"Id": "fn", "Arn": fn.arn})
    event_id = put_order(lab)
    result = lab.functions.run_until_idle()
    assert [(round(i.time), i.attempt) for i in result.invocations] == [(0, 1), (60, 2), (180, 3)]
    assert result.retried == 2 and list(result.dead_lettered) == [event_id]
    sqs = lab.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"])["id"] == event_id
    assert set(message["MessageAttributes"]) == {"RequestID", "ErrorCode", "ErrorMessage"}
    assert "mail server down" in message["MessageAttributes"]["ErrorMessage"]["StringValue"]


def test_without_a_dlq_the_event_is_discarded_after_the_retries(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    fn = lab.functions.deploy("notify", lambda e, c: 1 / 0, retries=0)
    rule_to(lab, {"Id": "fn", "Arn": fn.arn})
    event_id = put_order(lab)
    result = lab.functions.run_until_idle()
    assert len(result.invocations) == 1 and list(result.discarded) == [event_id]


# -- rules -----------------------------------------------------------------------------------
def test_a_disabled_rule_delivers_nothing(lab: labkit.Lab) -> None:
    url, arn = make_queue(lab, "inbox")
    rule_to(lab, {"Id": "q", "Arn": arn})
    lab.client("events").disable_rule(Name="orders")
    put_order(lab)
    assert bodies(lab, url) == []
    lab.client("events").enable_rule(Name="orders")
    put_order(lab)
    assert len(bodies(lab, url)) == 1


def test_a_scheduled_rule_fires_on_the_lab_clock(lab: labkit.Lab) -> None:
    url, arn = make_queue(lab, "ticks")
    events = lab.client("events")
    rule = events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")["RuleArn"]
    allow_delivery(lab, rule, arn)
    events.put_targets(Rule="every-minute", Targets=[{"Id": "q", "Arn": arn}])
    lab.advance(59)
    assert bodies(lab, url) == []
    lab.advance(10 * 60 - 59)
    fired = [json.loads(b) for b in bodies(lab, url)]
    assert len(fired) == 10
    assert {e["detail-type"] for e in fired} == {"Scheduled Event"}
    assert {e["source"] for e in fired} == {"aws.events"}
    assert all(e["resources"] == [rule] and e["detail"] == {} for e in fired)
    assert sorted(e["time"] for e in fired)[:2] == ["2026-01-05T09:01:00Z", "2026-01-05T09:02:00Z"]
    assert any(h.source == rule and h.via == "labkit" for h in lab.tracer.hops)


def test_a_scheduled_rule_invokes_a_function_at_each_firing(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    at: list[float] = []
    fn = lab.functions.deploy("tick", lambda e, c: at.append(lab.functions.now()))
    events = lab.client("events")
    rule = events.put_rule(Name="five", ScheduleExpression="rate(5 minutes)")
    allow_delivery(lab, rule["RuleArn"], fn.arn)
    events.put_targets(Rule="five", Targets=[{"Id": "f", "Arn": fn.arn}])
    lab.functions.run(seconds=30 * 60)
    assert at == [300.0 * k for k in range(1, 7)]


def test_disabled_schedules_do_not_fire(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, arn = make_queue(lab, "ticks")
    events = lab.client("events")
    rule = events.put_rule(Name="m", ScheduleExpression="rate(1 minute)", State="DISABLED")
    allow_delivery(lab, rule["RuleArn"], arn)
    events.put_targets(Rule="m", Targets=[{"Id": "q", "Arn": arn}])
    lab.advance(300)
    assert bodies(lab, url) == []


MONDAY_9 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", ["09:01 05", "09:02 05", "09:03 05"]),
        ("rate(2 hours)", ["11:00 05", "13:00 05", "15:00 05"]),
        ("cron(0/15 * * * ? *)", ["09:15 05", "09:30 05", "09:45 05"]),
        ("cron(0 12 * * ? *)", ["12:00 05", "12:00 06", "12:00 07"]),
        ("cron(30 8 ? * MON-FRI *)", ["08:30 06", "08:30 07", "08:30 08"]),
        ("cron(0 10 ? * 1 *)", ["10:00 11", "10:00 18", "10:00 25"]),  # 1 is Sunday
        ("cron(0 0 L * ? *)", ["00:00 31", "00:00 28", "00:00 31"]),  # last day of the month
        ("cron(0 9 1,15 * ? *)", ["09:00 15", "09:00 01", "09:00 15"]),
    ],
)
def test_schedule_expressions_follow_the_aws_syntax(expression: str, expected: list[str]) -> None:
    schedule = parse_schedule(expression)
    at, found = MONDAY_9, []
    for _ in expected:
        at = schedule.next_after(at, MONDAY_9)
        found.append(at.strftime("%H:%M %d"))
    assert found == expected


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(5 weeks)",
        "cron(0 12 * * *)",
        "cron(0 12 * * * *)",
        "cron(0 12 ? * ? *)",
        "cron(61 * * * ? *)",
        "every minute",
    ],
)
def test_invalid_schedule_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(InvalidSchedule):
        parse_schedule(expression)


def test_put_rule_refuses_an_invalid_schedule_and_keeps_no_rule(embedded_lab: labkit.Lab) -> None:
    events = embedded_lab.client("events")
    with pytest.raises(ClientError) as caught:
        events.put_rule(Name="nightly", ScheduleExpression="cron(0 2 * * * *)")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Parameter ScheduleExpression is not valid." in str(caught.value)
    assert events.list_rules()["Rules"] == []


# -- redrive ---------------------------------------------------------------------------------
def dead_letter_setup(lab: labkit.Lab, messages: list[str]) -> tuple[str, str, str, str]:
    dlq, dlq_arn = make_queue(lab, "orders-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url, arn = make_queue(lab, "orders", VisibilityTimeout="5", RedrivePolicy=policy)
    sqs = lab.client("sqs")
    for body in messages:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    lab.advance(6)
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None
    return url, arn, dlq, dlq_arn


def test_redrive_moves_messages_back_to_their_source_queue(lab: labkit.Lab) -> None:
    url, arn, dlq, dlq_arn = dead_letter_setup(lab, ["a", "b"])
    sqs = lab.client("sqs")
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert sorted(m["Body"] for m in got) == ["a", "b"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in got} == {"1"}
    assert bodies(lab, dlq) == []
    (task,) = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert task["Status"] == "COMPLETED" and task["SourceArn"] == dlq_arn
    assert task["ApproximateNumberOfMessagesMoved"] == 2
    assert task["ApproximateNumberOfMessagesToMove"] == 2
    assert "DestinationArn" not in task and "TaskHandle" not in task
    assert sum(h.kind == "redriven" and h.target == arn for h in lab.tracer.hops) == 2


def test_redrive_to_a_given_destination(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, arn, dlq, dlq_arn = dead_letter_setup(lab, ["a"])
    other, other_arn = make_queue(lab, "manual-review")
    sqs = lab.client("sqs")
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=other_arn)
    assert bodies(lab, other) == ["a"] and bodies(lab, url) == []
    (task,) = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert task["DestinationArn"] == other_arn


def test_redrive_needs_a_dead_letter_queue(lab: labkit.Lab) -> None:
    _, arn = make_queue(lab, "plain")
    sqs = lab.client("sqs")
    with pytest.raises(sqs.exceptions.ClientError, match="Dead Letter Queue"):
        sqs.start_message_move_task(SourceArn=arn)


# -- where the bridges are on ----------------------------------------------------------------
URL = "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        (Backend("embedded", is_moto=True, virtual_clock=True), True),
        (Backend("endpoint", URL, is_moto=True, virtual_clock=True), True),
        (Backend("endpoint", URL, is_moto=True, virtual_clock=False), False),
        (Backend("endpoint", URL, is_moto=False, virtual_clock=False), False),
        (Backend("aws", is_moto=False, virtual_clock=False), False),
    ],
)
def test_bridges_are_off_where_the_backend_delivers_itself(
    backend: Backend, expected: bool
) -> None:
    """Only moto in this process or a labkit server runs labkit's bridges."""
    hooks = SimpleNamespace(on=lambda *a: None, on_stop=lambda *a: None, on_reset=lambda *a: None)
    made = bridges.Bridges(
        hooks=hooks,  # type: ignore[arg-type]
        clock=Clock(virtual=False),
        hops=None,  # type: ignore[arg-type]
        in_process=backend.name == "embedded",
        server_url=backend.endpoint_url if backend.labkit_server else None,
    )
    assert made.active is expected
