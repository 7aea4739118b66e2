"""What a handler is given and may answer, in the shapes AWS Lambda uses.

The event from an SQS queue (``{"Records": [...]}``, one record per message), the context
object, and the ``batchItemFailures`` answer of a handler whose mapping reports them. SNS and
EventBridge events are built where they are delivered (labkit's bridges) and arrive as they are.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

__all__ = [
    "Handler",
    "LambdaContext",
    "Outcome",
    "Trigger",
    "batch_failures",
    "sqs_record",
]

Handler = Callable[[Any, "LambdaContext"], Any]
Outcome = Literal["ok", "partial", "error", "timeout"]
Trigger = Literal["sqs", "dynamodb", "sns", "events", "direct"]


class LambdaContext:
    """The context object a handler receives, like AWS Lambda's Python runtime gives.

    >>> ctx = LambdaContext("billing", "arn:aws:lambda:us-east-1:1:function:billing", "r1", 3.0)
    >>> ctx.get_remaining_time_in_millis()
    3000
    """

    def __init__(
        self,
        function_name: str,
        invoked_function_arn: str,
        aws_request_id: str,
        timeout: float,
        memory_limit_in_mb: int = 128,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"labkit/[$LATEST]{aws_request_id.replace('-', '')}"
        self._timeout = timeout

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out (handlers take no simulated time)."""
        return int(self._timeout * 1000)

    def __repr__(self) -> str:
        return f"<LambdaContext {self.function_name} {self.aws_request_id}>"


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """The record Lambda builds from one received SQS message (as boto3 parses it)."""
    attributes = {k: str(v) for k, v in message.get("Attributes", {}).items()}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": {
            name: _lambda_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        out["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw
    return out


def batch_failures(answer: Any, ids: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """Read ``batchItemFailures``: (failed ids, "") or ((), why the whole batch failed).

    >>> batch_failures({"batchItemFailures": [{"itemIdentifier": "b"}]}, ["a", "b"])
    (('b',), '')
    """
    if answer is None:
        return (), ""
    if not isinstance(answer, dict) or "batchItemFailures" not in answer:
        return (), ""
    items = answer["batchItemFailures"]
    if items is None:
        return (), ""
    if not isinstance(items, list):
        # Lambda takes a response it cannot read as a failure of the whole batch
        return (
            (),
            f"invalid batchItemFailures {items!r} (a list expected): the whole batch is retried",
        )
    known = set(ids)
    failed: list[str] = []
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in known:
            # Lambda treats an empty, null or unknown itemIdentifier as a failure of the batch
            return (), f"invalid batchItemFailures entry {item!r}: the whole batch is retried"
        failed.append(str(identifier))
    return tuple(dict.fromkeys(failed)), ""
