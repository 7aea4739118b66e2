"""What AWS refuses, the lab refuses: with AWS's error code, a message that names the parameter,
and nothing created or changed; and the boundary values AWS takes are taken.

One table, run on both backends (`embedded`, and a `python -m labkit.server`). Each refusal
snapshots every queue (with its attributes and message counts), subscription, rule and state
machine execution before and after the call: a refused call must leave them all as they were.
The cases share one lab per backend, reset before each (`lab.reset()` must leave nothing behind:
a case's set-up would then fail on a name already taken, or its snapshot hold strangers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.lessons import allow_delivery
from labkit.lessons.inbox import take_all
from labkit.matcher.syntax import MAX_WILDCARD_RULES
from labkit.moto_patches.events_validation import MAX_PATTERN_CHARACTERS, MAX_REQUEST_BYTES
from tests.conftest import BACKEND_PARAMS

ROLE = "arn:aws:iam::123456789012:role/sfn"
PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
Ctx = dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """A request AWS refuses with `code`; its message names `names`."""

    id: str
    call: Callable[[labkit.Lab, Ctx], Any]
    code: str
    names: str
    setup: Callable[[labkit.Lab], Ctx] = field(default=lambda lab: {})


@dataclass(frozen=True)
class Accepted:
    """A request AWS takes; `check` looks at what it made."""

    id: str
    call: Callable[[labkit.Lab, Ctx], Any]
    setup: Callable[[labkit.Lab], Ctx] = field(default=lambda lab: {})
    check: Callable[[labkit.Lab, Ctx, Any], None] = field(default=lambda lab, ctx, answer: None)


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def shared_lab(request: pytest.FixtureRequest) -> Iterator[labkit.Lab]:
    """One lab per backend for the whole table."""
    if request.param == "endpoint":
        the_lab = labkit.start_lab("endpoint", endpoint_url=request.getfixturevalue("server_url"))
    else:
        the_lab = labkit.start_lab("embedded")
    yield the_lab
    the_lab.stop()


@pytest.fixture
def lab(shared_lab: labkit.Lab) -> labkit.Lab:
    """The backend's lab, emptied: no queue, topic, rule, machine or trace of an earlier case."""
    shared_lab.reset()
    assert not any(_snapshot(shared_lab).values())
    return shared_lab


# -- set-ups -----------------------------------------------------------------------------------
def queue(lab: labkit.Lab, name: str = "orders", **attributes: str) -> Ctx:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return {"url": url, "arn": arn["Attributes"]["QueueArn"]}


def queue_with_message(lab: labkit.Lab) -> Ctx:
    ctx = queue(lab)
    lab.client("sqs").send_message(QueueUrl=ctx["url"], MessageBody="order o-1")
    return ctx


def received_message(lab: labkit.Lab) -> Ctx:
    ctx = queue_with_message(lab)
    (message,) = lab.client("sqs").receive_message(QueueUrl=ctx["url"])["Messages"]
    return {**ctx, "handle": message["ReceiptHandle"]}


def source_and_dlq(lab: labkit.Lab) -> Ctx:
    return {**queue(lab, "source"), "dlq": queue(lab, "source-dlq")["arn"]}


def topic_and_queue(lab: labkit.Lab) -> Ctx:
    topic = lab.client("sns").create_topic(Name="orders-topic")["TopicArn"]
    return {**queue(lab), "topic": topic}


def subscribed(lab: labkit.Lab) -> Ctx:
    ctx = topic_and_queue(lab)
    sns = lab.client("sns")
    allow_delivery(lab, ctx["topic"], ctx["arn"])
    subscription = sns.subscribe(TopicArn=ctx["topic"], Protocol="sqs", Endpoint=ctx["arn"])
    return {**ctx, "subscription": subscription["SubscriptionArn"]}


def rule_to_queue(lab: labkit.Lab) -> Ctx:
    ctx = queue(lab)
    events = lab.client("events")
    rule = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    allow_delivery(lab, rule["RuleArn"], ctx["arn"])
    events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": ctx["arn"]}])
    return ctx


