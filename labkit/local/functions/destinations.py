"""Where Lambda sends the record of an asynchronous invocation that failed for good: the
function's on-failure destination (an SQS queue, an SNS topic, another function or an EventBridge
bus, set with ``lambda.put_function_event_invoke_config``).

AWS (Capturing records of Lambda asynchronous invocations): the record is a JSON document with
the request (``requestContext``: the request id, the function's ARN, the ``condition`` that
ended it and the approximate number of invocations; ``requestPayload``: the event) and the
response (``responseContext``, ``responsePayload``: the error). An EventBridge bus receives it as
an event from ``lambda`` with the detail-type "Lambda Function Invocation Result - Failure".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.local.functions.polling import Queues
    from labkit.local.functions.resources import Resources
    from labkit.parts import Clients, HopSink

__all__ = ["Destinations", "invocation_record"]

#: Forward a record to a local function: (function ARN, event, source, message id).
Forward = Callable[[str, Any, str, str], None]


def invocation_record(
    function_arn: str, request_id: str, condition: str, attempts: int, event: Any, error: str
) -> dict[str, Any]:
    """The invocation record Lambda sends to an on-failure destination.

    >>> record = invocation_record("arn:aws:lambda:us-east-1:1:function:f", "r-1",
    ...                            "RetriesExhausted", 3, {"k": 1}, "ValueError: bad")
    >>> record["requestContext"]["condition"], record["responsePayload"]["errorType"]
    ('RetriesExhausted', 'ValueError')
    """
    kind, _, message = error.partition(": ")
    now = dt.datetime.now(dt.UTC)
    return {
        "version": "1.0",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": message or kind, "errorType": kind},
    }


class Destinations:
    """Sends invocation records to on-failure destinations, with the lab's clients."""

    def __init__(
        self, *, clients: Clients, hops: HopSink, queues: Queues, resources: Resources
    ) -> None:
        self._clients = clients
        self._hops = hops
        self._queues = queues
        self._resources = resources
        #: set by the runtime: queue a record for one of its functions
        self.forward: Forward | None = None

    def send(self, destination: str, record: dict[str, Any], *, sender: str, origin: str) -> None:
        """Send `record` from function ARN `sender` to `destination`; trace it under `origin`."""
        service = destination.split(":")[2] if destination.count(":") >= 5 else ""
        name = sender.rsplit(":", 1)[-1]
        body = json.dumps(record)
        sent = ""
        if service == "sqs":
            url = self._resources.queue_url(destination)
            sent = self._queues.send(url, body, {}, caller=name)
        elif service == "sns":
            with self._hops.acting_as(name):
                answer = self._clients.client("sns").publish(TopicArn=destination, Message=body)
            sent = str(answer["MessageId"])
        elif service == "events":
            entry = {
                "Source": "lambda",
                "DetailType": "Lambda Function Invocation Result - Failure",
                "Detail": body,
                "Resources": [sender],
                "EventBusName": destination,
            }
            with self._hops.acting_as(name):
                answer = self._clients.client("events").put_events(Entries=[entry])
            sent = str(answer["Entries"][0].get("EventId", ""))
        elif service == "lambda" and self.forward is not None:
            self.forward(destination, record, sender, origin)
        if sent:
            self._hops.link(sent, origin)
        self._hops.add_hop(
            sender,
            destination,
            origin,
            "dead-lettered" if service == "sqs" else "delivered",
            detail=f"on-failure destination: {record['requestContext']['condition']}",
        )
