"""The local function runtime: Lambda's event-source-mapping rules, on the lab's clock."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import labkit
from labkit.errors import LabError
from labkit.lessons import allow_delivery
from labkit.lessons.inbox import take_all
from labkit.local.functions import Faults, RunResult


def make_queue(lab: labkit.Lab, name: str, **attributes: str) -> tuple[str, str]:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"]


def queue_with_dlq(lab: labkit.Lab, name: str, max_receives: int = 3) -> tuple[str, str]:
    dlq_url, dlq_arn = make_queue(lab, f"{name}-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
    url, _ = make_queue(lab, name, VisibilityTimeout="30", RedrivePolicy=policy)
    return url, dlq_url


def send(lab: labkit.Lab, url: str, bodies: list[str]) -> None:
    sqs = lab.client("sqs")
    for first in range(0, len(bodies), 10):
        chunk = bodies[first : first + 10]
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)]
        )


def drain(lab: labkit.Lab, url: str) -> list[str]:
    return [m["Body"] for m in take_all(lab, url)]


# -- the event shape ------------------------------------------------------------------------
def test_sqs_event_has_lambdas_record_shape(lab: labkit.Lab) -> None:
    url, arn = make_queue(lab, "orders")
    lab.client("sqs").send_message(
        QueueUrl=url,
        MessageBody='{"order": 1}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "new"}},
    )
    events: list[Any] = []
    contexts: list[Any] = []

    def handler(event: Any, context: Any) -> None:
        events.append(event)
        contexts.append(context)

    fn = lab.functions.deploy("billing", handler)
    fn.consume(url)
    result = lab.functions.run_until_idle()
    assert result.processed == 1 and result.idle
    (record,) = events[0]["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == lab.region
    assert record["body"] == '{"order": 1}'
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"]["kind"]["stringValue"] == "new"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"
    assert record["md5OfBody"] and record["receiptHandle"] and record["messageId"]
    assert contexts[0].function_name == "billing"
    assert contexts[0].invoked_function_arn == fn.arn
    assert contexts[0].get_remaining_time_in_millis() == 3000
    assert drain(lab, url) == []


def test_function_arn_is_a_real_lambda_function_on_moto(lab: labkit.Lab) -> None:
    fn = lab.functions.deploy("billing", lambda event, context: None)
    answer = lab.client("lambda").get_function(FunctionName="billing")
    assert answer["Configuration"]["FunctionArn"] == fn.arn
    assert fn.arn.startswith("arn:aws:lambda:us-east-1:") and fn.arn.endswith(":function:billing")


def test_direct_polling_and_boto3_polling_give_the_same_records() -> None:
    def run(traced: bool) -> list[Any]:
        lab = labkit.start_lab()
        try:
            lab.tracer.enabled = traced
            url, _ = make_queue(lab, "q.fifo", FifoQueue="true", ContentBasedDeduplication="true")
            lab.client("sqs").send_message(
                QueueUrl=url,
                MessageBody="x",
                MessageGroupId="g",
                MessageAttributes={
                    "s": {"DataType": "String", "StringValue": "v"},
                    "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
                    "n": {"DataType": "Number", "StringValue": "3"},
                },
            )
            seen: list[Any] = []
            lab.functions.deploy("f", lambda e, c: seen.append(e)).consume(url)
            lab.functions.run_until_idle()
            return [
                {k: v for k, v in r.items() if k != "receiptHandle"} for r in seen[0]["Records"]
            ]
        finally:
            lab.stop()

    traced, direct = run(True), run(False)
    assert traced == direct
    assert traced[0]["messageAttributes"]["b"]["binaryValue"] == "AAE="
    assert traced[0]["attributes"]["MessageGroupId"] == "g"


# -- batches ---------------------------------------------------------------------------------
def test_batch_size_splits_the_queue(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, _ = make_queue(lab, "orders")
    send(lab, url, [f"m{i}" for i in range(25)])
    sizes: list[int] = []
    lab.functions.deploy("f", lambda e, c: sizes.append(len(e["Records"]))).consume(
        url, batch_size=4
    )
    result = lab.functions.run_until_idle()
    assert sorted(sizes, reverse=True) == [4, 4, 4, 4, 4, 4, 1]
    assert result.processed == 25 and len(result.invocations) == 7


def test_batching_window_waits_for_a_full_batch_or_the_window(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, _ = make_queue(lab, "orders")
    send(lab, url, [f"m{i}" for i in range(25)])
    batches: list[tuple[float, int]] = []

    def handler(event: Any, context: Any) -> None:
        batches.append((lab.functions.now(), len(event["Records"])))

    lab.functions.deploy("f", handler).consume(url, batch_size=20, window=5)
    lab.functions.run_until_idle()
    # 20 at once (batch full), the remaining 5 when the window closes
    assert batches == [(0.0, 20), (5.0, 5)]


def test_batch_size_over_ten_needs_a_window(embedded_lab: labkit.Lab) -> None:
    url, _ = make_queue(embedded_lab, "orders")
    fn = embedded_lab.functions.deploy("f", lambda e, c: None)
    with pytest.raises(LabError, match="batching window"):
        fn.consume(url, batch_size=20)


# -- failures, retries, dead letters ---------------------------------------------------------
def test_partial_batch_failure_returns_only_the_failed_messages(lab: labkit.Lab) -> None:
    url, dlq = queue_with_dlq(lab, "orders", max_receives=2)
    send(lab, url, ["good-1", "bad", "good-2"])
    attempts: list[str] = []

    def handler(event: Any, context: Any) -> dict[str, Any]:
        attempts.extend(r["body"] for r in event["Records"])
        failed = [r for r in event["Records"] if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}

    lab.functions.deploy("f", handler).consume(url, report_failures=True)
    result = lab.functions.run_until_idle()
    assert sorted(attempts) == ["bad", "bad", "good-1", "good-2"]
    assert result.processed == 2 and result.failed == 2 and result.retried == 1
    assert len(result.dead_lettered) == 1
    assert drain(lab, dlq) == ["bad"]
    assert drain(lab, url) == []


def test_without_report_failures_the_answer_is_ignored(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, dlq = queue_with_dlq(lab, "orders")
    send(lab, url, ["a", "b"])

    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}

    lab.functions.deploy("f", handler).consume(url, report_failures=False)
    result = lab.functions.run_until_idle()
    assert result.processed == 2 and result.failed == 0
    assert drain(lab, url) == [] and drain(lab, dlq) == []


def test_an_exception_fails_the_whole_batch_until_the_dead_letter_queue(lab: labkit.Lab) -> None:
    url, dlq = queue_with_dlq(lab, "orders", max_receives=3)
    send(lab, url, ["a", "b"])
    times: list[float] = []

    def handler(event: Any, context: Any) -> None:
        times.append(lab.functions.now())
        raise ValueError("database down")

    lab.functions.deploy("f", handler).consume(url, report_failures=True)
    result = lab.functions.run_until_idle()
    # every retry waits for the visibility timeout (30 s) to run out
    assert [round(t) for t in times] == [0, 30, 60]
    assert all(i.outcome == "error" for i in result.invocations)
    assert "ValueError: database down" in result.invocations[0].error
    assert sorted(drain(lab, dlq)) == ["a", "b"]
    assert sorted(result.dead_lettered) == sorted(set(result.dead_lettered))


def test_the_mapping_reads_the_redrive_policy_sqs_answers(lab: labkit.Lab) -> None:
    """The policy is the JSON document GetQueueAttributes returns, on moto with labkit's changes
    (embedded, fast path) and in a labkit server alike."""
    url, dlq = queue_with_dlq(lab, "orders", max_receives=4)
    dlq_arn = lab.client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    answered = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert json.loads(answered["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": 4,
    }
    mapping = lab.functions.deploy("f", lambda event, context: None).consume(url)
    assert mapping.max_receive_count == 4
    assert mapping.dead_letter_arn == dlq_arn["Attributes"]["QueueArn"]


def test_an_invalid_item_identifier_fails_the_whole_batch(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, dlq = queue_with_dlq(lab, "orders", max_receives=1)
    send(lab, url, ["a", "b"])
    handler = lambda e, c: {"batchItemFailures": [{"itemIdentifier": ""}]}  # noqa: E731
    lab.functions.deploy("f", handler).consume(url, report_failures=True)
    result = lab.functions.run_until_idle()
    assert result.invocations[0].outcome == "error"
    assert sorted(drain(lab, dlq)) == ["a", "b"]


def test_timeouts_fail_the_batch_and_it_comes_back(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, dlq = queue_with_dlq(lab, "orders", max_receives=2)
    send(lab, url, ["slow"])
    lab.functions.deploy("f", lambda e, c: None, timeout=3, duration=5).consume(url)
    result = lab.functions.run_until_idle()
    assert [i.outcome for i in result.invocations] == ["timeout", "timeout"]
    assert result.invocations[0].duration == 3.0
    assert "timed out after 3.00 seconds" in result.invocations[0].error
    assert drain(lab, dlq) == ["slow"]


# -- concurrency and time --------------------------------------------------------------------
@pytest.mark.parametrize(("concurrency", "finish"), [(1, 8.0), (2, 4.0), (4, 2.0)])
def test_concurrency_sets_throughput_on_the_simulated_clock(
    embedded_lab: labkit.Lab, concurrency: int, finish: float
) -> None:
    lab = embedded_lab
    url, _ = make_queue(lab, "orders")
    send(lab, url, [f"m{i}" for i in range(80)])
    fn = lab.functions.deploy("f", lambda e, c: None, concurrency=concurrency, duration=1.0)
    fn.consume(url, batch_size=10)
    result = lab.functions.run_until_idle()
    assert result.processed == 80
    assert max(i.time + i.duration for i in result.invocations) == finish
    busy = [sum(1 for i in result.invocations if i.time <= t < i.time + i.duration) for t in (0,)]
    assert busy == [concurrency]


def test_run_moves_the_lab_clock_by_exactly_the_seconds_asked(lab: labkit.Lab) -> None:
    url, _ = make_queue(lab, "orders")
    lab.functions.deploy("f", lambda e, c: None).consume(url)
    before = lab.clock.elapsed()
    result = lab.functions.run(seconds=90)
    assert result.ended - result.started == 90
    assert lab.clock.elapsed() - before == 90


def test_a_message_slower_than_the_visibility_timeout_is_delivered_twice(
    embedded_lab: labkit.Lab,
) -> None:
    lab = embedded_lab
    url, _ = make_queue(lab, "orders", VisibilityTimeout="10")
    send(lab, url, ["job"])
    lab.functions.deploy("f", lambda e, c: None, concurrency=2, timeout=60, duration=15).consume(
        url
    )
    result = lab.functions.run_until_idle()
    assert [round(i.time) for i in result.invocations] == [0, 10]


# -- faults ----------------------------------------------------------------------------------
def crash_pattern(lab: labkit.Lab, faults: Faults) -> list[str]:
    url, _ = queue_with_dlq(lab, "orders", max_receives=5)
    send(lab, url, [f"m{i}" for i in range(30)])
    lab.functions.deploy("f", lambda e, c: None, faults=faults).consume(url, batch_size=1)
    result = lab.functions.run_until_idle()
    return [i.outcome for i in result.invocations]


def test_seeded_faults_repeat_and_change_with_the_seed(embedded_lab: labkit.Lab) -> None:
    first = crash_pattern(embedded_lab, Faults(crash=0.3, seed=7))
    embedded_lab.reset()
    again = crash_pattern(embedded_lab, Faults(crash=0.3, seed=7))
    embedded_lab.reset()
    other = crash_pattern(embedded_lab, Faults(crash=0.3, seed=8))
    assert first == again != other
    assert "error" in first and "ok" in first


def test_no_faults_means_no_failures(embedded_lab: labkit.Lab) -> None:
    assert set(crash_pattern(embedded_lab, Faults())) == {"ok"}


def test_an_outage_fails_invocations_inside_its_window_only(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, _ = queue_with_dlq(lab, "orders", max_receives=10)
    fn = lab.functions.deploy("f", lambda e, c: None, faults=Faults(outages=((0, 45),)))
    fn.consume(url)
    send(lab, url, ["a"])
    result = lab.functions.run_until_idle()
    assert [(round(i.time), i.outcome) for i in result.invocations] == [
        (0, "error"),
        (30, "error"),
        (60, "ok"),
    ]
    assert "Outage" in result.invocations[0].error


def test_lost_deletes_deliver_again(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, _ = make_queue(lab, "orders")
    send(lab, url, [f"m{i}" for i in range(20)])
    seen: list[str] = []
    fn = lab.functions.deploy(
        "f", lambda e, c: seen.extend(r["body"] for r in e["Records"]),
        faults=Faults(duplicate=0.5, seed=3),
    )  # fmt: skip
    fn.consume(url)
    lab.functions.run_until_idle()
    assert len(seen) > 20 and set(seen) == {f"m{i}" for i in range(20)}


def test_faults_are_checked(embedded_lab: labkit.Lab) -> None:
    with pytest.raises(LabError, match="probability"):
        Faults(crash=1.5)
    with pytest.raises(LabError, match="outage"):
        Faults(outages=((10, 5),))


# -- learner errors, reset, tracing ----------------------------------------------------------
def test_learner_mistakes_are_explained(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    with pytest.raises(LabError, match="handler function"):
        lab.functions.deploy("f", "not a function")  # type: ignore[arg-type]
    with pytest.raises(LabError, match="concurrency"):
        lab.functions.deploy("f", lambda e, c: None, concurrency=0)
    fn = lab.functions.deploy("f", lambda e, c: None)
    with pytest.raises(LabError, match="existing queue"):
        fn.consume("orders")
    with pytest.raises(LabError, match="deployed"):
        lab.functions.get("nope")


def test_look_ups_answer_what_is_missing_and_let_other_failures_surface(
    embedded_lab: labkit.Lab,
) -> None:
    lab = embedded_lab
    with Stubber(lab.client("iam")) as iam:
        iam.add_client_error("get_role", "AccessDenied", http_status_code=403)
        with pytest.raises(ClientError, match="AccessDenied"):
            lab.functions.deploy("f", lambda e, c: None)
    with Stubber(lab.client("lambda")) as lam:
        lam.add_client_error("delete_function", "AccessDeniedException", http_status_code=403)
        with pytest.raises(ClientError, match="AccessDenied"):
            lab.functions.deploy("f", lambda e, c: None)
    fn = lab.functions.deploy("f", lambda e, c: None)
    missing = "arn:aws:sqs:us-east-1:123456789012:nope"
    with pytest.raises(LabError, match="existing queue"):
        fn.consume(missing)
    with Stubber(lab.client("sqs")) as sqs:
        sqs.add_client_error("get_queue_url", "AccessDenied", http_status_code=403)
        with pytest.raises(ClientError, match="AccessDenied"):
            fn.consume(missing)


def test_reset_forgets_functions(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, _ = make_queue(lab, "orders")
    lab.functions.deploy("f", lambda e, c: None).consume(url)
    lab.reset()
    assert lab.functions.functions == () and lab.functions.mappings == ()
    assert lab.functions.run(seconds=5).invocations == ()


def test_redeploying_keeps_the_mapping_with_the_new_handler(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, _ = make_queue(lab, "orders")
    lab.functions.deploy("f", lambda e, c: 1 / 0).consume(url)
    seen: list[str] = []
    lab.functions.deploy("f", lambda e, c: seen.append(e["Records"][0]["body"]))
    send(lab, url, ["x"])
    lab.functions.run_until_idle()
    assert seen == ["x"] and len(lab.functions.mappings) == 1


def test_trace_attributes_polling_to_the_function(lab: labkit.Lab) -> None:
    url, arn = make_queue(lab, "orders")
    send(lab, url, ["ok", "bad"])

    def handler(event: Any, context: Any) -> dict[str, Any]:
        bad = [r for r in event["Records"] if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in bad]}

    lab.functions.deploy("billing", handler).consume(url, report_failures=True)
    lab.functions.run(seconds=5)
    hops = [(h.kind, h.source, h.target, h.via) for h in lab.tracer.hops]
    assert ("received", arn, "actor:billing", "aws") in hops
    assert ("processed", arn, "actor:billing", "aws") in hops
    assert ("failed", arn, "actor:billing", "labkit") in hops


def test_result_summaries(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    url, _ = make_queue(lab, "orders")
    send(lab, url, [f"m{i}" for i in range(12)])
    lab.functions.deploy("f", lambda e, c: None, duration=2).consume(url, batch_size=5)
    result = lab.functions.run_until_idle()
    assert isinstance(result, RunResult)
    assert result.summary()["processed"] == 12
    assert result.by_function() == {
        "f": {"invocations": 3, "processed": 12, "failed": 0, "timeouts": 0}
    }
    assert result.per_interval(2.0)[:3] == [(0.0, 5, 0), (2.0, 5, 0), (4.0, 2, 0)]


def test_boto3_event_source_mappings_are_followed(lab: labkit.Lab) -> None:
    url, arn = make_queue(lab, "orders")
    sizes: list[int] = []
    fn = lab.functions.deploy("billing", lambda e, c: sizes.append(len(e["Records"])))
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=fn.arn,
        BatchSize=3,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    send(lab, url, [f"m{i}" for i in range(7)])
    result = lab.functions.run_until_idle()
    assert sorted(sizes) == [1, 3, 3] and result.processed == 7
    (mapping,) = lab.functions.mappings
    assert mapping.report_failures and mapping.queue_arn == arn


def test_a_new_push_does_not_wait_behind_a_pending_retry(embedded_lab: labkit.Lab) -> None:
    """Lambda retries a failed asynchronous event a minute later; an event pushed meanwhile is
    invoked as soon as a worker is free, not after that retry."""
    calls: list[tuple[float, str]] = []

    def handler(event: dict, context: object) -> None:
        calls.append((embedded_lab.functions.now(), event["n"]))
        if event["n"] == "first":
            raise RuntimeError("down")

    fn = embedded_lab.functions.deploy("audit", handler, retries=1)
    embedded_lab.functions.deliver(
        fn.arn, {"n": "first"}, trigger="events", source="", message_id="1"
    )
    embedded_lab.functions.run(10)
    embedded_lab.functions.deliver(
        fn.arn, {"n": "second"}, trigger="events", source="", message_id="2"
    )
    embedded_lab.functions.run(200)
    assert [(round(t), n) for t, n in calls] == [(0, "first"), (10, "second"), (60, "first")]


@pytest.mark.parametrize("body", ["while True:\n    pass", "time.sleep(4)"])
def test_a_handler_past_its_timeout_is_stopped_on_real_time(
    embedded_lab: labkit.Lab, body: str
) -> None:
    """Lambda ends a function at its timeout; the message comes back after its visibility."""
    namespace: dict[str, Any] = {"time": time}
    exec(f"def handler(event, context):\n    {body.replace(chr(10), chr(10) + '    ')}", namespace)
    sqs = embedded_lab.client("sqs")
    url = sqs.create_queue(QueueName="slow", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    fn = embedded_lab.functions.deploy("stuck", namespace["handler"], timeout=0.2)
    fn.consume(url, batch_size=1)
    started = time.monotonic()
    result = embedded_lab.functions.run(31)
    assert time.monotonic() - started < 5
    outcomes = [(i.outcome, i.error) for i in result.invocations]
    assert outcomes[0] == ("timeout", "Task timed out after 0.20 seconds")
    assert len(outcomes) == 2  # back after the visibility timeout, timed out again


def test_a_message_sent_by_a_handler_reaches_a_queue_polled_empty_a_moment_before(
    lab: labkit.Lab,
) -> None:
    """The downstream queue was polled (empty) at the same lab instant, before the upstream
    handler sent to it: run_until_idle still delivers it, and ends with both queues empty."""
    sqs = lab.client("sqs")
    first = sqs.create_queue(QueueName="first")["QueueUrl"]
    second = sqs.create_queue(QueueName="second")["QueueUrl"]
    seen: list[str] = []
    lab.functions.deploy(
        "down", lambda event, context: seen.extend(r["body"] for r in event["Records"])
    ).consume(second, batch_size=10)

    def up(event: dict, context: object) -> None:
        for record in event["Records"]:
            sqs.send_message(QueueUrl=second, MessageBody=record["body"] + "!")

    lab.functions.deploy("up", up).consume(first, batch_size=10)
    sqs.send_message(QueueUrl=first, MessageBody="order")
    result = lab.functions.run_until_idle()
    assert seen == ["order!"]
    assert result.idle and [i.function for i in result.invocations] == ["up", "down"]
    for url in (first, second):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attrs["ApproximateNumberOfMessages"] == "0", url


@pytest.mark.parametrize("batch_size", [1, 10])
def test_a_handler_feeding_its_own_queue_is_stopped_after_16_invocations(
    lab: labkit.Lab, batch_size: int
) -> None:
    """Lambda's recursive loop detection: the 17th invocation of one chain does not run; the
    message goes back to its queue, and the queue's redrive policy moves it to the DLQ. With a
    batch larger than what the queue holds, the message a handler sends is polled too."""
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="echo-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    policy = {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": 2}
    url = sqs.create_queue(
        QueueName="echo",
        Attributes={"VisibilityTimeout": "5", "RedrivePolicy": json.dumps(policy)},
    )["QueueUrl"]

    def echo(event: dict, context: object) -> None:
        for record in event["Records"]:
            sqs.send_message(QueueUrl=url, MessageBody=record["body"])

    lab.functions.deploy("echo", echo).consume(url, batch_size=batch_size)
    sqs.send_message(QueueUrl=url, MessageBody="again")
    result = lab.functions.run_until_idle(max_seconds=120)
    assert len(result.invocations) == 16
    stopped = [h for h in lab.tracer.hops if "RecursiveInvocationException" in h.detail]
    assert stopped and stopped[0].kind == "failed"
    assert [m["Body"] for m in take_all(lab, dlq)] == ["again"]


@pytest.mark.parametrize("answer", [{"batchItemFailures": 5}, {"batchItemFailures": "a"}])
def test_an_unreadable_batch_response_fails_the_whole_batch(
    embedded_lab: labkit.Lab, answer: dict
) -> None:
    sqs = embedded_lab.client("sqs")
    url = sqs.create_queue(QueueName="b", Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    fn = embedded_lab.functions.deploy("f", lambda event, context: answer)
    fn.consume(url, report_failures=True)
    result = embedded_lab.functions.run(4)
    assert [i.outcome for i in result.invocations] == ["error"]
    assert "the whole batch is retried" in result.invocations[0].error


def test_dead_lettered_counts_what_the_dead_letter_queue_holds(lab: labkit.Lab) -> None:
    """Failed or with its delete lost, a message past maxReceiveCount is in the DLQ, counted."""
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="d")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    policy = {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": 2}
    url = sqs.create_queue(
        QueueName="q", Attributes={"VisibilityTimeout": "10", "RedrivePolicy": json.dumps(policy)}
    )["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)]
    )
    faults = Faults(crash=0.3, duplicate=0.3, seed=3)
    lab.functions.deploy("w", lambda e, c: None, faults=faults, duration=1).consume(url)
    result = lab.functions.run_until_idle()
    held = sorted(m["MessageId"] for m in take_all(lab, dlq))
    assert held and sorted(result.dead_lettered) == held


def test_an_asynchronous_retry_comes_from_lambda_not_from_the_topic(
    embedded_lab: labkit.Lab,
) -> None:
    """SNS hands an event to Lambda once; the retries after a failure are Lambda's own."""
    sns = embedded_lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]

    def handler(event: dict, context: object) -> None:
        raise RuntimeError("down")

    fn = embedded_lab.functions.deploy("email", handler)
    allow_delivery(embedded_lab, topic, fn.arn)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn.arn)
    message_id = sns.publish(TopicArn=topic, Message="o-1")["MessageId"]
    embedded_lab.functions.run(600)
    attempts = [h for h in labkit.flow(embedded_lab).path(message_id) if h.target == fn.arn]
    assert [(h.source, h.kind) for h in attempts] == [
        (topic, "delivered"),
        (topic, "failed"),
        ("service:Lambda retries", "failed"),
        ("service:Lambda retries", "failed"),
    ]


