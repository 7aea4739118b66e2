"""Checks for lesson 10 (workflows at scale): a retry schedule, and a Map that packs at most two
parcels at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.checks import Passed, expect
from labkit.trace.timeline import most_at_once, timeline

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["packing_limit", "retry_schedule"]

RETRY_MACHINE, RETRY_RUN = "charge", "charge-1"
#: the lab seconds of each attempt the exercise asks for: 3 s, then 6 s, then 12 s between them
ATTEMPTS = [0.0, 3.0, 9.0, 21.0]
PACK_MACHINE, PACK_RUN = "packing", "pack-1"
PARCELS, AT_ONCE = 6, 2
START_OVER = "run the exercises' setup cell again, then your cells in order"


def _history(lab: Lab, machine: str, run: str) -> tuple[str, list[dict[str, Any]]]:
    """The status and history of execution `run` of state machine `machine`."""
    sfn = lab.client("stepfunctions")
    machines = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == machine]
    expect(
        bool(machines),
        f"a state machine named {machine!r}",
        "state machines: "
        + (", ".join(m["name"] for m in sfn.list_state_machines()["stateMachines"]) or "none"),
        f"create it with sfn.create_state_machine(name={machine!r}, ...); {START_OVER}",
    )
    runs = sfn.list_executions(stateMachineArn=machines[0]["stateMachineArn"])["executions"]
    found = [r for r in runs if r["name"] == run]
    expect(
        bool(found),
        f"an execution named {run!r} of {machine!r}",
        "executions: " + (", ".join(r["name"] for r in runs) or "none"),
        f"start it with sfn.start_execution(..., name={run!r}) and run it with run_workflows",
    )
    arn = found[0]["executionArn"]
    status = sfn.describe_execution(executionArn=arn)["status"]
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return status, events


def retry_schedule(lab: Lab) -> Passed:
    """Exercise 1: the charge is tried at lab seconds 0, 3, 9 and 21, then given up."""
    status, events = _history(lab, RETRY_MACHINE, RETRY_RUN)
    expect(
        status != "RUNNING",
        f"execution {RETRY_RUN!r} ended",
        "it is still running",
        "run it to its end: run_workflows(lab, execution)",
    )
    t0 = events[0]["timestamp"]
    attempts = [
        round((e["timestamp"] - t0).total_seconds(), 3)
        for e in events
        if e["type"] == "TaskScheduled"
    ]
    gaps = [round(b - a, 3) for a, b in zip(attempts, attempts[1:], strict=False)]
    expect(
        attempts == ATTEMPTS,
        "attempts at lab seconds 0, 3, 9 and 21 (waits of 3, 6 and 12 s)",
        f"attempts at {attempts} (waits of {gaps} s)",
        "IntervalSeconds is the first wait; BackoffRate multiplies each next one; MaxAttempts "
        "counts the retries after the first try, not the first try; no JitterStrategy (it "
        f"shortens waits at random); {START_OVER}",
    )
    return Passed("exercise 1", f"charge tried at {attempts} s, then {status.lower()}")


def packing_limit(lab: Lab) -> Passed:
    """Exercise 2: a Map packs six parcels, never more than two at a time, all of them."""
    status, events = _history(lab, PACK_MACHINE, PACK_RUN)
    expect(
        status == "SUCCEEDED",
        f"execution {PACK_RUN!r} SUCCEEDED",
        status,
        "each iteration waits its parcel's SecondsPath and ends; run_workflows(lab, execution) "
        f"runs it to its end; {START_OVER}",
    )
    done = sum(1 for e in events if e["type"] == "MapIterationSucceeded")
    expect(
        done == PARCELS,
        f"{PARCELS} Map iterations succeeded, one per parcel",
        f"{done}",
        'the Map reads its items from the input: "ItemsPath": "$.parcels"',
    )
    most = most_at_once(timeline(events))
    expect(
        most == AT_ONCE,
        f"at most {AT_ONCE} parcels packed at one moment, and {AT_ONCE} at times",
        f"{most} at once",
        'set "MaxConcurrency": 2 on the Map state (0, or leaving it out, means no limit; '
        f"1 packs one at a time); {START_OVER}",
    )
    return Passed("exercise 2", f"{done} parcels packed, at most {most} at a time")
