"""Checks for lesson 02 (SNS): they read the learner's topics, subscriptions, queue policies and
queues, try filter policies on sample orders, and say what is missing with a hint.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import labkit.matcher as matching
from labkit.checks import Passed, expect, routing_hint, sender_may_send
from labkit.lessons.inbox import depth

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "reachable_audit",
    "shipping_subscriber",
    "priority_filter",
    "gift_body_filter",
    "refund_ledger",
    "policy_matches",
    "sns_attributes",
    "queue_policy_problem",
    "Probe",
    "PRIORITY_PROBES",
    "GIFT_PROBES",
]

TOPIC = "orders"
#: What makes the orders topic again: the exercises' setup cell.
SETUP = "run the setup cell under the Exercises heading first (it creates it)"
SNS_PRINCIPAL = "sns.amazonaws.com"


# -- matching -------------------------------------------------------------------------------
def sns_attributes(values: dict[str, Any]) -> dict[str, dict[str, str]]:
    """SNS MessageAttributes from plain values, as a publisher would send them.

    >>> sns_attributes({"total": 250, "region": "eu-west"})["total"]
    {'DataType': 'Number', 'StringValue': '250'}
    """
    return {
        name: {
            "DataType": "Number"
            if isinstance(value, int | float) and not isinstance(value, bool)
            else "String",
            "StringValue": str(value),
        }
        for name, value in values.items()
    }


def policy_matches(
    policy: dict[str, Any],
    *,
    scope: str = "MessageAttributes",
    attributes: dict[str, Any] | None = None,
    body: str = "",
) -> bool:
    """Whether SNS delivers a publish (`attributes` as given to publish, `body`) to a
    subscription with filter `policy` and `scope`, judged by `labkit.matcher`: the matcher that
    decides the lab's deliveries and writes its explanations, so a check cannot disagree with
    what the learner saw arrive.

    >>> policy_matches({"total": [{"numeric": [">=", 200]}]},
    ...                attributes=sns_attributes({"total": 250}))
    True
    >>> policy_matches({"gift": {"note": [{"exists": True}]}}, scope="MessageBody",
    ...                body='{"gift": {}}')
    False
    """
    return matching.filter_matches(policy, scope=scope, attributes=attributes or {}, body=body)


@dataclass(frozen=True)
class Probe:
    """A sample publish a learner's filter policy should (or should not) let through."""

    description: str
    should_match: bool
    hint: str
    attributes: dict[str, Any] = field(default_factory=dict)  # plain values
    body: dict[str, Any] = field(default_factory=dict)

    def matches(self, policy: dict[str, Any], scope: str) -> bool:
        """Whether `policy` with `scope` lets this sample through."""
        return self.explain(policy, scope).matched

    def explain(self, policy: dict[str, Any], scope: str) -> matching.Verdict:
        """Whether `policy` with `scope` lets this sample through, and why (not), in words."""
        return matching.explain_filter(
            policy,
            scope=scope,
            attributes=sns_attributes(self.attributes),
            body=json.dumps(self.body),
        )


def _order(total: Any, region: str, channel: str = "web") -> dict[str, Any]:
    return {"event_type": "OrderPlaced", "total": total, "region": region, "channel": channel}


#: The sample orders exercise 2's policy is tried on (attributes as the shop publishes them).
PRIORITY_PROBES: tuple[Probe, ...] = (
    Probe(
        "an order of 250 to eu-west from the web",
        True,
        "name the attributes exactly as place_order sends them (total, region, channel), and "
        "make every value a list of conditions",
        attributes=_order(250, "eu-west"),
    ),
    Probe(
        "an order of exactly 200 to eu-north from the app",
        True,
        '200 itself counts: write {"numeric": [">=", 200]} (not ">")',
        attributes=_order(200, "eu-north", "app"),
    ),
    Probe(
        "an order of 199.5 to eu-west",
        False,
        'keep orders below 200 out with "total": [{"numeric": [">=", 200]}]',
        attributes=_order(199.5, "eu-west"),
    ),
    Probe(
        "an order of 500 to us-east",
        False,
        'only European regions: "region": [{"prefix": "eu-"}]',
        attributes=_order(500, "us-east"),
    ),
    Probe(
        "an order of 300 to 'europe-west' (a region that does not start with 'eu-')",
        False,
        'the prefix is "eu-" with its dash; "eu" alone also lets in "europe-west"',
        attributes=_order(300, "europe-west"),
    ),
    Probe(
        "an order of 250 to eu-west from the shop's new kiosk channel",
        True,
        "every channel except test counts, even ones not invented yet: "
        '"channel": [{"anything-but": ["test"]}] rather than a list of the channels you know',
        attributes=_order(250, "eu-west", "kiosk"),
    ),
    Probe(
        "an order of 900 to eu-west from the test channel",
        False,
        'leave out the test harness with "channel": [{"anything-but": ["test"]}]',
        attributes=_order(900, "eu-west", "test"),
    ),
)


