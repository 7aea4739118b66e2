"""Lesson 01's checks: each passes on a right answer and fails, with a hint, on typical slips.

Also the per-group order rows that lesson 01 plots (labkit.lessons.message_groups), checked through
the
data they draw.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import labkit  # noqa: E402
from labkit.checks import CheckFailed, Passed  # noqa: E402
from labkit.checks import sqs as checks  # noqa: E402
from labkit.errors import LabError  # noqa: E402
from labkit.lessons.message_groups import group_order, plot_group_order  # noqa: E402
from tests.scenarios import queue_arn


def failure(check: Callable[..., Any], lab: labkit.Lab, *args: Any) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught:
        check(lab, *args)
    return caught.value


# -- exercise 1 ------------------------------------------------------------------------------
def payments(
    lab: labkit.Lab,
    *,
    visibility: str = "60",
    wait: str | None = "20",
    max_receives: int = 4,
    target: str | None = None,
) -> None:
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="payments-dlq")["QueueUrl"]
    if target is not None:  # a dead-letter queue other than payments-dlq
        target = queue_arn(lab, sqs.create_queue(QueueName=target)["QueueUrl"])
    attributes = {
        "VisibilityTimeout": visibility,
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": target or queue_arn(lab, dlq), "maxReceiveCount": max_receives}
        ),
    }
    if wait is not None:
        attributes["ReceiveMessageWaitTimeSeconds"] = wait
    sqs.create_queue(QueueName="payments", Attributes=attributes)


def test_payments_queue_passes_on_the_worked_answer(lab: labkit.Lab) -> None:
    payments(lab)
    assert isinstance(checks.payments_queue(lab), Passed)


def test_payments_queue_without_queues_says_to_create_the_dlq(lab: labkit.Lab) -> None:
    error = failure(checks.payments_queue, lab)
    assert error.expected == "a queue named 'payments-dlq'"
    assert "create_queue" in error.hint


@pytest.mark.parametrize(
    ("slip", "kwargs", "expected", "hint"),
    [
        ("default visibility", {"visibility": "30"}, "visibility timeout of 60", "60"),
        ("no long polling", {"wait": None}, "long polling", "ReceiveMessageWaitTimeSeconds"),
        ("five receives", {"max_receives": 5}, "maxReceiveCount 4", "maxReceiveCount"),
        ("another queue as DLQ", {"target": "payments-errors"}, "point at payments-dlq", "ARN"),
    ],
)
def test_payments_queue_names_the_wrong_setting(
    embedded_lab: labkit.Lab, slip: str, kwargs: dict[str, Any], expected: str, hint: str
) -> None:
    payments(embedded_lab, **kwargs)
    error = failure(checks.payments_queue, embedded_lab)
    assert expected in error.expected, slip
    assert hint in error.hint, slip


def test_payments_queue_without_a_redrive_policy(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    sqs.create_queue(QueueName="payments-dlq")
    sqs.create_queue(
        QueueName="payments",
        Attributes={"VisibilityTimeout": "60", "ReceiveMessageWaitTimeSeconds": "20"},
    )
    error = failure(checks.payments_queue, lab)
    assert "redrive policy" in error.expected and "deadLetterTargetArn" in error.hint


def test_payments_queue_with_the_dlq_url_names_the_refusal_and_the_arn(lab: labkit.Lab) -> None:
    # AWS refuses a RedrivePolicy whose deadLetterTargetArn is a URL: "payments" never exists
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="payments-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": dlq, "maxReceiveCount": 4})
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.create_queue(QueueName="payments", Attributes={"RedrivePolicy": policy})
    error = failure(checks.payments_queue, lab)
    assert "refused with InvalidParameterValue" in error.found
    assert "ARN" in error.hint and "QueueArn" in error.hint


def test_payments_queue_accepts_the_settings_made_afterwards(lab: labkit.Lab) -> None:
    # a right answer in two steps: the queue first, its attributes set later; numbers as ints
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="payments-dlq")["QueueUrl"]
    url = sqs.create_queue(QueueName="payments")["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn(lab, dlq), "maxReceiveCount": "4"}
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "60",
            "ReceiveMessageWaitTimeSeconds": "20",
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    assert isinstance(checks.payments_queue(lab), Passed)


# -- exercise 2 ------------------------------------------------------------------------------
def invoices(
    lab: labkit.Lab,
    *,
    content_dedup: bool = True,
    group: Callable[[str], str] = lambda customer: customer,
    order: tuple[tuple[str, str], ...] = checks.INVOICES,
) -> str:
    sqs = lab.client("sqs")
    attributes = {"FifoQueue": "true"}
    if content_dedup:
        attributes["ContentBasedDeduplication"] = "true"
    url = str(sqs.create_queue(QueueName="invoices.fifo", Attributes=attributes)["QueueUrl"])
    for n, (customer, body) in enumerate(order):
        extra = {} if content_dedup else {"MessageDeduplicationId": f"send-{n}"}
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group(customer), **extra)
    return url


def test_invoices_fifo_passes_and_can_be_run_again(lab: labkit.Lab) -> None:
    invoices(lab)
    assert isinstance(checks.invoices_fifo(lab), Passed)
    assert isinstance(checks.invoices_fifo(lab), Passed)  # peeking hid nothing


def test_invoices_fifo_missing_queue(lab: labkit.Lab) -> None:
    error = failure(checks.invoices_fifo, lab)
    assert "invoices.fifo" in error.expected and ".fifo" in error.hint


def test_invoices_fifo_without_content_dedup_lets_the_retry_through(lab: labkit.Lab) -> None:
    invoices(lab, content_dedup=False)
    error = failure(checks.invoices_fifo, lab)
    assert "content-based deduplication" in error.expected
    assert "ContentBasedDeduplication" in error.hint


def test_invoices_fifo_with_own_ids_counts_the_duplicate(lab: labkit.Lab) -> None:
    # content-based deduplication on, but a distinct id per send overrides the hash
    sqs = lab.client("sqs")
    url = sqs.create_queue(
        QueueName="invoices.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for n, (customer, body) in enumerate(checks.INVOICES):
        sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageGroupId=customer, MessageDeduplicationId=str(n)
        )
    error = failure(checks.invoices_fifo, lab)
    assert "5 waiting" in error.found and "MessageDeduplicationId" in error.hint


def test_invoices_fifo_one_group_for_everyone_is_named(lab: labkit.Lab) -> None:
    invoices(lab, group=lambda customer: "invoices")
    error = failure(checks.invoices_fifo, lab)
    assert "a message group of its own for each customer" in error.expected
    assert "'invoices'" in error.found and "MessageGroupId=customer" in error.hint


def test_invoices_fifo_a_group_per_invoice_splits_a_customer(lab: labkit.Lab) -> None:
    # a group per message keeps no order between a customer's invoices
    sends = itertools.count()
    invoices(lab, group=lambda customer: f"{customer}-{next(sends)}")
    error = failure(checks.invoices_fifo, lab)
    assert "all of ana's invoices in one message group" in error.expected
    assert "same MessageGroupId" in error.hint


def test_invoices_fifo_accepts_other_group_names_and_dedup_switched_on_later(
    lab: labkit.Lab,
) -> None:
    # the exercise asks for one group per customer, not for the group to be the bare name;
    # ContentBasedDeduplication may be set after create_queue, before the sends
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="invoices.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "true"})
    for customer, body in checks.INVOICES:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=f"customer#{customer}")
    assert isinstance(checks.invoices_fifo(lab), Passed)


def test_invoices_fifo_out_of_order_within_a_customer(lab: labkit.Lab) -> None:
    swapped = (checks.INVOICES[2], checks.INVOICES[1], checks.INVOICES[0], *checks.INVOICES[3:])
    invoices(lab, order=swapped)
    error = failure(checks.invoices_fifo, lab)
    assert "ana's invoices in the order sent" in error.expected


def test_invoices_fifo_received_ones_are_reported_in_flight(embedded_lab: labkit.Lab) -> None:
    url = invoices(embedded_lab)
    embedded_lab.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    error = failure(checks.invoices_fifo, embedded_lab)
    assert "1 in flight" in error.found and "lab.advance" in error.hint


# -- exercise 3 ------------------------------------------------------------------------------
def refunds_with_a_dead_letter(lab: labkit.Lab) -> tuple[str, str, list[tuple[str, float]]]:
    """What the lesson's setup cell builds: r-1 paid, r-2 in refunds-dlq."""
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="refunds-dlq")["QueueUrl"]
    url = sqs.create_queue(
        QueueName="refunds",
        Attributes={
            "VisibilityTimeout": "10",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": queue_arn(lab, dlq), "maxReceiveCount": 2}
            ),
        },
    )["QueueUrl"]
    for refund in [{"refund": "r-1", "amount": "4.20"}, {"refund": "r-2", "amount": "12,50"}]:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(refund))
    paid: list[tuple[str, float]] = []
    for _ in range(3):
        pay_once(lab, url, paid, fixed=False)
        lab.advance(11)
    return url, dlq, paid


