"""labkit.lessons.workflows and the workflow timeline: a real run read into lanes and bars on the
lab's clock (both backends), drawn as those bars, and priced from its history."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import labkit  # noqa: E402
from labkit.lessons.workflows import run_cost, run_workflows  # noqa: E402
from labkit.plots import plot_workflow  # noqa: E402
from labkit.plots.legibility import layout_problems  # noqa: E402
from labkit.trace.timeline import Bar, most_at_once, timeline  # noqa: E402
from tests.scenarios import property_examples, state_machine  # noqa: E402

PACK = {"StartAt": "Pack", "States": {"Pack": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}


def label(table: str, *, retries: int) -> dict[str, Any]:
    """A task that writes item 1 to `table`, retrying up to `retries` times, 2 s after the first
    failure and twice as long after each next one."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": table, "Item": {"id": {"S": "1"}}},
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": retries}],
    }


RUN = {
    "StartAt": "Label",
    "States": {
        "Label": {
            **label("missing", retries=1),
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Pack"}],
            "Next": "Pack",
        },
        "Pack": {"Type": "Map", "ItemsPath": "$.parcels", "MaxConcurrency": 2,
                 "ItemProcessor": PACK, "ResultPath": None, "Next": "Both"},
        "Both": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "Bill", "States": {"Bill": {"Type": "Wait", "Seconds": 5, "End": True}}},
            {"StartAt": "Ship", "States": {"Ship": {"Type": "Pass", "End": True}}}]},
    },
}  # fmt: skip


def test_a_run_becomes_lanes_and_bars_on_the_lab_clock(lab: labkit.Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn = state_machine(lab, "fulfil", RUN)
    given = '{"parcels": [{"s": 3}, {"s": 1}, {"s": 2}]}'
    execution = sfn.start_execution(stateMachineArn=arn, name="o-1", input=given)["executionArn"]
    assert run_workflows(lab, execution) == {execution: "SUCCEEDED"}
    events = sfn.get_execution_history(executionArn=execution)["events"]
    bars = timeline(events)
    states = {(b.lane, b.start, b.end) for b in bars if b.kind == "state"}
    assert ("Label", 0, 2) in states  # a try, a 2 s wait, a second try, caught
    assert [(b.kind, b.start, b.end) for b in bars if b.lane == "Label" and b.kind != "state"] == [
        ("failed", 0, 0), ("retry wait", 0, 2), ("failed", 2, 2)
    ]  # fmt: skip
    # three parcels, two packers: #1 (1 s) ends first and #2 takes its place
    assert {("Pack #0", 2, 5), ("Pack #1", 2, 3), ("Pack #2", 3, 5)} <= states
    assert ("Pack", 2, 5) in states and most_at_once(bars) == 2
    assert {("Bill", 5, 10), ("Ship", 5, 5), ("Both", 5, 10)} <= states
    # in the order they began; at the same moment outer before inner, by iteration, by name
    lanes = list(dict.fromkeys(b.lane for b in bars))
    assert lanes == ["Label", "Pack", "Pack #0", "Pack #1", "Pack #2", "Both", "Bill", "Ship"]
    cost = run_cost(events)
    # Label twice (a retry), Pack, 3 x Pack inside, Both, Bill, Ship
    assert (cost.transitions, cost.seconds) == (9, 10)


def test_the_plot_draws_a_bar_per_state_and_marks_retries() -> None:
    bars = [
        Bar("Charge", "Charge", 0.0, 6.0, "state"),
        Bar("Charge", "Charge", 0.0, 0.0, "failed"),
        Bar("Charge", "Charge", 0.0, 2.0, "retry wait"),
        Bar("Charge", "Charge", 2.0, 2.0, "failed"),
        Bar("Charge", "Charge", 2.0, 6.0, "retry wait"),
        Bar("Ship", "Ship", 6.0, 6.0, "state"),
    ]
    ax = plot_workflow(bars, title="a run")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Ship", "Charge"]  # first on top
    drawn = sorted(
        (round(p.get_x(), 3), round(p.get_width(), 3), round(p.get_y() + p.get_height() / 2, 3),
         round(p.get_height(), 2))
        for p in ax.patches
    )  # fmt: skip
    # Charge (row 1): its state, and two narrower waits over it; Ship (row 0): a sliver
    assert drawn == [(0.0, 2.0, 1.0, 0.34), (0.0, 6.0, 1.0, 0.6), (2.0, 4.0, 1.0, 0.34),
                     (6.0, 0.03, 0.0, 0.6)]  # fmt: skip
    marks = [line.get_xydata().tolist() for line in ax.get_lines()]
    assert marks == [[[0.0, 1.0]], [[2.0, 1.0]]]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["state running", "retry wait", "attempt failed"]
    ax.figure.canvas.draw()
    assert layout_problems(ax.figure) == []
    plt.close(ax.figure)


def test_express_is_priced_per_request_and_rounded_up_duration() -> None:
    t0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    events = [
        {"type": "ExecutionStarted", "timestamp": t0},
        {"type": "TaskStateEntered", "timestamp": t0},
        {"type": "TaskScheduled", "timestamp": t0},
        {"type": "TaskScheduled", "timestamp": t0 + dt.timedelta(seconds=1)},
        {"type": "ExecutionSucceeded", "timestamp": t0 + dt.timedelta(seconds=1.01)},
    ]
    cost = run_cost(events)
    assert (cost.transitions, cost.seconds) == (2, 1.01)  # the retry counts once more
    assert cost.standard == 2 * 0.025 / 1000
    # 1.01 s is billed as 1.1 s, at 64 MB
    assert abs(cost.express - (1e-6 + 1.1 * 0.0625 * 0.00001667)) < 1e-15


# -- a Map over items that fail at random: every item is processed or reported ----------------
#: Examples drawn: `make test` a sample, `make property` the full 200.
MAP_SETTINGS = settings(
    max_examples=property_examples(10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: each item writes itself to its table; a "missing" table fails it, and the Catch reports it
WORK = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName.$": "$.table", "Item": {"id": {"S.$": "$.id"}}},
            "ResultPath": None,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Report"}],
            "End": True,
        },
        "Report": {"Type": "Pass", "Parameters": {"id.$": "$.id", "reported": True}, "End": True},
    },
}


