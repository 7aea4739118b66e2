"""The metrics SNS, EventBridge and SQS publish to CloudWatch, in the lab's CloudWatch.

AWS: SNS publishes, per topic (dimension ``TopicName``, unit Count), NumberOfMessagesPublished,
NumberOfNotificationsDelivered, NumberOfNotificationsFailed, NumberOfNotificationsFilteredOut
with its ``-MessageAttributes``, ``-MessageBody`` and ``-NoMessageAttributes`` parts, and
NumberOfNotificationsRedrivenToDlq / NumberOfNotificationsFailedToRedriveToDlq. EventBridge
publishes, per rule (``RuleName``, with ``EventBusName`` on a custom bus, unit Count),
MatchedEvents, Invocations, InvocationAttempts, RetryInvocationAttempts, FailedInvocations,
InvocationsSentToDlq and InvocationsFailedToBeSentToDlq. SQS publishes, per queue (``QueueName``),
ApproximateNumberOfMessagesVisible (Count) and ApproximateAgeOfOldestMessage (Seconds). moto
5.2.5 publishes none of them.

Here the deliveries labkit's changes decide (`labkit.moto_patches.delivery_policies`) count into
the sending service's moto backend, one value per metric and minute of lab time, and moto's
CloudWatch shows them among its own metrics (``CloudWatchBackend.aws_metric_data``), so
``get_metric_data`` and ``list_metrics`` answer with them as on AWS. A reset backend starts with
none. SQS values are sampled when lab time moves on to a new minute and whenever CloudWatch is
read, not every minute in between. SNS counts cover queue and function subscriptions (HTTP
deliveries are moto's own).

Pages: https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS", "SNS_ROWS", "count", "sample_queues", "rule_dimensions"]

Dimensions = tuple[tuple[str, str], ...]
_STORE = "_labkit_metrics"


def _minute(at: float | None = None) -> dt.datetime:
    # naive UTC, as moto's CloudWatch compares a request's StartTime and EndTime
    when = dt.datetime.now(dt.UTC) if at is None else dt.datetime.fromtimestamp(at, dt.UTC)
    return when.replace(second=0, microsecond=0, tzinfo=None)


def count(
    backend: Any,
    namespace: str,
    name: str,
    dimensions: Dimensions,
    value: float = 1,
    at: float | None = None,
) -> None:
    """Add `value` to a Count metric of `backend`'s service for the current minute (or the
    minute of epoch second `at`)."""
    store = backend.__dict__.setdefault(_STORE, {})
    key = (namespace, name, dimensions, _minute(at))
    before = store.get(key, (0.0, "Count"))[0]
    store[key] = (before + value, "Count")


def _gauge(
    backend: Any, namespace: str, name: str, dims: Dimensions, value: float, unit: str
) -> None:
    backend.__dict__.setdefault(_STORE, {})[(namespace, name, dims, _minute())] = (value, unit)


def rule_dimensions(rule: Any) -> Dimensions:
    """A rule's dimensions: RuleName, with EventBusName on a custom bus."""
    bus = getattr(rule, "event_bus_name", "default") or "default"
    if bus.startswith("arn:"):
        bus = bus.rsplit("/", 1)[-1]
    if bus == "default":
        return (("RuleName", rule.name),)
    return (("EventBusName", bus), ("RuleName", rule.name))


def sample_queues(*, every_minute: bool = True) -> None:
    """Sample every queue's depth and its oldest message's age, for the current minute (once a
    minute unless `every_minute` is False)."""
    module = sys.modules.get("moto.sqs.models")
    if module is None:
        return
    minute = _minute()
    now = dt.datetime.now(dt.UTC).timestamp() * 1000
    for backend in _loaded(module.sqs_backends):
        if every_minute and backend.__dict__.get("_labkit_sampled") == minute:
            continue
        backend.__dict__["_labkit_sampled"] = minute
        for name, queue in list(backend.queues.items()):
            dims = (("QueueName", name),)
            messages = list(queue.messages)
            visible = sum(1 for m in messages if m.visible and not m.delayed)
            oldest = min((m.sent_timestamp or now for m in messages), default=now)
            _gauge(backend, "AWS/SQS", "ApproximateNumberOfMessagesVisible", dims,
                   float(visible), "Count")  # fmt: skip
            _gauge(backend, "AWS/SQS", "ApproximateAgeOfOldestMessage", dims,
                   float(max(0, (now - oldest) // 1000)), "Seconds")  # fmt: skip


def _loaded(backends: Any) -> list[Any]:
    """The backends of a BackendDict that exist already (looking creates none)."""
    return [b for account in dict.values(backends) for b in dict.values(account)]


def _with_labkit_metrics(original: Any) -> Any:
    def aws_metric_data(self: Any) -> list[Any]:
        from moto.cloudwatch.models import MetricDatum

        data = list(original.fget(self))
        sample_queues(every_minute=False)
        for name in ("moto.sns.models", "moto.events.models", "moto.sqs.models"):
            module = sys.modules.get(name)
            if module is None:
                continue
            backends = getattr(module, _BACKENDS[name])
            account = dict.get(backends, self.account_id)
            backend = dict.get(account, self.region_name) if account is not None else None
            for (namespace, metric, dims, minute), (value, unit) in dict(
                backend.__dict__.get(_STORE, {}) if backend is not None else {}
            ).items():
                datum = MetricDatum(
                    namespace, metric, value, [{"Name": n, "Value": v} for n, v in dims],
                    minute, unit,
                )  # fmt: skip
                data.append(datum)
        return data

    return property(aws_metric_data)


_BACKENDS = {
    "moto.sns.models": "sns_backends",
    "moto.events.models": "events_backends",
    "moto.sqs.models": "sqs_backends",
}


def _published_counted(original: Callable[..., Any]) -> Callable[..., Any]:
    def publish(self: Any, *args: Any, **kwargs: Any) -> str:
        message_id = original(self, *args, **kwargs)
        count(self.sns_backend, "AWS/SNS", "NumberOfMessagesPublished", (("TopicName", self.name),))
        return message_id  # type: ignore[no-any-return]

    return publish


ROWS: list[Row] = [Wrap("CloudWatchBackend", "aws_metric_data", _with_labkit_metrics)]
SNS_ROWS: list[Row] = [Wrap("Topic", "publish", _published_counted)]
