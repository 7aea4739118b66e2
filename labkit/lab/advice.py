"""Turn AWS error answers into advice: what was expected, what was found, what to do.

The learner still gets the real botocore ClientError (same class, same code, so `except
sqs.exceptions.QueueDoesNotExist` works as against AWS); labkit only adds a few lines to its
message, computed from the request and the lab's current resources.
"""

from __future__ import annotations

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
    bus = params.get("EventBusName", "default")
    rules = (
        [r["Name"] for r in lab.client("events").list_rules(EventBusName=str(bus)).get("Rules", [])]
        if op != "CreateEventBus"
        else []
    )
    rule = params.get("Rule") or params.get("Name")
    return (
        "an existing event bus and rule",
        f"bus {bus!r}, rule {rule!r} ({_listing(sorted(rules), 'rules on that bus')})",
        "create the bus with events.create_event_bus(Name=...) and the rule with "
        "events.put_rule(Name=..., EventBusName=...) before adding targets",
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
    if advisor is None:
        return ""
    if code == "ResourceNotFoundException" and service != "events":
        if service == "stepfunctions":
            advisor = _state_machine_missing
        else:
            return ""
    if code == "NotFound" and service != "sns":
        return ""
    try:
        result = advisor(lab, op, {**params, "_message": msg})
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
