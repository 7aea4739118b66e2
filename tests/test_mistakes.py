"""Learner mistakes, as a table: each is answered by an error of the right class that names what
was expected, what was found and what to do (and the parameter involved, where there is one).

A mistake AWS refuses answers with AWS's error code (a botocore ClientError), its message followed
by labkit's advice; a misuse of the lab answers with a LabError. No mistake may end in a raw
Python error (KeyError, JSONDecodeError, "not enough values to unpack"...).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit import Faults
from labkit.errors import LabError
from labkit.lessons import key_table, subscriber_queue, take_all
from tests.scenarios import queue_arn

ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Mistake:
    """What a learner writes (`attempt(lab)`), what should answer, and what the answer names."""

    name: str
    attempt: Callable[[labkit.Lab], Any]
    error: str  # an AWS error code, or the name of a LabError class
    names: tuple[str, ...] = ()  # words the answer must contain (the parameter, the value)


def _queue(lab: labkit.Lab, name: str = "orders", **attributes: str) -> str:
    return str(lab.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _received(lab: labkit.Lab) -> tuple[str, str]:
    url = _queue(lab)
    lab.client("sqs").send_message(QueueUrl=url, MessageBody="o-1")
    got = lab.client("sqs").receive_message(QueueUrl=url)["Messages"][0]
    return url, got["ReceiptHandle"]


def _stream_table(lab: labkit.Lab) -> str:
    """A table with a stream; the stream's ARN."""
    stream = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    table = key_table(lab.client("dynamodb"), "outbox", "event_id", StreamSpecification=stream)
    return str(table["LatestStreamArn"])


def _stream_mapping(lab: labkit.Lab) -> Any:
    """A stream mapping made with boto3 without StartingPosition."""
    stream = _stream_table(lab)
    lab.functions.deploy("publisher", lambda event, context: None)
    return lab.client("lambda").create_event_source_mapping(
        EventSourceArn=stream, FunctionName="publisher"
    )


def _topic(lab: labkit.Lab, name: str = "orders") -> str:
    return str(lab.client("sns").create_topic(Name=name)["TopicArn"])


def _subscribe(lab: labkit.Lab, policy: Any, **attributes: str) -> Any:
    topic = _topic(lab)
    url = _queue(lab, "billing")
    return lab.client("sns").subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn(lab, url),
        Attributes={"FilterPolicy": policy if isinstance(policy, str) else json.dumps(policy)}
        | attributes,
    )


def _rule(lab: labkit.Lab, pattern: Any) -> Any:
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return lab.client("events").put_rule(Name="orders", EventPattern=text)


def _machine(lab: labkit.Lab, definition: Any) -> Any:
    return lab.client("stepfunctions").create_state_machine(
        name="saga",
        definition=definition if isinstance(definition, str) else json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/saga",
    )


PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
SQS = "sqs"


def sqs(lab: labkit.Lab) -> Any:
    return lab.client(SQS)


def _receive_with(name: str, parameter: str, value: int) -> Mistake:
    """A receive with `parameter` out of AWS's range, refused naming it and the value."""
    return Mistake(
        name,
        lambda lab: sqs(lab).receive_message(QueueUrl=_queue(lab), **{parameter: value}),
        "InvalidParameterValue",
        (parameter, str(value)),
    )


def _queue_attribute(name: str, attribute: str, value: str) -> Mistake:
    """A queue created with `attribute` out of AWS's range, refused naming it and the value."""
    return Mistake(
        name,
        lambda lab: _queue(lab, **{attribute: value}),
        "InvalidAttributeValue",
        (attribute, value),
    )