# -- the mapping's maximum concurrency, time per record, the function's timeout ---------------
@pytest.mark.parametrize(("cap", "finish"), [(None, 1.0), (2, 2.0)])
def test_maximum_concurrency_caps_one_mapping_below_the_functions_concurrency(
    lab: labkit.Lab, cap: int | None, finish: float
) -> None:
    url, arn = make_queue(lab, "orders")
    send(lab, url, [f"m{i}" for i in range(40)])
    fn = lab.functions.deploy("f", lambda e, c: None, concurrency=4, duration=1.0)
    scaling = {} if cap is None else {"ScalingConfig": {"MaximumConcurrency": cap}}
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn.arn, BatchSize=10, **scaling
    )
    result = lab.functions.run_until_idle()
    assert result.processed == 40
    assert lab.functions.mappings[0].max_concurrency == cap
    assert max(i.time + i.duration for i in result.invocations) == finish
    starts = sorted(i.time for i in result.invocations)
    assert starts.count(starts[0]) == (cap or 4)


@pytest.mark.parametrize("cap", [1, 1001, 2.5])
def test_a_maximum_concurrency_lambda_refuses_is_refused(
    embedded_lab: labkit.Lab, cap: object
) -> None:
    url, _ = make_queue(embedded_lab, "orders")
    fn = embedded_lab.functions.deploy("f", lambda e, c: None)
    with pytest.raises(LabError, match="maximum concurrency between 2 and 1,000"):
        fn.consume(url, max_concurrency=cap)  # type: ignore[arg-type]