def pay_once(lab: labkit.Lab, url: str, paid: list[tuple[str, float]], *, fixed: bool) -> None:
    sqs = lab.client("sqs")
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        details = json.loads(message["Body"])
        amount = details["amount"].replace(",", ".") if fixed else details["amount"]
        try:
            paid.append((details["refund"], float(amount)))
        except ValueError:
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_refund_rescued_passes_on_the_worked_answer(lab: labkit.Lab) -> None:
    url, dlq, paid = refunds_with_a_dead_letter(lab)
    assert paid == [("r-1", 4.2)]
    lab.client("sqs").start_message_move_task(SourceArn=queue_arn(lab, dlq))
    pay_once(lab, url, paid, fixed=True)
    assert isinstance(checks.refund_rescued(lab, paid), Passed)


def test_refund_rescued_passes_with_the_destination_named(lab: labkit.Lab) -> None:
    # DestinationArn is optional; naming the source queue explicitly is the same redrive
    url, dlq, paid = refunds_with_a_dead_letter(lab)
    lab.client("sqs").start_message_move_task(
        SourceArn=queue_arn(lab, dlq),
        DestinationArn=queue_arn(lab, url),
        MaxNumberOfMessagesPerSecond=1,
    )
    pay_once(lab, url, paid, fixed=True)
    assert isinstance(checks.refund_rescued(lab, [list(p) for p in paid]), Passed)