MISTAKES = [
    # -- SQS: parameters and attributes out of AWS's ranges
    _receive_with("receive with a negative visibility timeout", "VisibilityTimeout", -1),
    _receive_with("receive with a visibility timeout over 12 hours", "VisibilityTimeout", 43201),
    Mistake(
        "change visibility to a negative timeout",
        lambda lab: sqs(lab).change_message_visibility(
            QueueUrl=_received(lab)[0], ReceiptHandle=_received(lab)[1], VisibilityTimeout=-5
        ),
        "InvalidParameterValue",
        ("VisibilityTimeout", "-5"),
    ),
    _queue_attribute(
        "create a queue with a 50,000 s visibility timeout", "VisibilityTimeout", "50000"
    ),
    _queue_attribute("create a queue with a delay of 901 s", "DelaySeconds", "901"),
    _queue_attribute("create a queue that keeps messages 30 s", "MessageRetentionPeriod", "30"),
    _queue_attribute("create a queue for 2 MB messages", "MaximumMessageSize", "2097152"),
    _queue_attribute("create a queue that long-polls 30 s", "ReceiveMessageWaitTimeSeconds", "30"),
    _receive_with("receive with a 25 s wait", "WaitTimeSeconds", 25),
    _receive_with("receive 20 messages at once", "MaxNumberOfMessages", 20),
    Mistake(
        "send with a negative delay",
        lambda lab: sqs(lab).send_message(QueueUrl=_queue(lab), MessageBody="x", DelaySeconds=-1),
        "InvalidParameterValue",
        ("DelaySeconds", "-1"),
    ),
    Mistake(
        "a Number attribute that is not a number",
        lambda lab: sqs(lab).send_message(
            QueueUrl=_queue(lab),
            MessageBody="x",
            MessageAttributes={"total": {"DataType": "Number", "StringValue": "abc"}},
        ),
        "InvalidParameterValue",
        ("total", "abc"),
    ),
    Mistake(
        "a redrive policy that is not JSON",
        lambda lab: _queue(lab, RedrivePolicy="deadLetterTargetArn=orders-dlq"),
        "InvalidParameterValue",
        ("RedrivePolicy",),
    ),
    Mistake(
        "a redrive policy naming a dead-letter queue that does not exist",
        lambda lab: _queue(
            lab,
            RedrivePolicy=json.dumps(
                {
                    "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:missing-dlq",
                    "maxReceiveCount": 3,
                }
            ),
        ),
        "InvalidParameterValue",
        ("RedrivePolicy", "missing-dlq"),
    ),
    Mistake(
        "a redrive policy with the dead-letter queue's URL instead of its ARN",
        lambda lab: _queue(
            lab,
            RedrivePolicy=json.dumps(
                {"deadLetterTargetArn": _queue(lab, "orders-dlq"), "maxReceiveCount": 3}
            ),
        ),
        "InvalidParameterValue",
        ("RedrivePolicy", "ARN"),
    ),
    Mistake(
        "a queue that does not exist",
        lambda lab: sqs(lab).get_queue_url(QueueName="odrers"),
        "AWS.SimpleQueueService.NonExistentQueue",
        ("odrers",),
    ),
    Mistake(
        "send to a FIFO queue without a group",
        lambda lab: sqs(lab).send_message(
            QueueUrl=_queue(lab, "orders.fifo", FifoQueue="true", ContentBasedDeduplication="true"),
            MessageBody="x",
        ),
        "MissingParameter",
        ("MessageGroupId",),
    ),
    Mistake(
        "a FIFO queue whose name lacks .fifo",
        lambda lab: _queue(lab, "orders", FifoQueue="true"),
        "InvalidParameterValue",
        (".fifo",),
    ),
    Mistake(
        "delete with the MessageId instead of the receipt handle",
        lambda lab: sqs(lab).delete_message(QueueUrl=_queue(lab), ReceiptHandle="m-1234"),
        "ReceiptHandleIsInvalid",
        ("ReceiptHandle", "m-1234"),
    ),
    Mistake(
        "a batch of eleven messages",
        lambda lab: sqs(lab).send_message_batch(
            QueueUrl=_queue(lab),
            Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)],
        ),
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ("10",),
    ),
    Mistake(
        "a batch with the same Id twice",
        lambda lab: sqs(lab).send_message_batch(
            QueueUrl=_queue(lab),
            Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}],
        ),
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        ("Id",),
    ),
    # -- SNS
    Mistake(
        "publish to the topic's name instead of its ARN",
        lambda lab: lab.client("sns").publish(TopicArn="orders", Message="x"),
        "InvalidParameter",
        ("TopicArn", "orders"),
    ),
    Mistake(
        "publish to a topic that does not exist",
        lambda lab: lab.client("sns").publish(
            TopicArn=f"arn:aws:sns:us-east-1:{ACCOUNT}:ordres", Message="x"
        ),
        "NotFound",
        ("ordres",),
    ),
    Mistake(
        "a filter policy that is not JSON",
        lambda lab: _subscribe(lab, "{region: eu}"),
        "InvalidParameter",
        ("FilterPolicy",),
    ),
    Mistake(
        "a filter policy value that is not a list",
        lambda lab: _subscribe(lab, {"region": "eu"}),
        "InvalidParameter",
        ("FilterPolicy", "region"),
    ),
    Mistake(
        "an operator SNS does not know",
        lambda lab: _subscribe(lab, {"region": [{"startswith": "eu"}]}),
        "InvalidParameter",
        ("FilterPolicy", "startswith"),
    ),
    Mistake(
        "a numeric condition on a quoted number",
        lambda lab: _subscribe(lab, {"total": [{"numeric": [">", "100"]}]}),
        "InvalidParameter",
        ("FilterPolicy", ">"),
    ),
    Mistake(
        "six keys in one filter policy",
        lambda lab: _subscribe(lab, {k: ["x"] for k in "abcdef"}),
        "InvalidParameter",
        ("FilterPolicy", "5"),
    ),
    Mistake(
        "a nested policy on message attributes",
        lambda lab: _subscribe(lab, {"order": {"region": ["eu"]}}),
        "InvalidParameter",
        ("FilterPolicy", "MessageBody"),
    ),
    Mistake(
        "a filter policy scope SNS does not know",
        lambda lab: _subscribe(lab, {"region": ["eu"]}, FilterPolicyScope="Body"),
        "InvalidParameter",
        ("FilterPolicyScope", "Body"),
    ),
    Mistake(
        "subscribe a queue by its URL instead of its ARN",
        lambda lab: lab.client("sns").subscribe(
            TopicArn=_topic(lab), Protocol="sqs", Endpoint=_queue(lab)
        ),
        "InvalidParameter",
        ("Endpoint", "ARN"),
    ),
    # -- EventBridge
    Mistake(
        "a cron with five fields",
        lambda lab: lab.client("events").put_rule(Name="n", ScheduleExpression="cron(0 2 * * *)"),
        "ValidationException",
        ("ScheduleExpression", "cron(0 2 * * *)"),
    ),
    Mistake(
        "a cron with * in both day fields",
        lambda lab: lab.client("events").put_rule(Name="n", ScheduleExpression="cron(0 2 * * * *)"),
        "ValidationException",
        ("ScheduleExpression", "?"),
    ),
    Mistake(
        "a rate with a singular unit for five",
        lambda lab: lab.client("events").put_rule(Name="n", ScheduleExpression="rate(5 minute)"),
        "ValidationException",
        ("ScheduleExpression", "rate(5 minute)"),
    ),
    Mistake(
        "a pattern value that is not a list",
        lambda lab: _rule(lab, {"source": "shop"}),
        "InvalidEventPatternException",
        ("EventPattern", "source"),
    ),
    Mistake(
        "an operator EventBridge does not know",
        lambda lab: _rule(lab, {"detail": {"total": [{"greater": 100}]}}),
        "InvalidEventPatternException",
        ("EventPattern", "greater"),
    ),
    Mistake(
        "a pattern that is not JSON",
        lambda lab: _rule(lab, "source: shop"),
        "InvalidEventPatternException",
        ("EventPattern",),
    ),
    Mistake(
        "targets for a rule that does not exist",
        lambda lab: lab.client("events").put_targets(
            Rule="missing", Targets=[{"Id": "q", "Arn": queue_arn(lab, _queue(lab))}]
        ),
        "ResourceNotFoundException",
        ("missing",),
    ),
    Mistake(
        "a rule on a bus that does not exist",
        lambda lab: lab.client("events").put_rule(
            Name="n", EventBusName="shoop", EventPattern=json.dumps({"source": ["shop"]})
        ),
        "ResourceNotFoundException",
        ("shoop",),
    ),
    Mistake(
        "a schedule on a custom bus",
        lambda: None,  # replaced below (needs a bus)
        "ValidationException",
        ("ScheduleExpression",),
    ),
    Mistake(
        "events over the request size",
        lambda lab: lab.client("events").put_events(
            Entries=[
                {"Source": "shop", "DetailType": "o", "Detail": json.dumps({"p": "x" * 270_000})}
                for _ in range(4)
            ]
        ),
        "ValidationException",
        ("size",),
    ),
    # -- Step Functions
    Mistake(
        "a definition whose StartAt names no state",
        lambda lab: _machine(lab, {"StartAt": "Charge", "States": PASS["States"]}),
        "InvalidDefinition",
        ("definition", "Charge"),
    ),
    Mistake(
        "a definition that is not JSON",
        lambda lab: _machine(lab, "StartAt: Charge"),
        "InvalidDefinition",
        ("definition",),
    ),
    Mistake(
        "start a machine that does not exist",
        lambda lab: lab.client("stepfunctions").start_execution(
            stateMachineArn=f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:sagga"
        ),
        "StateMachineDoesNotExist",
        ("sagga",),
    ),
    Mistake(
        "an execution input that is not JSON",
        lambda lab: lab.client("stepfunctions").start_execution(
            stateMachineArn=_machine(lab, PASS)["stateMachineArn"], input="{order: 1}"
        ),
        "InvalidExecutionInput",
        ("input",),
    ),
    Mistake(
        "the same execution name twice with another input",
        lambda lab: [
            lab.client("stepfunctions").start_execution(
                stateMachineArn=machine, name="o-1", input=json.dumps({"n": n})
            )
            for machine in [_machine(lab, PASS)["stateMachineArn"]]
            for n in (1, 2)
        ],
        "ExecutionAlreadyExists",
        ("o-1",),
    ),
    # -- the lab
    Mistake(
        "a backend name with a typo",
        lambda lab: labkit.start_lab("embeded"),
        "UnknownBackend",
        ("embeded", "embedded"),
    ),
    Mistake(
        "the endpoint backend without a URL",
        lambda lab: labkit.Lab("endpoint", endpoint_url=""),
        "LabError",
        ("endpoint_url",),
    ),
    Mistake(
        "an endpoint URL without http://",
        lambda lab: labkit.Lab("endpoint", endpoint_url="127.0.0.1:5000"),
        "LabError",
        ("http://",),
    ),
    Mistake(
        "the aws backend without the opt-in",
        lambda lab: labkit.Lab("aws"),
        "AwsNotAllowed",
        ("LABKIT_ALLOW_AWS",),
    ),
    Mistake(
        "EventBridge's client by its product name",
        lambda lab: lab.client("eventbridge"),
        "LabError",
        ("'events'",),
    ),
    Mistake(
        "a client of a stopped lab",
        lambda lab: _stopped_client(lab),
        "LabNotStarted",
        ("start_lab",),
    ),
    Mistake(
        "take_all with the URL where the lab goes",
        lambda lab: take_all(_queue(lab)),
        "LabError",
        ("take_all(lab, queue_url)",),
    ),
    Mistake(
        "take_all with a queue name instead of its URL",
        lambda lab: take_all(lab, "orders"),
        "LabError",
        ("'orders'", "QueueUrl"),
    ),
    Mistake(
        "subscriber_queue without the lab",
        lambda lab: subscriber_queue("billing", _topic(lab)),
        "LabError",
        ("subscriber_queue(lab",),
    ),
    Mistake(
        "time going backwards",
        lambda lab: lab.advance(-30),
        "LabError",
        ("-30",),
    ),
    Mistake(
        "a thousand years",
        lambda lab: lab.advance(1e12),
        "LabError",
        ("1e+12",),
    ),
    Mistake(
        "deploy a handler's result instead of the handler",
        lambda lab: lab.functions.deploy("billing", None),  # type: ignore[arg-type]
        "LabError",
        ("handler",),
    ),
    Mistake(
        "a function with no workers",
        lambda lab: lab.functions.deploy("billing", lambda e, c: None, concurrency=0),
        "LabError",
        ("concurrency",),
    ),
    Mistake(
        "a batch of 20 without a batching window",
        lambda lab: lab.functions.deploy("billing", lambda e, c: None).consume(
            _queue(lab), batch_size=20
        ),
        "LabError",
        ("batch_size", "window"),
    ),
    Mistake(
        "a batching window of 10 minutes",
        lambda lab: lab.functions.deploy("billing", lambda e, c: None).consume(
            _queue(lab), window=600
        ),
        "LabError",
        ("300",),
    ),
    Mistake(
        "a function that was never deployed",
        lambda lab: lab.functions.get("billing"),
        "LabError",
        ("billing", "deploy"),
    ),
    Mistake(
        "a crash probability of 150%",
        lambda lab: Faults(crash=1.5),
        "LabError",
        ("crash",),
    ),
    Mistake(
        "a second lab beside the notebook's",
        lambda lab: labkit.Lab(lab.backend.name, endpoint_url=lab.backend.endpoint_url).start(),
        "LabError",
        ("already running", "start_lab"),
    ),
    Mistake(
        "a DynamoDB stream mapping without its starting position",
        lambda lab: _stream_mapping(lab),
        "InvalidParameterValueException",
        ("StartingPosition", "TRIM_HORIZON"),
    ),
    Mistake(
        "a stream mapping given the table's ARN instead of its stream's",
        lambda lab: lab.functions.connect_stream(
            _stream_table(lab).split("/stream/")[0],
            lab.functions.deploy("publisher", lambda event, context: None),
            starting_position="LATEST",
        ),
        "LabError",
        ("LatestStreamArn",),
    ),
    Mistake(
        "a plot of something that is not a flow",
        lambda lab: labkit.plot_topology("orders"),  # type: ignore[arg-type]
        "LabError",
        ("Flow", "str"),
    ),
]


