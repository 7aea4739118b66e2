"""The lab's simulated clock and moto: timeouts, delays, dead letters, long polls, dedup window.

Tests using the `lab` fixture run on embedded and on a `python -m labkit.server` endpoint; the
clock there lives in the server process and the lab advances it over HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

import labkit
from labkit.errors import LabError
from labkit.local.clock import Clock
from labkit.moto_patches.sqs_long_poll import simulating
from tests.scenarios import queue_with_dlq, state_machine

GUARD_SECONDS = 30  # a call still running after this long is hung, not slow


def guarded(call: Callable[[], Any]) -> Any:
    """Run `call` on a thread; fail (instead of hanging the suite) if it never returns."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_SECONDS)
    assert not thread.is_alive(), f"the call was still blocked after {GUARD_SECONDS} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def bodies(response: dict[str, Any]) -> list[str]:
    return [m["Body"] for m in response.get("Messages", [])]


def receive(sqs: Any, url: str, **kwargs: Any) -> dict[str, Any]:
    return sqs.receive_message(  # type: ignore[no-any-return]
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], **kwargs
    )


# -- the clock itself ---------------------------------------------------------------------------
def test_shift_moves_simulated_time_without_listeners() -> None:
    clock = Clock(virtual=True)
    heard: list[float] = []
    clock.on_advance(heard.append)
    clock.start()
    try:
        assert simulating()
        clock.shift(5)
        clock.advance(2)
        assert clock.elapsed() == 7.0
        assert heard == [2.0]
    finally:
        clock.stop()
    assert not simulating()


def test_shift_refuses_real_time() -> None:
    with pytest.raises(LabError, match="simulated"):
        Clock(virtual=False).shift(1)


