"""Deliveries that fail with a retriable error are retried as AWS documents, then dead-lettered.

Pages: https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html (the four
phases; SQS and Lambda endpoints: 3 immediate, 2 one second apart, 10 backing off from 1 to 20
seconds, 100,000 twenty seconds apart, over 23 days; HTTP/S: 3 retries 20 seconds apart by
default, a DeliveryPolicy of at most 100 retries and 3,600 seconds),
https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html
(NumberOfNotificationsFailed: once when SNS stops trying a queue, every failed attempt for
HTTP/S), https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html (RetryPolicy
limits, the dead-letter message's attributes), and the EventBridge metrics page (FailedInvocations
does not count retries; RetryInvocationAttempts does).
"""

from __future__ import annotations

import json
import time

import matplotlib.pyplot as plt
import pytest
from botocore.exceptions import ClientError

import labkit
from labkit import plots
from labkit.lessons import allow_delivery, subscriber_queue
from labkit.lessons.inbox import take_all
from labkit.moto_patches.retry_schedules import (
    AWS_MANAGED,
    HTTP_DEFAULT,
    EventsSchedule,
    InvalidDeliveryPolicy,
    sns_policy,
)
from labkit.plots.topology import topology_arrows
from tests.scenarios import metric_sums, queue_arn

DAY = 86_400.0


def _queue(lab: labkit.Lab, name: str) -> tuple[str, str]:
    url = lab.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    return url, queue_arn(lab, url)


# -- the schedules ------------------------------------------------------------------------------
def test_sqs_and_lambda_endpoints_are_retried_in_the_four_documented_phases() -> None:
    p = AWS_MANAGED
    offsets = [p.offset(k) for k in range(1, 17)]
    assert offsets[:3] == [0.0, 0.0, 0.0]  # immediate phase: 3, no delay
    assert offsets[3:5] == [1.0, 2.0]  # pre-backoff: 2, one second apart
    backoff = [round(b - a, 6) for a, b in zip(offsets[4:14], offsets[5:15], strict=True)]
    assert (backoff[0], backoff[-1]) == (1.0, 20.0)  # backoff: 10, from 1 to 20 seconds
    assert backoff == sorted(backoff)
    assert offsets[15] - offsets[14] == 20.0  # post-backoff: 20 seconds apart
    assert p.retries == 100_015 and p.offset(100_016) is None
    assert 23 * DAY < p.total < 24 * DAY


def test_http_endpoints_get_three_retries_20_seconds_apart_by_default() -> None:
    assert [HTTP_DEFAULT.offset(k) for k in range(1, 5)] == [20.0, 40.0, 60.0, None]


@pytest.mark.parametrize("policy", [AWS_MANAGED, EventsSchedule(seed="e/t")])
def test_finding_the_first_retry_after_a_moment_agrees_with_counting_them(policy: object) -> None:
    offsets = []
    k = 1
    while (at := policy.offset(k)) is not None and k < 400:  # type: ignore[attr-defined]
        offsets.append(at)
        k += 1
    for moment in (0.0, 0.5, 2.0, 30.0, 47.3, 1000.0, 5000.0):
        expected = next((i + 1 for i, at in enumerate(offsets) if at >= moment), None)
        found = policy.first_at_or_after(1, moment)  # type: ignore[attr-defined]
        if expected is not None:
            assert found == expected, moment


def test_a_custom_http_delivery_policy_runs_its_phases_in_order() -> None:
    policy = sns_policy(
        json.dumps(
            {
                "healthyRetryPolicy": {
                    "minDelayTarget": 10,
                    "maxDelayTarget": 40,
                    "numRetries": 8,
                    "numNoDelayRetries": 1,
                    "numMinDelayRetries": 2,
                    "numMaxDelayRetries": 2,
                    "backoffFunction": "linear",
                }
            }
        )
    )
    assert policy is not None
    assert [policy.offset(k) for k in range(1, 10)] == [
        0.0, 10.0, 20.0, 30.0, 55.0, 95.0, 135.0, 175.0, None
    ]  # fmt: skip


