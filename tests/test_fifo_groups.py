"""FIFO groups on moto with labkit's correction: each group flows in send order, and waits only
while one of its messages is in flight (labkit.moto_patches.sqs_fifo_groups)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import labkit
from labkit.moto_patches import REGISTRY

GROUPS = ("ana", "ben")


@pytest.fixture(scope="module")
def shared_lab() -> Iterator[labkit.Lab]:
    the_lab = labkit.start_lab("embedded")
    yield the_lab
    the_lab.stop()


def send_all(lab: labkit.Lab, url: str, orders: list[tuple[str, str]]) -> None:
    for group, body in orders:
        lab.client("sqs").send_message(
            QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body
        )


def bodies(answer: dict) -> list[str]:
    return [m["Body"] for m in answer.get("Messages", [])]


def test_the_correction_is_applied_with_the_lab(embedded_lab: labkit.Lab) -> None:
    embedded_lab.client("sqs").list_queues()
    assert "sqs_fifo_groups" in REGISTRY.applied


def test_several_timed_out_messages_of_a_group_come_back_in_order(lab: labkit.Lab) -> None:
    # stock moto 5.2.5 answers ['o-1', 'o-4', 'o-5'] here: o-5 before o-2 in ben's group
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    send_all(lab, url, [("ana", "o-1"), ("ben", "o-2"), ("ana", "o-3"), ("cleo", "o-4"),
                        ("ben", "o-5"), ("ana", "o-6")])  # fmt: skip
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)) == ["o-1"]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == [
        "o-2",
        "o-4",
        "o-5",
    ]  # ana waits behind o-1
    lab.advance(31)
    again = bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))
    assert again == ["o-1", "o-2", "o-3", "o-4", "o-5", "o-6"]


def test_a_peek_with_visibility_zero_blocks_nothing(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="peek.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    send_all(lab, url, [("ana", "i-1"), ("ben", "i-2"), ("ana", "i-3")])
    for _ in range(3):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        assert bodies(answer) == ["i-1", "i-2", "i-3"]


@dataclass
class Model:
    """What AWS promises for one FIFO queue, on the lab's clock (integer seconds)."""

    now: int = 0
    sent: dict[str, list[str]] = field(default_factory=lambda: {g: [] for g in GROUPS})
    deleted: set[str] = field(default_factory=set)
    visible_at: dict[str, int] = field(default_factory=dict)  # body -> end of its timeout
    handles: dict[str, str] = field(default_factory=dict)

    def in_flight(self, body: str) -> bool:
        # moto compares strictly: visible once now > the end of the timeout
        return body not in self.deleted and self.now <= self.visible_at.get(body, -1)

    def waiting(self, group: str) -> list[str]:
        return [b for b in self.sent[group] if b not in self.deleted]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.sampled_from(GROUPS)),
        st.tuples(st.just("receive"), st.integers(1, 10), st.sampled_from([0, 5, 30])),
        st.tuples(st.just("delete"), st.integers(0, 20)),
        st.tuples(st.just("advance"), st.sampled_from([1, 5, 6, 31])),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations)
# the case stock moto gets wrong: two of ben's messages time out together behind one of ana's
@example([("send", "ana"), ("send", "ben"), ("send", "ben"), ("receive", 10, 5),
          ("advance", 6), ("receive", 10, 5)])  # fmt: skip
def test_every_receive_keeps_group_order_and_blocking(
    shared_lab: labkit.Lab, ops: list[tuple]
) -> None:
    lab = shared_lab
    lab.reset()
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="model.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    model = Model()
    count = 0
    for op in ops:
        if op[0] == "send":
            count += 1
            body = f"{op[1]}-{count}"
            send_all(lab, url, [(op[1], body)])
            model.sent[op[1]].append(body)
        elif op[0] == "advance":
            lab.advance(op[1])
            model.now += op[1]
        elif op[0] == "delete":
            held = sorted(model.handles)
            if held:
                body = held[op[1] % len(held)]
                sqs.delete_message(QueueUrl=url, ReceiptHandle=model.handles.pop(body))
                model.deleted.add(body)
        else:
            _, most, visibility = op
            answer = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=most,
                VisibilityTimeout=visibility,
                AttributeNames=["MessageGroupId"],
            )
            got = answer.get("Messages", [])
            assert len(got) <= most
            for group in GROUPS:
                mine = [m["Body"] for m in got if m["Attributes"]["MessageGroupId"] == group]
                if any(model.in_flight(b) for b in model.sent[group]):
                    assert mine == [], f"{group} is blocked by a message in flight"
                else:
                    assert mine == model.waiting(group)[: len(mine)], f"{group} out of order"
            for message in got:
                body = message["Body"]
                model.handles[body] = message["ReceiptHandle"]
                if visibility:  # moto leaves the timeout alone when asked for 0
                    model.visible_at[body] = model.now + visibility


def test_visibility_zero_releases_a_message_at_once(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="o-1")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    assert bodies(sqs.receive_message(QueueUrl=url)) == ["o-1"]