def _gift_order(tier: str, gift: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"order_id": "o-probe", "customer": {"tier": tier}, "total": 80}
    if gift is not None:
        body["gift"] = gift
    return body


#: The sample order bodies exercise 3's policy is tried on.
GIFT_PROBES: tuple[Probe, ...] = (
    Probe(
        "a gold customer's order with a gift note",
        True,
        'nest the keys as the body does: {"gift": {"note": [...]}, "customer": {"tier": [...]}}',
        body=_gift_order("gold", {"note": "Happy birthday!"}),
    ),
    Probe(
        "a silver customer's order with a gift note",
        True,
        'list both tiers: "tier": ["gold", "silver"] (one match in the list is enough)',
        body=_gift_order("silver", {"note": "Congratulations"}),
    ),
    Probe(
        "a standard customer's order with a gift note",
        False,
        'only gold and silver: "customer": {"tier": ["gold", "silver"]}',
        body=_gift_order("standard", {"note": "Thanks"}),
    ),
    Probe(
        "a gold customer's order without any gift",
        False,
        'require the note: "gift": {"note": [{"exists": true}]}',
        body=_gift_order("gold", None),
    ),
    Probe(
        "a gold customer's order with a gift object but no note in it",
        False,
        'test the note itself, not just the gift object: "gift": {"note": [{"exists": true}]}',
        body=_gift_order("gold", {"wrap": "red"}),
    ),
)


# -- reading the lab ------------------------------------------------------------------------
def _topic_arn(lab: Lab, name: str, how: str) -> str:
    sns = lab.client("sns")
    with _quiet(lab):
        arns = [
            t["TopicArn"]
            for page in sns.get_paginator("list_topics").paginate()
            for t in page.get("Topics", [])
        ]
    found = [a for a in arns if a.rsplit(":", 1)[-1] == name]
    names = ", ".join(sorted(a.rsplit(":", 1)[-1] for a in arns)) or "no topics"
    expect(bool(found), f"an SNS topic named {name!r}", names, how)
    return found[0]


def _queue(lab: Lab, name: str, how: str) -> tuple[str, str]:
    sqs = lab.client("sqs")
    with _quiet(lab):
        urls = sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])
        url = next((u for u in urls if u.rstrip("/").rsplit("/", 1)[-1] == name), "")
        expect(bool(url), f"an SQS queue named {name!r}", "no such queue", how)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    return url, arn


def _subscription(lab: Lab, topic_arn: str, queue_arn: str, how: str) -> dict[str, str]:
    sns = lab.client("sns")
    with _quiet(lab):
        subs = [
            s
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
                TopicArn=topic_arn
            )
            for s in page.get("Subscriptions", [])
        ]
        mine = [s for s in subs if s["Endpoint"] == queue_arn and s["Protocol"] == "sqs"]
        endpoints = ", ".join(s["Endpoint"].rsplit(":", 1)[-1] for s in subs) or "none"
        expect(
            bool(mine),
            f"a subscription of queue {queue_arn.rsplit(':', 1)[-1]!r} "
            f"(Protocol='sqs') to topic {topic_arn.rsplit(':', 1)[-1]!r}",
            f"subscriptions to: {endpoints}",
            how,
        )
        attrs: dict[str, str] = sns.get_subscription_attributes(
            SubscriptionArn=mine[-1]["SubscriptionArn"]
        )["Attributes"]
    return attrs


def _quiet(lab: Lab) -> AbstractContextManager[None]:
    """Keep the check's own calls out of the lab's trace (plots show only the learner's)."""
    return lab.tracer.paused()


