"""Workflows at scale: run executions through their waits on the lab's clock, read a run as a
timeline (one lane per state, Map iteration or Parallel branch), and price what ran.

Step Functions' Wait states, Retry intervals, task timeouts and heartbeats wait on the lab's
clock (``labkit.moto_patches.sfn_lab_time``); `run_workflows` moves the clock to the end of the
next one whenever every execution is waiting, so a run that would take an hour on AWS takes a
moment here, with the history stamped as AWS would stamp it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.lessons.saga import run_workflows
from labkit.trace.timeline import Bar, most_at_once, timeline

if TYPE_CHECKING:
    from labkit.lab import Lab

__all__ = [
    "Bar",
    "RunCost",
    "charge_with_retry",
    "most_at_once",
    "pack_parcels",
    "run_cost",
    "run_workflows",
    "timeline",
]

#: US East (N. Virginia) prices on https://aws.amazon.com/step-functions/pricing/
STANDARD_PER_TRANSITION = 0.025 / 1000
EXPRESS_PER_REQUEST = 1.00 / 1_000_000
EXPRESS_PER_GB_SECOND = 0.00001667
EXPRESS_MEMORY_GB = 64 / 1024  # billed in 64-MB chunks: the smallest run uses one


# -- what a run costs -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RunCost:
    """What one run would cost as a Standard and as an Express workflow (US dollars)."""

    transitions: int
    seconds: float
    standard: float
    express: float

    def __str__(self) -> str:
        return (
            f"{self.transitions} state transitions, {self.seconds:g} s: "
            f"Standard ${self.standard:.8f}, Express ${self.express:.8f}"
        )


def run_cost(events: Sequence[Mapping[str, Any]]) -> RunCost:
    """Price one run from its history: Standard per state transition (each entered state and
    each retry), Express per request plus its duration (rounded up to 100 ms) at 64 MB.

    >>> import datetime as dt
    >>> at = lambda s: dt.datetime(2026, 1, 5, 9, 0, s, tzinfo=dt.UTC)
    >>> print(run_cost([
    ...     {"type": "ExecutionStarted", "timestamp": at(0)},
    ...     {"type": "PassStateEntered", "timestamp": at(0)},
    ...     {"type": "ExecutionSucceeded", "timestamp": at(1)},
    ... ]))
    1 state transitions, 1 s: Standard $0.00002500, Express $0.00000204
    """
    entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
    scheduled = sum(1 for e in events if e["type"] == "TaskScheduled")
    task_states = sum(1 for e in events if e["type"] == "TaskStateEntered")
    transitions = entered + max(0, scheduled - task_states)  # each retry is one more
    seconds = (events[-1]["timestamp"] - events[0]["timestamp"]).total_seconds() if events else 0
    billed = math.ceil(round(seconds * 10, 6)) / 10
    return RunCost(
        transitions,
        round(seconds, 6),
        transitions * STANDARD_PER_TRANSITION,
        EXPRESS_PER_REQUEST + billed * EXPRESS_MEMORY_GB * EXPRESS_PER_GB_SECOND,
    )


# -- the exercises' state machines ----------------------------------------------------------------
EXERCISE_ROLE = "arn:aws:iam::123456789012:role/exercises"
#: the packing exercise's input: six parcels, ten seconds of packing each
PARCELS = {"parcels": [{"parcel": f"p-{n}", "seconds": 10} for n in range(1, 7)]}


def _machine_and_run(lab: Lab, name: str, run: str, definition: dict, given: dict) -> str:
    import json

    sfn = lab.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=EXERCISE_ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name=run, input=json.dumps(given))
    run_workflows(lab, execution["executionArn"])
    return str(execution["executionArn"])


def charge_with_retry(lab: Lab, retry: dict) -> str:
    """Exercise 1: state machine ``charge`` writes to a ledger table that does not exist, with
    `retry` as its Retry field; runs execution ``charge-1`` to its end and returns its ARN."""
    charge = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": "ledger", "Item": {"order_id": {"S": "o-1"}}},
        "Retry": [retry],
        "End": True,
    }
    return _machine_and_run(
        lab, "charge", "charge-1", {"StartAt": "Charge", "States": {"Charge": charge}}, {}
    )


def pack_parcels(lab: Lab, map_state: dict) -> str:
    """Exercise 2: state machine ``packing`` is `map_state` alone (as its only state, ending the
    run), run as ``pack-1`` on six parcels of ten seconds each; returns the execution's ARN."""
    definition = {"StartAt": "PackAll", "States": {"PackAll": {**map_state, "End": True}}}
    return _machine_and_run(lab, "packing", "pack-1", definition, PARCELS)
