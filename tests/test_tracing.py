"""The tracer: calls, hops inferred and observed, actors, pausing, reset, on both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit
from labkit.lessons import allow_delivery
from labkit.trace.records import actor
from tests.scenarios import (
    arn,
    event_routing,
    fan_out,
    finished,
    hops,
    poison_message,
    saga,
    state_machine,
)


def short_counts(lab: labkit.Lab) -> dict[tuple[str, str, str], int]:
    counts: dict[tuple[str, str, str], int] = {}
    for hop in lab.tracer.hops:
        key = (
            labkit.trace.flows.short_name(hop.source),
            labkit.trace.flows.short_name(hop.target),
            hop.kind,
        )
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_fan_out_to_three_queues_with_one_filter_policy(lab: labkit.Lab) -> None:
    fan_out(lab, physical=2, digital=1)
    assert short_counts(lab) == hops("fan_out")
    # deliveries were inferred at publish time and confirmed by the envelopes that arrived
    evidence = {(h.kind, h.evidence) for h in lab.tracer.hops}
    assert ("delivered", "observed") in evidence and ("delivered", "inferred") not in evidence
    assert ("filtered", "inferred") in evidence  # nothing arrives to confirm a filtered copy
    assert not lab.tracer.errors


def test_deliveries_are_inferred_until_a_consumer_sees_them(lab: labkit.Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="news")["TopicArn"]
    url = sqs.create_queue(QueueName="reader")["QueueUrl"]
    allow_delivery(lab, topic, arn("sqs", "reader"))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn("sqs", "reader"))
    mid = sns.publish(TopicArn=topic, Message="hello")["MessageId"]
    delivered = [h for h in lab.tracer.hops if h.kind == "delivered"]
    assert [(h.message_id, h.evidence) for h in delivered] == [(mid, "inferred")]
    body = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert json.loads(body["Body"])["MessageId"] == mid
    delivered = [h for h in lab.tracer.hops if h.kind == "delivered"]
    assert [(h.message_id, h.evidence) for h in delivered] == [(mid, "observed")]
    received = [h for h in lab.tracer.hops if h.kind == "received"][0]
    assert received.message_id == mid  # the SQS copy is traced under the SNS MessageId
    assert dict(received.labels)["sqs_message_id"] == body["MessageId"]


def test_raw_delivery_is_correlated_by_body(lab: labkit.Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="raw")["TopicArn"]
    url = sqs.create_queue(QueueName="raw-reader")["QueueUrl"]
    allow_delivery(lab, topic, arn("sqs", "raw-reader"))
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn("sqs", "raw-reader"),
        Attributes={"RawMessageDelivery": "true"},
    )
    mid = sns.publish(TopicArn=topic, Message="plain text")["MessageId"]
    got = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert got["Body"] == "plain text"
    flow = lab.tracer.flow()
    assert [h.kind for h in flow.path(got["MessageId"])] == ["sent", "delivered", "received"]
    assert flow.path(mid) == flow.path(got["MessageId"])


def test_eventbridge_rule_routes_to_two_of_three_targets(lab: labkit.Lab) -> None:
    result = event_routing(lab)
    assert short_counts(lab) == hops("event_routing")
    assert {h.message_id for h in lab.tracer.hops} == {result["event_id"]}
    assert all(h.evidence == "observed" for h in lab.tracer.hops if h.kind == "delivered")


def test_poison_message_is_dead_lettered_after_three_receives(lab: labkit.Lab) -> None:
    result = poison_message(lab, max_receives=3)
    assert result["moved"] == 1
    assert short_counts(lab) == hops("poison_message")
    receives = [h for h in lab.tracer.hops if h.source.endswith(":payments")]
    assert [dict(h.labels).get("receive_count") for h in receives[:3]] == ["1", "2", "3"]
    [moved] = [h for h in lab.tracer.hops if h.kind == "dead-lettered"]
    assert moved.evidence == "observed" and moved.message_id == result["message_id"]
    assert moved.time == 93.0  # the fourth receive, after 3 x 31 s on the lab's clock


def test_dead_letter_move_is_inferred_before_anything_arrives(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    redrive = {"deadLetterTargetArn": arn("sqs", "dead"), "maxReceiveCount": "1"}
    url = sqs.create_queue(
        QueueName="work",
        Attributes={"VisibilityTimeout": "5", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.receive_message(QueueUrl=url)
    lab.advance(6)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    [moved] = [h for h in lab.tracer.hops if h.kind == "dead-lettered"]
    assert moved.evidence == "inferred"
    sqs.receive_message(QueueUrl=dlq)
    [moved] = [h for h in lab.tracer.hops if h.kind == "dead-lettered"]
    assert moved.evidence == "observed"


def test_saga_runs_one_compensation(lab: labkit.Lab) -> None:
    result = saga(lab)
    assert result["status"] == "FAILED"
    assert short_counts(lab) == hops("saga")
    states = [dict(h.labels).get("state") for h in lab.tracer.hops if h.source == result["machine"]]
    assert states == ["ReserveStock", "ChargeCard", "ReleaseStock"]
    assert {h.message_id for h in lab.tracer.hops} == {result["execution"]}


def test_every_call_is_a_record(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="calls")["QueueUrl"]
    mid = sqs.send_message(QueueUrl=url, MessageBody="x")["MessageId"]
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url.replace("calls", "nope"), MessageBody="x")
    calls = lab.tracer.calls
    assert [(c.service, c.operation, c.ok) for c in calls] == [
        ("sqs", "CreateQueue", True),
        ("sqs", "SendMessage", True),
        ("sqs", "SendMessage", False),
    ]
    assert calls[0].resource == calls[1].resource == arn("sqs", "calls")
    assert calls[1].message_ids == (mid,)
    assert calls[2].error_code != "" and calls[2].resource == arn("sqs", "nope")
    assert [c.seq for c in calls] == sorted(c.seq for c in calls)


def test_calls_are_attributed_to_actors(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="actors")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="anonymous")
    with lab.tracer.acting_as("billing"):
        sqs.send_message(QueueUrl=url, MessageBody="named")
    lab.tracer.name("ops")
    sqs.send_message(QueueUrl=url, MessageBody="default name")
    lab.tracer.name(None)
    sources = [h.source for h in lab.tracer.hops if h.kind == "sent"]
    assert sources == ["actor:publisher", actor("billing"), actor("ops")]
    assert [c.caller for c in lab.tracer.calls][1:] == ["", actor("billing"), actor("ops")]


def test_paused_tracing_records_nothing_but_follows_wiring(lab: labkit.Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="quiet")["TopicArn"]
    sqs.create_queue(QueueName="q1")
    allow_delivery(lab, topic, arn("sqs", "q1"))
    sns.publish(TopicArn=topic, Message="before any subscription")  # caches: no subscribers
    before = (len(lab.tracer.calls), len(lab.tracer.hops))
    with lab.tracer.paused():
        assert not lab.tracer.enabled
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn("sqs", "q1"))
    assert (len(lab.tracer.calls), len(lab.tracer.hops)) == before
    sns.publish(TopicArn=topic, Message="after")
    assert [h.kind for h in lab.tracer.hops][-2:] == ["sent", "delivered"]


def test_reset_clears_and_time_follows_the_lab_clock(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="clock")["QueueUrl"]
    lab.advance(42)
    sqs.send_message(QueueUrl=url, MessageBody="late")
    assert [h.time for h in lab.tracer.hops] == [42.0]
    lab.reset()
    assert lab.tracer.calls == () and lab.tracer.hops == ()
    url = sqs.create_queue(QueueName="clock")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="again")
    assert [(h.seq, h.time) for h in lab.tracer.hops] == [(2, 0.0)]


def test_restarting_the_lab_does_not_duplicate_hooks() -> None:
    labkit.start_lab()
    lab = labkit.start_lab()  # a setup cell run twice
    try:
        url = lab.client("sqs").create_queue(QueueName="once")["QueueUrl"]
        lab.client("sqs").send_message(QueueUrl=url, MessageBody="x")
        assert [c.operation for c in lab.tracer.calls] == ["CreateQueue", "SendMessage"]
        assert len(lab.tracer.hops) == 1
    finally:
        lab.stop()


def test_labkit_reports_its_own_hops(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    tracer = lab.tracer
    tracer.link("sqs-copy-1", "event-1")
    hop = tracer.add_hop(
        arn("rule", "shop/r"), "arn:aws:lambda:us-east-1:123456789012:function:f", "sqs-copy-1",
        "delivered", detail="bridge",
    )  # fmt: skip
    assert (hop.message_id, hop.via, hop.evidence) == ("event-1", "labkit", "observed")
    assert lab.tracer.hops == (hop,)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kinds=st.lists(st.sampled_from(["physical", "digital"]), min_size=1, max_size=4))
def test_fan_out_conserves_messages(embedded_lab: labkit.Lab, kinds: list[str]) -> None:
    """Every publish reaches each queue exactly once: delivered or filtered, then received."""
    lab = embedded_lab
    lab.reset()
    fan_out(lab, physical=kinds.count("physical"), digital=kinds.count("digital"))
    counts = short_counts(lab)
    n, physical = len(kinds), kinds.count("physical")
    assert counts.get(("orders", "billing", "delivered"), 0) == n
    assert counts.get(("orders", "shipping", "delivered"), 0) == physical
    assert counts.get(("orders", "shipping", "filtered"), 0) == n - physical
    for queue in ("billing", "shipping", "audit"):
        delivered = counts.get(("orders", queue, "delivered"), 0)
        assert counts.get((queue, f"{queue}-service", "received"), 0) == delivered
        assert counts.get((queue, f"{queue}-service", "processed"), 0) == delivered


def test_a_filtered_hop_says_why_in_the_explainers_words(lab: labkit.Lab) -> None:
    """The tracer decides with labkit.matcher, so its reason is the explainer's sentence."""
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sqs.create_queue(QueueName="eu")
    policy = {"region": [{"prefix": "eu-"}]}
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn("sqs", "eu"),
        Attributes={"FilterPolicy": json.dumps(policy)},
    )
    attributes = {"region": {"DataType": "String", "StringValue": "us-east"}}
    sns.publish(TopicArn=topic, Message="o-1", MessageAttributes=attributes)
    [hop] = [h for h in lab.tracer.hops if h.kind == "filtered"]
    expected = labkit.matcher.explain_filter(policy, body="o-1", attributes=attributes)
    assert hop.detail == expected.reasons[0]
    assert hop.detail.startswith('The message attribute "region" is "us-east"')


