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
import time
from collections.abc import Callable
from typing import Any

from labkit.matcher.access import Decision, Request, evaluate
from labkit.moto_patches import delivery_retries
from labkit.moto_patches.delivery_metrics import count, rule_dimensions
from labkit.moto_patches.events_input_transformer import aws_event
from labkit.moto_patches.events_targets import BRIDGED_TARGETS, _service
from labkit.moto_patches.outbox import post
from labkit.moto_patches.registry import Row, Wrap
from labkit.moto_patches.retry_schedules import (
    AWS_MANAGED,
    HTTP_DEFAULT,
    InvalidDeliveryPolicy,
    SnsPolicy,
    events_schedule,
    sns_policy,
)

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
        if self.protocol not in ("sqs", "lambda", "http", "https"):
            return original(self, message, message_id, *args, **kwargs)
        topic = self.topic
        counted = _SnsCounts(topic)
        attributes = kwargs.get("message_attributes", args[1] if len(args) > 1 else None)
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(attributes, message):
            scope = self.attributes.get("FilterPolicyScope") or "MessageAttributes"
            part = "MessageBody" if scope == "MessageBody" else "MessageAttributes"
            if part == "MessageAttributes" and not attributes:
                part = "NoMessageAttributes"
            counted("NumberOfNotificationsFilteredOut", f"NumberOfNotificationsFilteredOut-{part}")
            return None  # filtered out before any delivery was tried
        delivery = _SnsDelivery(self, original, message, message_id, args, kwargs, counted)
        decision = check(topic.arn, self.endpoint)
        if decision is not None and not decision.allowed:
            delivery.refuse(decision)
        elif delivery_retries.is_down(self.endpoint):
            delivery.retry()
        else:
            original(self, message, message_id, *args, **kwargs)
            counted("NumberOfNotificationsDelivered")
        return None

    return publish


class _SnsDelivery:
    """One notification to one subscription: made, refused, or retried until it is made or
    given up."""

    def __init__(
        self,
        subscription: Any,
        original: Callable[..., Any],
        message: str,
        message_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        counted: _SnsCounts,
    ) -> None:
        self.sub = subscription
        self.original = original
        self.message, self.message_id = message, message_id
        self.args, self.kwargs = args, kwargs
        self.counted = counted
        self.http = subscription.protocol in ("http", "https")

    def refuse(self, decision: Decision) -> None:
        """A client-side error: not retried; to the subscription's dead-letter queue."""
        refused(self.sub.topic.arn, self.sub.endpoint, self.message_id, decision)
        self.counted("NumberOfNotificationsFailed")
        self._dead_letter()

    def retry(self) -> None:
        """A server-side error: retried as the protocol's delivery policy says."""
        if self.http:
            self.counted("NumberOfNotificationsFailed")  # HTTP/S counts every failed attempt
        delivery_retries.start(
            delivery_retries.Pending(
                self.sub.topic.arn,
                self.sub.endpoint,
                self.message_id,
                time.time(),
                _sns_schedule(self.sub),
                self._deliver,
                self._give_up,
                self._failed,
            )
        )

    def _deliver(self, at: float, retried: int) -> None:
        sub = self.sub
        if sub.topic.sns_backend.subscriptions.get(sub.arn) is not sub:
            return  # unsubscribed meanwhile: nobody to deliver to
        decision = check(sub.topic.arn, sub.endpoint)
        if decision is not None and not decision.allowed:
            self.refuse(decision)  # the endpoint went away or refuses now: a client-side error
            return
        self.original(sub, self.message, self.message_id, *self.args, **self.kwargs)
        self.counted("NumberOfNotificationsDelivered", at=at)
        if sub.protocol != "lambda":  # the function's bridge posts its own delivery
            post(
                "deliveries",
                {
                    "source": sub.topic.arn,
                    "target": sub.endpoint,
                    "message_id": self.message_id,
                    "kind": "delivered",
                    "detail": f"delivered by retry {retried + 1}",
                },
            )

    def _failed(self, retries: int, at: float) -> None:
        if self.http:
            self.counted("NumberOfNotificationsFailed", value=retries, at=at)

    def _give_up(self, at: float, retried: int, why: str) -> None:
        sub = self.sub
        post(
            "deliveries",
            {
                "source": sub.topic.arn,
                "target": sub.endpoint,
                "message_id": self.message_id,
                "kind": "failed",
                "detail": f"undeliverable: the delivery policy ran out ({why})",
            },
        )
        if not self.http:
            self.counted("NumberOfNotificationsFailed", at=at)
        self._dead_letter(at)

    def _dead_letter(self, at: float | None = None) -> None:
        sub = self.sub
        subject = self.kwargs.get("subject", self.args[0] if self.args else None)
        attributes = self.kwargs.get(
            "message_attributes", self.args[1] if len(self.args) > 1 else None
        )
        if sub.attributes.get("RawMessageDelivery") == "true":
            body = self.message
        else:
            envelope = sub.get_post_data(self.message, self.message_id, subject, attributes)
            body = json.dumps(envelope, sort_keys=True, indent=2, separators=(",", ": "))
        moved = _dead_letter(
            sub.topic.arn, sub.attributes.get("RedrivePolicy"), self.message_id, body, {}
        )
        if moved is not None:
            name = "RedrivenToDlq" if moved else "FailedToRedriveToDlq"
            self.counted(f"NumberOfNotifications{name}", at=at)