def wildcard_rules(lab: labkit.Lab, count: int = MAX_WILDCARD_RULES) -> Ctx:
    events = lab.client("events")
    for n in range(count):
        pattern = {"detail": {"file": [{"wildcard": f"dir{n}/*.png"}]}}
        events.put_rule(Name=f"files-{n}", EventPattern=json.dumps(pattern))
    return {}


def machine(lab: labkit.Lab) -> Ctx:
    sfn = lab.client("stepfunctions")
    return {"machine": sfn.create_state_machine(name="m", definition=PASS, roleArn=ROLE)[
        "stateMachineArn"
    ]}  # fmt: skip


# -- calls -------------------------------------------------------------------------------------
def receive(**params: Any) -> Callable[[labkit.Lab, Ctx], Any]:
    return lambda lab, ctx: lab.client("sqs").receive_message(QueueUrl=ctx["url"], **params)


def change_visibility(timeout: int) -> Callable[[labkit.Lab, Ctx], Any]:
    return lambda lab, ctx: lab.client("sqs").change_message_visibility(
        QueueUrl=ctx["url"], ReceiptHandle=ctx["handle"], VisibilityTimeout=timeout
    )


def create_queue(**attributes: str) -> Callable[[labkit.Lab, Ctx], Any]:
    return lambda lab, ctx: lab.client("sqs").create_queue(
        QueueName="new-queue", Attributes=attributes
    )


def set_attributes(**attributes: str) -> Callable[[labkit.Lab, Ctx], Any]:
    return lambda lab, ctx: lab.client("sqs").set_queue_attributes(
        QueueUrl=ctx["url"], Attributes=attributes
    )


def send(**params: Any) -> Callable[[labkit.Lab, Ctx], Any]:
    return lambda lab, ctx: lab.client("sqs").send_message(
        QueueUrl=ctx["url"], MessageBody="order o-2", **params
    )


def number(value: str) -> dict[str, Any]:
    return {"MessageAttributes": {"price": {"DataType": "Number", "StringValue": value}}}


def redrive(arn: str) -> str:
    return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})


MISSING_DLQ = redrive("arn:aws:sqs:us-east-1:123456789012:no-such-dlq")


def subscribe(policy: str | dict[str, Any], **params: Any) -> Callable[[labkit.Lab, Ctx], Any]:
    text = policy if isinstance(policy, str) else json.dumps(policy)
    return lambda lab, ctx: lab.client("sns").subscribe(
        TopicArn=params.get("topic", ctx["topic"]),
        Protocol="sqs",
        Endpoint=ctx["arn"],
        Attributes={"FilterPolicy": text},
    )


def put_events(detail_bytes: int) -> Callable[[labkit.Lab, Ctx], Any]:
    """One entry of exactly `detail_bytes` + 2 bytes (Source "s", DetailType "d")."""
    detail = json.dumps({"x": "a" * (detail_bytes - len('{"x": ""}'))})
    assert len(detail) == detail_bytes
    return lambda lab, ctx: lab.client("events").put_events(
        Entries=[{"Source": "s", "DetailType": "d", "Detail": detail}]
    )


def put_rule(pattern: dict[str, Any], name: str = "new-rule") -> Callable[[labkit.Lab, Ctx], Any]:
    return lambda lab, ctx: lab.client("events").put_rule(
        Name=name, EventPattern=json.dumps(pattern)
    )


def long_pattern(characters: int) -> dict[str, Any]:
    padding = characters - len(json.dumps({"source": [""]}))
    return {"source": ["s" * padding]}


def start(**params: Any) -> Callable[[labkit.Lab, Ctx], Any]:
    return lambda lab, ctx: lab.client("stepfunctions").start_execution(
        stateMachineArn=ctx["machine"], **params
    )


