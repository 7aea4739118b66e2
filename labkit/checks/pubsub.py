"""Checks for lesson 04 (pub/sub): a subscriber added without touching the publisher, a filter
policy for one version of the message format, and a tolerant consumer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import labkit.matcher as matching
from labkit.checks import Passed, expect, plain, routing_hint
from labkit.checks.sns import (
    _queue,
    _quiet,
    _subscription,
    _topic_arn,
    queue_policy_problem,
    sns_attributes,
)
from labkit.lessons.inbox import depth
from labkit.lessons.pubsub import publisher_calls
from labkit.trace.flows import short_name

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "SERVICE_CHOICES",
    "choose_service",
    "shipping_subscriber",
    "version_filter",
    "tolerant_billing",
    "VersionProbe",
    "VERSION_PROBES",
    "ReadProbe",
    "READ_PROBES",
]

TOPIC = "orders"
PUBLISHER = "order-service"
SETUP = "run the setup cell under the Exercises heading first (it creates it)"
#: Every call the order service makes in the lesson: one publish per order, on SNS or EventBridge.
PUBLISHER_DOES = {("sns", "Publish", TOPIC), ("events", "PutEvents", "shop")}


def _order(version: Any, order_id: str = "o-probe", **extra: Any) -> dict[str, Any]:
    order: dict[str, Any] = {"order_id": order_id, "customer": "c-1", "items": 1, "total": 20.0}
    if version is not None:
        order = {"version": version, **order}
    if version == 2:
        order["total"] = {"amount": "20.00", "currency": "EUR"}
    order.update(extra)
    return order


@dataclass(frozen=True)
class VersionProbe:
    """A sample order published with its version as attribute and in the body."""

    description: str
    version: Any
    should_match: bool
    hint: str

    def explain(self, policy: dict[str, Any], scope: str) -> matching.Verdict:
        """Whether a subscription with `policy` and `scope` receives this order, and why (not)."""
        body = _order(self.version)
        attributes = {} if self.version is None else sns_attributes({"version": self.version})
        return matching.explain_filter(
            policy, scope=scope, body=json.dumps(body), attributes=attributes
        )

    def matches(self, policy: dict[str, Any], scope: str) -> bool:
        """Whether a subscription with `policy` and `scope` receives this order."""
        return self.explain(policy, scope).matched


#: The sample orders exercise 2's policy is tried on.
VERSION_PROBES: tuple[VersionProbe, ...] = (
    VersionProbe(
        "a version-2 order",
        2,
        True,
        'accept the number 2: {"version": [2]} (the attribute is a Number; "2" in quotes is '
        "text and does not match it)",
    ),
    VersionProbe(
        "a version-1 order",
        1,
        False,
        'list only 2 among the accepted values: {"version": [2]}',
    ),
    VersionProbe(
        "a version-3 order (a future format)",
        3,
        False,
        'name the version you read rather than excluding the ones you do not: {"version": [2]}, '
        'not {"version": [{"anything-but": [1]}]}',
    ),
    VersionProbe(
        "an order without any version",
        None,
        False,
        'a policy key must be present to match: {"version": [2]} does that',
    ),
)


@dataclass(frozen=True)
class ReadProbe:
    """A message body `read_order` is given, and what it should make of it."""

    description: str
    body: dict[str, Any]
    wanted: tuple[str, float] | None  # None: must raise ValueError
    hint: str
    may_raise: bool = False  # True: raising ValueError is also right


READ_PROBES: tuple[ReadProbe, ...] = (
    ReadProbe(
        "a version-1 order, exactly the five fields",
        _order(1, "o-21"),
        ("o-21", 20.0),
        "return (order['order_id'], float(order['total'])) for version 1",
    ),
    ReadProbe(
        "a version-1 order with extra fields (currency, coupon)",
        _order(1, "o-22", currency="EUR", coupon="SPRING"),
        ("o-22", 20.0),
        "read only the fields billing needs and ignore the others: do not build Order(**order)",
    ),
    ReadProbe(
        "a version-1 order with a field nobody has heard of yet",
        _order(1, "o-23", gift={"note": "hi"}),
        ("o-23", 20.0),
        "ignore every field you do not need, whatever its name",
    ),
    ReadProbe(
        "a version-2 order (total is an object)",
        _order(2, "o-24"),
        ("o-24", 20.0),
        "for version 2, either read float(order['total']['amount']) or raise ValueError; never "
        "return the object or guess",
        may_raise=True,
    ),
    ReadProbe(
        "a version-7 order (a version billing has never seen)",
        _order(7, "o-25"),
        None,
        "check order.get('version') first and raise ValueError for any version you do not know",
    ),
    ReadProbe(
        "an order without a version field",
        _order(None, "o-26"),
        None,
        "a message without a version is not one billing can trust: raise ValueError",
    ),
)


def _policy_lets_in(lab: Lab, url: str, queue_arn: str, topic_arn: str) -> None:
    with _quiet(lab):
        attrs = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    problem = queue_policy_problem(
        attrs.get("Attributes", {}).get("Policy", ""), queue_arn, topic_arn
    )
    expect(
        not problem,
        f"a queue policy on {short_name(queue_arn)!r} letting the topic "
        f"{short_name(topic_arn)!r} send to it (without it SNS cannot deliver, on AWS and in "
        "the lab)",
        problem,
        "create the queue with subscriber_queue(lab, name, topic_arn): it sets that policy",
    )


# -- exercise 1 -----------------------------------------------------------------------------
def shipping_subscriber(lab: Lab) -> Passed:
    """Exercise 1: queue 'shipping' on the orders topic, and the publisher unchanged."""
    topic = _topic_arn(lab, TOPIC, SETUP)
    url, arn = _queue(lab, "shipping", 'subscriber_queue(lab, "shipping", topic_arn)')
    _policy_lets_in(lab, url, arn, topic)
    attrs = _subscription(
        lab,
        topic,
        arn,
        "sns.subscribe(TopicArn=topic_arn, Protocol='sqs', Endpoint=shipping_arn, Attributes=...)",
    )
    expect(
        attrs.get("RawMessageDelivery") == "true",
        "RawMessageDelivery 'true' on the shipping subscription, like the other subscribers",
        f"RawMessageDelivery {attrs.get('RawMessageDelivery', 'false')!r}",
        "subscribe with Attributes={'RawMessageDelivery': 'true', ...}",
    )
    policy = json.loads(attrs.get("FilterPolicy") or "{}")
    v1 = VersionProbe("", 1, True, "").matches(policy, attrs.get("FilterPolicyScope") or "")
    v2 = VersionProbe("", 2, False, "").matches(policy, attrs.get("FilterPolicyScope") or "")
    expect(
        v1 and not v2,
        "a filter policy taking version-1 orders and not version-2 ones",
        f"FilterPolicy {json.dumps(policy) if policy else 'none'} "
        f"({'takes' if v1 else 'refuses'} version 1, {'takes' if v2 else 'refuses'} version 2)",
        "add 'FilterPolicy': json.dumps({'version': [1]}) to the subscription's Attributes",
    )
    lab.tracer.harvest()
    delivered = sum(1 for h in lab.tracer.hops if h.kind == "delivered" and h.target == arn)
    expect(
        delivered >= 1,
        "at least one order delivered to shipping",
        "none yet",
        "place a version-1 order after subscribing: place_order({'version': 1, 'order_id': "
        "'o-10', 'customer': 'c-5', 'items': 1, 'total': 19.0})",
    )
    # what the publisher did since the shipping subscription was (last) made: an earlier try
    # that changed place_order is forgiven once the exercise cell runs again without it
    subscribes = [c.seq for c in lab.tracer.calls if c.operation == "Subscribe" and c.ok]
    calls = publisher_calls(lab, PUBLISHER, since=subscribes[-1] if subscribes else 0)
    others = sorted({c for c in calls if c not in PUBLISHER_DOES})
    expect(
        bool(calls) and not others,
        f"the {PUBLISHER} to call only Publish on the {TOPIC!r} topic, as on day 1",
        f"since your last subscribe it also called "
        f"{', '.join(f'{s}.{op} on {r}' for s, op, r in others) or 'nothing at all'}",
        "leave place_order as it was (re-run its cell from the lesson if you changed it): "
        "subscribing is the subscriber's business. Then run the exercise cell again: the check "
        "looks at the calls made after its subscribe",
    )
    publishes = sum(1 for c in calls if c == ("sns", "Publish", TOPIC))
    return Passed(
        "Exercise 1",
        f"shipping received {delivered} order(s); the order service made {publishes} Publish "
        "calls to its topic and nothing else",
    )


# -- exercise 2 -----------------------------------------------------------------------------
def version_filter(lab: Lab) -> Passed:
    """Exercise 2: queue 'billing-v2' subscribed with a policy that takes version 2 only."""
    topic = _topic_arn(lab, TOPIC, SETUP)
    _, arn = _queue(lab, "billing-v2", 'subscriber_queue(lab, "billing-v2", topic_arn)')
    attrs = _subscription(
        lab,
        topic,
        arn,
        "sns.subscribe(TopicArn=topic_arn, Protocol='sqs', Endpoint=billing_v2_arn, "
        "Attributes={'FilterPolicy': json.dumps(v2_policy)})",
    )
    text = attrs.get("FilterPolicy", "")
    expect(
        bool(text),
        "a FilterPolicy on the billing-v2 subscription",
        "no filter policy (it would receive every version)",
        "pass Attributes={'FilterPolicy': json.dumps(v2_policy)} to sns.subscribe, or fix the "
        "subscription with sns.set_subscription_attributes(SubscriptionArn=..., "
        "AttributeName='FilterPolicy', AttributeValue=json.dumps(v2_policy))",
    )
    policy = json.loads(text)
    scope = attrs.get("FilterPolicyScope") or "MessageAttributes"
    for probe in VERSION_PROBES:
        verdict = probe.explain(policy, scope)
        got = verdict.matched
        expect(
            got == probe.should_match,
            f"{probe.description} to be {'delivered' if probe.should_match else 'filtered out'}",
            f"it is {'delivered' if got else 'filtered out'} by {json.dumps(policy)}",
            routing_hint(verdict.reasons, probe.should_match, got, probe.hint),
        )
    return Passed(
        "Exercise 2",
        f"billing-v2 takes version 2 and refuses the other {len(VERSION_PROBES) - 1} samples",
    )


# -- exercise 3 -----------------------------------------------------------------------------
def _try_read(read_order: Callable[[str], Any], probe: ReadProbe) -> None:
    body = json.dumps(probe.body)
    try:
        got = read_order(body)
    except ValueError as refusal:
        expect(
            probe.wanted is None or probe.may_raise,
            f"read_order on {probe.description} to return {probe.wanted}",
            f"ValueError: {refusal}",
            probe.hint,
        )
        return
    except Exception as error:  # the learner's code: any other failure is the finding
        expect(
            False,
            f"read_order on {probe.description} to "
            + ("raise ValueError" if probe.wanted is None else f"return {probe.wanted}"),
            f"{type(error).__name__}: {error}",
            probe.hint,
        )
    expect(
        probe.wanted is not None,
        f"read_order on {probe.description} to raise ValueError",
        f"it returned {got!r}",
        probe.hint,
    )
    assert probe.wanted is not None
    ok = (
        isinstance(got, tuple | list)
        and len(got) == 2
        and got[0] == probe.wanted[0]
        and isinstance(got[1], int | float)
        and math.isclose(float(got[1]), probe.wanted[1])
    )
    expect(ok, f"read_order on {probe.description} to return {probe.wanted}", repr(got), probe.hint)


def _depth(lab: Lab, url: str) -> int:
    with _quiet(lab):
        return depth(lab.client("sqs"), url)


def tolerant_billing(lab: Lab, read_order: Any = None) -> Passed:
    """Exercise 3: `read_order` reads tolerantly; billing's dead-lettered orders were redriven
    and processed, and its dead-letter queue is empty."""
    expect(
        callable(read_order),
        "the function read_order(body) you wrote",
        f"{type(read_order).__name__} {read_order!r}"[:120],
        "define def read_order(body): ... and pass it: tolerant_billing(lab, read_order)",
    )
    for probe in READ_PROBES:
        _try_read(read_order, probe)
    dlq_url, dlq_arn = _queue(lab, "billing-dlq", SETUP)
    billing_url, _ = _queue(lab, "billing", SETUP)
    lab.tracer.harvest()
    redriven = [h for h in lab.tracer.hops if h.kind == "redriven" and h.source == dlq_arn]
    expect(
        bool(redriven),
        "billing's dead-lettered orders moved back to its queue",
        "no move out of billing-dlq yet",
        "sqs.start_message_move_task(SourceArn=<billing-dlq's ARN>), then "
        "lab.functions.run_until_idle()",
    )
    left = _depth(lab, dlq_url)
    expect(
        left == 0,
        "billing-dlq empty once the moved orders were processed",
        f"{left} message(s) in billing-dlq",
        "deploy the new handler under the same name first (lab.functions.deploy('charge', "
        "charge)), then move the messages back and run lab.functions.run_until_idle(); a "
        "handler that still fails sends them back to the dead-letter queue",
    )
    waiting = _depth(lab, billing_url)
    expect(
        waiting == 0,
        "the billing queue drained",
        f"{waiting} message(s) still in billing",
        "let the function run: lab.functions.run_until_idle()",
    )
    since = redriven[-1].time
    done = sum(
        len(i.message_ids) - len(i.failed_ids)
        for i in lab.functions.invocations
        if i.function == "charge" and i.time >= since and i.outcome in ("ok", "partial")
    )
    expect(
        done >= len(redriven),
        f"the charge function to process the {len(redriven)} moved order(s)",
        f"{done} processed since the move",
        "deploy the tolerant handler as 'charge' (it keeps billing's queue), then run "
        "lab.functions.run_until_idle()",
    )
    return Passed(
        "Exercise 3",
        f"read_order handles all {len(READ_PROBES)} samples, and billing charged the "
        f"{len(redriven)} order(s) it had set aside; nothing was lost",
    )


# -- exercise 4 -----------------------------------------------------------------------------
#: Each situation of exercise 4, the service that fits it, and why.
SERVICE_CHOICES: dict[str, tuple[str, str]] = {
    "every order to the same 3 queues, as fast and cheap as possible": (
        "sns",
        "one stream to a few fixed subscribers with no routing: SNS fan-out is the simple, "
        "high-throughput pipe",
    ),
    "orders of 500 or more, from any of 4 shops, to the risk team, reshaped to 2 fields": (
        "eventbridge",
        "routing by content (detail.total), many producers and an input transformer are rules' "
        "work",
    ),
    "a text message to 50,000 customers' phones": (
        "sns",
        "SNS delivers to SMS and mobile push; EventBridge targets are AWS services and APIs",
    ),
    "start a workflow whenever an EC2 instance stops": (
        "eventbridge",
        "AWS services publish their own events on the default bus; only a rule can react to them",
    ),
    "feed last week's orders again to a new consumer after a bug fix": (
        "eventbridge",
        "archives and replays are EventBridge's (a standard SNS topic keeps nothing)",
    ),
}
_SERVICES = {"sns": "sns", "simplenotificationservice": "sns", "eventbridge": "eventbridge",
             "events": "eventbridge", "cloudwatchevents": "eventbridge"}  # fmt: skip


def choose_service(answer: Any) -> Passed:
    """Exercise 4: SNS or EventBridge for each situation; any casing, "Amazon SNS" included."""
    expect(
        isinstance(answer, dict),
        "a dict from each situation to 'sns' or 'eventbridge'",
        type(answer).__name__,
        "keep the dict of the exercise cell and replace each ... by 'sns' or 'eventbridge'",
    )
    missing = [s for s in SERVICE_CHOICES if s not in answer]
    expect(
        not missing,
        f"an answer for each of the {len(SERVICE_CHOICES)} situations",
        f"missing {missing}",
        "run the exercise cell again: its keys are the situations, unchanged",
    )
    for situation, (service, why) in SERVICE_CHOICES.items():
        given = answer[situation]
        said = _SERVICES.get(plain(given), "")
        expect(
            said == service,
            f"{situation!r}: {'SNS' if service == 'sns' else 'EventBridge'}",
            "... (not filled in)" if given is ... else repr(given),
            f"{why} (section 10 of lesson 03 compares the two)"
            if said
            else "answer 'sns' or 'eventbridge'",
        )
    return Passed("Exercise 4", f"the right service for all {len(SERVICE_CHOICES)} situations")