@pytest.fixture(scope="module")
def mapping() -> Iterator[tuple[labkit.Lab, dict[int, str]]]:
    with labkit.start_lab() as lab:
        lab.client("dynamodb").create_table(
            TableName="processed", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )  # fmt: skip
        machines = {
            limit: state_machine(
                lab,
                f"each-{limit}",
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "MaxConcurrency": limit,
                            "ItemProcessor": WORK,
                            "End": True,
                        }
                    },
                },
            )  # fmt: skip
            for limit in (0, 1, 2, 3)
        }
        yield lab, machines


RUNS = itertools.count()


@MAP_SETTINGS
@given(fails=st.lists(st.booleans(), min_size=1, max_size=8), limit=st.sampled_from([0, 1, 2, 3]))
def test_a_map_ends_with_every_item_processed_or_reported(
    mapping: tuple[labkit.Lab, dict[int, str]], fails: list[bool], limit: int
) -> None:
    lab, machines = mapping
    sfn, ddb = lab.client("stepfunctions"), lab.client("dynamodb")
    run = f"run-{next(RUNS)}"
    items = [{"id": f"{run}-{n}", "table": "missing" if bad else "processed"}
             for n, bad in enumerate(fails)]  # fmt: skip
    given_input = json.dumps({"items": items})
    execution = sfn.start_execution(stateMachineArn=machines[limit], name=run, input=given_input)
    arn = execution["executionArn"]
    assert run_workflows(lab, arn) == {arn: "SUCCEEDED"}
    output = json.loads(sfn.describe_execution(executionArn=arn)["output"])
    reported = [o["id"] for o in output if o.get("reported")]
    processed = sorted(
        item["id"]["S"] for item in ddb.scan(TableName="processed")["Items"]
        if item["id"]["S"].startswith(f"{run}-")
    )  # fmt: skip
    assert reported == [i["id"] for i in items if i["table"] == "missing"]
    assert processed == sorted(i["id"] for i in items if i["table"] == "processed")
    assert len(output) == len(items)  # one result per item, none twice
    assert most_at_once(timeline(sfn.get_execution_history(executionArn=arn)["events"])) <= (
        limit or len(items)
    )


LABEL = {"StartAt": "Label", "States": {"Label": {**label("labels", retries=4), "End": True}}}


def test_a_run_for_some_seconds_stops_there_and_goes_on_later(lab: labkit.Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn = state_machine(lab, "label", LABEL)
    execution = sfn.start_execution(stateMachineArn=arn, name="o-1")["executionArn"]
    assert run_workflows(lab, execution, seconds=10) == {execution: "RUNNING"}
    assert lab.clock.elapsed() == 10 and lab.clock.next_timer() == 4  # the 8 s wait from 6 s
    lab.client("dynamodb").create_table(
        TableName="labels", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )  # fmt: skip
    assert run_workflows(lab, execution) == {execution: "SUCCEEDED"}
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [round((e["timestamp"] - events[0]["timestamp"]).total_seconds()) for e in events
            if e["type"] == "TaskScheduled"] == [0, 2, 6, 14]  # fmt: skip


def test_a_callback_nobody_answers_ends_the_run_or_times_out_on_the_clock(lab: labkit.Lab) -> None:
    sfn = lab.client("stepfunctions")
    url = lab.client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    ask = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
           "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
           "End": True}  # fmt: skip
    patient = state_machine(lab, "patient", {"StartAt": "Ask", "States": {"Ask": ask}})
    waits = sfn.start_execution(stateMachineArn=patient, name="p-1")["executionArn"]
    # no deadline: nothing the clock can do, and the run says so at once
    assert run_workflows(lab, waits) == {waits: "RUNNING"}
    assert lab.clock.elapsed() == 0
    timed = {"StartAt": "Ask", "States": {"Ask": {**ask, "HeartbeatSeconds": 60}}}
    impatient = state_machine(lab, "impatient", timed)
    gives_up = sfn.start_execution(stateMachineArn=impatient, name="i-1")["executionArn"]
    assert run_workflows(lab, gives_up) == {gives_up: "FAILED"}
    assert lab.clock.elapsed() == 60
