"""SNS -> SQS envelopes without an RSA signature per delivery.

moto 5.2.5 makes a new X.509 certificate and an RSA signature for every SNS -> SQS delivery
(about 6 ms each; 30,000 of them in a 10,000-message fan-out to three queues). Envelopes
delivered to queues now carry a placeholder ``Signature`` (a SHA-256 digest of the string AWS
signs); the envelope's keys and values are otherwise moto's. HTTP(S) deliveries are still signed
by moto. Verify signatures against real AWS only.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS"]


def _unsigned_for_queues(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_post_data(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None,
        message_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if self.protocol != "sqs":
            return original(self, message, message_id, subject, message_attributes)
        from moto.core.utils import iso_8601_datetime_with_milliseconds
        from moto.moto_api._internal import mock_random

        key_name = f"SimpleNotificationService-{str(mock_random.uuid4()).replace('-', '')}.pem"
        timestamp = iso_8601_datetime_with_milliseconds()
        signed = (
            f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\n"
            f"TopicArn\n{self.topic.arn}\nType\nNotification\n"
        )
        region = self.topic.sns_backend.region_name
        post_data: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": self.topic.arn,
            "Message": message,
            "Timestamp": timestamp,
            "SignatureVersion": "2",
            "Signature": base64.b64encode(hashlib.sha256(signed.encode()).digest()).decode(),
            "SigningCertURL": f"https://sns.{region}.amazonaws.com/{key_name}",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
            f"&SubscriptionArn=arn:aws:sns:us-east-1:{self.account_id}:{self.topic.name}"
            ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        }
        if subject:
            post_data["Subject"] = subject
        if message_attributes:
            post_data["MessageAttributes"] = message_attributes
        return post_data

    return get_post_data


ROWS: list[Row] = [Wrap("Subscription", "get_post_data", _unsigned_for_queues)]