def test_a_rule_that_let_an_event_pass_says_which_field_failed(lab: labkit.Lab) -> None:
    events = lab.client("events")
    events.put_rule(
        Name="big", EventPattern=json.dumps({"detail": {"total": [{"numeric": [">=", 100]}]}})
    )
    detail = json.dumps({"total": "250"})  # text, not a number: numeric never matches it
    events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": detail}])
    [hop] = [h for h in lab.tracer.hops if h.kind == "filtered"]
    assert hop.detail.startswith('The event field "detail.total" is "250"')


def test_an_event_path_runs_from_the_put_through_a_topic_target_to_its_queue(
    lab: labkit.Lab,
) -> None:
    """The call comes first in the trace, then the bridge's delivery, then the topic's fan-out."""
    sns, sqs, events = lab.client("sns"), lab.client("sqs"), lab.client("events")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url = sqs.create_queue(QueueName="phones")["QueueUrl"]
    allow_delivery(lab, topic, arn("sqs", "phones"))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn("sqs", "phones"))
    rule = events.put_rule(Name="big", EventPattern=json.dumps({"source": ["shop"]}))
    allow_delivery(lab, rule["RuleArn"], topic)
    events.put_targets(Rule="big", Targets=[{"Id": "alerts", "Arn": topic}])
    entry = {"Source": "shop", "DetailType": "Order", "Detail": "{}"}
    event_id = events.put_events(Entries=[entry])["Entries"][0]["EventId"]
    sqs.receive_message(QueueUrl=url)
    path = [
        (labkit.trace.flows.short_name(h.source), labkit.trace.flows.short_name(h.target), h.kind)
        for h in lab.tracer.flow().path(event_id)
    ]
    assert path[0] == ("publisher", "default", "sent")
    assert path.index(("big", "alerts", "delivered")) < path.index(
        ("alerts", "phones", "delivered")
    )
    assert path[-1][1:] == ("consumer", "received")