def queue_policy_problem(policy_text: str, queue_arn: str, topic_arn: str) -> str:
    """What stops `topic_arn` delivering to `queue_arn` under this queue policy ("" if nothing
    does), decided by `labkit.matcher` as the lab's deliveries are; a policy that lets any topic
    send is a problem too (it names no aws:SourceArn).

    >>> queue_policy_problem("", "arn:aws:sqs:us-east-1:1:q", "arn:aws:sns:us-east-1:1:t")
    'the queue has no access policy'
    """
    if not policy_text:
        return "the queue has no access policy"
    try:
        decision = matching.evaluate_policy(policy_text, _sns_sends(queue_arn, topic_arn))
        stranger = topic_arn.rsplit(":", 1)[0] + ":another-topic"
        broad = matching.evaluate_policy(policy_text, _sns_sends(queue_arn, stranger)).allowed
    except (ValueError, TypeError, AttributeError):
        return "the queue policy is not valid JSON"
    if decision.reason.startswith("explicitly denied"):
        return (
            f"a Deny statement ({decision.statement!r}) in the queue policy covers SNS sending "
            "to it"
        )
    if not decision.allowed:
        return decision.reason
    if broad:
        return "the policy lets any topic send, with no aws:SourceArn condition naming this topic"
    return ""


def _sns_sends(queue_arn: str, topic_arn: str) -> matching.Request:
    context = {"aws:SourceArn": topic_arn, "aws:SourceAccount": topic_arn.split(":")[4]}
    return matching.Request(SNS_PRINCIPAL, "sqs:SendMessage", queue_arn, context)


def _check_policy(lab: Lab, url: str, queue_arn: str, topic_arn: str) -> None:
    with _quiet(lab):
        attrs = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    policy = attrs.get("Attributes", {}).get("Policy", "")  # no key at all without a policy
    problem = queue_policy_problem(policy, queue_arn, topic_arn)
    expect(
        not problem,
        f"a queue policy on {queue_arn.rsplit(':', 1)[-1]!r} allowing {SNS_PRINCIPAL} to "
        f"sqs:SendMessage when aws:SourceArn is the topic {topic_arn.rsplit(':', 1)[-1]!r} "
        "(without it SNS cannot deliver, on AWS and in the lab)",
        problem,
        "create the queue with queue_for_topic(name, topic_arn) from section 3, or set the same "
        "policy yourself with sqs.set_queue_attributes(..., Attributes={'Policy': ...})",
    )


def _delivered_count(lab: Lab, queue_arn: str, url: str) -> int:
    lab.tracer.harvest()
    hops = lab.tracer.hops
    if hops:
        return sum(1 for h in hops if h.kind == "delivered" and h.target == queue_arn)
    with _quiet(lab):
        return depth(lab.client("sqs"), url)


def _filter_policy(attrs: dict[str, str], queue: str) -> dict[str, Any]:
    text = attrs.get("FilterPolicy", "")
    expect(
        bool(text),
        f"a FilterPolicy on the subscription of {queue!r}",
        "a subscription without a filter policy (it receives every order)",
        "pass Attributes={'FilterPolicy': json.dumps(your_policy)} to sns.subscribe; to fix an "
        "existing subscription use sns.set_subscription_attributes(SubscriptionArn=..., "
        "AttributeName='FilterPolicy', AttributeValue=json.dumps(your_policy))",
    )
    policy: dict[str, Any] = json.loads(text)
    return policy


def _try_probes(policy: dict[str, Any], scope: str, probes: tuple[Probe, ...]) -> None:
    for probe in probes:
        verdict = probe.explain(policy, scope)
        hint = routing_hint(verdict.reasons, probe.should_match, verdict.matched, probe.hint)
        expect(
            verdict.matched == probe.should_match,
            f"{probe.description} to be {'delivered' if probe.should_match else 'filtered out'}",
            f"it is {'delivered' if verdict.matched else 'filtered out'} by {json.dumps(policy)}",
            hint,
        )


