"""SNS and EventBridge routing: the deliveries a publish or a put infers from the wiring, decided
by `labkit.matcher`, and confirmed by what arrives in a queue."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import KW_ONLY, dataclass
from typing import Any

import labkit.matcher as matching
from labkit.trace.actors import DEFAULT_PUBLISHER
from labkit.trace.journal import Journal
from labkit.trace.resources import Resources
from labkit.trace.state import RoutingState
from labkit.trace.timing import TraceTime
from labkit.trace.wiring import Wiring

__all__ = ["MOTO_NATIVE_TARGETS", "RAW_PENDING_LIMIT", "Router", "matched"]

#: Deliveries stock moto performs itself; the others come from labkit's bridges (`add_hop`),
#: `labkit.moto_patches.events_targets.BRIDGED_TARGETS` (tests/test_bridges.py keeps the two
#: apart and together covering the targets).
MOTO_NATIVE_TARGETS = frozenset({"sqs", "logs", "events"})
#: Raw deliveries remembered per queue and body, waiting to be seen.
RAW_PENDING_LIMIT = 10_000


def matched(
    rule: dict[str, Any] | str,
    *,
    scope: str = "MessageAttributes",
    body: str = "",
    attributes: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> tuple[bool, str]:
    """Whether an SNS filter policy (event None) or an EventBridge pattern (event given) matches.

    The one place the tracer makes a routing decision. It asks `labkit.matcher`, the matcher
    that decides the deliveries on `embedded` and writes the "why not delivered?" sentences, so
    a trace, a check and an explanation cannot disagree. Returns (matched, the first reason
    when it does not match).

    >>> matched({"region": ["eu"]}, attributes={"region": {"DataType": "String",
    ...         "StringValue": "us"}})[1][:47]
    'The message attribute "region" is "us", but the'
    >>> matched({"source": ["shop"]}, event={"source": "shop", "detail": {}})
    (True, '')
    """
    try:
        if event is not None:
            verdict = matching.explain_pattern(rule, event)
        else:
            verdict = matching.explain_filter(
                rule, scope=scope, body=body, attributes=attributes or {}
            )
    except (matching.InvalidFilterPolicy, matching.InvalidEventPattern) as error:
        return False, str(error)
    if verdict.matched:
        return True, ""
    return False, verdict.reasons[0] if verdict.reasons else "did not match"


@dataclass(eq=False)
class Router:
    """Infers SNS and EventBridge deliveries and confirms them from what queues receive.

    ``moto``: moto answers the calls, so only the deliveries moto makes itself are inferred
    here; labkit's bridges record the others as they make them.
    """

    journal: Journal
    wiring: Wiring
    resources: Resources
    state: RoutingState
    time: TraceTime
    _: KW_ONLY
    moto: bool

    # SNS -----------------------------------------------------------------------------------
    def published(self, params: dict, parsed: dict, topic: str, caller: str) -> list[str]:
        """Publish: the message sent to its topic, and on to the subscriptions."""
        mid = str(parsed.get("MessageId", ""))
        self._published(topic, mid, params, caller)
        return [mid]

    def published_batch(self, params: dict, parsed: dict, topic: str, caller: str) -> list[str]:
        """PublishBatch: each entry that succeeded, as one Publish."""
        by_id = {entry.get("Id"): entry for entry in params.get("PublishBatchRequestEntries", [])}
        ids = []
        for ok in parsed.get("Successful", []):
            mid = str(ok["MessageId"])
            self._published(topic, mid, by_id.get(ok.get("Id"), {}), caller)
            ids.append(mid)
        return ids

    def _published(self, topic: str, mid: str, params: dict, caller: str) -> None:
        self.journal.hop(caller or DEFAULT_PUBLISHER, topic, mid, "sent", evidence="observed")
        if topic.startswith("arn:") and ":sns:" in topic:
            self.fan_out(topic, mid, params)

    def fan_out(self, topic: str, mid: str, params: dict, time: float | None = None) -> None:
        """Infer the deliveries of message `mid` published to `topic` (its subscriptions)."""
        body = str(params.get("Message", ""))
        attributes = params.get("MessageAttributes") or {}
        hop = self.journal.hop
        for sub in self.wiring.subscriptions(topic):
            if not self.natively_delivered(sub.endpoint, sub.protocol):
                continue
            if sub.policy:
                ok, why = matched(sub.policy, scope=sub.scope, body=body, attributes=attributes)
                if not ok:
                    hop(topic, sub.endpoint, mid, "filtered", evidence="inferred", detail=why)
                    continue
            hop(topic, sub.endpoint, mid, "delivered", evidence="inferred", time=time)
            if sub.raw and sub.protocol == "sqs":
                pending = self.state.raw_pending[sub.endpoint].setdefault(
                    body, deque(maxlen=RAW_PENDING_LIMIT)
                )
                pending.append(mid)

    def natively_delivered(self, target: str, protocol: str = "") -> bool:
        """Whether the backend itself delivers to `target` (else labkit's bridges record it)."""
        if not self.moto:
            return True
        service = protocol or (target.split(":")[2] if target.startswith("arn:") else "")
        return service in MOTO_NATIVE_TARGETS

    # EventBridge ---------------------------------------------------------------------------
    def put_events(self, params: dict, parsed: dict, bus: str, caller: str) -> list[str]:
        """PutEvents: each accepted event sent to its bus, and on through the matching rules."""
        ids = []
        for entry, answer in zip(
            params.get("Entries", []), parsed.get("Entries", []), strict=False
        ):
            event_id = answer.get("EventId")
            if not event_id:
                continue
            bus_arn = self.resources.bus(str(entry.get("EventBusName") or "default"))
            self.journal.hop(
                caller or DEFAULT_PUBLISHER, bus_arn, event_id, "sent", evidence="observed"
            )
            self._route_event(bus_arn, event_id, entry)
            ids.append(str(event_id))
        return ids

    def _route_event(self, bus: str, event_id: str, entry: dict) -> None:
        event = self._event(bus, event_id, entry)
        hop = self.journal.hop
        for rule in self.wiring.rules(bus):
            if not rule.enabled:
                continue
            ok, why = matched(rule.pattern or "{}", event=event)
            if not ok:
                hop(bus, rule.arn, event_id, "filtered", evidence="inferred", detail=why)
                continue
            hop(bus, rule.arn, event_id, "delivered", evidence="inferred")
            for target in rule.targets:
                if self.natively_delivered(target):
                    hop(rule.arn, target, event_id, "delivered", evidence="inferred")

    def _event(self, bus: str, event_id: str, entry: dict) -> dict[str, Any]:
        """The event a PutEvents entry becomes, as rules see it."""
        try:
            detail = json.loads(entry.get("Detail") or "{}")
        except ValueError:
            detail = {}
        return {
            "version": "0",
            "id": event_id,
            "detail-type": entry.get("DetailType"),
            "source": entry.get("Source"),
            "account": bus.split(":")[4],
            "time": self.time.iso(self.time.now()),
            "region": bus.split(":")[3],
            "resources": entry.get("Resources", []),
            "detail": detail,
        }

    # what arrives ----------------------------------------------------------------------------
    def arrived(self, queue: str, sqs_id: str, body: str) -> str | None:
        """Confirm the delivery that brought a message into `queue`, from its SNS envelope, its
        EventBridge event or its raw body; the message's origin id, or None when none did."""
        if body.startswith("{") and '"TopicArn"' in body and '"MessageId"' in body:
            origin = self._from_topic(queue, sqs_id, body)
            if origin is not None:
                return origin
        if body.startswith("{") and '"detail-type"' in body:
            origin = self._from_rule(queue, sqs_id, body)
            if origin is not None:
                return origin
        pending = self.state.raw_pending.get(queue, {}).get(body)
        if pending:
            origin = pending.popleft()
            journal = self.journal
            journal.confirm("delivered", journal.last_source(origin, queue), queue, origin)
            journal.link(sqs_id, origin)
            return origin
        return None

    def _from_topic(self, queue: str, sqs_id: str, body: str) -> str | None:
        envelope = _json(body)
        if not isinstance(envelope, dict) or envelope.get("Type") != "Notification":
            return None
        journal = self.journal
        origin = str(envelope.get("MessageId", ""))
        topic = str(envelope.get("TopicArn", ""))
        # a subscription's dead-letter queue gets the envelope too: its hop is there already
        confirmed = journal.confirm("delivered", topic, queue, origin) or journal.confirm(
            "dead-lettered", topic, queue, origin
        )
        if not confirmed:
            journal.hop(topic, queue, origin, "delivered", evidence="observed")
        journal.link(sqs_id, origin)
        return journal.origin(origin)

    def _from_rule(self, queue: str, sqs_id: str, body: str) -> str | None:
        event = _json(body)
        if not isinstance(event, dict) or "id" not in event:
            return None
        journal = self.journal
        origin = str(event["id"])
        for rule in self.wiring.rules_targeting(queue):
            if journal.confirm("delivered", rule, queue, origin):
                # the target got it, so the rule matched: confirm bus -> rule too
                journal.confirm("delivered", self.resources.bus_of_rule(rule), rule, origin)
        journal.link(sqs_id, origin)
        return journal.origin(origin)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