def test_hops_ask_nothing_and_harvest_adds_an_ended_execution(lab: labkit.Lab) -> None:
    """Reading the hops makes no call; `harvest` (and `flow`) reads the ended executions."""
    sfn, sqs = lab.client("stepfunctions"), lab.client("sqs")
    url = sqs.create_queue(QueueName="tasks")["QueueUrl"]
    send = {"QueueUrl": url, "MessageBody": "task"}
    definition = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": send,
                "End": True,
            }
        },
    }
    machine = state_machine(lab, "one-task", definition)
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    with lab.tracer.internal():  # wait without the DescribeExecution answer harvesting it
        finished(sfn, execution)
    calls = len(lab.tracer.calls)
    assert [h.kind for h in lab.tracer.hops] == ["started"]
    lab.tracer.harvest()
    assert [h.kind for h in lab.tracer.hops] == ["started", "task"]
    assert len(lab.tracer.calls) == calls  # the harvest's look-ups are labkit's own
    lab.tracer.harvest()  # harvested once
    assert [h.kind for h in lab.tracer.flow()] == ["started", "task"]


def test_a_failing_look_up_is_noted_once_and_breaks_nothing(
    lab: labkit.Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="quiet")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    lab.tracer.fan_out(arn("sns", "no-such-topic"), "m-1", {"Message": "x"})
    [missing] = lab.tracer.errors
    assert missing.startswith(f"fan-out of {arn('sns', 'no-such-topic')}: ")
    real = lab.client

    def client(service: str) -> Any:
        if service == "sns":
            raise RuntimeError("no SNS today")
        return real(service)

    monkeypatch.setattr(lab, "client", client)
    assert [h.kind for h in lab.tracer.flow()] == ["sent"]
    assert [h.kind for h in lab.tracer.flow()] == ["sent"]
    assert lab.tracer.errors == (missing, "wiring: RuntimeError('no SNS today')")
