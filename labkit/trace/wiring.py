"""The lab's topology as the tracer routes by it: subscriptions, rules and their targets, redrive
policies, state machine definitions. Looked up on first use, cached until a call changes it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from labkit.trace.journal import Journal
from labkit.trace.resources import Resources, queue_arn
from labkit.trace.state import QueueInfo, Rule, Subscription, WiringCache

if TYPE_CHECKING:
    from labkit.parts import Clients

__all__ = ["DEFAULT_VISIBILITY", "TOPOLOGY_CHANGES", "Link", "Wiring"]

#: Operations that change the wiring the tracer caches (service -> operations).
TOPOLOGY_CHANGES = {
    "sqs": {"CreateQueue", "DeleteQueue", "SetQueueAttributes"},
    "sns": {
        "CreateTopic",
        "DeleteTopic",
        "Subscribe",
        "Unsubscribe",
        "SetSubscriptionAttributes",
        "ConfirmSubscription",
    },
    "events": {
        "CreateEventBus",
        "DeleteEventBus",
        "PutRule",
        "DeleteRule",
        "EnableRule",
        "DisableRule",
        "PutTargets",
        "RemoveTargets",
    },
    "stepfunctions": {"CreateStateMachine", "UpdateStateMachine", "DeleteStateMachine"},
}
#: SQS's visibility timeout when a queue sets none, in seconds.
DEFAULT_VISIBILITY = 30
#: What SQS answers for a queue that is not there (query and JSON protocols).
_NO_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}

#: (source, target, what): a topic's subscription, a bus's rule, a rule's target, a redrive.
Link = tuple[str, str, str]
T = TypeVar("T")


def _cached(cache: dict[str, T], key: str, look_up: Callable[[], T]) -> T:
    """What `cache` holds for `key`, looked up (and kept) the first time."""
    found = cache.get(key)
    if found is None:
        found = cache[key] = look_up()
    return found


@dataclass(eq=False)
class Wiring:
    """Cached look-ups of the topology; its failures go to the journal's errors.

    ``internal``: the look-ups are the tracer's own calls; ``prefix``: on AWS, only queues and
    topics named with it are the lab's.
    """

    clients: Clients
    resources: Resources
    cache: WiringCache
    journal: Journal
    _: KW_ONLY
    internal: Callable[[], AbstractContextManager[None]]
    lock: threading.RLock
    prefix: str = ""

    def invalidate(self, service: str) -> None:
        """Forget the cached wiring of a service (a call in `TOPOLOGY_CHANGES` succeeded)."""
        cache = self.cache
        with self.lock:
            if service == "sqs":
                cache.queues.clear()
            elif service == "sns":
                cache.subscriptions.clear()
            elif service == "events":
                cache.rules.clear()
            elif service == "stepfunctions":
                cache.definitions.clear()

    def subscriptions(self, topic: str) -> list[Subscription]:
        """The confirmed subscriptions of a topic."""
        return _cached(self.cache.subscriptions, topic, lambda: self._list_subscriptions(topic))

    def rules(self, bus: str) -> list[Rule]:
        """The rules with an event pattern on a bus (scheduled rules fire by the clock)."""
        return _cached(self.cache.rules, bus, lambda: self._list_rules(bus))

    def _list_subscriptions(self, topic: str) -> list[Subscription]:
        sns = self.clients.client("sns")
        subs = []
        with self.internal():
            pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
            for page in pages:
                for sub in page.get("Subscriptions", []):
                    arn = sub["SubscriptionArn"]
                    if not arn.startswith("arn:"):
                        continue  # pending confirmation: nothing is delivered yet
                    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
                    policy = attrs.get("FilterPolicy")
                    subs.append(
                        Subscription(
                            arn,
                            sub["Protocol"],
                            sub["Endpoint"],
                            json.loads(policy) if policy else None,
                            attrs.get("FilterPolicyScope") or "MessageAttributes",
                            attrs.get("RawMessageDelivery") == "true",
                        )
                    )
        return subs

    def _list_rules(self, bus: str) -> list[Rule]:
        events = self.clients.client("events")
        rules = []
        name = bus.rsplit("/", 1)[-1]
        with self.internal():
            for page in events.get_paginator("list_rules").paginate(EventBusName=name):
                for rule in page.get("Rules", []):
                    if "EventPattern" not in rule:
                        continue
                    targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name)
                    rules.append(
                        Rule(
                            rule["Arn"],
                            rule.get("EventPattern"),
                            rule.get("State", "ENABLED") == "ENABLED",
                            [t["Arn"] for t in targets.get("Targets", [])],
                        )
                    )
        return rules

    def rules_targeting(self, queue: str) -> list[str]:
        """The ARNs of the rules looked up so far that target `queue`."""
        return [
            rule.arn
            for rules in self.cache.rules.values()
            for rule in rules
            if queue in rule.targets
        ]

    def queue(self, queue: str, url: str) -> QueueInfo | None:
        """A queue's visibility timeout and redrive policy (None: no URL, or no such queue)."""
        info = self.cache.queues.get(queue)
        if info is not None or not url:
            return info
        with self.internal():
            try:
                attrs = self.clients.client("sqs").get_queue_attributes(
                    QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
                )["Attributes"]
            except Exception as error:  # a tracer look-up must not break the learner's call
                if _error_code(error) not in _NO_QUEUE:  # a deleted queue is no tracer error
                    self.journal.failed(f"attributes of {queue}", error, once=True)
                return None
        redrive = json.loads(attrs.get("RedrivePolicy") or "{}")
        info = QueueInfo(
            queue,
            float(attrs.get("VisibilityTimeout", DEFAULT_VISIBILITY)),
            str(redrive.get("deadLetterTargetArn", "")),
            int(redrive.get("maxReceiveCount", 0) or 0),
        )
        self.cache.queues[queue] = info
        return info

    def definition(self, machine: str) -> dict[str, Any]:
        """A state machine's definition."""
        return _cached(self.cache.definitions, machine, lambda: self._describe(machine))

    def _describe(self, machine: str) -> dict[str, Any]:
        with self.internal():
            described = self.clients.client("stepfunctions").describe_state_machine(
                stateMachineArn=machine
            )
        return json.loads(described["definition"])

    def links(self) -> tuple[tuple[Link, ...], frozenset[str]]:
        """The lab's links and its dead-letter queues, as far as the look-ups get."""
        links: list[Link] = []
        dlqs: set[str] = set()
        try:
            self._collect(links, dlqs)
        except Exception as error:  # the wiring is decoration: keep what was found, and the flow
            self.journal.failed("wiring", error, once=True)
        return tuple(links), frozenset(dlqs)

    def _collect(self, links: list[Link], dlqs: set[str]) -> None:
        prefix = self.prefix
        with self.internal():
            sqs = self.clients.client("sqs")
            urls = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
            sns = self.clients.client("sns")
            topics = [t["TopicArn"] for t in sns.list_topics().get("Topics", [])]
            buses = [
                b["Arn"] for b in self.clients.client("events").list_event_buses()["EventBuses"]
            ]
        for url in urls:
            info = self.queue(queue_arn(url, self.resources.region), url)
            if info and info.dlq:
                dlqs.add(info.dlq)
                links.append((info.arn, info.dlq, "redrive"))
        for topic in topics:
            if prefix and not topic.rsplit(":", 1)[-1].startswith(prefix):
                continue
            for sub in self.subscriptions(topic):
                links.append((topic, sub.endpoint, "subscription"))
        for bus in buses:
            for rule in self.rules(bus):
                links.append((bus, rule.arn, "rule"))
                links += [(rule.arn, target, "target") for target in rule.targets]


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