REFUSED_POLICIES = [
    ({"healthyRetryPolicy": {"numRetries": 101}}, "numRetries must be between 0 and 100"),
    ({"healthyRetryPolicy": {"minDelayTarget": 0}}, "minDelayTarget must be at least 1"),
    ({"healthyRetryPolicy": {"minDelayTarget": 30, "maxDelayTarget": 20}}, "must not exceed"),
    ({"healthyRetryPolicy": {"maxDelayTarget": 3601}}, "maxDelayTarget must be at most 3600"),
    ({"healthyRetryPolicy": {"backoffFunction": "cubic"}}, "backoffFunction must be one of"),
    (
        {"healthyRetryPolicy": {"numRetries": 2, "numNoDelayRetries": 3}},
        "must not exceed numRetries",
    ),
    (
        {"healthyRetryPolicy": {"numRetries": 100, "minDelayTarget": 60, "maxDelayTarget": 60}},
        "at most 3600",
    ),
    ({"throttlePolicy": {"maxReceivesPerSecond": 0}}, "maxReceivesPerSecond must be 1 or more"),
]


@pytest.mark.parametrize(("policy", "why"), REFUSED_POLICIES)
def test_sns_refuses_delivery_policies_outside_the_documented_limits(
    policy: dict[str, object], why: str
) -> None:
    with pytest.raises(InvalidDeliveryPolicy, match=why):
        sns_policy(json.dumps(policy))


def test_the_lab_refuses_them_with_invalid_parameter(lab: labkit.Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="hooks")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://example.com/hook")
    for policy, why in REFUSED_POLICIES:
        with pytest.raises(ClientError) as refused:
            sns.set_subscription_attributes(
                SubscriptionArn=sub["SubscriptionArn"],
                AttributeName="DeliveryPolicy",
                AttributeValue=json.dumps(policy),
            )
        assert refused.value.response["Error"]["Code"] == "InvalidParameter"
        assert why in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="InvalidParameter"):
        sns.set_topic_attributes(
            TopicArn=topic,
            AttributeName="DeliveryPolicy",
            AttributeValue=json.dumps({"http": {"defaultHealthyRetryPolicy": {"numRetries": -1}}}),
        )
    events = lab.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["shop"]}))
    for policy in ({"MaximumRetryAttempts": 186}, {"MaximumEventAgeInSeconds": 86_401}):
        target = {"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RetryPolicy": policy}
        with pytest.raises(ClientError, match="ValidationException"):
            events.put_targets(Rule="r", Targets=[target])


