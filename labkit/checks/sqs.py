"""Checks for lesson 01 (SQS): they read the learner's queues, their messages and the trace, and
say what is missing with a hint.

The checks only look. Where they must read messages (exercise 2), they receive with
``VisibilityTimeout=0``, which leaves the messages available to everyone; only their receive
count goes up by one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.checks import Passed, expect

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["payments_queue", "invoices_fifo", "refund_rescued", "INVOICES"]

#: Exercise 2's invoices as (customer, body), in the order the billing job sent them; the fourth
#: repeats the second (a retry).
INVOICES: tuple[tuple[str, str], ...] = (
    ("ana", "invoice i-1: ana, 40.00 EUR"),
    ("ben", "invoice i-2: ben, 15.00 EUR"),
    ("ana", "invoice i-3: ana, 22.50 EUR"),
    ("ben", "invoice i-2: ben, 15.00 EUR"),
    ("ben", "invoice i-4: ben, 9.90 EUR"),
)


# -- looking things up ------------------------------------------------------------------------
def _queue_url(lab: Lab, name: str, hint: str, refused: str = "") -> str:
    """The queue's URL; when it is missing, says whether AWS refused a create_queue (and then
    `refused`, what usually causes that refusal here)."""
    sqs = lab.client("sqs")
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        names = [u.rsplit("/", 1)[-1] for u in sqs.list_queues().get("QueueUrls", [])]
        failed = [
            c.error_code for c in lab.tracer.calls if c.operation == "CreateQueue" and not c.ok
        ]
        found = f"only the queues {names}"
        if failed:
            found += f"; your last create_queue was refused with {failed[-1]}"
            hint = f"{refused} {hint}".strip() if refused else hint
        expect(False, f"a queue named {name!r}", found, hint)
    raise AssertionError("unreachable")  # expect(False, ...) always raises


def _attributes(lab: Lab, url: str) -> dict[str, str]:
    answer = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return dict(answer.get("Attributes", {}))


def _held(attributes: dict[str, str]) -> tuple[int, int]:
    """(waiting, in flight) from a queue's attributes."""
    return (
        int(attributes.get("ApproximateNumberOfMessages", 0)),
        int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


def _number(attributes: dict[str, str], name: str) -> int | None:
    value = attributes.get(name)
    return int(value) if value is not None and str(value).lstrip("-").isdigit() else None


# -- exercise 1 ---------------------------------------------------------------------------------
def payments_queue(lab: Lab) -> Passed:
    """Exercise 1: ``payments`` (visibility 60 s, long polling 20 s) with ``payments-dlq`` after
    4 receives."""
    dlq_url = _queue_url(
        lab, "payments-dlq", 'create it first: sqs.create_queue(QueueName="payments-dlq")'
    )
    dlq = _attributes(lab, dlq_url)
    expect(
        dlq.get("FifoQueue") != "true",
        "'payments-dlq' to be a standard queue",
        "a FIFO queue",
        "a standard queue needs a standard dead-letter queue: create it without FifoQueue",
    )
    url = _queue_url(
        lab,
        "payments",
        'create it with sqs.create_queue(QueueName="payments", Attributes={...})',
        refused="the error message above the check says why; most often deadLetterTargetArn "
        "holds the dead-letter queue's URL or name, where AWS wants its ARN (get it with "
        'get_queue_attributes(QueueUrl=payments_dlq_url, AttributeNames=["QueueArn"])). Then',
    )
    attributes = _attributes(lab, url)
    visibility = _number(attributes, "VisibilityTimeout")
    expect(
        visibility == 60,
        "a visibility timeout of 60 seconds on 'payments'",
        f"{visibility} seconds",
        'pass Attributes={"VisibilityTimeout": "60", ...} (a string) to create_queue, or change '
        "it with sqs.set_queue_attributes(QueueUrl=payments_url, Attributes={...})",
    )
    wait = _number(attributes, "ReceiveMessageWaitTimeSeconds")
    expect(
        wait == 20,
        "long polling of 20 seconds by default on 'payments'",
        f"ReceiveMessageWaitTimeSeconds = {wait}",
        'add "ReceiveMessageWaitTimeSeconds": "20" to the queue\'s Attributes (WaitTimeSeconds '
        "on one receive_message call only affects that call)",
    )
    raw = attributes.get("RedrivePolicy")
    expect(
        bool(raw),
        "a redrive policy on 'payments'",
        "none",
        'add "RedrivePolicy": json.dumps({"deadLetterTargetArn": <payments-dlq ARN>, '
        '"maxReceiveCount": 4}) to the Attributes; get the ARN with '
        'get_queue_attributes(QueueUrl=payments_dlq_url, AttributeNames=["QueueArn"])',
    )
    policy = json.loads(str(raw))
    target = str(policy.get("deadLetterTargetArn", ""))
    expect(
        target == dlq.get("QueueArn"),
        f"the redrive policy to point at payments-dlq ({dlq.get('QueueArn')})",
        f"deadLetterTargetArn {target!r}",
        "deadLetterTargetArn takes the dead-letter queue's ARN (arn:aws:sqs:...), not its URL "
        "or its name",
    )
    count = policy.get("maxReceiveCount")
    expect(
        str(count) == "4",
        "maxReceiveCount 4 (four failed receives, then the dead-letter queue)",
        f"maxReceiveCount {count!r}",
        'set "maxReceiveCount": 4 in the redrive policy',
    )
    return Passed(
        "Exercise 1",
        "payments hides a message for 60 s, long-polls 20 s, and gives up after 4 receives",
    )


# -- exercise 2 ---------------------------------------------------------------------------------
def _customer_of(body: str) -> str | None:
    return next((customer for customer, sent in INVOICES if sent == body), None)


def invoices_fifo(lab: Lab) -> Passed:
    """Exercise 2: ``invoices.fifo`` with content-based deduplication, four invoices, one group
    per customer, each group in the order sent."""
    url = _queue_url(
        lab,
        "invoices.fifo",
        'create it with sqs.create_queue(QueueName="invoices.fifo", '
        'Attributes={"FifoQueue": "true", ...}): a FIFO queue\'s name ends in .fifo',
    )
    attributes = _attributes(lab, url)
    expect(
        attributes.get("ContentBasedDeduplication") == "true",
        "content-based deduplication on 'invoices.fifo'",
        f"ContentBasedDeduplication = {attributes.get('ContentBasedDeduplication')!r}",
        'add "ContentBasedDeduplication": "true" to the Attributes (or change it with '
        "set_queue_attributes); then SQS uses a hash of the body as the deduplication id",
    )
    waiting, in_flight = _held(attributes)
    unique = len(dict.fromkeys(INVOICES))
    hint = {
        0: "send the invoices: for customer, body in INVOICES: sqs.send_message(QueueUrl="
        "invoices_url, MessageBody=body, MessageGroupId=customer)",
        len(INVOICES): "the retried invoice got through twice: with content-based deduplication, "
        "do not pass your own MessageDeduplicationId (and send the body unchanged)",
    }.get(
        waiting + in_flight,
        f"send each of the {len(INVOICES)} invoices once, in order, without receiving them; "
        "to start over, delete the queue (sqs.delete_queue) and run your cell again",
    )
    expect(
        waiting + in_flight == unique,
        f"{unique} messages in 'invoices.fifo' (five sends, one of them a duplicate)",
        f"{waiting} waiting and {in_flight} in flight",
        hint,
    )
    expect(
        in_flight == 0,
        "the invoices waiting, not received",
        f"{in_flight} in flight (received and not deleted)",
        "leave them for the check; if you received some, wait for their visibility timeout "
        "with lab.advance(31)",
    )
    answer = lab.client("sqs").receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,  # look without hiding them
        AttributeNames=["MessageGroupId"],
    )
    seen = [
        (str(m["Attributes"].get("MessageGroupId", "")), str(m["Body"]))
        for m in answer.get("Messages", [])
    ]
    groups: dict[str, list[str]] = {}
    for group, body in seen:
        customer = _customer_of(body)
        expect(
            customer is not None,
            f"only the invoices from INVOICES, e.g. {INVOICES[0][1]!r}",
            f"the body {body!r}",
            "send each body exactly as it is in INVOICES",
        )
        assert customer is not None
        groups.setdefault(customer, [])
        if group not in groups[customer]:
            groups[customer].append(group)
    owner: dict[str, str] = {}
    for customer, used in groups.items():
        expect(
            len(used) == 1,
            f"all of {customer}'s invoices in one message group",
            f"the groups {used}",
            "pass the same MessageGroupId for each of a customer's invoices, e.g. "
            "MessageGroupId=customer",
        )
        other = owner.setdefault(used[0], customer)
        expect(
            other == customer,
            "a message group of its own for each customer",
            f"{other!r} and {customer!r} both in the group {used[0]!r}",
            "pass MessageGroupId=customer: one group per customer keeps each customer's "
            "invoices in order while customers do not wait for each other",
        )
    for customer in dict.fromkeys(c for c, _ in INVOICES):
        wanted = list(dict.fromkeys(b for c, b in INVOICES if c == customer))
        got = [b for _, b in seen if _customer_of(b) == customer]
        expect(
            got == wanted[: len(got)],
            f"{customer}'s invoices in the order sent: {wanted}",
            f"{got}",
            "send the invoices in the order of INVOICES (a FIFO group delivers in send order)",
        )
    return Passed(
        "Exercise 2",
        f"{unique} invoices in invoices.fifo, the retry dropped, one group per customer in order",
    )


