"""Checks for lesson 05 (decoupling): drain a spike in time, a slow consumer without duplicate
work, and a consumer swap that loses nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from labkit.checks import Passed, expect, queue_url
from labkit.lessons.decoupling import Consumer, Timeline, depth

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["no_duplicate_work", "spike_deadline", "swap_without_loss"]

SPIKE_QUEUE = "exercise-spike"
SPIKE_SIZE = 900
DEADLINE = 60.0
SLOW_QUEUE = "slow-orders"
SLOW_DLQ = "slow-orders-dlq"
WORK_SECONDS = 45.0
SWAP_QUEUE = "orders-v"
SWAP_DLQ = "orders-v-dlq"


def _attributes(lab: Lab, url: str) -> dict[str, str]:
    return lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]


def spike_deadline(lab: Lab, run: Timeline | None) -> Passed:
    """Exercise 1: 900 orders drained within 60 lab seconds by consumers of 5 msg/s each."""
    url = queue_url(lab, SPIKE_QUEUE)
    expect(
        isinstance(run, Timeline) and bool(run.rows),
        "the Timeline returned by decoupling.drain(...)",
        repr(run)[:60],
        "keep the result: run = decoupling.drain(lab, sqs, url, consumers=CONSUMERS, rate=5)",
    )
    assert run is not None
    processed = run.total("processed")
    expect(
        processed == SPIKE_SIZE,
        f"{SPIKE_SIZE} orders processed",
        f"{processed}",
        "send the whole spike once (re-run the exercise cells from the top)",
    )
    left = depth(lab.client("sqs"), url)
    expect(left == 0, "an empty queue", f"{left} messages left", "let drain() run to the end")
    took = run.drain_time
    consumers = round(max(run.column("processed")) / (5 * run.step))
    expect(
        took is not None and took <= DEADLINE,
        f"the queue empty within {DEADLINE:g} lab seconds",
        f"{took:g} s with {consumers} consumer(s)",
        "each consumer handles 5 msg/s: consumers x 5 x 60 s must reach 900 orders",
    )
    return Passed(
        "exercise 1", f"{processed} orders drained in {took:g} s by {consumers} consumers"
    )


def no_duplicate_work(lab: Lab, worked: dict[str, int] | None) -> Passed:
    """Exercise 2: a visibility timeout longer than the work, and a dead-letter queue."""
    url = queue_url(lab, SLOW_QUEUE)
    attrs = _attributes(lab, url)
    timeout = int(attrs.get("VisibilityTimeout", "30"))
    expect(
        timeout > WORK_SECONDS,
        f"VisibilityTimeout above the {WORK_SECONDS:g} s a message takes",
        f"{timeout} s",
        "while a consumer still works, the message must stay hidden: e.g. VisibilityTimeout '90'",
    )
    policy = json.loads(attrs.get("RedrivePolicy", "{}") or "{}")
    target = str(policy.get("deadLetterTargetArn", ""))
    expect(
        target.endswith(":" + SLOW_DLQ),
        f"a RedrivePolicy pointing at {SLOW_DLQ!r}",
        f"{target or 'no RedrivePolicy'}",
        "create the dead-letter queue first, then pass its ARN in RedrivePolicy",
    )
    receives = int(policy.get("maxReceiveCount", 0))
    expect(
        2 <= receives <= 10,
        "a maxReceiveCount between 2 and 10",
        f"{receives}",
        "1 dead-letters on the first hiccup; a large number keeps a poison message for hours",
    )
    expect(
        bool(worked),
        "the counts returned by decoupling.slow_consumer_run(...)",
        repr(worked),
        "keep the result: worked = decoupling.slow_consumer_run(lab, sqs, url)",
    )
    assert worked is not None
    twice = sorted(k for k, v in worked.items() if v > 1)
    expect(
        not twice,
        "every order worked on once",
        f"{len(twice)} worked on more than once (e.g. {twice[:2]})",
        "re-create the queue with the longer timeout and run the consumers again",
    )
    return Passed("exercise 2", f"{len(worked)} orders, each worked on once (timeout {timeout} s)")


def _amount(body: str) -> object:
    """The amount an order carries, in either format."""
    order = json.loads(body)
    return order["total"]["amount"] if isinstance(order.get("total"), dict) else order["amount"]


def _read(consumer: Consumer, body: str) -> object:
    try:
        return consumer.handler(body)
    except Exception as error:  # noqa: BLE001 - the learner's handler: its failure is the finding
        return f"{type(error).__name__}: {error}"


def swap_without_loss(lab: Lab, v1: Consumer | None, v2: Consumer | None, sent: int) -> Passed:
    """Exercise 3: v1 replaced by v2 while orders flow; nothing lost, nothing dead-lettered."""
    sqs = lab.client("sqs")
    url, dlq = queue_url(lab, SWAP_QUEUE), queue_url(lab, SWAP_DLQ)
    expect(
        isinstance(v1, Consumer) and isinstance(v2, Consumer),
        "the two Consumer objects used in run_swap",
        f"{type(v1).__name__} and {type(v2).__name__}",
        "pass v1 and v2 as given in the exercise cell",
    )
    assert v1 is not None and v2 is not None
    waiting, dead = depth(sqs, url), depth(sqs, dlq)
    total = v1.processed + v2.processed + waiting + dead
    expect(
        total == sent,
        f"v1 + v2 + waiting + dead-lettered == {sent} sent",
        f"{v1.processed} + {v2.processed} + {waiting} + {dead} = {total}",
        "run the exercise cells once from the queue creation on",
    )
    expect(
        v2.processed > 0,
        "v2 processing orders after the swap",
        "v2 processed none",
        "v2's handler must return normally for orders it can read",
    )
    expect(
        dead == 0 and v2.failed == 0,
        "no order failed in v2 and none in the dead-letter queue",
        f"{v2.failed} failures, {dead} dead-lettered",
        "old-format orders (flat 'amount') still wait in the queue at the swap: read both formats",
    )
    # processed is not enough: a handler that returns without reading the order loses it silently
    lost = [body for body in v2.seen if _read(v2, body) != _amount(body)]
    expect(
        not lost,
        "v2's handler to return each order's amount (flat 'amount' or 'total.amount')",
        f"{len(lost)} orders it returned without their amount, e.g. {lost[0] if lost else ''} "
        f"-> {_read(v2, lost[0]) if lost else ''!r}",
        "an order the handler swallows (except ...: return None) is deleted unread: that is a "
        "silent loss, worse than a dead letter. Return order['amount'] for old orders; then "
        "re-run the exercise cell from the queue creation on",
    )
    return Passed(
        "exercise 3",
        f"{v1.processed} by v1 + {v2.processed} by v2 + {waiting} waiting = {sent} sent, none lost",
    )
