"""labkit.checks.decoupling: each check passes on the worked solution and fails, with a hint,
on the unsolved or wrong version."""

from __future__ import annotations

import json

import pytest

import labkit
from labkit.checks import CheckFailed, Passed
from labkit.checks import decoupling as checks
from labkit.lessons.decoupling import Consumer, drain, run_swap, send_orders, slow_consumer_run
from tests.scenarios import queue_with_dlq


@pytest.fixture
def lab():
    lab = labkit.start_lab(seed=5)
    yield lab
    lab.stop()


def _spike(lab, consumers):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="exercise-spike")["QueueUrl"]
    send_orders(sqs, url, [str(i) for i in range(900)])
    return drain(lab, sqs, url, consumers=consumers, rate=5, step=10)


def test_spike_deadline(lab):
    with pytest.raises(CheckFailed, match="exercise-spike"):
        checks.spike_deadline(lab, None)
    with pytest.raises(CheckFailed, match="180 s with 1 consumer"):
        checks.spike_deadline(lab, _spike(lab, 1))
    assert isinstance(checks.spike_deadline(lab, _spike(lab, 3)), Passed)


def _slow(lab, **attributes):
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="slow-orders-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    if "RedrivePolicy" in attributes:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": attributes["RedrivePolicy"]}
        )
    url = sqs.create_queue(QueueName="slow-orders", Attributes=attributes)["QueueUrl"]
    return slow_consumer_run(lab, sqs, url, work_seconds=45, orders=20)


def test_no_duplicate_work_wants_the_timeout():
    with labkit.start_lab(seed=5) as lab:
        worked = _slow(lab)
        with pytest.raises(CheckFailed, match="VisibilityTimeout above"):
            checks.no_duplicate_work(lab, worked)
    with labkit.start_lab(seed=5) as lab:
        worked = _slow(lab, VisibilityTimeout="90")
        with pytest.raises(CheckFailed, match="RedrivePolicy"):
            checks.no_duplicate_work(lab, worked)
    with labkit.start_lab(seed=5) as lab:
        worked = _slow(lab, VisibilityTimeout="90", RedrivePolicy="1")
        with pytest.raises(CheckFailed, match="maxReceiveCount"):
            checks.no_duplicate_work(lab, worked)
    with labkit.start_lab(seed=5) as lab:
        worked = _slow(lab, VisibilityTimeout="90", RedrivePolicy="5")
        assert isinstance(checks.no_duplicate_work(lab, worked), Passed)


def _swap(lab, handler):
    sqs = lab.client("sqs")
    url, _ = queue_with_dlq(lab, "orders-v", max_receives=3, visibility=5)
    v1 = Consumer("v1", 1, lambda b: json.loads(b)["amount"])
    v2 = Consumer("v2", 4, handler)
    run = run_swap(lab, sqs, url, v1=v1, v2=v2, swap_at=50, new_format_at=50, seconds=120)
    return v1, v2, run.total("sent")


def _both(body):
    order = json.loads(body)
    return order["total"]["amount"] if "total" in order else order["amount"]


def test_swap_without_loss():
    with labkit.start_lab(seed=5) as lab:
        v1, v2, sent = _swap(lab, lambda b: json.loads(b)["total"]["amount"])
        with pytest.raises(CheckFailed, match="50 dead-lettered"):
            checks.swap_without_loss(lab, v1, v2, sent)
        with pytest.raises(CheckFailed, match="v1 \\+ v2 \\+ waiting"):
            checks.swap_without_loss(lab, v1, v2, sent + 1)
    with labkit.start_lab(seed=5) as lab:
        v1, v2, sent = _swap(lab, _both)
        passed = checks.swap_without_loss(lab, v1, v2, sent)
        assert "none lost" in str(passed)


@pytest.mark.parametrize(("timeout", "passes"), [("46", True), ("45", False), ("40", False)])
def test_no_duplicate_work_takes_any_timeout_longer_than_the_work(lab, timeout, passes):
    worked = _slow(lab, VisibilityTimeout=timeout, RedrivePolicy="5")
    if passes:
        assert isinstance(checks.no_duplicate_work(lab, worked), Passed)
    else:
        with pytest.raises(CheckFailed, match="VisibilityTimeout above"):
            checks.no_duplicate_work(lab, worked)


def _swallows(body):
    """v2 that never fails: an old order's amount is simply not there (None)."""
    try:
        return json.loads(body)["total"]["amount"]
    except KeyError:
        return None


def _falls_back(body):
    """Another right v2: new format first, the old one when it is not there."""
    order = json.loads(body)
    try:
        return order["total"]["amount"]
    except KeyError:
        return order["amount"]


def test_swap_without_loss_refuses_a_handler_that_swallows_old_orders(lab):
    v1, v2, sent = _swap(lab, _swallows)
    with pytest.raises(CheckFailed) as failure:
        checks.swap_without_loss(lab, v1, v2, sent)
    assert "silent loss" in failure.value.hint and "None" in failure.value.found
    lab.reset()
    v1, v2, sent = _swap(lab, _falls_back)
    assert isinstance(checks.swap_without_loss(lab, v1, v2, sent), Passed)


def test_spike_deadline_passes_with_more_consumers_than_needed(lab):
    assert "by 4 consumers" in str(checks.spike_deadline(lab, _spike(lab, 4)))
