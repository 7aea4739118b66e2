"""Checks for lesson 07 (the capstone): a new subscriber, a redriven poison message, and a saga
failing at every step. Each reads the learner's lab and trace, and says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from labkit.checks import Passed, expect, plain
from labkit.checks.sns import queue_policy_problem
from labkit.lessons.capstone import executions
from labkit.trace.flows import as_flow, short_name
from labkit.trace.records import actor

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "marketing",
    "poison_redriven",
    "failure_points",
    "patterns_and_services",
    "FAILURE_POINTS",
    "SCENARIOS",
]

#: For each forward step that can fail, the compensations the purchase saga must run, in order.
FAILURE_POINTS = {
    "Charge": ("CancelOrder",),
    "Reserve": ("Refund", "CancelOrder"),
    "BookCourier": ("Release", "Refund", "CancelOrder"),
}


def _queue(lab: Lab, name: str) -> tuple[str, str] | None:
    sqs = lab.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except Exception:
        return None
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(url), str(arn["QueueArn"])


def _depth(lab: Lab, url: str) -> int:
    attrs = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return sum(
        int(attrs["Attributes"].get(k, 0))
        for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    )


def marketing(lab: Lab, *, queue: str = "marketing", topic: str = "orders") -> Passed:
    """Exercise 1: queue `queue` subscribed to `topic`, received orders; the shop unchanged."""
    found = _queue(lab, queue)
    expect(
        found is not None,
        f"a queue named {queue!r}",
        "no such queue",
        f'create it with subscriber_queue(lab, "{queue}", topic_arn)',
    )
    assert found is not None
    _, arn = found
    sns = lab.client("sns")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(topic)]
    subscribed = [
        s
        for t in topics
        for s in sns.list_subscriptions_by_topic(TopicArn=t)["Subscriptions"]
        if s["Endpoint"] == arn
    ]
    expect(
        bool(subscribed),
        f"{queue!r} subscribed to the topic {topic!r}",
        "no subscription for it",
        'sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=<the queue ARN>)',
    )
    url, _ = found
    policy = (
        lab.client("sqs")
        .get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
        .get("Attributes", {})
        .get("Policy", "")
    )
    problem = queue_policy_problem(policy, arn, topics[0]) if topics else ""
    expect(
        not problem,
        f"a queue policy on {queue!r} letting the {topic!r} topic send to it (AWS delivers "
        "nothing without it; the lab does not check, so this check does)",
        problem,
        f'create the queue with subscriber_queue(lab, "{queue}", topic_arn), which writes the '
        "policy, as for the other subscribers",
    )
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscribed[0]["SubscriptionArn"])
    raw = attributes["Attributes"].get("RawMessageDelivery", "false")
    expect(
        raw.lower() == "true",
        f"raw message delivery on the subscription of {queue!r}, like the other subscribers",
        f"RawMessageDelivery {raw!r}",
        "subscribe with Attributes={'RawMessageDelivery': 'true'}, or set it now with "
        "sns.set_subscription_attributes(SubscriptionArn=..., AttributeName='RawMessageDelivery', "
        "AttributeValue='true')",
    )
    flow = as_flow(lab)
    arrived = {h.message_id for h in flow if h.kind == "delivered" and h.target == arn}
    expect(
        len(arrived) > 0,
        f"orders delivered to {queue!r}",
        "nothing delivered yet",
        "announce orders after subscribing: put_orders(more_orders)",
    )
    shop = actor("shop")
    addressed = sorted(
        {short_name(h.target) for h in flow if h.kind == "sent" and h.source == shop}
    )
    expect(
        addressed == ["shop"],
        "the shop addressing only the bus 'shop'",
        f"the shop sent to {addressed}",
        "leave put_orders as it is: subscribers are added on the topic, not in the publisher",
    )
    return Passed(
        "Exercise 1",
        f"{queue} received {len(arrived)} orders; the shop still talks only to the bus",
    )


#: What billing's reader must make of each way an amount arrives in the lesson.
AMOUNTS: tuple[tuple[object, float], ...] = ((12.5, 12.5), ("12,50", 12.5), ("14.90 EUR", 14.9))


def _reads_every_amount(read_amount: Callable[[Any], Any]) -> None:
    for amount, wanted in AMOUNTS:
        try:
            got: Any = read_amount(amount)
        except Exception as error:  # noqa: BLE001 - the learner's code: its failure is the finding
            got = f"{type(error).__name__}: {error}"
        expect(
            isinstance(got, int | float) and abs(got - wanted) < 1e-9,
            f"read_amount({amount!r}) to give {wanted} (billing v2 read it already)",
            f"{got!r}",
            "keep what v2 read (a number, a decimal comma) and add the new case: e.g. "
            'float(str(amount).split()[0].replace(",", "."))',
        )


def poison_redriven(
    lab: Lab, read_amount: Callable[[Any], Any] | None = None, *, queue: str = "billing"
) -> Passed:
    """Exercise 2: the dead-letter queue empty again, its messages redriven and processed, and
    (given `read_amount`) a reader that still reads every amount billing v2 read."""
    if read_amount is not None:
        _reads_every_amount(read_amount)
    found, dead = _queue(lab, queue), _queue(lab, f"{queue}-dlq")
    expect(
        found is not None and dead is not None,
        f"the queues {queue!r} and {queue}-dlq",
        "one of them is missing",
        "run the setup cell under the Exercises heading first (it creates them)",
    )
    assert found is not None and dead is not None
    in_dlq = _depth(lab, dead[0])
    flow = as_flow(lab)
    redriven = {h.message_id for h in flow if h.kind == "redriven" and h.target == found[1]}
    processed = {h.message_id for h in flow if h.kind == "processed" and h.source == found[1]}
    expect(
        in_dlq == 0,
        f"{queue}-dlq empty after the redrive",
        f"{in_dlq} message(s) still in it",
        "deploy the fixed billing, then sqs.start_message_move_task(SourceArn=dlq_arn) and "
        "lab.functions.run_until_idle()",
    )
    waiting = _depth(lab, found[0])
    expect(
        waiting == 0,
        f"{queue} empty: the redriven message processed",
        f"{waiting} message(s) still waiting or in flight",
        "run lab.functions.run_until_idle() after the redrive; if it lands in the dead-letter "
        "queue again, your read_amount still fails on it",
    )
    dead_ids = {h.message_id for h in flow if h.kind == "dead-lettered" and h.source == found[1]}
    unresolved = sorted(dead_ids - (redriven & processed))
    expect(
        not unresolved,
        "every message that was dead-lettered redriven and then processed",
        f"{len(unresolved)} that never made it back",
        "redrive with start_message_move_task (do not purge or delete: the order would be lost)",
    )
    return Passed(
        "Exercise 2",
        f"{len(redriven)} message(s) redriven to {queue} and processed; {queue}-dlq is empty",
    )


def failure_points(
    lab: Lab,
    *,
    start_balances: Mapping[str, int],
    start_stock: Mapping[str, int],
    machine: str = "purchase",
) -> Passed:
    """Exercise 3: executions failing at Charge, Reserve and BookCourier, each compensated
    in reverse order, and a consistent shop."""
    from labkit.lessons.saga import check_consistency, read_shop

    flow = as_flow(lab)
    seen: dict[str, tuple[str, ...]] = {}
    for execution in executions(flow):
        if f":{machine}:" not in execution:
            continue
        steps = flow.saga(execution)
        failed = [s.state for s in steps if s.kind == "failed"]
        if failed:
            undo = tuple(s.state for s in steps if s.kind == "compensation")
            seen.setdefault(failed[0], undo)
    missing = [step for step in FAILURE_POINTS if step not in seen]
    expect(
        not missing,
        f"executions of {machine!r} failing at {', '.join(FAILURE_POINTS)}",
        f"failures at {', '.join(sorted(seen)) or 'no step'}",
        f"announce card orders that fail at {', '.join(missing)}: a customer who cannot pay "
        "(Charge), a product out of stock (Reserve); then run_executions(...)",
    )
    wrong = {step: seen[step] for step, undo in FAILURE_POINTS.items() if seen[step] != undo}
    expect(
        not wrong,
        "the compensations in reverse order: "
        + "; ".join(f"{s} → {', '.join(u)}" for s, u in FAILURE_POINTS.items()),
        "; ".join(f"{s} → {', '.join(u) or 'none'}" for s, u in wrong.items()),
        "check each Catch's Next in the state machine",
    )
    verdict = check_consistency(
        read_shop(lab), start_balances=start_balances, start_stock=start_stock
    )
    expect(
        verdict.ok,
        "a consistent shop",
        "; ".join(verdict.problems),
        "an execution may still be running: wait for it with run_executions(...)",
    )
    return Passed(
        "Exercise 3",
        "the saga failed at every step and always undid what was done: " + str(verdict),
    )


# -- exercise 4 ------------------------------------------------------------------------------
#: Each scenario of exercise 4: the pattern and the services that fit it (any one will do),
#: and why.
SCENARIOS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "the payment provider is down for an hour; no order may be lost": (
        "decoupling",
        ("sqs",),
        "a queue between shop and billing turns the outage into a backlog",
    ),
    "billing, shipping and analytics all react to OrderPlaced; next month a fourth team joins": (
        "pubsub",
        ("sns", "eventbridge"),
        "the publisher announces once; subscribers (or rules) join without changing it",
    ),
    "charge, reserve and ship must all happen, or the ones done must be undone": (
        "saga",
        ("stepfunctions", "eventbridge"),
        "local steps with compensations, orchestrated by Step Functions or choreographed "
        "over EventBridge",
    ),
    "Black Friday brings 50 times the usual orders for two hours": (
        "decoupling",
        ("sqs",),
        "a queue absorbs the peak and the consumers drain it at their own rate",
    ),
}
_PATTERNS = {"decoupling": "decoupling", "queue": "decoupling", "peaksmoothing": "decoupling",
             "loadleveling": "decoupling", "pubsub": "pubsub", "publishsubscribe": "pubsub",
             "fanout": "pubsub", "saga": "saga"}  # fmt: skip
#: how a learner may write each service -> the service; and how the check names it
_SERVICE_NAMES = {"sqs": "sqs", "simplequeueservice": "sqs", "sns": "sns", "sfn": "stepfunctions",
                  "eventbridge": "eventbridge", "stepfunctions": "stepfunctions"}  # fmt: skip
_SHOWN = {
    "sqs": "SQS",
    "sns": "SNS",
    "eventbridge": "EventBridge",
    "stepfunctions": "Step Functions",
}


def patterns_and_services(answer: Any) -> Passed:
    """Exercise 4: for each scenario, (pattern, service); synonyms and any casing accepted."""
    expect(
        isinstance(answer, dict) and all(s in answer for s in SCENARIOS),
        f"a (pattern, service) pair for each of the {len(SCENARIOS)} scenarios",
        type(answer).__name__ if not isinstance(answer, dict) else f"keys {sorted(answer)}",
        "keep the dict of the exercise cell and replace each ... by a pair such as "
        "('decoupling', 'SQS')",
    )
    for scenario, (pattern, services, why) in SCENARIOS.items():
        given = answer[scenario]
        pair = tuple(given) if isinstance(given, tuple | list) else (given,)
        said = _PATTERNS.get(plain(pair[0]), "") if pair else ""
        service = _SERVICE_NAMES.get(plain(pair[1]), "") if len(pair) > 1 else ""
        expect(
            said == pattern and service in services,
            f"{scenario!r}: the pattern {pattern} with " + " or ".join(_SHOWN[s] for s in services),
            "... (not filled in)" if given is ... else repr(given),
            f"{why} (the pattern table of section 6)",
        )
    return Passed("Exercise 4", f"a pattern and a service for all {len(SCENARIOS)} scenarios")
