"""Turn AWS error answers into advice: what was expected, what was found, what to do.

The learner still gets the real botocore ClientError (same class, same code, so `except
sqs.exceptions.QueueDoesNotExist` works as against AWS); labkit only adds a few lines to its
message, computed from the request and the lab's current resources.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.parts import Clients, Hooks

__all__ = ["advise", "advise_errors"]

Advice = tuple[str, str, str]  # expected, found, what to do


def _names_of_queues(lab: Clients) -> list[str]:
    urls = lab.client("sqs").list_queues().get("QueueUrls", [])
    return sorted(u.rsplit("/", 1)[-1] for u in urls)


def _names_of_topics(lab: Clients) -> list[str]:
    arns = [t["TopicArn"] for t in lab.client("sns").list_topics().get("Topics", [])]
    return sorted(a.rsplit(":", 1)[-1] for a in arns)


def _listing(names: list[str], what: str) -> str:
    return (
        f"the lab has these {what}: {', '.join(names)}" if names else f"the lab has no {what} yet"
    )


def _queue_missing(lab: Clients, op: str, params: dict[str, Any]) -> Advice:
    name = params.get("QueueName") or str(params.get("QueueUrl", "?")).rsplit("/", 1)[-1]
    return (
        "an existing queue",
        f"no queue named {name!r} ({_listing(_names_of_queues(lab), 'queues')})",
        "create it first with sqs.create_queue(QueueName=...) or fix the name; a FIFO "
        "queue's name ends in '.fifo'",
    )


def _topic_missing(lab: Clients, op: str, params: dict[str, Any]) -> Advice:
    arn = params.get("TopicArn", "?")
    return (
        "the ARN of an existing topic",
        f"{arn!r} ({_listing(_names_of_topics(lab), 'topics')})",
        "use the TopicArn that sns.create_topic(...) returned",
    )


def _missing_parameter(lab: Clients, op: str, params: dict[str, Any]) -> Advice | None:
    url = str(params.get("QueueUrl", ""))
    if url.endswith(".fifo") and op in ("SendMessage", "SendMessageBatch"):
        return (
            "a MessageGroupId on every message sent to a FIFO queue",
            "a message without one",
            "add MessageGroupId=... (messages with the same group id are delivered in order, "
            "e.g. the customer id)",
        )
    return None


def _dedup_missing(lab: Clients, op: str, params: dict[str, Any]) -> Advice:
    return (
        "a MessageDeduplicationId, or a FIFO queue/topic with ContentBasedDeduplication",
        "neither",
        "pass MessageDeduplicationId=... or create the queue with "
        "Attributes={'ContentBasedDeduplication': 'true'}",
    )


def _bus_or_rule_missing(lab: Clients, op: str, params: dict[str, Any]) -> Advice:
    events = lab.client("events")
    bus = str(params.get("EventBusName", "default")).rsplit("/", 1)[-1]
    buses = sorted(b["Name"] for b in events.list_event_buses().get("EventBuses", []))
    if bus not in buses:
        return (
            "an existing event bus",
            f"no bus named {bus!r} ({_listing(buses, 'buses')})",
            "create it with events.create_event_bus(Name=...) or fix the name; the default "
            "bus is 'default'",
        )
    rules = [r["Name"] for r in events.list_rules(EventBusName=bus).get("Rules", [])]
    rule = params.get("Rule") or params.get("Name")
    return (
        "an existing rule on that bus",
        f"bus {bus!r}, rule {rule!r} ({_listing(sorted(rules), 'rules on that bus')})",
        "create the rule with events.put_rule(Name=..., EventBusName=...) before adding targets",
    )


def _state_machine_missing(lab: Clients, op: str, params: dict[str, Any]) -> Advice:
    return (
        "the ARN of an existing state machine",
        repr(params.get("stateMachineArn", "?")),
        "use the stateMachineArn that stepfunctions.create_state_machine(...) returned",
    )


def _invalid_value(lab: Clients, op: str, params: dict[str, Any]) -> Advice | None:
    message = str(params.get("_message", ""))
    if "ContentBasedDeduplication" in message:
        return _dedup_missing(lab, op, params)
    if "must end in .fifo" in message:
        name = params.get("QueueName", "?")
        return (
            "a FIFO queue name ending in '.fifo'",
            repr(name),
            f"name it {str(name) + '.fifo'!r}, or drop FifoQueue for a standard queue",
        )
    return None


#: What each parameter takes and how to put it right, for the errors that name a parameter.
PARAMETERS: dict[str, tuple[str, str]] = {
    "VisibilityTimeout": (
        "a visibility timeout from 0 to 43,200 seconds (12 hours)",
        "give a consumer the time it needs, e.g. 30; a slow one extends its own message's "
        "timeout with change_message_visibility",
    ),
    "DelaySeconds": (
        "a delay from 0 to 900 seconds (15 minutes)",
        "for a longer wait, schedule the send (EventBridge Scheduler) instead of delaying it",
    ),
    "MessageRetentionPeriod": (
        "a retention from 60 seconds to 1,209,600 seconds (14 days; SQS keeps 4 days unless told)",
        "e.g. MessageRetentionPeriod='345600' for 4 days",
    ),
    "MaximumMessageSize": (
        "a message size from 1,024 to 1,048,576 bytes (1 MiB)",
        "keep a bigger payload in S3 and send its key (the claim-check pattern)",
    ),
    "ReceiveMessageWaitTimeSeconds": (
        "a long-poll wait from 0 to 20 seconds",
        "20 is the longest a receive waits: receive again in a loop to wait longer",
    ),
    "WaitTimeSeconds": (
        "a long-poll wait from 0 to 20 seconds",
        "20 is the longest a receive waits: receive again in a loop to wait longer",
    ),
    "MaxNumberOfMessages": (
        "from 1 to 10 messages per receive",
        "ask for 10 and receive again until the queue answers with no messages",
    ),
    "RedrivePolicy": (
        "a redrive policy naming an existing queue by its ARN: "
        '{"deadLetterTargetArn": <the queue\'s QueueArn>, "maxReceiveCount": <1 to 1000>}',
        "create the dead-letter queue first, read its QueueArn with get_queue_attributes "
        "(AttributeNames=['QueueArn']), and pass json.dumps({...})",
    ),
    "TopicArn": (
        "the topic's ARN (arn:aws:sns:<region>:<account>:<name>), not its name",
        "use what sns.create_topic(Name=...)['TopicArn'] returned (create_topic answers the "
        "existing topic's ARN when it already exists)",
    ),
    "FilterPolicy": (
        "a filter policy SNS accepts: a JSON object whose keys list the values let through",
        'build it as a dict, e.g. {"region": ["eu-west"]}, and pass json.dumps(policy); the '
        "reason above names what SNS refused",
    ),
    "FilterPolicyScope": (
        "FilterPolicyScope 'MessageAttributes' (the default) or 'MessageBody'",
        "use 'MessageBody' to filter on the body's JSON, or leave it out",
    ),
    "Endpoint": (
        "the queue's ARN as the Endpoint of an sqs subscription",
        "read it with sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])",
    ),
    "EventPattern": (
        "an event pattern EventBridge accepts: a JSON object whose fields list the values matched",
        'build it as a dict, e.g. {"source": ["shop"]}, and pass json.dumps(pattern); the '
        "reason above names what EventBridge refused",
    ),
    "ScheduleExpression": (
        "a schedule on the default event bus",
        "scheduled rules run on the default bus: leave EventBusName out (EventBridge Scheduler "
        "is the newer way to run things on a schedule)",
    ),
    "Entries": (
        "PutEvents entries that together stay under 1 MB",
        "send fewer events per call, or keep big payloads elsewhere (S3) and send their keys",
    ),
    "definition": (
        "a state machine definition in Amazon States Language: JSON with StartAt and States",
        "build it as a dict and pass json.dumps(definition); the reason above names what Step "
        "Functions refused",
    ),
    "input": (
        "the execution input as JSON text",
        "pass input=json.dumps({...})",
    ),
    "name": (
        "an execution name not used by this state machine in the last 90 days",
        "give each execution its own name (e.g. the order id and an attempt number), or leave "
        "name out and Step Functions makes one",
    ),
    "Id": (
        "a different Id for each entry of a batch",
        "number the entries: Id=str(i)",
    ),
    "Entries per batch": (
        "at most 10 entries in one batch",
        "send in chunks of ten",
    ),
    "StartingPosition": (
        "StartingPosition TRIM_HORIZON or LATEST, required for a DynamoDB stream",
        "StartingPosition='TRIM_HORIZON' reads the stream from its oldest record, 'LATEST' only "
        "what is written after the mapping exists",
    ),
}

#: How services name the parameter an error is about, in their messages.
_NAMED = (
    re.compile(r"for parameter (\w+)"),
    re.compile(r"the parameter (\w+)"),
    re.compile(r"Invalid parameter: (?:Attributes Reason: )?(\w+)"),
    re.compile(r"^Parameter (\w+) is not valid"),
    re.compile(r"^(\w+) is supported only"),
    re.compile(r"^(\w+) is required"),
)
#: Errors whose message names no parameter, and the parameter they are about.
_BY_CODE = {
    "InvalidEventPatternException": "EventPattern",
    "InvalidDefinition": "definition",
    "InvalidExecutionInput": "input",
    "ExecutionAlreadyExists": "name",
    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct": "Id",
    "AWS.SimpleQueueService.TooManyEntriesInBatchRequest": "Entries per batch",
}


def _parameter(code: str, message: str) -> str:
    if message.startswith("Total size of the entries"):
        return "Entries"
    if "Filter policy scope" in message:
        return "FilterPolicy"
    if "SQS endpoint ARN" in message:
        return "Endpoint"
    if "message attribute" in message:
        return "MessageAttributes"
    for pattern in _NAMED:
        found = pattern.search(message)
        if found and found.group(1) in PARAMETERS:
            return found.group(1)
    return _BY_CODE.get(code, "")


def _sent(params: dict[str, Any], name: str) -> Any:
    """What the learner sent for parameter `name` (in the call, or in its Attributes)."""
    for where in (params, params.get("Attributes") or {}):
        if isinstance(where, dict) and name in where:
            return where[name]
    return None


def _parameter_advice(
    lab: Clients, op: str, params: dict[str, Any], code: str, message: str
) -> Advice | None:
    """Advice for an error about one parameter: what it takes, what was sent, the fix."""
    if "What to do:" in message:
        return None  # the service's answer explains itself already (a schedule's reason)
    name = _parameter(code, message)
    if name == "MessageAttributes":
        return (
            "a Number attribute holding a number as text, e.g. '12.5'",
            message.rsplit("found ", 1)[-1].rstrip(".") if "found " in message else "another value",
            "pass DataType='Number' with StringValue=str(number); put text in a String attribute",
        )
    if name not in PARAMETERS:
        return None
    expected, todo = PARAMETERS[name]
    todo = _matcher_hint(name, params) or todo
    sent = _sent(params, name)
    shown = repr(sent) if len(repr(sent)) <= 120 else f"{repr(sent)[:117]}..."
    found = f"{name}={shown}" if sent is not None else f"what the call sent for {name}"
    if name == "RedrivePolicy" and "http" in str(sent):
        found += ": a queue URL where the queue's ARN goes"
    return expected, found, todo


def _matcher_hint(name: str, params: dict[str, Any]) -> str:
    """For a refused filter policy or event pattern, the matcher's own what-to-do (it checks
    what the service checks, and knows what each refusal means for the learner)."""
    from labkit.matcher import MatcherError, validate_filter_policy, validate_pattern

    try:
        if name == "FilterPolicy":
            attributes = params.get("Attributes") or {}
            if params.get("AttributeName") == "FilterPolicy":
                attributes = {"FilterPolicy": params.get("AttributeValue")}
            policy = attributes.get("FilterPolicy")
            if isinstance(policy, str):
                scope = attributes.get("FilterPolicyScope") or "MessageAttributes"
                validate_filter_policy(policy, scope)
        elif name == "EventPattern" and isinstance(params.get("EventPattern"), str):
            validate_pattern(params["EventPattern"])
    except MatcherError as error:
        return error.hint
    return ""


def _bad_receipt(lab: Clients, op: str, params: dict[str, Any]) -> Advice:
    return (
        "the ReceiptHandle of a message you received (not its MessageId)",
        repr(str(params.get("ReceiptHandle", ""))[:40]),
        "take msg['ReceiptHandle'] from sqs.receive_message(...)['Messages']; each receive "
        "gives a new handle",
    )


ADVISORS: dict[str, Callable[[Clients, str, dict[str, Any]], Advice | None]] = {
    "AWS.SimpleQueueService.NonExistentQueue": _queue_missing,
    "QueueDoesNotExist": _queue_missing,
    "NotFound": _topic_missing,
    "MissingParameter": _missing_parameter,
    "InvalidParameterValue": _invalid_value,
    "ReceiptHandleIsInvalid": _bad_receipt,
    "ResourceNotFoundException": _bus_or_rule_missing,
    "StateMachineDoesNotExist": _state_machine_missing,
}


def advise(lab: Clients, service: str, op: str, params: dict[str, Any], code: str, msg: str) -> str:
    """The lines labkit adds to an AWS error (empty when it has nothing useful to say)."""
    advisor = ADVISORS.get(code)
    if code == "ResourceNotFoundException":
        advisor = {"events": _bus_or_rule_missing, "stepfunctions": _state_machine_missing}.get(
            service
        )
    if code == "NotFound" and service != "sns":
        advisor = None
    result: Advice | None = None
    try:
        if advisor is not None:
            result = advisor(lab, op, {**params, "_message": msg})
        if result is None:
            result = _parameter_advice(lab, op, params, code, msg)
    except Exception:  # the advice must never hide the real error
        return ""
    if result is None:
        return ""
    expected, found, todo = result
    return f"\n  Expected {expected}, found {found}.\n  What to do: {todo}"


def advise_errors(hooks: Hooks, lab: Clients) -> None:
    """Add advice to every AWS error the lab's clients get (looked up with `lab`'s clients)."""

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["labkit_params"] = dict(params)

    def after(
        http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        error = parsed.get("Error") if isinstance(parsed, dict) else None
        if not error or not error.get("Code"):
            return
        service = model.service_model.service_name
        params = context.get("labkit_params", {})
        extra = advise(lab, service, model.name, params, error["Code"], error.get("Message", ""))
        if extra:
            error["Message"] = f"{error.get('Message', '')}{extra}"

    hooks.on("before-parameter-build", before, "labkit-advice-before")
    hooks.on("after-call", after, "labkit-advice-after")