# -- SQS on lab.advance -------------------------------------------------------------------------
def test_visibility_timeout_expires_on_advance(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job-1")
    assert bodies(receive(sqs, url)) == ["job-1"]
    lab.advance(29)
    assert bodies(receive(sqs, url)) == []
    lab.advance(2)
    again = receive(sqs, url)["Messages"]
    assert [m["Body"] for m in again] == ["job-1"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_queue_and_message_delays_pass_on_advance(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="later", Attributes={"DelaySeconds": "10"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
    sqs.send_message(QueueUrl=url, MessageBody="message-delay", DelaySeconds=60)
    assert bodies(receive(sqs, url)) == []
    lab.advance(11)
    assert drain(sqs, url) == ["queue-delay"]
    lab.advance(50)
    assert drain(sqs, url) == ["message-delay"]


def test_retries_end_in_the_dead_letter_queue_on_advance(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url, dlq = queue_with_dlq(lab, "jobs", max_receives=2)
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):  # two failed attempts: received, never deleted
        assert bodies(receive(sqs, url)) == ["poison"]
        lab.advance(31)
    assert bodies(receive(sqs, url)) == []  # the third receive moves it
    assert bodies(receive(sqs, dlq)) == ["poison"]


# -- the long-poll trap -------------------------------------------------------------------------
def test_empty_long_poll_takes_its_wait_in_simulated_time(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="quiet")["QueueUrl"]
    before = lab.clock.elapsed()
    assert bodies(guarded(lambda: receive(sqs, url, WaitTimeSeconds=20))) == []
    assert lab.clock.elapsed() - before == pytest.approx(20, abs=0.01)


def test_queue_wait_attribute_long_polls_without_hanging(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="patient", Attributes={"ReceiveMessageWaitTimeSeconds": "5"})[
        "QueueUrl"
    ]
    before = lab.clock.elapsed()
    assert bodies(guarded(lambda: receive(sqs, url))) == []
    assert lab.clock.elapsed() - before == pytest.approx(5, abs=0.01)


def test_listeners_hear_the_time_a_long_poll_took(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="heard")["QueueUrl"]
    heard: list[float] = []
    lab.on_stop(lab.clock.on_advance(heard.append))
    lab.advance(3)
    receive(sqs, url, WaitTimeSeconds=10)
    receive(sqs, url)  # no wait: nothing to hear
    assert heard[0] == 3
    assert heard[1:] == [pytest.approx(10, abs=0.01)]


def test_long_poll_returns_when_a_delayed_message_arrives(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="soon")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="in-7-s", DelaySeconds=7)
    before = lab.clock.elapsed()
    assert bodies(guarded(lambda: receive(sqs, url, WaitTimeSeconds=20))) == ["in-7-s"]
    assert lab.clock.elapsed() - before == pytest.approx(7, abs=0.01)


def test_long_poll_waits_out_a_visibility_timeout_within_its_wait(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="retry", Attributes={"VisibilityTimeout": "15"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="again")
    assert bodies(receive(sqs, url)) == ["again"]
    before = lab.clock.elapsed()
    got = guarded(lambda: receive(sqs, url, WaitTimeSeconds=20))
    assert bodies(got) == ["again"]
    assert got["Messages"][0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert lab.clock.elapsed() - before == pytest.approx(15, abs=0.01)


def test_long_poll_at_the_exact_end_of_a_visibility_timeout_returns_at_once(
    lab: labkit.Lab,
) -> None:
    # the timeout has fully elapsed: the message is due now, not at the end of the long poll
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="due", Attributes={"VisibilityTimeout": "15"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="due-now")
    assert bodies(receive(sqs, url)) == ["due-now"]
    lab.advance(15)
    before = lab.clock.elapsed()
    got = guarded(lambda: receive(sqs, url, WaitTimeSeconds=20))
    assert bodies(got) == ["due-now"]
    assert lab.clock.elapsed() - before == pytest.approx(0, abs=0.01)


def test_long_poll_returns_at_once_when_messages_are_there(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="busy")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="ready")
    before = lab.clock.elapsed()
    assert bodies(guarded(lambda: receive(sqs, url, WaitTimeSeconds=20))) == ["ready"]
    assert lab.clock.elapsed() == before


def test_long_poll_racing_a_sender_thread_neither_hangs_nor_loses(
    embedded_lab: labkit.Lab,
) -> None:
    sqs = embedded_lab.client("sqs")
    url = sqs.create_queue(QueueName="shared")["QueueUrl"]
    other = embedded_lab.session.client("sqs", region_name=embedded_lab.region)
    sender = threading.Thread(target=lambda: other.send_message(QueueUrl=url, MessageBody="x"))
    sender.start()
    got = bodies(guarded(lambda: receive(sqs, url, WaitTimeSeconds=20)))
    sender.join(GUARD_SECONDS)
    if not got:  # the send landed after this poll gave up: it waits for the next one
        got = bodies(receive(sqs, url))
    assert got == ["x"]


# -- the FIFO deduplication window --------------------------------------------------------------
def fifo(sqs: Any, name: str, **attributes: str) -> str:
    return sqs.create_queue(  # type: ignore[no-any-return]
        QueueName=name, Attributes={"FifoQueue": "true", **attributes}
    )["QueueUrl"]


def drain(sqs: Any, url: str) -> list[str]:
    got = receive(sqs, url)
    for message in got.get("Messages", []):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies(got)


def test_dedup_id_is_remembered_for_five_minutes_after_delete(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = fifo(sqs, "payments.fifo")

    def send(body: str) -> None:
        sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageGroupId="p", MessageDeduplicationId="pay-42"
        )

    send("first")
    assert drain(sqs, url) == ["first"]
    send("retry")  # same id, after the delete: accepted, not delivered
    assert drain(sqs, url) == []
    lab.advance(299)
    send("still inside")
    assert drain(sqs, url) == []
    lab.advance(2)  # 301 s after the first send: the window is over
    send("new window")
    assert drain(sqs, url) == ["new window"]


def test_content_based_dedup_window_and_group_scope(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = fifo(sqs, "orders.fifo", ContentBasedDeduplication="true")
    scoped = fifo(
        sqs,
        "scoped.fifo",
        ContentBasedDeduplication="true",
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
    )
    for queue in (url, scoped):
        sqs.send_message(QueueUrl=queue, MessageBody="same", MessageGroupId="a")
        drain(sqs, queue)
        sqs.send_message(QueueUrl=queue, MessageBody="same", MessageGroupId="a")
        sqs.send_message(QueueUrl=queue, MessageBody="same", MessageGroupId="b")
    assert drain(sqs, url) == []  # the queue remembers the body's hash in every group
    assert drain(sqs, scoped) == ["same"]  # per group: only group b's copy is new
    lab.advance(301)
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="a")
    assert drain(sqs, url) == ["same"]


def test_dead_letters_are_not_deduplicated_as_new_sends(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    dlq = fifo(sqs, "jobs-dlq.fifo")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    redrive = json.dumps({"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": 1})
    url = fifo(sqs, "jobs.fifo", VisibilityTimeout="10", RedrivePolicy=redrive)
    same_id = {"MessageGroupId": "g", "MessageDeduplicationId": "j"}
    sqs.send_message(QueueUrl=dlq, MessageBody="sent-to-dlq", **same_id)
    assert drain(sqs, dlq) == ["sent-to-dlq"]
    sqs.send_message(QueueUrl=url, MessageBody="job", **same_id)
    assert bodies(receive(sqs, url)) == ["job"]
    lab.advance(11)
    assert bodies(receive(sqs, url)) == []  # moved: a redrive, not a send
    assert drain(sqs, dlq) == ["job"]


# -- Step Functions under the frozen clock -------------------------------------------------------
RETRYING = {
    "Type": "Task",
    "Resource": "arn:aws:states:::sqs:sendMessage",
    "Parameters": {"QueueUrl": "https://missing/123456789012/none", "MessageBody": "x"},
    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund"}],
    "End": True,
}


def _seconds(lab: labkit.Lab, execution: str, kind: str) -> list[float]:
    """When each `kind` event of the execution happened, in lab seconds since it started."""
    history = lab.client("stepfunctions").get_execution_history(executionArn=execution)["events"]
    t0 = history[0]["timestamp"]
    return [(e["timestamp"] - t0).total_seconds() for e in history if e["type"] == kind]


def test_wait_and_retry_intervals_pass_on_the_lab_clock(lab: labkit.Lab) -> None:
    """A 5-minute Wait, then retries 2 s, 6 s and 10 s apart (BackoffRate 3, MaxDelaySeconds 10):
    nothing moves until the lab's clock does, and the history shows AWS's schedule."""
    from labkit.lessons.workflows import run_workflows

    sfn = lab.client("stepfunctions")
    retry = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3,
             "BackoffRate": 3, "MaxDelaySeconds": 10}  # fmt: skip
    definition = {
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 300, "Next": "Charge"},
            "Charge": {**RETRYING, "Retry": [retry]},
            "Refund": {"Type": "Pass", "End": True},
        },
    }
    arn = state_machine(lab, "saga", definition)
    execution = sfn.start_execution(stateMachineArn=arn, name="run-1")["executionArn"]
    threading.Event().wait(0.2)  # real time passes; the lab's does not
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert 299 < (lab.clock.next_timer() or 0) <= 300
    assert guarded(lambda: run_workflows(lab, execution)) == {execution: "SUCCEEDED"}
    assert _seconds(lab, execution, "WaitStateExited") == [300]
    assert _seconds(lab, execution, "TaskScheduled") == [300, 302, 308, 318]
    assert lab.clock.next_timer() is None


def test_full_jitter_waits_a_seeded_share_of_each_interval(lab: labkit.Lab) -> None:
    from labkit.lessons.workflows import run_workflows

    sfn = lab.client("stepfunctions")
    retry = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 8, "MaxAttempts": 2,
             "BackoffRate": 2, "JitterStrategy": "FULL"}  # fmt: skip
    definition = {
        "StartAt": "Charge",
        "States": {
            "Charge": {**RETRYING, "Retry": [retry]},
            "Refund": {"Type": "Pass", "End": True},
        },
    }
    runs = []
    for _ in range(2):
        lab.reset()  # the same run again on a clean lab
        arn = state_machine(lab, "jitter", definition)
        execution = sfn.start_execution(stateMachineArn=arn, name="run-1")["executionArn"]
        assert guarded(lambda arn=execution: run_workflows(lab, arn)) == {execution: "SUCCEEDED"}
        runs.append(_seconds(lab, execution, "TaskScheduled"))
    first, retried, again = runs[0]
    assert 0 <= retried - first <= 8 and 0 <= again - retried <= 16
    assert (retried - first, again - retried) != (8, 16)  # jittered, not the full intervals
    assert runs[0] == runs[1]  # the same run, the same moments
