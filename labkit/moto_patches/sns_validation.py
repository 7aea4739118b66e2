"""SNS refuses a topic name where it wants an ARN and a FilterPolicy that is not JSON, and a
refused Subscribe leaves no subscription behind.

AWS (API reference, Publish / Subscribe / SetSubscriptionAttributes): ``TopicArn`` is the topic's
ARN, and a request parameter that does not comply with its constraints is answered with
``InvalidParameter``; a filter policy is a JSON object (SNS Developer Guide, filter policy
constraints). moto 5.2.5 answers ``publish(TopicArn="orders-topic")`` with Python's own "not enough
values to unpack (expected 6, got 1)" (and other calls with a bare ValueError), a FilterPolicy
that is not JSON with a bare JSONDecodeError, and Subscribe creates the subscription before it
checks its attributes, so a refused filter policy leaves a subscription without its filter. Here
a malformed ARN is refused with ``InvalidParameter``, the policy's text goes through labkit's
matcher (which refuses what is not JSON, or larger than the documented 256 KB), and a Subscribe
that fails takes back the subscription it created. A ``DeliveryPolicy`` (on a topic or a
subscription; Amazon SNS message delivery retries, "Creating an HTTP/S delivery policy") outside
the documented limits is refused with ``InvalidParameter`` naming the part that is wrong; moto
stores any text.

The API reference does not give the messages: they follow moto's "Invalid parameter: X" family.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.moto_patches.filters_and_patterns import refuse_invalid_filter_policy
from labkit.moto_patches.registry import Row, Wrap
from labkit.moto_patches.retry_schedules import InvalidDeliveryPolicy, sns_policy

__all__ = ["ROWS"]


def _is_arn(value: Any) -> bool:
    # arn:partition:service:region:account:resource, the six parts moto's parse_arn unpacks
    return isinstance(value, str) and value.startswith("arn:") and value.count(":") >= 5


def _arn_only(get_topic: Callable[..., Any]) -> Callable[..., Any]:
    def get_topic_by_arn(self: Any, arn: Any) -> Any:
        if not _is_arn(arn):
            from moto.sns.exceptions import SNSInvalidParameter

            raise SNSInvalidParameter("Invalid parameter: TopicArn")
        return get_topic(self, arn)

    return get_topic_by_arn


def _policy_text_checked(set_attribute: Callable[..., Any]) -> Callable[..., Any]:
    def set_subscription_attributes(self: Any, arn: str, name: str, value: Any) -> None:
        if name == "FilterPolicy" and isinstance(value, str) and value:
            scope = next(
                (s.attributes.get("FilterPolicyScope") for s in self.subscriptions.values()
                 if s.arn == arn),
                None,
            )  # fmt: skip
            refuse_invalid_filter_policy(value, scope)
        if name == "DeliveryPolicy":
            _check_delivery_policy(value, topic=False)
        set_attribute(self, arn, name, value)

    return set_subscription_attributes


def _check_delivery_policy(value: Any, *, topic: bool) -> None:
    """Refuse a DeliveryPolicy SNS refuses, naming the part that is wrong."""
    try:
        sns_policy(value, topic=topic)
    except InvalidDeliveryPolicy as error:
        from moto.sns.exceptions import SNSInvalidParameter

        raise SNSInvalidParameter(f"Invalid parameter: DeliveryPolicy: {error}") from None


def _topic_policy_checked(set_attribute: Callable[..., Any]) -> Callable[..., Any]:
    def set_topic_attribute(self: Any, topic_arn: str, name: str, value: Any) -> Any:
        if name in ("DeliveryPolicy", "delivery_policy"):  # moto's responses pass the latter
            _check_delivery_policy(value, topic=True)
        return set_attribute(self, topic_arn, name, value)

    return set_topic_attribute


def _new_topic_policy_checked(create_topic: Callable[..., Any]) -> Callable[..., Any]:
    def create_topic_checked(self: Any, name: str, attributes: Any = None, *args: Any) -> Any:
        if attributes and "DeliveryPolicy" in attributes:
            _check_delivery_policy(attributes["DeliveryPolicy"], topic=True)
        return create_topic(self, name, attributes, *args)

    return create_topic_checked


def _whole_or_nothing(subscribe: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def subscribe_whole(self: Any) -> Any:
        before = set(self.backend.subscriptions)
        try:
            return subscribe(self)
        except Exception:
            # moto subscribes first and sets the attributes after: take back what it created
            for arn in set(self.backend.subscriptions) - before:
                self.backend.unsubscribe(arn)
            raise

    return subscribe_whole


ROWS: list[Row] = [
    Wrap("SNSBackend", "get_topic", _arn_only),
    Wrap("SNSBackend", "set_subscription_attributes", _policy_text_checked),
    Wrap("SNSBackend", "set_topic_attribute", _topic_policy_checked),
    Wrap("SNSBackend", "create_topic", _new_topic_policy_checked),
    Wrap("moto.sns.responses:SNSResponse", "subscribe", _whole_or_nothing),
]