# -- SNS ----------------------------------------------------------------------------------------
def test_a_queue_that_comes_back_gets_the_message_once_after_the_retries(lab: labkit.Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = subscriber_queue(lab, "billing", topic)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    lab.take_down(arn)
    assert lab.unavailable() == (arn,)
    mid = sns.publish(TopicArn=topic, Message="o-1")["MessageId"]
    lab.advance(120)
    assert take_all(lab, url) == []
    verdict = labkit.why_not_delivered(lab, subscription_arn=sub, message="o-2")
    assert not verdict and "unavailable (the lab took it down)" in str(verdict)
    lab.bring_back(arn)
    assert lab.unavailable() == ()
    assert labkit.why_not_delivered(lab, subscription_arn=sub, message="o-2")
    lab.advance(60)
    assert [json.loads(m["Body"])["Message"] for m in take_all(lab, url)] == ["o-1"]
    lab.advance(3600)
    assert take_all(lab, url) == []
    hops = [(h.kind, h.time) for h in lab.flow().path(mid) if h.target == arn]
    first_up = AWS_MANAGED.offset(AWS_MANAGED.first_at_or_after(1, 120))
    assert hops == [("retried", 0.0), ("delivered", first_up)]
    sums = metric_sums(
        lab, "AWS/SNS", {"TopicName": "orders"}, "NumberOfNotificationsDelivered",
        "NumberOfNotificationsFailed", hours=2,
    )  # fmt: skip
    assert sums == {"NumberOfNotificationsDelivered": 1, "NumberOfNotificationsFailed": 0}


def test_a_queue_down_for_ever_is_given_up_after_23_days_to_the_dead_letter_queue(
    lab: labkit.Lab,
) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = _queue(lab, "billing")
    dlq_url, dlq_arn = _queue(lab, "billing-dlq")
    allow_delivery(lab, topic, arn, dlq_arn)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn})
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RedrivePolicy": redrive}
    )
    lab.take_down(arn)
    mid = sns.publish(TopicArn=topic, Message="o-1")["MessageId"]
    started = time.perf_counter()
    lab.advance(22 * DAY)
    assert take_all(lab, dlq_url) == []  # still retrying
    lab.advance(8 * DAY)
    took = time.perf_counter() - started
    (dead,) = take_all(lab, dlq_url)
    assert json.loads(dead["Body"])["MessageId"] == mid
    assert take_all(lab, url) == []
    kinds = [
        (h.kind, h.target, h.time)
        for h in lab.flow().path(mid)
        if h.kind in ("retried", "failed", "dead-lettered")
    ]
    assert kinds == [
        ("retried", arn, 0.0),
        ("failed", arn, AWS_MANAGED.total),
        ("dead-lettered", dlq_arn, AWS_MANAGED.total),
    ]
    sums = metric_sums(
        lab, "AWS/SNS", {"TopicName": "orders"}, "NumberOfNotificationsFailed",
        "NumberOfNotificationsRedrivenToDlq", "NumberOfNotificationsDelivered", hours=31 * 24,
    )  # fmt: skip
    assert sums == {
        "NumberOfNotificationsFailed": 1,  # once, when SNS stops trying (not per attempt)
        "NumberOfNotificationsRedrivenToDlq": 1,
        "NumberOfNotificationsDelivered": 0,
    }
    print(f"30 days of retries caught up in {took:.3f} s")


def _retry(retries: int, delay: int) -> dict[str, int]:
    return {"numRetries": retries, "minDelayTarget": delay, "maxDelayTarget": delay}


HTTP_CASES = [
    # (the topic's DeliveryPolicy, the subscription's, when SNS gives up, failed attempts)
    (None, {"healthyRetryPolicy": _retry(5, 10)}, 50.0, 6),
    ({"http": {"defaultHealthyRetryPolicy": _retry(2, 5)}}, None, 10.0, 3),
    ({"http": {"defaultHealthyRetryPolicy": _retry(2, 5)}}, {"healthyRetryPolicy": _retry(1, 7)},
     7.0, 2),
    ({"http": {"defaultHealthyRetryPolicy": _retry(2, 5), "disableSubscriptionOverrides": True}},
     {"healthyRetryPolicy": _retry(1, 7)}, 10.0, 3),
    (None, None, 60.0, 4),  # the default: 3 retries, 20 seconds apart
]  # fmt: skip


def test_an_http_endpoint_is_retried_under_its_delivery_policy_counting_every_attempt(
    embedded_lab: labkit.Lab,
) -> None:
    lab = embedded_lab
    sns = lab.client("sns")
    url = "https://hooks.example.com/orders"
    for topic_policy, own_policy, gives_up, failed_attempts in HTTP_CASES:
        lab.reset()
        attributes = {"DeliveryPolicy": json.dumps(topic_policy)} if topic_policy else {}
        topic = sns.create_topic(Name="hooks", Attributes=attributes)["TopicArn"]
        own = {"DeliveryPolicy": json.dumps(own_policy)} if own_policy else {}
        sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=url, Attributes=own)
        lab.take_down(url)
        mid = sns.publish(TopicArn=topic, Message="o-1")["MessageId"]
        lab.advance(120)
        (failed,) = [h for h in lab.flow().path(mid) if h.kind == "failed"]
        assert failed.time == gives_up, (topic_policy, own_policy)
        sums = metric_sums(lab, "AWS/SNS", {"TopicName": "hooks"}, "NumberOfNotificationsFailed")
        assert sums == {"NumberOfNotificationsFailed": failed_attempts}