def test_refund_rescued_amount_kept_as_text_is_named(lab: labkit.Lab) -> None:
    url, dlq, paid = refunds_with_a_dead_letter(lab)
    sqs = lab.client("sqs")
    sqs.start_message_move_task(SourceArn=queue_arn(lab, dlq))
    for message in sqs.receive_message(QueueUrl=url).get("Messages", []):
        details = json.loads(message["Body"])
        paid.append((details["refund"], details["amount"].replace(",", ".")))  # type: ignore[arg-type]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    error = failure(checks.refund_rescued, lab, paid)
    assert "12.5" in error.expected and "'12.50'" in error.found and "float(" in error.hint


def test_refund_rescued_before_anything_asks_for_the_redrive(lab: labkit.Lab) -> None:
    _, _, paid = refunds_with_a_dead_letter(lab)
    error = failure(checks.refund_rescued, lab, paid)
    assert "no move task" in error.found and "start_message_move_task" in error.hint


def test_refund_rescued_without_the_setup_cell(lab: labkit.Lab) -> None:
    error = failure(checks.refund_rescued, lab, [])
    assert "refunds-dlq" in error.expected and "cell above" in error.hint


def test_refund_rescued_redriven_but_not_consumed(lab: labkit.Lab) -> None:
    _, dlq, paid = refunds_with_a_dead_letter(lab)
    lab.client("sqs").start_message_move_task(SourceArn=queue_arn(lab, dlq))
    error = failure(checks.refund_rescued, lab, paid)
    assert "1 waiting" in error.found and "consume(" in error.hint


