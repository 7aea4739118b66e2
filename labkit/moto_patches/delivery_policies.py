"""Deliveries between services obey the receiving resource's policy, as on AWS.

AWS: SNS may send to a queue only when the queue's access policy lets ``sns.amazonaws.com`` call
``sqs:SendMessage`` (for that topic, when a condition names it); EventBridge needs the same of a
queue, ``sns:Publish`` on a topic and ``lambda:InvokeFunction`` in a function's permissions; SNS
needs the last to invoke a function. A refused delivery is a client-side error: SNS and
EventBridge do not retry it, and the publisher is told nothing. A queue, topic or function that
no longer exists is the same kind of error. moto 5.2.5 reads no policy (a queue whose policy
denies everything still receives), and raises from Publish when a subscribed queue is gone.

Here each such delivery is decided by `labkit.moto_patches.policies` first; a refused one (or one
to a resource that is gone) is not made, and is posted (`labkit.moto_patches.outbox`) for the
lab's trace as a ``refused`` or ``failed`` delivery saying why. `ENFORCE` turns the check off
for a lab started with ``enforce_policies=False``.

Pages: https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from labkit.matcher.access import Decision, Request, evaluate
from labkit.moto_patches.delivery_metrics import count, rule_dimensions
from labkit.moto_patches.events_input_transformer import aws_event
from labkit.moto_patches.outbox import post
from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ENFORCE", "SNS_ROWS", "EVENTS_ROWS", "check"]

#: Whether deliveries obey policies now (a lab started with enforce_policies=False clears it).
ENFORCE = {"on": True}

_PRINCIPAL = {"sns": "sns.amazonaws.com", "events": "events.amazonaws.com"}
_ACTION = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction"}
_GONE = object()


def check(source: str, target: str) -> Decision | None:
    """Whether `source` (a topic or rule ARN) may deliver to `target` (a queue, topic or
    function ARN); None when the target's service keeps no policy labkit reads."""
    parts = target.split(":")
    service = parts[2] if len(parts) > 5 else ""
    if service not in _ACTION:
        return None
    policy = _policy(service, parts)
    if policy is _GONE:
        kind = {"sqs": "queue", "sns": "topic", "lambda": "function"}[service]
        return Decision(False, f"the {kind} {parts[-1]!r} does not exist (not retried)", "")
    if not ENFORCE["on"]:
        return Decision(True, "policies are not enforced in this lab")
    source_service = source.split(":")[2]
    request = Request(
        _PRINCIPAL[source_service],
        _ACTION[service],
        target,
        {"aws:SourceArn": source, "aws:SourceAccount": source.split(":")[4]},
    )
    return evaluate(policy, request)  # type: ignore[arg-type]


def _policy(service: str, parts: list[str]) -> Any:
    account, region, name = parts[4], parts[3], parts[-1]
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[account][region].queues.get(name)
        return _GONE if queue is None else queue.policy
    if service == "sns":
        from moto.sns.models import sns_backends

        topic = sns_backends[account][region].topics.get(":".join(parts))
        return _GONE if topic is None else topic.policy
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.models import lambda_backends

    try:
        function = lambda_backends[account][region].get_function(":".join(parts))
    except UnknownFunctionException:
        return _GONE
    statements = function.policy.statements
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def refused(source: str, target: str, message_id: str, decision: Decision) -> None:
    """Post a delivery that did not happen, for the lab's trace."""
    gone = "does not exist" in decision.reason
    post(
        "deliveries",
        {
            "source": source,
            "target": target,
            "message_id": message_id,
            "kind": "failed" if gone else "refused",
            "detail": decision.reason,
            "statement": decision.statement,
        },
    )