def _sns_schedule(subscription: Any) -> SnsPolicy:
    """The delivery policy SNS retries a subscription's deliveries by."""
    if subscription.protocol not in ("http", "https"):
        return AWS_MANAGED
    topic_text = getattr(subscription.topic, "delivery_policy", None)
    try:
        topic_policy = sns_policy(topic_text, topic=True)
        own = sns_policy(subscription.attributes.get("DeliveryPolicy"))
    except InvalidDeliveryPolicy:
        return HTTP_DEFAULT  # refused when it was set: cannot be stored
    overrides_off = bool(
        isinstance(topic_text, str)
        and topic_text
        and json.loads(topic_text).get("http", {}).get("disableSubscriptionOverrides")
    )
    if own is not None and not overrides_off:
        return own
    return topic_policy or HTTP_DEFAULT


class _SnsCounts:
    """Counts a topic's notification metrics."""

    def __init__(self, topic: Any) -> None:
        self.backend = topic.sns_backend
        self.dimensions = (("TopicName", topic.name),)

    def __call__(self, *names: str, value: float = 1, at: float | None = None) -> None:
        for name in names:
            count(self.backend, "AWS/SNS", name, self.dimensions, value, at)


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
        down = [t for t in allowed if delivery_retries.is_down(t["Arn"])]
        now = [t for t in allowed if t not in down]
        if len(now) == len(decided):
            original(self, original_event, *args, **kwargs)
        else:
            view = copy.copy(self)
            view.targets = now
            original(view, original_event, *args, **kwargs)
        # a retried invocation counts once it succeeds or fails for good; every try is an attempt
        count(backend, "AWS/Events", "Invocations", dims, len(decided) - len(down))
        count(backend, "AWS/Events", "InvocationAttempts", dims, len(decided))
        for target, decision in decided:
            if decision is not None and not decision.allowed:
                _target_refused(self, target, original_event, decision)
        for target in down:
            _TargetDelivery(self, target, original, original_event, args, kwargs).retry()
        return None

    return send_to_targets


def _target_refused(rule: Any, target: dict[str, Any], event: Any, decision: Decision) -> None:
    """A client-side error: not retried; to the target's dead-letter queue."""
    event_id = str(event.get("id", ""))
    refused(rule.arn, target["Arn"], event_id, decision)
    gone = "does not exist" in decision.reason
    _target_failed(
        rule,
        target,
        event,
        {
            "ERROR_CODE": "NO_RESOURCE" if gone else "NO_PERMISSIONS",
            "ERROR_MESSAGE": decision.reason,
            "RETRY_ATTEMPTS": "0",
        },
    )