def test_refund_rescued_with_a_fix_that_still_fails(lab: labkit.Lab) -> None:
    url, dlq, paid = refunds_with_a_dead_letter(lab)
    lab.client("sqs").start_message_move_task(SourceArn=queue_arn(lab, dlq))
    pay_once(lab, url, paid, fixed=False)  # the "fix" is the old code
    error = failure(checks.refund_rescued, lab, paid)
    assert "1 in flight" in error.found and "raised" in error.hint


def test_refund_rescued_with_a_fix_that_forgets_to_pay(lab: labkit.Lab) -> None:
    url, dlq, paid = refunds_with_a_dead_letter(lab)
    sqs = lab.client("sqs")
    sqs.start_message_move_task(SourceArn=queue_arn(lab, dlq))
    for message in sqs.receive_message(QueueUrl=url).get("Messages", []):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])  # no payment
    error = failure(checks.refund_rescued, lab, paid)
    assert "r-2 paid exactly once" in error.expected and "never" in error.found


def test_refund_rescued_purging_the_dlq_is_not_a_rescue(lab: labkit.Lab) -> None:
    _, dlq, paid = refunds_with_a_dead_letter(lab)
    sqs = lab.client("sqs")
    for message in sqs.receive_message(QueueUrl=dlq).get("Messages", []):
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
    error = failure(checks.refund_rescued, lab, paid)
    assert "move task" in error.expected and "do not purge" in error.hint


# -- the per-group order plot ------------------------------------------------------------------
def test_group_order_marks_the_late_message() -> None:
    sent = [("ana", "o-1"), ("ben", "o-2"), ("ana", "o-3")]
    rows = group_order([("ana", "o-3"), ("ben", "o-2"), ("ana", "o-1")], sent=sent)
    assert [(r.label, r.sent_rank, r.in_order) for r in rows] == [
        ("o-3", 2, True),
        ("o-2", 1, True),
        ("o-1", 1, False),
    ]


def test_plot_group_order_draws_one_lane_per_group_and_colours_late_ones() -> None:
    sent = [("ana", "o-1"), ("ben", "o-2"), ("ana", "o-3")]
    ax = plot_group_order([("ana", "o-3"), ("ben", "o-2"), ("ana", "o-1")], sent=sent)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ana", "ben"]
    assert [t.get_text() for t in ax.texts] == ["o-3", "o-2", "o-1"]
    colours = [tuple(c.get_facecolor()[0]) for c in ax.collections]
    assert colours[0] == colours[1] != colours[2]  # only o-1 (late) differs
    assert "out of order" in ax.get_title()
    plt.close(ax.figure)


def test_plot_group_order_refuses_an_empty_list() -> None:
    with pytest.raises(LabError, match="empty list"):
        plot_group_order([])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["ana", "ben", "cleo"]), st.integers(0, 30)),
        min_size=1,
        max_size=12,
        unique=True,
    ),
    st.randoms(use_true_random=False),
)
def test_group_order_flags_exactly_the_groups_whose_order_broke(
    sends: list[tuple[str, int]], random: Any
) -> None:
    sent = [(group, f"m{n}") for group, n in sends]
    received = list(sent)
    random.shuffle(received)
    rows = group_order(received, sent=sent)
    assert [(r.group, r.label) for r in rows] == received
    for group in {g for g, _ in sent}:
        wanted = [label for g, label in sent if g == group]
        got = [label for g, label in received if g == group]
        late = [r for r in rows if r.group == group and not r.in_order]
        assert (got == wanted) == (not late)
