"""The ARNs the tracer names nodes by: a call's resource, a bus, a rule's bus, a task's target."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from labkit.trace.state import WiringCache

if TYPE_CHECKING:
    from labkit.parts import Clients

__all__ = ["MOTO_ACCOUNT", "Resources", "queue_arn"]

#: The account moto answers as.
MOTO_ACCOUNT = "123456789012"


def queue_arn(url: str, region: str) -> str:
    """The ARN of a queue from its URL (any host: AWS, moto, a local endpoint).

    >>> queue_arn("http://localhost:5000/123456789012/orders", "us-east-1")
    'arn:aws:sqs:us-east-1:123456789012:orders'
    """
    parts = url.rstrip("/").split("/")
    if len(parts) < 2:
        return url
    host = parts[2] if len(parts) > 2 else ""
    if host.startswith("sqs.") and host.count(".") >= 3:
        region = host.split(".")[1]  # the real AWS host names the region
    return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"


class Resources:
    """Names resources in the lab's region and account; remembers each traced queue's URL.

    ``internal``: the tracer's own calls (the one look-up here: STS, for the account on AWS).
    """

    def __init__(
        self,
        clients: Clients,
        *,
        moto: bool,
        cache: WiringCache,
        internal: Callable[[], AbstractContextManager[None]],
    ) -> None:
        self._clients = clients
        self._moto = moto
        self._cache = cache
        self._internal = internal
        self._account: str | None = None  # kept across resets: the lab's account stays

    @property
    def region(self) -> str:
        """The lab's region."""
        return str(self._clients.region)

    def account(self) -> str:
        """The lab's account (on AWS, asked of STS once)."""
        if self._moto:
            return MOTO_ACCOUNT
        if self._account is None:
            with self._internal():
                identity = self._clients.client("sts").get_caller_identity()
            self._account = str(identity["Account"])
        return self._account

    def of_call(self, service: str, params: dict[str, Any], parsed: dict[str, Any]) -> str:
        """The ARN a call was about ("" when none)."""
        if service == "sqs":
            url = params.get("QueueUrl") or parsed.get("QueueUrl")
            if not url:
                return ""
            arn = queue_arn(str(url), self.region)
            self._cache.urls[arn] = str(url)
            return arn
        if service == "sns":
            return str(params.get("TopicArn") or params.get("TargetArn") or "")
        if service == "events":
            entries = params.get("Entries")
            if isinstance(entries, list) and entries and "EventBusName" in entries[0]:
                return self.bus(str(entries[0]["EventBusName"]))
            if params.get("EventBusName") or "Entries" in params:
                return self.bus(str(params.get("EventBusName") or "default"))
            return str(parsed.get("RuleArn") or parsed.get("EventBusArn") or "")
        if service == "stepfunctions":
            return str(
                params.get("executionArn")
                or params.get("stateMachineArn")
                or parsed.get("stateMachineArn")
                or ""
            )
        if service == "dynamodb" and params.get("TableName"):
            return self.table(str(params["TableName"]))
        return ""

    def url(self, queue: str) -> str:
        """The URL a traced call used for `queue` ("" when none did)."""
        return self._cache.urls.get(queue, "")

    def bus(self, name: str) -> str:
        """The ARN of event bus `name` (an ARN already: itself)."""
        if name.startswith("arn:"):
            return name
        return f"arn:aws:events:{self.region}:{self.account()}:event-bus/{name}"

    def bus_of_rule(self, rule: str) -> str:
        """The ARN of the bus a rule (by ARN) belongs to."""
        path = rule.split(":", 5)[-1].split("/")  # rule/name or rule/bus/name
        return self.bus(path[1] if len(path) == 3 else "default")

    def table(self, name: str, region: str = "") -> str:
        """The ARN of DynamoDB table `name`."""
        return f"arn:aws:dynamodb:{region or self.region}:{self.account()}:table/{name}"

    def function(self, name: str, region: str = "") -> str:
        """The ARN of Lambda function `name` (an ARN already: itself)."""
        if name.startswith("arn:"):
            return name
        return f"arn:aws:lambda:{region or self.region}:{self.account()}:function:{name}"
