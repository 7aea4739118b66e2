"""State machine definitions whose transitions lead nowhere are refused, as Step Functions does.

AWS (Amazon States Language: "StartAt ... MUST match exactly the name of one of the States";
every Next, Default and Catch names a state of the same States): CreateStateMachine and
UpdateStateMachine answer ``InvalidDefinition`` with one diagnostic per problem, e.g.
``Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3
at /States/pass1/Next, MISSING_TRANSITION_TARGET: State "pass2" is not reachable. at
/States/pass2'``; a workflow with no state that ends it is ``MISSING_END_STATE``. moto 5.2.5
parses the definition but creates such machines, which then fail (or hang) when they run. The
diagnostics' words and order follow what Step Functions answers (the message format is not in
the API reference; it is quoted from its answers).

>>> _diagnostics({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}})
["MISSING_TRANSITION_TARGET: Missing 'Next' target: B at /States/A/Next", \
'MISSING_END_STATE: Workflow has no terminal state']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS"]


def _targets(name: str, state: dict[str, Any], where: str) -> Iterator[tuple[str, str]]:
    """(target, path) for every transition out of one state."""
    if isinstance(state.get("Next"), str):
        yield state["Next"], f"{where}/{name}/Next"
    if isinstance(state.get("Default"), str):
        yield state["Default"], f"{where}/{name}/Default"
    for i, choice in enumerate(state.get("Choices") or []):
        if isinstance(choice, dict) and isinstance(choice.get("Next"), str):
            yield choice["Next"], f"{where}/{name}/Choices[{i}]/Next"
    for i, catch in enumerate(state.get("Catch") or []):
        if isinstance(catch, dict) and isinstance(catch.get("Next"), str):
            yield catch["Next"], f"{where}/{name}/Catch[{i}]/Next"


def _ends(state: dict[str, Any]) -> bool:
    return bool(state.get("End")) or state.get("Type") in ("Succeed", "Fail")


def _diagnostics(machine: dict[str, Any], where: str = "") -> list[str]:
    """What Step Functions says of one machine (or a Parallel branch, a Map's processor)."""
    states = machine.get("States")
    if not isinstance(states, dict):
        return []  # moto's own parsing answers for a missing or malformed States
    found: list[str] = []
    start = machine.get("StartAt")
    if isinstance(start, str) and start not in states:
        found.append(
            f"MISSING_TRANSITION_TARGET: Missing 'Next' target: {start} at {where}/StartAt"
        )
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        for target, path in _targets(name, state, f"{where}/States"):
            if target not in states:
                found.append(
                    f"MISSING_TRANSITION_TARGET: Missing 'Next' target: {target} at {path}"
                )
        for i, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                found += _diagnostics(branch, f"{where}/States/{name}/Branches[{i}]")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                found += _diagnostics(state[key], f"{where}/States/{name}/{key}")
    if not any(_ends(s) for s in states.values() if isinstance(s, dict)):
        # the walk for unreachable states is not made then
        return [*found, "MISSING_END_STATE: Workflow has no terminal state"]
    return found + [
        f'MISSING_TRANSITION_TARGET: State "{name}" is not reachable. at {where}/States/{name}'
        for name in states
        if name not in _reachable(start, states)
    ]


def _reachable(start: Any, states: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = [start] if isinstance(start, str) else []
    while todo:
        name = todo.pop()
        if name in seen or name not in states or not isinstance(states[name], dict):
            continue
        seen.add(name)
        todo += [target for target, _ in _targets(name, states[name], "")]
    return seen


def _and_transitions(validate: Callable[..., None]) -> staticmethod:  # type: ignore[type-arg]
    def validate_definition(definition: str) -> None:
        validate(definition=definition)  # moto's parse first: its own errors for bad syntax
        try:
            machine = json.loads(definition)
        except ValueError:
            return
        found = _diagnostics(machine) if isinstance(machine, dict) else []
        if found:
            from moto.stepfunctions.parser.api import InvalidDefinition

            raise InvalidDefinition(f"Invalid State Machine Definition: '{', '.join(found)}'")

    return staticmethod(validate_definition)


ROWS: list[Row] = [Wrap("StepFunctionsParserBackend", "_validate_definition", _and_transitions)]