# -- the exercises --------------------------------------------------------------------------
def shipping_subscriber(lab: Lab) -> Passed:
    """Exercise 1: queue 'shipping' on the orders topic, raw delivery, with its policy."""
    topic = _topic_arn(lab, TOPIC, SETUP)
    url, arn = _queue(
        lab,
        "shipping",
        'shipping_url, shipping_arn = queue_for_topic("shipping", topic_arn)',
    )
    _check_policy(lab, url, arn, topic)
    attrs = _subscription(
        lab,
        topic,
        arn,
        "sns.subscribe(TopicArn=topic_arn, Protocol='sqs', Endpoint=shipping_arn, ...)",
    )
    expect(
        attrs.get("RawMessageDelivery") == "true",
        "RawMessageDelivery 'true' on the shipping subscription",
        f"RawMessageDelivery {attrs.get('RawMessageDelivery', 'false')!r}",
        "subscribe with Attributes={'RawMessageDelivery': 'true'}, or switch it on with "
        "sns.set_subscription_attributes(SubscriptionArn=..., AttributeName='RawMessageDelivery',"
        " AttributeValue='true')",
    )
    expect(
        not attrs.get("FilterPolicy"),
        "no filter policy: shipping wants every order",
        f"FilterPolicy {attrs.get('FilterPolicy')}",
        "subscribe without a FilterPolicy",
    )
    delivered = _delivered_count(lab, arn, url)
    expect(
        delivered >= 1,
        "at least one order delivered to shipping",
        "none yet",
        'place an order after subscribing: place_order("o-10", 64, "eu-west")',
    )
    return Passed(
        "Exercise 1",
        f"shipping gets every order as published ({delivered} so far), and the shop's code "
        "did not change",
    )


def _filtered_subscription(lab: Lab, queue: str, subscribe: str) -> tuple[Any, str]:
    """The filter policy and scope of `queue`'s subscription to the orders topic, after the
    checks every filtered subscriber of this lesson shares (topic, queue, queue policy)."""
    topic = _topic_arn(lab, TOPIC, SETUP)
    url, arn = _queue(lab, queue, f'queue_for_topic("{queue}", topic_arn)')
    _check_policy(lab, url, arn, topic)
    attrs = _subscription(lab, topic, arn, subscribe)
    return _filter_policy(attrs, queue), attrs.get("FilterPolicyScope") or "MessageAttributes"


def priority_filter(lab: Lab) -> Passed:
    """Exercise 2: queue 'priority' with an attribute filter (>= 200, eu-, not test)."""
    policy, scope = _filtered_subscription(
        lab,
        "priority",
        "sns.subscribe(TopicArn=topic_arn, Protocol='sqs', Endpoint=priority_arn, "
        "Attributes={'FilterPolicy': json.dumps(priority_policy)})",
    )
    expect(
        scope == "MessageAttributes",
        "a policy on the message attributes (the default scope)",
        f"FilterPolicyScope {scope!r}",
        "leave FilterPolicyScope out: place_order sends total, region and channel as attributes",
    )
    _try_probes(policy, scope, PRIORITY_PROBES)
    return Passed("Exercise 2", f"your policy sorts all {len(PRIORITY_PROBES)} sample orders right")


def gift_body_filter(lab: Lab) -> Passed:
    """Exercise 3: queue 'gift-wrap' with a body filter (gift.note exists, gold or silver)."""
    policy, scope = _filtered_subscription(
        lab,
        "gift-wrap",
        "sns.subscribe(TopicArn=topic_arn, Protocol='sqs', Endpoint=gift_arn, Attributes=...)",
    )
    expect(
        scope == "MessageBody",
        "FilterPolicyScope 'MessageBody' (the gift note is in the body, not in an attribute)",
        f"FilterPolicyScope {scope!r}",
        "add 'FilterPolicyScope': 'MessageBody' to the subscription's Attributes",
    )
    _try_probes(policy, scope, GIFT_PROBES)
    return Passed(
        "Exercise 3", f"your body policy sorts all {len(GIFT_PROBES)} sample orders right"
    )


REFUND_STEPS = ("requested", "approved", "paid")