# -- EventBridge --------------------------------------------------------------------------------
def test_a_target_that_stays_down_goes_to_its_dead_letter_queue_saying_which_limit_ran_out(
    lab: labkit.Lab,
) -> None:
    events, sqs = lab.client("events"), lab.client("sqs")
    rule = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    _, few = _queue(lab, "few")
    _, young = _queue(lab, "young")
    dlq_url, dlq_arn = _queue(lab, "orders-dlq")
    allow_delivery(lab, rule, few, young, dlq_arn)
    dead_letter = {"Arn": dlq_arn}
    events.put_targets(
        Rule="orders",
        Targets=[
            {"Id": "few", "Arn": few, "RetryPolicy": {"MaximumRetryAttempts": 2},
             "DeadLetterConfig": dead_letter},
            {"Id": "young", "Arn": young, "RetryPolicy": {"MaximumEventAgeInSeconds": 60},
             "DeadLetterConfig": dead_letter},
        ],
    )  # fmt: skip
    lab.take_down(few)
    lab.take_down(young)
    entry = {"Source": "shop", "DetailType": "OrderPlaced", "Detail": "{}"}
    event_id = events.put_events(Entries=[entry])["Entries"][0]["EventId"]
    lab.advance(600)
    dead = sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    found = {
        m["MessageAttributes"]["TARGET_ARN"]["StringValue"]: {
            k: v["StringValue"] for k, v in m["MessageAttributes"].items() if k != "TARGET_ARN"
        }
        for m in dead
    }
    # the second failed delivery since the lab started: its jitter is seeded with that
    young_retries = EventsSchedule(max_age=60, seed=f"{rule}/young/2").retries
    assert found == {
        few: {
            "RULE_ARN": rule,
            "ERROR_CODE": "SDK_CLIENT_ERROR",
            "ERROR_MESSAGE": "the target's service is unavailable (a server-side error)",
            "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
            "RETRY_ATTEMPTS": "2",
        },
        young: {
            "RULE_ARN": rule,
            "ERROR_CODE": "SDK_CLIENT_ERROR",
            "ERROR_MESSAGE": "the target's service is unavailable (a server-side error)",
            "EXHAUSTED_RETRY_CONDITION": "MaximumEventAgeInSeconds",
            "RETRY_ATTEMPTS": str(young_retries),
        },
    }
    assert all(json.loads(m["Body"])["id"] == event_id for m in dead)
    sums = metric_sums(
        lab, "AWS/Events", {"RuleName": "orders"}, "Invocations", "FailedInvocations",
        "InvocationsSentToDlq", "RetryInvocationAttempts", "InvocationAttempts",
    )  # fmt: skip
    assert sums == {
        "Invocations": 2,
        "FailedInvocations": 2,
        "InvocationsSentToDlq": 2,
        "RetryInvocationAttempts": 2 + young_retries,
        "InvocationAttempts": 2 + 2 + young_retries,  # each target's first try and its retries
    }


def test_a_target_back_within_its_retry_policy_gets_the_event_once(lab: labkit.Lab) -> None:
    events = lab.client("events")
    rule = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    url, arn = _queue(lab, "billing")
    allow_delivery(lab, rule, arn)
    events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": arn}])
    lab.take_down(arn)
    entry = {"Source": "shop", "DetailType": "OrderPlaced", "Detail": "{}"}
    event_id = events.put_events(Entries=[entry])["Entries"][0]["EventId"]
    lab.advance(300)
    lab.bring_back(arn)
    lab.advance(900)
    (got,) = take_all(lab, url)
    assert json.loads(got["Body"])["id"] == event_id
    kinds = [h.kind for h in lab.flow().path(event_id) if h.target == arn]
    assert kinds == ["retried", "delivered"]
    sums = metric_sums(
        lab, "AWS/Events", {"RuleName": "orders"}, "Invocations", "FailedInvocations"
    )
    assert sums == {"Invocations": 1, "FailedInvocations": 0}


