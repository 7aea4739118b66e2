"""The SQS calls a runtime makes for its functions, and the two ways it polls a queue.

Through boto3, like any client: on every backend, and always when the lab traces, since the
tracer sees the calls that go through botocore. Or, on the embedded backend with tracing off,
straight to moto's SQS backend in this process (`receive_direct`), without the HTTP round trip:
five times cheaper per batch, with the same records (tests/test_runtime.py checks both ways).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.parts import Clients, HopSink

__all__ = ["SQS_RECEIVE_MAX", "Queues", "receive_direct"]

#: The most messages one ReceiveMessage (or DeleteMessageBatch) takes.
SQS_RECEIVE_MAX = 10


class Queues:
    """SQS for the runtime: receive and delete for pollers, attributes, sends to a dead-letter
    queue. Receives and deletes are made as the function (the tracer's ``acting_as``)."""

    def __init__(
        self, *, clients: Clients, hops: HopSink, in_process: bool, account: Callable[[], str]
    ) -> None:
        self._clients = clients
        self._hops = hops
        self._in_process = in_process
        self._account = account

    def direct(self) -> bool:
        """Poll moto's SQS in this process without the HTTP round trip?

        Only on the embedded backend with tracing off: a traced lab polls through boto3.
        """
        return self._in_process and not self._hops.enabled

    def receive(
        self, queue_url: str, queue_arn: str, count: int, *, caller: str
    ) -> list[dict[str, Any]]:
        """Up to `count` messages, with every attribute, without waiting."""
        if self.direct():
            return receive_direct(self._backend(), queue_arn, count)
        with self._hops.acting_as(caller):
            answer = self._sqs().receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=count,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
        return list(answer.get("Messages", []))

    def delete(
        self, queue_url: str, queue_arn: str, receipt_handles: Sequence[str], *, caller: str
    ) -> None:
        """Delete received messages, ten to a DeleteMessageBatch."""
        for first in range(0, len(receipt_handles), SQS_RECEIVE_MAX):
            chunk = [
                {"Id": str(k), "ReceiptHandle": handle}
                for k, handle in enumerate(receipt_handles[first : first + SQS_RECEIVE_MAX])
            ]
            if self.direct():
                self._backend().delete_message_batch(queue_arn.rsplit(":", 1)[-1], chunk)
                continue
            with self._hops.acting_as(caller):
                self._sqs().delete_message_batch(QueueUrl=queue_url, Entries=chunk)

    def attributes(self, queue_url: str, names: list[str]) -> dict[str, str]:
        """The queue's attributes with these names (those it has)."""
        answer = self._sqs().get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
        return dict(answer["Attributes"])

    def send(self, queue_url: str, body: str, attributes: dict[str, Any], *, caller: str) -> str:
        """Send one message as `caller`; its message id."""
        with self._hops.acting_as(caller):
            sent = self._sqs().send_message(
                QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes
            )
        return str(sent["MessageId"])

    def _sqs(self) -> Any:
        return self._clients.client("sqs")

    def _backend(self) -> Any:
        from moto.sqs import sqs_backends

        return sqs_backends[self._account()][self._clients.region]


def receive_direct(backend: Any, queue_arn: str, count: int) -> list[dict[str, Any]]:
    """ReceiveMessage on moto's backend, answered in the shape boto3 parses it into."""
    name = queue_arn.rsplit(":", 1)[-1]
    queue = backend.get_queue(name)
    found = backend.receive_message(name, count, 0, queue.visibility_timeout, ["All"])
    answer = []
    for message in found:
        item: dict[str, Any] = {
            "MessageId": message.id,
            "ReceiptHandle": message.receipt_handle,
            "MD5OfBody": message.body_md5,
            "Body": message.body,
        }
        attributes = {
            "SenderId": message.sender_id,
            "SentTimestamp": str(message.sent_timestamp),
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if message.deduplication_id is not None:
            attributes["MessageDeduplicationId"] = message.deduplication_id
        if message.group_id is not None:
            attributes["MessageGroupId"] = message.group_id
        if message.sequence_number is not None:
            attributes["SequenceNumber"] = message.sequence_number
        item["Attributes"] = attributes
        if len(message.message_attributes):
            item["MessageAttributes"] = {
                key: {
                    k: (base64.b64decode(v) if k == "BinaryValue" and isinstance(v, str) else v)
                    for k, v in value.items()
                }
                for key, value in message.message_attributes.items()
            }
            item["MD5OfMessageAttributes"] = message.attribute_md5
        answer.append(item)
    return answer
