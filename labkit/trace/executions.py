"""Step Functions: executions started, and the tasks and compensations of each one read from its
history once it has ended (harvesting)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any

from labkit.trace.actors import DEFAULT_PUBLISHER
from labkit.trace.journal import Journal
from labkit.trace.records import HopKind
from labkit.trace.resources import Resources, queue_arn
from labkit.trace.routing import Router
from labkit.trace.state import ExecutionState
from labkit.trace.timing import TraceTime
from labkit.trace.wiring import Wiring

if TYPE_CHECKING:
    from labkit.parts import Clients

__all__ = ["Harvester"]

#: The history events that end a task, and so make a hop.
_TASK_ENDS = ("TaskSucceeded", "TaskFailed", "TaskTimedOut")


@dataclass(eq=False)
class Harvester:
    """Tracks executions until they end, then turns each one's history into hops.

    A running execution has no history worth reading yet, so nothing is asked of Step Functions
    until `harvest` (or a DescribeExecution answer that says the execution has ended).
    """

    journal: Journal
    clients: Clients
    resources: Resources
    wiring: Wiring
    router: Router
    state: ExecutionState
    time: TraceTime
    _: KW_ONLY
    internal: Callable[[], AbstractContextManager[None]]
    lock: threading.RLock

    def track(self, execution: str, machine: str) -> None:
        """Harvest this execution when it ends."""
        with self.lock:
            self.state.running[execution] = machine

    def started(self, params: dict, parsed: dict, machine: str, caller: str) -> list[str]:
        """StartExecution: the execution, tracked until it ends."""
        arn = str(parsed.get("executionArn", ""))
        self.journal.hop(caller or DEFAULT_PUBLISHER, machine, arn, "started", evidence="observed")
        self.track(arn, machine)
        return [arn]

    def described(self, params: dict, parsed: dict, resource: str, caller: str) -> list[str]:
        """DescribeExecution: an answer that says a tracked execution ended harvests it."""
        arn = str(parsed.get("executionArn", ""))
        if parsed.get("status") not in (None, "RUNNING") and arn in self.state.running:
            self._harvest(arn)
        return []

    def harvest(self) -> None:
        """Ask about each tracked execution; harvest those that have ended."""
        for arn in list(self.state.running):
            try:
                with self.internal():
                    status = self.clients.client("stepfunctions").describe_execution(
                        executionArn=arn
                    )
            except Exception as error:  # still tracked: the next harvest asks again
                self.journal.failed(f"describing {arn}", error, once=True)
                continue
            if status.get("status") == "RUNNING":
                continue
            try:
                self._harvest(arn)
            except Exception as error:  # a tracer look-up must not break the learner's code
                self.journal.failed(f"harvesting {arn}", error)

    def _harvest(self, execution: str) -> None:
        """Turn a finished execution's history into task / compensation hops."""
        with self.lock:
            machine = self.state.running.pop(execution, None)
        if machine is None:
            return
        client = self.clients.client("stepfunctions")
        with self.internal():
            events = client.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        compensations = self._compensation_states(machine)
        state = ""
        scheduled: dict[str, Any] = {}
        for event in events:
            kind = event["type"]
            if kind.endswith("StateEntered"):
                state = event["stateEnteredEventDetails"]["name"]
            elif kind == "TaskScheduled":
                scheduled = event["taskScheduledEventDetails"]
            elif kind in _TASK_ENDS:
                self._task_ended(machine, execution, state, scheduled, event, compensations)

    def _task_ended(
        self,
        machine: str,
        execution: str,
        state: str,
        scheduled: dict[str, Any],
        event: dict[str, Any],
        compensations: set[str],
    ) -> None:
        kind = event["type"]
        time = self.time.at(event["timestamp"])
        target = self._task_target(scheduled)
        labels = (("state", state), ("execution", execution))
        if kind == "TaskSucceeded":
            hop_kind: HopKind = "compensated" if state in compensations else "task"
            self.journal.hop(
                machine, target, execution, hop_kind, evidence="observed", labels=labels,
                time=time,
            )  # fmt: skip
            self._task_output(scheduled, target, execution, event, time)
        else:
            details = event.get("taskFailedEventDetails", {})
            self.journal.hop(
                machine, target, execution, "failed", evidence="observed",
                detail=f"{details.get('error', kind)}: {details.get('cause', '')}"[:200],
                labels=labels, time=time,
            )  # fmt: skip

    def _task_output(
        self, scheduled: dict, target: str, execution: str, event: dict, time: float
    ) -> None:
        try:
            output = json.loads(event["taskSucceededEventDetails"].get("output") or "{}")
        except ValueError:
            return
        if not isinstance(output, dict):
            return
        if output.get("MessageId"):
            self.journal.link(str(output["MessageId"]), execution)
        if scheduled.get("resourceType") == "sns" and output.get("MessageId"):
            params = json.loads(scheduled.get("parameters") or "{}")
            self.router.fan_out(target, execution, params, time)

    def _task_target(self, scheduled: dict) -> str:
        try:
            params = json.loads(scheduled.get("parameters") or "{}")
        except ValueError:
            params = {}
        service = scheduled.get("resourceType", "")
        region = scheduled.get("region") or self.resources.region
        if service == "sqs" and params.get("QueueUrl"):
            return queue_arn(str(params["QueueUrl"]), region)
        if service == "sns" and params.get("TopicArn"):
            return str(params["TopicArn"])
        if service == "dynamodb" and params.get("TableName"):
            return self.resources.table(str(params["TableName"]), region)
        if service == "events":
            return self.resources.bus("default")
        if service == "lambda" and params.get("FunctionName"):
            return self.resources.function(str(params["FunctionName"]), region)
        return f"service:{service}:{scheduled.get('resource', '')}"

    def _compensation_states(self, machine: str) -> set[str]:
        """States reached from a Catch: the saga's compensations."""
        states = self.wiring.definition(machine).get("States", {})
        todo = [c["Next"] for s in states.values() for c in s.get("Catch", []) if "Next" in c]
        found: set[str] = set()
        while todo:
            name = todo.pop()
            if name in found or name not in states:
                continue
            found.add(name)
            if states[name].get("Next"):
                todo.append(states[name]["Next"])
        return found