def _target_failed(
    rule: Any, target: dict[str, Any], event: Any, error: dict[str, str], at: float | None = None
) -> None:
    """Count a failed invocation, and send the event to the target's dead-letter queue with
    EventBridge's attributes (`error`: ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS, ...)."""
    from moto.events.models import events_backends

    backend = events_backends[rule.account_id][rule.region_name]
    dims = rule_dimensions(rule)
    count(backend, "AWS/Events", "FailedInvocations", dims, at=at)
    attributes = {"RULE_ARN": rule.arn, "TARGET_ARN": target["Arn"], **error}
    body = json.dumps(aws_event(event))
    moved = _dead_letter(
        rule.arn, target.get("DeadLetterConfig"), str(event.get("id", "")), body, attributes
    )
    if moved is not None:
        name = "InvocationsSentToDlq" if moved else "InvocationsFailedToBeSentToDlq"
        count(backend, "AWS/Events", name, dims, at=at)


class _TargetDelivery:
    """One event to one target that is unavailable: retried as its RetryPolicy says."""

    def __init__(
        self,
        rule: Any,
        target: dict[str, Any],
        original: Callable[..., Any],
        event: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        from moto.events.models import events_backends

        self.rule, self.target, self.original = rule, target, original
        self.event, self.args, self.kwargs = event, args, kwargs
        self.backend = events_backends[rule.account_id][rule.region_name]
        self.dims = rule_dimensions(rule)
        self.event_id = str(event.get("id", ""))
        seed = f"{rule.arn}/{target.get('Id', '')}/{delivery_retries.serial()}"
        self.schedule = events_schedule(target, seed)

    def retry(self) -> None:
        delivery_retries.start(
            delivery_retries.Pending(
                self.rule.arn,
                self.target["Arn"],
                self.event_id,
                time.time(),
                self.schedule,
                self._deliver,
                self._give_up,
                self._failed,
            )
        )

    def _count(self, name: str, value: float = 1, at: float | None = None) -> None:
        count(self.backend, "AWS/Events", name, self.dims, value, at)

    def _failed(self, retries: int, at: float) -> None:
        self._count("RetryInvocationAttempts", retries, at)
        self._count("InvocationAttempts", retries, at)

    def _deliver(self, at: float, retried: int) -> None:
        self._count("RetryInvocationAttempts", at=at)
        self._count("InvocationAttempts", at=at)
        self._count("Invocations", at=at)
        decision = check(self.rule.arn, self.target["Arn"])
        if decision is not None and not decision.allowed:
            _target_refused(self.rule, self.target, self.event, decision)
            return
        view = copy.copy(self.rule)
        view.targets = [self.target]
        self.original(view, self.event, *self.args, **self.kwargs)
        if _service(self.target["Arn"]) not in BRIDGED_TARGETS:  # the bridges post their own
            post(
                "deliveries",
                {
                    "source": self.rule.arn,
                    "target": self.target["Arn"],
                    "message_id": self.event_id,
                    "kind": "delivered",
                    "detail": f"delivered by retry {retried + 1}",
                },
            )

    def _give_up(self, at: float, retried: int, why: str) -> None:
        self._count("Invocations", at=at)
        post(
            "deliveries",
            {
                "source": self.rule.arn,
                "target": self.target["Arn"],
                "message_id": self.event_id,
                "kind": "failed",
                "detail": f"undeliverable: the retry policy ran out ({why})",
            },
        )
        _target_failed(
            self.rule,
            self.target,
            self.event,
            {
                "ERROR_CODE": "SDK_CLIENT_ERROR",
                "ERROR_MESSAGE": "the target's service is unavailable (a server-side error)",
                "EXHAUSTED_RETRY_CONDITION": self.schedule.why_exhausted(retried),
                "RETRY_ATTEMPTS": str(retried),
            },
            at,
        )


SNS_ROWS: list[Row] = [Wrap("Subscription", "publish", _sns_checked)]
EVENTS_ROWS: list[Row] = [Wrap("Rule", "send_to_targets", _events_checked)]