def refund_ledger(lab: Lab, messages: Any = None) -> Passed:
    """Exercise 4: FIFO topic 'refunds.fifo' -> FIFO queue 'refund-ledger.fifo'; `messages` are
    what the learner read from the queue (``take_all``): group c-9, in order.

    The check does not read the queue itself: a receive would change what the learner reads.
    """
    topic = _topic_arn(
        lab,
        "refunds.fifo",
        "sns.create_topic(Name='refunds.fifo', Attributes={'FifoTopic': 'true', "
        "'ContentBasedDeduplication': 'true'})",
    )
    sns = lab.client("sns")
    with _quiet(lab):
        topic_attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    expect(
        topic_attrs.get("FifoTopic") == "true",
        "'refunds.fifo' to be a FIFO topic",
        "a standard topic",
        "delete it (sns.delete_topic) and create it with Attributes={'FifoTopic': 'true', ...}",
    )
    url, arn = _queue(
        lab,
        "refund-ledger.fifo",
        "queue_for_topic('refund-ledger.fifo', refunds_arn, FifoQueue='true', "
        "ContentBasedDeduplication='true')",
    )
    _check_policy(lab, url, arn, topic)
    _subscription(
        lab,
        topic,
        arn,
        "sns.subscribe(TopicArn=refunds_arn, Protocol='sqs', Endpoint=refund_ledger_arn)",
    )
    expect(
        isinstance(messages, list) and all(isinstance(m, dict) and "Body" in m for m in messages),
        "the list of messages take_all(lab, refund_ledger_url) returned",
        f"{type(messages).__name__} {messages!r}"[:120],
        "read the queue with ledger_messages = take_all(lab, refund_ledger_url) and pass "
        "ledger_messages to the check",
    )
    groups = sorted({m.get("Attributes", {}).get("MessageGroupId", "none") for m in messages})
    expect(
        bool(messages) and groups == ["c-9"],
        "messages of group 'c-9' only",
        f"{len(messages)} messages, groups: {', '.join(groups) or 'none'}",
        "publish the three steps with MessageGroupId='c-9', after subscribing the queue, then "
        "read the queue again",
    )
    steps = [_text(m["Body"]) for m in messages]
    expect(
        tuple(steps) == REFUND_STEPS,
        f"the steps {', '.join(REFUND_STEPS)} in that order, each once",
        ", ".join(steps),
        "publish exactly these three texts, in order, with MessageGroupId='c-9'; if the queue "
        "held leftovers, purge it (sqs.purge_queue) and publish again",
    )
    return Passed("Exercise 4", "the ledger got requested -> approved -> paid for c-9, in order")


def _text(body: str) -> str:
    try:
        value: Any = json.loads(body)
    except ValueError:
        return body
    if isinstance(value, dict) and value.get("Type") == "Notification" and "Message" in value:
        return _text(str(value["Message"]))
    return value if isinstance(value, str) else body


def reachable_audit(lab: Lab) -> Passed:
    """Exercise 5: the audit queue lets the orders topic (only it) send, and its subscription
    keeps what SNS cannot deliver in 'audit-dlq'."""
    topic = _topic_arn(lab, TOPIC, SETUP)
    url, arn = _queue(lab, "audit", "run the exercise's setup cell first: it creates 'audit'")
    section_3 = "a policy like queue_for_topic's in section 3, set with sqs.set_queue_attributes"
    decision = sender_may_send(lab, url, arn, topic)
    expect(
        decision.allowed,
        "an access policy on 'audit' that lets the orders topic send (sns.amazonaws.com, "
        "sqs:SendMessage, aws:SourceArn the topic's ARN)",
        decision.reason,
        section_3,
    )
    stranger = topic.rsplit(":", 1)[0] + ":not-orders"
    expect(
        not sender_may_send(lab, url, arn, stranger).allowed,
        "a policy that lets only the orders topic send",
        "one that lets any topic send (no aws:SourceArn condition naming orders)",
        'add "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}} to the Allow statement',
    )
    attrs = _subscription(lab, topic, arn, "run the exercise's setup cell first")
    dlq_url, dlq_arn = _queue(
        lab, "audit-dlq", 'audit_dlq_url, audit_dlq_arn = queue_for_topic("audit-dlq", topic_arn)'
    )
    try:
        redrive = json.loads(attrs.get("RedrivePolicy") or "{}")
    except ValueError:
        redrive = {}
    expect(
        redrive.get("deadLetterTargetArn") == dlq_arn,
        f"the audit subscription's RedrivePolicy naming {dlq_arn.rsplit(':', 1)[-1]!r}",
        f"RedrivePolicy {attrs.get('RedrivePolicy', 'not set')}",
        "sns.set_subscription_attributes(SubscriptionArn=audit_sub, AttributeName="
        "'RedrivePolicy', AttributeValue=json.dumps({'deadLetterTargetArn': audit_dlq_arn}))",
    )
    dlq = sender_may_send(lab, dlq_url, dlq_arn, topic)
    expect(
        dlq.allowed,
        "a policy on 'audit-dlq' that lets the orders topic send: SNS delivers the lost copies "
        "there itself",
        dlq.reason,
        'create it with queue_for_topic("audit-dlq", topic_arn)',
    )
    return Passed(
        "Exercise 5",
        "audit receives the orders topic's copies again, and a copy SNS cannot deliver waits "
        "in audit-dlq instead of being dropped",
    )