# -- checks of what an accepted call made ------------------------------------------------------
def one_body(expected: str) -> Callable[[labkit.Lab, Ctx, Any], None]:
    def check(lab: labkit.Lab, ctx: Ctx, answer: Any) -> None:
        assert [m["Body"] for m in take_all(lab, ctx["url"])] == [expected]

    return check


def queue_attribute(name: str, value: str) -> Callable[[labkit.Lab, Ctx, Any], None]:
    def check(lab: labkit.Lab, ctx: Ctx, answer: Any) -> None:
        url = answer.get("QueueUrl", ctx.get("url"))
        got = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[name])
        assert got["Attributes"][name] == value

    return check


def no_failed_entry(lab: labkit.Lab, ctx: Ctx, answer: Any) -> None:
    assert answer["FailedEntryCount"] == 0


def two_named_executions(lab: labkit.Lab, ctx: Ctx, answer: Any) -> None:
    again = start()(lab, ctx)
    assert again["executionArn"] != answer["executionArn"]
    sfn = lab.client("stepfunctions")
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=ctx["machine"])["executions"]]
    assert len(set(names)) == 2 and "None" not in names


def transformed(template: str) -> Callable[[labkit.Lab], Ctx]:
    def setup(lab: labkit.Lab) -> Ctx:
        ctx = queue(lab)
        events = lab.client("events")
        rule = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
        allow_delivery(lab, rule["RuleArn"], ctx["arn"])
        paths = {"order": "$.detail.order", "total": "$.detail.total"}
        target = {"InputPathsMap": paths, "InputTemplate": template}
        events.put_targets(
            Rule="orders", Targets=[{"Id": "q", "Arn": ctx["arn"], "InputTransformer": target}]
        )
        return ctx

    return setup