# -- exercise 3 ---------------------------------------------------------------------------------
def refund_rescued(lab: Lab, paid: Sequence[Any] | None = None) -> Passed:
    """Exercise 3: r-2 redriven from ``refunds-dlq`` back to ``refunds`` and paid 12.5."""
    setup = "run the cell above the exercise first: it builds refunds and refunds-dlq"
    dlq_url = _queue_url(lab, "refunds-dlq", setup)
    url = _queue_url(lab, "refunds", setup)
    dlq = _attributes(lab, dlq_url)
    sqs = lab.client("sqs")
    tasks = sqs.list_message_move_tasks(SourceArn=dlq["QueueArn"], MaxResults=10)["Results"]
    moved = sum(int(t.get("ApproximateNumberOfMessagesMoved", 0)) for t in tasks)
    waiting, in_flight = _held(dlq)
    if waiting + in_flight and not tasks:
        expect(
            False,
            "refunds-dlq emptied by a redrive",
            f"{waiting + in_flight} message(s) still in refunds-dlq and no move task",
            "sqs.start_message_move_task(SourceArn=refunds_dlq_arn) moves them back to the "
            "queue they came from",
        )
    expect(
        bool(tasks) and moved >= 1,
        "a message move task that took the dead letter back to refunds",
        f"{len(tasks)} move task(s), {moved} message(s) moved",
        "do not purge or delete the dead letter: redrive it with "
        "sqs.start_message_move_task(SourceArn=refunds_dlq_arn)",
    )
    expect(
        waiting + in_flight == 0,
        "refunds-dlq empty after the redrive",
        f"{waiting} waiting and {in_flight} in flight",
        "did r-2 fail again? pay_refund_fixed must read '12,50': "
        "float(details['amount'].replace(',', '.')); fix it, advance past the visibility "
        "timeout (lab.advance(11)) and consume again; if it went back to the DLQ, redrive again",
    )
    queued, busy = _held(_attributes(lab, url))
    expect(
        queued + busy == 0,
        "refunds empty: r-2 received, paid and deleted",
        f"{queued} waiting and {busy} in flight in refunds",
        "run consume(refunds_url, pay_refund_fixed, name='cashier'); if r-2 is in flight, "
        "pay_refund_fixed raised: fix it, lab.advance(11), and consume again",
    )
    flow = lab.tracer.flow()
    refunds_arn = _attributes(lab, url)["QueueArn"]
    redriven = [h for h in flow if h.kind == "redriven" and h.target == refunds_arn]
    expect(
        bool(redriven),
        "the trace to show a message redriven into refunds",
        "no redriven hop",
        "move it with sqs.start_message_move_task(SourceArn=refunds_dlq_arn)",
    )
    rescued = {h.message_id for h in redriven}
    finished = [
        h
        for h in flow
        if h.kind == "processed" and h.source == refunds_arn and h.message_id in rescued
    ]
    expect(
        bool(finished),
        "the redriven message processed (deleted) from refunds",
        "it never was",
        "run consume(refunds_url, pay_refund_fixed, name='cashier') after the redrive",
    )
    payments = [tuple(p) for p in (paid or []) if isinstance(p, (tuple, list)) and len(p) == 2]
    r2 = [amount for refund, amount in payments if refund == "r-2"]
    expect(
        r2 == [12.5],
        "r-2 paid exactly once, 12.5",
        f"r-2 paid {r2 or 'never'} (paid = {list(paid or [])})",
        "pay_refund_fixed must append (details['refund'], amount) to paid like pay_refund, "
        "with amount = float(details['amount'].replace(',', '.'))",
    )
    return Passed("Exercise 3", "r-2 went to the DLQ, came back by redrive, and was paid 12.5")
