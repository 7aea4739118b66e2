"""A Step Functions run as a timeline: one lane per state (a Map iteration's states each in a lane
of their own), bars over the lab's clock, failed attempts and Retry waits marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Bar", "most_at_once", "timeline"]

Kind = Literal["state", "retry wait", "failed"]


@dataclass(frozen=True)
class Bar:
    """One stretch of a run: a state from entered to exited, or a Retry's wait, in lab seconds
    from the execution's start (`failed`: a failed attempt, drawn as a mark at `start`)."""

    lane: str
    state: str
    start: float
    end: float
    kind: Kind


def _lane(
    event: Mapping[str, Any],
    by_id: Mapping[int, Mapping[str, Any]],
    name: str,
    closed: Mapping[int, int],
) -> tuple[str, int, int]:
    """A state's lane (its name, with the Map iteration it runs in), how many Map iterations and
    Parallel branches it runs inside, and its iteration's index (-1 outside a Map).

    Walks back along ``previousEventId``; a state that has exited (`closed`: its exit's id ->
    its entry's id) is stepped over whole, so a state after a Map is not taken for one of the
    Map's iterations.
    """
    lane, depth, index = name, 0, -1
    seen = event
    while seen.get("previousEventId"):
        seen = by_id[seen["previousEventId"]]
        if seen["id"] in closed:
            seen = by_id[closed[seen["id"]]]
            continue
        if seen["type"] == "MapIterationStarted":
            if depth == 0:
                index = int(seen["mapIterationStartedEventDetails"]["index"])
                lane = f"{name} #{index}"
            depth += 1
        elif seen["type"] == "ParallelStateStarted":
            depth += 1
    return lane, depth, index


def timeline(events: Sequence[Mapping[str, Any]]) -> tuple[Bar, ...]:
    """A run's history (``get_execution_history(...)["events"]``) as bars over the lab clock.

    >>> import datetime as dt
    >>> at = lambda s: dt.datetime(2026, 1, 5, 9, 0, s, tzinfo=dt.UTC)
    >>> events = [
    ...     {"id": 1, "previousEventId": 0, "type": "ExecutionStarted", "timestamp": at(0)},
    ...     {"id": 2, "previousEventId": 1, "type": "TaskStateEntered", "timestamp": at(0),
    ...      "stateEnteredEventDetails": {"name": "Charge"}},
    ...     {"id": 3, "previousEventId": 2, "type": "TaskFailed", "timestamp": at(0)},
    ...     {"id": 4, "previousEventId": 3, "type": "TaskScheduled", "timestamp": at(2)},
    ...     {"id": 5, "previousEventId": 4, "type": "TaskSucceeded", "timestamp": at(2)},
    ...     {"id": 6, "previousEventId": 5, "type": "TaskStateExited", "timestamp": at(2),
    ...      "stateExitedEventDetails": {"name": "Charge"}},
    ... ]
    >>> for bar in timeline(events):
    ...     print(bar)
    Bar(lane='Charge', state='Charge', start=0.0, end=2.0, kind='state')
    Bar(lane='Charge', state='Charge', start=0.0, end=0.0, kind='failed')
    Bar(lane='Charge', state='Charge', start=0.0, end=2.0, kind='retry wait')
    """
    if not events:
        return ()
    by_id = {e["id"]: e for e in events}
    t0 = events[0]["timestamp"]

    def at(event: Mapping[str, Any]) -> float:
        return round((event["timestamp"] - t0).total_seconds(), 6)

    # each state's bars, by its StateEntered event's id
    bars: dict[int, list[Bar]] = {}
    # how states are ordered: when they began, then (states entered at the same moment on
    # threads of their own, in no fixed order) outer before inner, by iteration, by name
    order: dict[int, tuple[float, int, int, str]] = {}
    open_states: dict[int, tuple[str, str, float]] = {}  # entered event id -> lane, name, start
    failed_at: dict[int, int] = {}  # failure event id -> the entry of its state
    closed: dict[int, int] = {}  # exit event id -> entry event id
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            lane, depth, index = _lane(event, by_id, name, closed)
            open_states[event["id"]] = (lane, name, at(event))
            order[event["id"]] = (at(event), depth, index, name)
            bars[event["id"]] = []
            continue
        owner = _entered(event, by_id, open_states)
        if owner is None:
            continue
        lane, name, start = open_states[owner]
        if kind.endswith("StateExited"):
            del open_states[owner]
            closed[event["id"]] = owner
            # the state's own bar first, so its marks are drawn over it
            bars[owner].insert(0, Bar(lane, name, start, at(event), "state"))
        elif kind.endswith("Failed") and not kind.startswith(("Execution", "Map", "Parallel")):
            bars[owner].append(Bar(lane, name, at(event), at(event), "failed"))
            failed_at[event["id"]] = owner
        elif kind == "TaskScheduled" and event.get("previousEventId") in failed_at:
            failed = at(by_id[event["previousEventId"]])
            bars[failed_at.pop(event["previousEventId"])].append(
                Bar(lane, name, failed, at(event), "retry wait")
            )
    return tuple(bar for entry in sorted(bars, key=order.__getitem__) for bar in bars[entry])


def _entered(
    event: Mapping[str, Any], by_id: Mapping[int, Mapping[str, Any]], open_states: Mapping
) -> int | None:
    """The id of the StateEntered event this event belongs to (following previousEventId)."""
    seen = event
    while seen.get("previousEventId"):
        previous = seen["previousEventId"]
        if previous in open_states:
            return int(previous)
        seen = by_id[previous]
    return None


def most_at_once(bars: Sequence[Bar]) -> int:
    """The most Map iterations running at one moment (each iteration from its first state's
    start to its last state's end; one ending as another starts counts once).

    >>> most_at_once([Bar("Pack #0", "Pack", 0, 10, "state"),
    ...               Bar("Pack #1", "Pack", 0, 10, "state"),
    ...               Bar("Pack #2", "Pack", 10, 20, "state")])
    2
    """
    spans: dict[str, list[float]] = {}
    for bar in bars:
        if bar.kind == "state" and " #" in bar.lane:
            iteration = bar.lane.rsplit(" #", 1)[1]
            span = spans.setdefault(iteration, [bar.start, bar.end])
            span[0], span[1] = min(span[0], bar.start), max(span[1], bar.end)
    # ends sort before starts at the same moment
    moments = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    running = most = 0
    for _, step in moments:
        running += step
        most = max(most, running)
    return most