def via_topic(template: str) -> Callable[[labkit.Lab], Ctx]:
    """An SNS target (delivered by labkit) whose topic has a raw-delivery queue subscribed."""

    def setup(lab: labkit.Lab) -> Ctx:
        ctx = topic_and_queue(lab)
        sns = lab.client("sns")
        allow_delivery(lab, ctx["topic"], ctx["arn"])
        sns.subscribe(
            TopicArn=ctx["topic"],
            Protocol="sqs",
            Endpoint=ctx["arn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        events = lab.client("events")
        rule = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
        allow_delivery(lab, rule["RuleArn"], ctx["topic"])
        target = {"InputPathsMap": {"order": "$.detail.order"}, "InputTemplate": template}
        events.put_targets(
            Rule="orders", Targets=[{"Id": "t", "Arn": ctx["topic"], "InputTransformer": target}]
        )
        return ctx

    return setup


def consumer(visibility: str, timeout: float) -> Callable[[labkit.Lab], Ctx]:
    """A queue with this visibility timeout, and a function with this timeout to feed."""

    def setup(lab: labkit.Lab) -> Ctx:
        ctx = queue(lab, VisibilityTimeout=visibility)
        lab.functions.deploy("billing", lambda event, context: None, timeout=timeout)
        return ctx

    return setup


def map_queue(**params: Any) -> Callable[[labkit.Lab, Ctx], Any]:
    return lambda lab, ctx: lab.client("lambda").create_event_source_mapping(
        EventSourceArn=ctx["arn"], FunctionName="billing", **params
    )


def order_event(lab: labkit.Lab, ctx: Ctx) -> Any:
    detail = json.dumps({"order": "o-1", "total": 42})
    return lab.client("events").put_events(
        Entries=[{"Source": "shop", "DetailType": "OrderPlaced", "Detail": detail}]
    )


#: What CreateQueue takes for each queue attribute with a range, from the lowest to the highest
#: value (seconds, or bytes for MaximumMessageSize): one past either end is refused.
QUEUE_ATTRIBUTE_RANGES = {
    "VisibilityTimeout": (0, 43_200),
    "DelaySeconds": (0, 900),
    "MessageRetentionPeriod": (60, 1_209_600),
    "MaximumMessageSize": (1_024, 1_048_576),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
}


# -- the table ---------------------------------------------------------------------------------
REFUSED: tuple[Refused, ...] = (
    # SQS: ReceiveMessage / ChangeMessageVisibility
    *(
        Refused(f"receive-visibility-{v}", receive(VisibilityTimeout=v), "InvalidParameterValue",
                "VisibilityTimeout", queue_with_message)
        for v in (43201, -1, -5)
    ),
    Refused("receive-wait-21", receive(WaitTimeSeconds=21), "InvalidParameterValue",
            "WaitTimeSeconds", queue_with_message),
    Refused("receive-wait-minus-1", receive(WaitTimeSeconds=-1), "InvalidParameterValue",
            "WaitTimeSeconds", queue_with_message),
    Refused("receive-max-0", receive(MaxNumberOfMessages=0), "InvalidParameterValue",
            "MaxNumberOfMessages", queue_with_message),
    Refused("receive-max-11", receive(MaxNumberOfMessages=11), "InvalidParameterValue",
            "MaxNumberOfMessages", queue_with_message),
    *(
        Refused(f"change-visibility-{v}", change_visibility(v), "InvalidParameterValue",
                "VisibilityTimeout", received_message)
        for v in (43201, -1)
    ),
    # SQS: CreateQueue / SetQueueAttributes
    *(
        Refused(f"create-{name}-{value}", create_queue(**{name: value}), "InvalidAttributeValue",
                name)
        for name, (low, high) in QUEUE_ATTRIBUTE_RANGES.items()
        for value in (str(high + 1), str(low - 1))
    ),
    *(
        Refused(f"set-{name}-{value}", set_attributes(**{name: value}), "InvalidAttributeValue",
                name, queue)
        for name, value in (
            ("VisibilityTimeout", "43201"), ("VisibilityTimeout", "-5"),
            ("DelaySeconds", "901"), ("MessageRetentionPeriod", "1209601"),
            ("MaximumMessageSize", "1048577"), ("ReceiveMessageWaitTimeSeconds", "21"),
        )
    ),
    Refused("create-redrive-not-json", create_queue(RedrivePolicy="{maxReceiveCount: 3"),
            "InvalidParameterValue", "RedrivePolicy"),
    Refused("set-redrive-not-json", set_attributes(RedrivePolicy="{maxReceiveCount: 3"),
            "InvalidParameterValue", "RedrivePolicy", queue),
    Refused("create-redrive-missing-dlq", create_queue(RedrivePolicy=MISSING_DLQ),
            "InvalidParameterValue", "RedrivePolicy"),
    Refused("set-redrive-missing-dlq-with-other-attributes",
            set_attributes(VisibilityTimeout="60", RedrivePolicy=MISSING_DLQ),
            "InvalidParameterValue", "RedrivePolicy", queue),
    # SQS: SendMessage
    Refused("send-delay-901", send(DelaySeconds=901), "InvalidParameterValue", "DelaySeconds",
            queue),
    Refused("send-delay-minus-1", send(DelaySeconds=-1), "InvalidParameterValue",
            "DelaySeconds", queue),
    *(
        Refused(f"send-number-{v}", send(**number(v)), "InvalidParameterValue",
                "message attribute 'price'", queue)
        for v in ("abc", "1e127", "1" * 39, "NaN")
    ),
    # SNS
    Refused("subscribe-filter-not-json", subscribe('{"store": ["shop"'), "InvalidParameter",
            "FilterPolicy", topic_and_queue),
    Refused("subscribe-filter-empty-array", subscribe({"store": []}), "InvalidParameter",
            "FilterPolicy", topic_and_queue),
    Refused("subscribe-filter-6-keys", subscribe({k: ["x"] for k in "abcdef"}),
            "InvalidParameter", "FilterPolicy", topic_and_queue),
    Refused("subscribe-filter-151-combinations",
            subscribe({"a": list(range(151))}), "InvalidParameter", "FilterPolicy",
            topic_and_queue),
    Refused("subscribe-filter-over-256-kb",
            subscribe({"store": ["s" * 262_144]}), "InvalidParameter", "FilterPolicy",
            topic_and_queue),
    Refused("subscribe-topic-name", subscribe({"store": ["shop"]}, topic="orders-topic"),
            "InvalidParameter", "TopicArn", topic_and_queue),
    Refused("set-filter-not-json",
            lambda lab, ctx: lab.client("sns").set_subscription_attributes(
                SubscriptionArn=ctx["subscription"], AttributeName="FilterPolicy",
                AttributeValue="{not json"),
            "InvalidParameter", "FilterPolicy", subscribed),
    Refused("publish-topic-name",
            lambda lab, ctx: lab.client("sns").publish(TopicArn="orders-topic", Message="x"),
            "InvalidParameter", "TopicArn", subscribed),
    # EventBridge
    Refused("put-events-over-1-mib", put_events(MAX_REQUEST_BYTES), "ValidationException",
            "entries", rule_to_queue),
    Refused("put-rule-pattern-over-4096",
            put_rule(long_pattern(MAX_PATTERN_CHARACTERS + 1)), "ValidationException",
            "eventPattern"),
    Refused("put-rule-31st-wildcard-rule",
            put_rule({"detail": {"file": [{"wildcard": "*.gif"}]}}), "LimitExceededException",
            "wildcard", wildcard_rules),
    # Step Functions
    Refused("create-machine-invalid-definition",
            lambda lab, ctx: lab.client("stepfunctions").create_state_machine(
                name="bad", definition="{", roleArn=ROLE),
            "InvalidDefinition", "Definition"),
    Refused("start-invalid-input", start(input="{not json"), "InvalidExecutionInput", "Input",
            machine),
    Refused("start-missing-machine",
            lambda lab, ctx: lab.client("stepfunctions").start_execution(
                stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:nope"),
            "StateMachineDoesNotExist", "StateMachine", machine),
    Refused("update-machine-nothing",
            lambda lab, ctx: lab.client("stepfunctions").update_state_machine(
                stateMachineArn=ctx["machine"]),
            "MissingRequiredParameter", "definition", machine),
    Refused("mapping-function-outlives-visibility", map_queue(), "InvalidParameterValueException",
            "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds",
            consumer("30", 60)),
    Refused("mapping-maximum-concurrency-1001",
            map_queue(ScalingConfig={"MaximumConcurrency": 1001}),
            "InvalidParameterValueException", "maximumConcurrency", consumer("60", 10)),
)  # fmt: skip

ACCEPTED: tuple[Accepted, ...] = (
    *(
        Accepted(f"receive-visibility-{v}", receive(VisibilityTimeout=v), queue_with_message)
        for v in (0, 43200)
    ),
    *(
        Accepted(f"receive-max-{v}", receive(MaxNumberOfMessages=v), queue_with_message)
        for v in (1, 10)
    ),
    *(
        Accepted(f"receive-wait-{v}", receive(WaitTimeSeconds=v), queue_with_message)
        for v in (0, 20)
    ),
    *(
        Accepted(f"change-visibility-{v}", change_visibility(v), received_message)
        for v in (0, 43200)
    ),
    *(
        Accepted(f"create-{name}-{value}", create_queue(**{name: value}),
                 check=queue_attribute(name, value))
        for name, (low, high) in QUEUE_ATTRIBUTE_RANGES.items()
        for value in (str(low), str(high))
    ),
    Accepted("set-VisibilityTimeout-43200", set_attributes(VisibilityTimeout="43200"), queue,
             queue_attribute("VisibilityTimeout", "43200")),
    Accepted("set-redrive-existing-dlq",
             lambda lab, ctx: set_attributes(RedrivePolicy=redrive(ctx["dlq"]))(lab, ctx),
             source_and_dlq),
    *(Accepted(f"send-delay-{v}", send(DelaySeconds=v), queue) for v in (0, 900)),
    *(
        Accepted(f"send-number-{v}", send(**number(v)), queue)
        for v in ("42", "-12.50", "1e-128", "1e126", "9" * 38)
    ),
    Accepted("send-queue-name-as-url",
             lambda lab, ctx: lab.client("sqs").send_message(QueueUrl="orders", MessageBody="x"),
             queue, one_body("x")),
    Accepted("subscribe-filter", subscribe({"store": ["shop"]}), topic_and_queue),
    Accepted("publish-topic-arn",
             lambda lab, ctx: lab.client("sns").publish(TopicArn=ctx["topic"], Message="x"),
             subscribed),
    Accepted("put-events-300-kb", put_events(300_000), rule_to_queue, no_failed_entry),
    Accepted("put-events-just-under-1-mib", put_events(MAX_REQUEST_BYTES - 3), rule_to_queue,
             no_failed_entry),
    Accepted("put-rule-pattern-4096", put_rule(long_pattern(MAX_PATTERN_CHARACTERS))),
    Accepted("put-rule-30th-wildcard-rule",
             put_rule({"detail": {"file": [{"wildcard": "*.gif"}]}}),
             lambda lab: wildcard_rules(lab, MAX_WILDCARD_RULES - 1)),
    Accepted("transformer-unquoted-placeholders", order_event,
             transformed('{"order": <order>, "amount": <total>}'),
             one_body('{"order": "o-1", "amount": 42}')),
    Accepted("transformer-placeholder-in-a-string", order_event,
             transformed('{"line": "order <order> (<total>)"}'),
             one_body('{"line": "order o-1 (42)"}')),
    Accepted("transformer-plain-text", order_event, transformed("order <order> of <total>"),
             one_body("order o-1 of 42")),
    Accepted("transformer-to-topic-unquoted", order_event, via_topic('{"order": <order>}'),
             one_body('{"order": "o-1"}')),
    Accepted("start-without-name", start(), machine, two_named_executions),
    Accepted("mapping-function-timeout-equal-to-visibility", map_queue(), consumer("30", 30)),
    Accepted("mapping-maximum-concurrency-1000",
             map_queue(ScalingConfig={"MaximumConcurrency": 1000}), consumer("60", 10)),
)  # fmt: skip


def _snapshot(lab: labkit.Lab) -> dict[str, Any]:
    """Every queue (attributes, counts), subscription, rule and execution the lab holds."""
    sqs, sns = lab.client("sqs"), lab.client("sns")
    events, sfn = lab.client("events"), lab.client("stepfunctions")
    queues = {
        url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for url in sqs.list_queues().get("QueueUrls", [])
    }
    subscriptions = {
        s["SubscriptionArn"]: sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])[
            "Attributes"
        ]
        for s in sns.list_subscriptions()["Subscriptions"]
    }
    rules = {
        (bus["Name"], rule["Name"]): rule
        for bus in events.list_event_buses()["EventBuses"]
        for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]
    }
    executions = {
        m["stateMachineArn"]: [
            e["executionArn"]
            for e in sfn.list_executions(stateMachineArn=m["stateMachineArn"])["executions"]
        ]
        for m in sfn.list_state_machines()["stateMachines"]
    }
    mappings = [
        m["UUID"] for m in lab.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    ]
    return {
        "queues": queues,
        "subscriptions": subscriptions,
        "rules": rules,
        "runs": executions,
        "mappings": mappings,
    }


def _squeezed(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum() or c == "'")


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_refused_with_the_code_a_message_naming_the_parameter_and_nothing_left(
    lab: labkit.Lab, case: Refused
) -> None:
    ctx = case.setup(lab)
    before = _snapshot(lab)
    with pytest.raises(ClientError) as caught:
        case.call(lab, ctx)
    error = caught.value.response["Error"]
    assert error["Code"] == case.code, error
    assert _squeezed(case.names) in _squeezed(f"{error['Code']} {error['Message']}"), error
    assert _snapshot(lab) == before


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.id)
def test_the_values_aws_takes_are_taken(lab: labkit.Lab, case: Accepted) -> None:
    ctx = case.setup(lab)
    answer = case.call(lab, ctx)
    case.check(lab, ctx, answer)
