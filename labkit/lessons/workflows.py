"""Workflows at scale: run executions through their waits on the lab's clock, read a run as a
timeline (one lane per state, Map iteration or Parallel branch), and price what ran.

Step Functions' Wait states, Retry intervals, task timeouts and heartbeats wait on the lab's
clock (``labkit.moto_patches.sfn_lab_time``); `run_workflows` moves the clock to the end of the
next one whenever every execution is waiting, so a run that would take an hour on AWS takes a
moment here, with the history stamped as AWS would stamp it.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.lessons.saga import TaskTokens, _waiting_for_token, moto_execution
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

#: Real seconds an execution's history must stay unchanged, with a wait pending, before the
#: execution counts as waiting on the clock.
STILL = 0.02

#: US East (N. Virginia) prices on https://aws.amazon.com/step-functions/pricing/
STANDARD_PER_TRANSITION = 0.025 / 1000
EXPRESS_PER_REQUEST = 1.00 / 1_000_000
EXPRESS_PER_GB_SECOND = 0.00001667
EXPRESS_MEMORY_GB = 64 / 1024  # billed in 64-MB chunks: the smallest run uses one


def _look(sfn: Any, execution: str, reported: set[str]) -> tuple[str, int, bool]:
    """(status, events so far, waiting for an unanswered task token), through the API."""
    described = sfn.describe_execution(executionArn=execution)
    status = described["status"]
    if status == "FAILED" and "error" not in described:
        return "RUNNING", -2, False  # moto sets the status a moment before the error
    if status != "RUNNING":
        return status, -1, False
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    return status, len(events), _waiting_for_token(status, events, reported) is not None


def _look_in_process(
    lab: Lab, execution: str, reported: set[str]
) -> Callable[[], tuple[str, int, bool]] | None:
    """`_look` read straight from moto's execution when moto runs in this process: the same
    answer without two calls and a serialized history on every look."""
    found = moto_execution(lab, execution)
    if found is None:
        return None

    def look() -> tuple[str, int, bool]:
        status = found.exec_status.value if found.exec_status is not None else "RUNNING"
        if status == "FAILED" and found.error is None:
            return "RUNNING", -2, False
        if status != "RUNNING":
            return status, -1, False
        env = found.exec_worker.env if found.exec_worker is not None else None
        if env is None:
            return "RUNNING", 0, False  # not started yet
        with env.event_manager._mutex:  # the execution's thread appends under this lock
            events = list(env.event_manager._history_event_list)
        return status, len(events), _waiting_for_token(status, events, reported) is not None

    return look


def run_workflows(
    lab: Lab, *executions: str, seconds: float | None = None, timeout: float = 30.0
) -> dict[str, str]:
    """Run executions to their end on the lab's clock (or for `seconds` of it); their statuses.

    Each round lets ``lab.functions`` work; when every execution is still, waiting on a Wait
    state, a Retry interval, a timeout or a heartbeat, the lab's clock moves to the end of the
    next one. ``RUNNING`` at the end means waiting for a task token nobody will answer, or, with
    `seconds`, not done when that much lab time has passed. `timeout` is in real seconds.

    >>> import labkit
    >>> lab = labkit.start_lab()
    >>> run_workflows(lab)
    {}
    >>> lab.stop()
    """
    sfn = lab.client("stepfunctions")
    reported = lab.part(TaskTokens).reported
    deadline = time.monotonic() + timeout
    until = None if seconds is None else lab.clock.elapsed() + float(seconds)
    last: dict[str, tuple[str, int, bool]] = {}
    looks = {
        e: _look_in_process(lab, e, reported) or functools.partial(_look, sfn, e, reported)
        for e in executions
    }
    with lab.tracer.internal():
        while True:
            if time.monotonic() > deadline:
                raise LabError(
                    f"the executions to end within {timeout} s of real time",
                    f"still running: {sorted(e.rsplit(':', 1)[-1] for e in executions)}",
                    "look for a task whose queue has no worker, or a loop of states without end",
                )
            now = {e: looks[e]() for e in executions}
            if all(status != "RUNNING" for status, _, _ in now.values()):
                break
            if lab.functions.run_until_idle().invocations:
                last = {}
                continue
            if now != last:  # something moved since the last look: look again in a moment
                last = now
                time.sleep(STILL)
                continue
            timers = lab.clock.timers() if lab.clock.virtual else []
            waiting = {owner for _, owner in timers}
            # every execution still running waits: for a token, or on a Wait or a Retry of its own
            idle = all(token or e in waiting for e, (status, _, token) in now.items()
                       if status == "RUNNING")  # fmt: skip
            wait = timers[0][0] if timers and idle else None
            if until is not None and idle and (wait is None or lab.clock.elapsed() + wait > until):
                lab.advance(max(0.0, round(until - lab.clock.elapsed(), 6)))
                break  # the time asked for has passed
            if wait is not None:
                # land on the millisecond the wait ends, as the history will show it
                lab.advance(math.ceil(wait * 1000) / 1000)
                last = {}
                continue
            if idle:
                break  # every execution waits for a task token: nothing the clock can do
            time.sleep(STILL)  # a task is calling its service: look again in a moment
    for execution in executions:
        sfn.describe_execution(executionArn=execution)  # the tracer harvests the history
    return {execution: status for execution, (status, _, _) in now.items()}


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