def test_take_down_wants_an_endpoint(embedded_lab: labkit.Lab) -> None:
    with pytest.raises(labkit.LabError, match="an endpoint's ARN"):
        embedded_lab.take_down("billing")


# -- Lambda's own retries of asynchronous events ------------------------------------------------
def _failing_subscriber(lab: labkit.Lab, name: str) -> tuple[str, str, str]:
    """A topic, a function subscribed to it whose handler always fails, and a queue the
    function's on-failure destination may point at: (topic, function ARN, queue URL)."""
    sns = lab.client("sns")
    topic = sns.create_topic(Name=f"{name}-topic")["TopicArn"]

    def handler(event: dict, context: object) -> None:
        raise RuntimeError("the mail server is down")

    fn = lab.functions.deploy(name, handler)
    allow_delivery(lab, topic, fn.arn)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn.arn)
    url, _ = _queue(lab, f"{name}-failures")
    return topic, fn.arn, url


ASYNC_CASES = [
    # (event invoke config, attempts made, the record's condition)
    ({"MaximumRetryAttempts": 1}, 2, "RetriesExhausted"),
    ({"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}, 2, "EventAgeExceeded"),
    ({"MaximumRetryAttempts": 0}, 1, "RetriesExhausted"),
]


def test_lambda_retries_an_asynchronous_event_as_its_invoke_config_says_then_records_it(
    lab: labkit.Lab,
) -> None:
    lam, sns = lab.client("lambda"), lab.client("sns")
    for config, attempts, condition in ASYNC_CASES:
        lab.reset()
        topic, fn, url = _failing_subscriber(lab, "email")
        destination = {"OnFailure": {"Destination": queue_arn(lab, url)}}
        lam.put_function_event_invoke_config(
            FunctionName=fn, DestinationConfig=destination, **config
        )
        mid = sns.publish(TopicArn=topic, Message="o-1")["MessageId"]
        result = lab.functions.run(900)
        assert len(result.invocations) == attempts, config
        (kept,) = take_all(lab, url)
        record = json.loads(kept["Body"])
        assert record["requestContext"]["condition"] == condition
        assert record["requestContext"]["approximateInvokeCount"] == attempts
        assert record["requestContext"]["functionArn"] == f"{fn}:$LATEST"
        assert record["requestPayload"]["Records"][0]["Sns"]["MessageId"] == mid
        assert record["responsePayload"]["errorType"] == "RuntimeError"


def test_a_function_with_zero_reserved_concurrency_is_not_run_its_events_go_to_the_dlq(
    lab: labkit.Lab,
) -> None:
    lam, sns = lab.client("lambda"), lab.client("sns")
    topic, fn, url = _failing_subscriber(lab, "email")
    lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=0)
    lam.put_function_event_invoke_config(
        FunctionName=fn, DestinationConfig={"OnFailure": {"Destination": queue_arn(lab, url)}}
    )
    sns.publish(TopicArn=topic, Message="o-1")
    result = lab.functions.run(900)
    assert result.invocations == ()
    (kept,) = take_all(lab, url)
    assert json.loads(kept["Body"])["requestContext"]["condition"] == "ZeroReservedConcurrency"


def test_lambda_refuses_asynchronous_limits_outside_its_ranges(lab: labkit.Lab) -> None:
    lam = lab.client("lambda")
    fn = lab.functions.deploy("email", lambda event, context: None)
    for config in ({"MaximumRetryAttempts": 3}, {"MaximumEventAgeInSeconds": 21_601}):
        with pytest.raises(ClientError, match="ValidationException"):
            lam.put_function_event_invoke_config(FunctionName=fn.arn, **config)


# -- what the plots draw ------------------------------------------------------------------------
def test_the_plots_draw_retried_refused_and_delivered_hops_each_in_their_kind(
    embedded_lab: labkit.Lab,
) -> None:
    lab = embedded_lab
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    _, billing = subscriber_queue(lab, "billing", topic)
    _, locked = _queue(lab, "locked")  # no policy: SNS is refused
    for arn in (billing, locked):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    lab.take_down(billing)
    mid = sns.publish(TopicArn=topic, Message="o-1")["MessageId"]
    lab.bring_back(billing)
    lab.advance(60)
    flow = labkit.flow(lab)
    rows = plots.sequence_rows(flow)
    assert {r.message for r in rows} == {"m1"} and flow.messages() == (mid,)
    assert [(r.kind, r.target.rsplit(":", 1)[-1]) for r in rows] == [
        ("sent", "orders"), ("retried", "billing"), ("refused", "locked"), ("delivered", "billing")
    ]  # fmt: skip
    labels = {(e.target.rsplit(":", 1)[-1], e.kind): e.label for e in plots.topology_edges(flow)}
    assert labels[("billing", "retried")] == "1 retried"
    assert labels[("locked", "refused")] == "1 refused"
    edges = plots.topology_edges(flow)
    arrows = {a.target.rsplit(":", 1)[-1]: a.kind for a in topology_arrows(edges)}
    assert (arrows["billing"], arrows["locked"]) == ("delivered", "refused")
    ax = plots.plot_topology(flow)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"delivered", "retried", "refused"} <= set(legend)
    plt.close(ax.figure)