def _stopped_client(lab: labkit.Lab) -> Any:
    client = lab.client("sqs")
    lab.stop()
    return client.list_queues()


def _schedule_on_custom_bus(lab: labkit.Lab) -> Any:
    events = lab.client("events")
    events.create_event_bus(Name="shop")
    return events.put_rule(Name="n", EventBusName="shop", ScheduleExpression="rate(5 minutes)")


MISTAKES = [
    Mistake(m.name, _schedule_on_custom_bus, m.error, m.names)
    if m.name == "a schedule on a custom bus"
    else m
    for m in MISTAKES
]


def test_there_are_at_least_sixty_mistakes() -> None:
    assert len(MISTAKES) >= 60
    assert len({m.name for m in MISTAKES}) == len(MISTAKES)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_every_mistake_is_answered(lab: labkit.Lab, mistake: Mistake) -> None:
    with pytest.raises((ClientError, LabError)) as caught:
        mistake.attempt(lab)
    error = caught.value
    if isinstance(error, ClientError):
        assert error.response["Error"]["Code"] == mistake.error, str(error)
    else:
        assert mistake.error in {type(error).__name__, *(k.__name__ for k in type(error).__mro__)}
    text = str(error)
    assert "Expected" in text and "found" in text and "What to do" in text, text
    for word in mistake.names:
        assert word in text, (word, text)