def _sns_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def publish(self: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        if self.protocol not in ("sqs", "lambda"):
            return original(self, message, message_id, *args, **kwargs)
        topic = self.topic
        counted = _SnsCounts(topic)
        subject = kwargs.get("subject", args[0] if args else None)
        attributes = kwargs.get("message_attributes", args[1] if len(args) > 1 else None)
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(attributes, message):
            scope = self.attributes.get("FilterPolicyScope") or "MessageAttributes"
            part = "MessageBody" if scope == "MessageBody" else "MessageAttributes"
            if part == "MessageAttributes" and not attributes:
                part = "NoMessageAttributes"
            counted("NumberOfNotificationsFilteredOut", f"NumberOfNotificationsFilteredOut-{part}")
            return None  # filtered out before any delivery was tried
        decision = check(topic.arn, self.endpoint)
        if decision is None or decision.allowed:
            original(self, message, message_id, *args, **kwargs)
            counted("NumberOfNotificationsDelivered")
            return None
        refused(topic.arn, self.endpoint, message_id, decision)
        counted("NumberOfNotificationsFailed")
        if self.attributes.get("RawMessageDelivery") == "true":
            body = message
        else:
            envelope = self.get_post_data(message, message_id, subject, attributes)
            body = json.dumps(envelope, sort_keys=True, indent=2, separators=(",", ": "))
        moved = _dead_letter(topic.arn, self.attributes.get("RedrivePolicy"), message_id, body, {})
        if moved is not None:
            name = "RedrivenToDlq" if moved else "FailedToRedriveToDlq"
            counted(f"NumberOfNotifications{name}")
        return None

    return publish


class _SnsCounts:
    """Counts a topic's notification metrics."""

    def __init__(self, topic: Any) -> None:
        self.backend = topic.sns_backend
        self.dimensions = (("TopicName", topic.name),)

    def __call__(self, *names: str) -> None:
        for name in names:
            count(self.backend, "AWS/SNS", name, self.dimensions)


def _dead_letter(
    source: str, redrive: Any, message_id: str, body: str, attributes: dict[str, str]
) -> bool | None:
    """Send an undeliverable message to the dead-letter queue `redrive` names, when it names
    one and its policy lets `source` send (else the message is dropped, as on AWS). None: no
    dead-letter queue; False: the queue refused it (or is gone)."""
    if isinstance(redrive, str):
        try:
            redrive = json.loads(redrive)
        except ValueError:
            return None
    queue = (redrive or {}).get("deadLetterTargetArn") or (redrive or {}).get("Arn")
    if not queue:
        return None
    decision = check(source, queue)
    if decision is None or not decision.allowed:
        refused(source, queue, message_id, decision or Decision(False, "not a queue"))
        return False
    from moto.sqs.models import sqs_backends

    parts = queue.split(":")
    sqs_backends[parts[4]][parts[3]].send_message(
        parts[-1],
        body,
        message_attributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )
    post(
        "deliveries",
        {
            "source": source,
            "target": queue,
            "message_id": message_id,
            "kind": "dead-lettered",
            "detail": "undeliverable: sent to the dead-letter queue",
        },
    )
    return True


def _events_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def send_to_targets(self: Any, original_event: Any, *args: Any, **kwargs: Any) -> None:
        enabled = getattr(self, "state", "ENABLED") == "ENABLED"
        if not enabled or not self.event_pattern.matches_event(original_event):
            return original(self, original_event, *args, **kwargs)  # delivers nothing
        from moto.events.models import events_backends

        backend = events_backends[self.account_id][self.region_name]
        dims = rule_dimensions(self)
        count(backend, "AWS/Events", "MatchedEvents", dims)
        decided = [(t, check(self.arn, t["Arn"])) for t in self.targets]
        allowed = [t for t, d in decided if d is None or d.allowed]
        if len(allowed) == len(decided):
            original(self, original_event, *args, **kwargs)
        else:
            view = copy.copy(self)
            view.targets = allowed
            original(view, original_event, *args, **kwargs)
        count(backend, "AWS/Events", "Invocations", dims, len(decided))
        event_id = str(original_event.get("id", ""))
        for target, decision in decided:
            if decision is None or decision.allowed:
                continue
            refused(self.arn, target["Arn"], event_id, decision)
            count(backend, "AWS/Events", "FailedInvocations", dims)
            gone = "does not exist" in decision.reason
            attributes = {
                "RULE_ARN": self.arn,
                "TARGET_ARN": target["Arn"],
                "ERROR_CODE": "NO_RESOURCE" if gone else "NO_PERMISSIONS",
                "ERROR_MESSAGE": decision.reason,
                "RETRY_ATTEMPTS": "0",
            }
            body = json.dumps(aws_event(original_event))
            moved = _dead_letter(
                self.arn, target.get("DeadLetterConfig"), event_id, body, attributes
            )
            if moved is not None:
                name = "InvocationsSentToDlq" if moved else "InvocationsFailedToBeSentToDlq"
                count(backend, "AWS/Events", name, dims)
        return None

    return send_to_targets


SNS_ROWS: list[Row] = [Wrap("Subscription", "publish", _sns_checked)]
EVENTS_ROWS: list[Row] = [Wrap("Rule", "send_to_targets", _events_checked)]