def test_time_per_record_makes_a_full_batch_time_out_and_all_of_it_come_back(
    embedded_lab: labkit.Lab,
) -> None:
    lab = embedded_lab
    url, dlq = queue_with_dlq(lab, "orders", max_receives=2)
    send(lab, url, [f"m{i}" for i in range(10)])
    started: list[str] = []
    handler = lambda e, c: started.extend(r["body"] for r in e["Records"])  # noqa: E731
    lab.functions.deploy("f", handler, timeout=3, per_record=0.5).consume(url, batch_size=10)
    result = lab.functions.run_until_idle()
    assert [(i.outcome, len(i.message_ids), i.duration) for i in result.invocations] == [
        ("timeout", 10, 3.0),
        ("timeout", 10, 3.0),
    ]
    assert len(started) == 20 and sorted(drain(lab, dlq)) == sorted(f"m{i}" for i in range(10))
    lab.reset()
    url, _ = make_queue(lab, "orders")
    send(lab, url, [f"m{i}" for i in range(10)])
    lab.functions.deploy("f", lambda e, c: None, timeout=3, per_record=0.5).consume(
        url, batch_size=5
    )
    result = lab.functions.run_until_idle()
    assert [(i.outcome, i.duration) for i in result.invocations] == [("ok", 2.5), ("ok", 2.5)]


@pytest.mark.parametrize(("timeout", "seconds"), [(10, 10), (0.05, 1), (2.5, 3)])
def test_the_lambda_service_answers_the_functions_timeout(
    lab: labkit.Lab, timeout: float, seconds: int
) -> None:
    lab.functions.deploy("f", lambda e, c: None, timeout=timeout)
    config = lab.client("lambda").get_function_configuration(FunctionName="f")
    assert config["Timeout"] == seconds


@pytest.mark.parametrize("timeout", [0, 901])
def test_a_timeout_lambda_refuses_is_refused(embedded_lab: labkit.Lab, timeout: float) -> None:
    with pytest.raises(LabError, match="at most 900 seconds"):
        embedded_lab.functions.deploy("f", lambda e, c: None, timeout=timeout)


@pytest.mark.parametrize("named_by", ["name", "arn"])
def test_a_mapping_made_with_the_functions_name_or_arn_is_followed(
    lab: labkit.Lab, named_by: str
) -> None:
    url, arn = make_queue(lab, "orders")
    fn = lab.functions.deploy("billing", lambda e, c: None)
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn.name if named_by == "name" else fn.arn
    )
    send(lab, url, ["m1", "m2"])
    assert lab.functions.run_until_idle().processed == 2
