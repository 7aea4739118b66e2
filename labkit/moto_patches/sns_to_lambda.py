"""SNS delivers to Lambda subscribers: the event goes to the lab's local function runtime.

AWS: a topic with a ``lambda`` subscription invokes the function asynchronously with an event of
``{"Records": [{"EventSource": "aws:sns", "Sns": {...}}]}``, after the subscription's filter
policy. moto 5.2.5 tries to run the function in Docker. Here the event, in Lambda's shape, is
posted (`labkit.moto_patches.outbox`) for the lab's local function runtime, and the delivery for
the lab's trace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.outbox import post
from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS"]


def _to_local_functions(original: Callable[..., Any]) -> Callable[..., Any]:
    def publish(self: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        if self.protocol != "lambda":
            return original(self, message, message_id, *args, **kwargs)
        subject = kwargs.get("subject", args[0] if args else None)
        attributes = kwargs.get("message_attributes", args[1] if len(args) > 1 else None)
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
            attributes, message
        ):
            return None
        if kwargs.get("message_structure") == "json":
            message = self._parse_message_structure(message, "lambda")
        now = dt.datetime.now(dt.UTC)
        record = {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": self.arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": self.topic.arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.amazonaws.com/labkit-local.pem",
                "UnsubscribeUrl": f"https://sns.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={self.arn}",
                "MessageAttributes": {
                    name: {"Type": value.get("Type"), "Value": value.get("Value")}
                    for name, value in (attributes or {}).items()
                },
            },
        }
        post(
            "invocations",
            {
                "function": self.endpoint,
                "event": {"Records": [record]},
                "trigger": "sns",
                "source": self.topic.arn,
                "message_id": message_id,
            },
        )
        post(
            "deliveries",
            {
                "source": self.topic.arn,
                "target": self.endpoint,
                "message_id": message_id,
                "kind": "delivered",
                "detail": "subscription",
            },
        )
        return None

    return publish


ROWS: list[Row] = [Wrap("Subscription", "publish", _to_local_functions)]