# -- the engine ---------------------------------------------------------------------------------
def test_a_delivery_finds_the_gap_between_two_outages_and_counts_the_retries_it_skipped() -> None:
    from labkit.moto_patches import delivery_retries as retries
    from labkit.moto_patches.retry_schedules import SnsPolicy

    policy = SnsPolicy(min_delay=20, max_delay=20, retries=100)  # one retry every 20 s
    events: list[tuple[str, float, int]] = []
    start = 1_000_000.0
    endpoint = "arn:aws:sqs:us-east-1:123456789012:gappy"
    retries.clear()
    try:
        retries.take_down(endpoint, at=start)
        # the endpoint comes back at +110 s and goes down again at +130 s: one retry (+120 s)
        # falls in between
        retries.bring_back(endpoint, at=start + 110)
        retries.take_down(endpoint, at=start + 130)
        pending = retries.Pending(
            "topic", endpoint, "m-1", start, policy,
            deliver=lambda at, n: events.append(("delivered", at - start, n)),
            give_up=lambda at, n, why: events.append(("given up", at - start, n)),
            failed=lambda n, at: events.append(("failed", at - start, n)),
        )  # fmt: skip
        retries.start(pending)
        assert events == []  # nothing is due yet at the first attempt's moment
        retries.catch_up(start + 10_000)
        assert events == [("failed", 100.0, 5), ("delivered", 120.0, 5)]
        assert retries.next_due() is None and retries.catch_up(start + 20_000) == 0
    finally:
        retries.clear()


def test_a_delivery_whose_endpoint_never_comes_back_is_given_up_at_its_last_retry() -> None:
    from labkit.moto_patches import delivery_retries as retries

    events: list[tuple[str, float, int]] = []
    endpoint = "https://hooks.example.com/never"
    retries.clear()
    try:
        retries.take_down(endpoint, at=0.0)
        retries.start(
            retries.Pending(
                "topic",
                endpoint,
                "m-1",
                0.0,
                HTTP_DEFAULT,
                deliver=lambda at, n: events.append(("delivered", at, n)),
                give_up=lambda at, n, why: events.append(("given up", at, n)),
                failed=lambda n, at: events.append(("failed", at, n)),
            )  # fmt: skip
        )
        retries.catch_up(30.0)
        assert events == [("failed", 20.0, 1)]
        retries.catch_up(3600.0)
        assert events == [("failed", 20.0, 1), ("failed", 60.0, 2), ("given up", 60.0, 3)]
    finally:
        retries.clear()
