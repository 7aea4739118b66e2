"""The permissions a flow needs on AWS, as the AWS documentation writes them.

Resource policies: a queue lets SNS (`sns.amazonaws.com`) and EventBridge (`events.amazonaws.com`)
send with ``sqs:SendMessage`` under an ``aws:SourceArn`` condition naming the topic or rule
(EventBridge user guide, "Using resource-based policies", Amazon SQS permissions; SNS developer
guide, "Fanout to Amazon SQS queues"); a topic lets EventBridge publish with ``sns:Publish``, a
statement the EventBridge guide writes without a condition ("You can't use Condition blocks in
Amazon SNS topic policies for EventBridge"); a function lets SNS or EventBridge invoke it with a
Lambda permission naming the source.

Identity policies: a state machine's role may call exactly the service integrations its Task
states name, on the resources their parameters name (Step Functions developer guide, "IAM
policies for integrated services"); a rule's role may start the state machine it targets or put
events on the bus it targets.

>>> statement("sqs:SendMessage", "sns.amazonaws.com", "Q", ["T"])["Condition"]
{'ArnEquals': {'aws:SourceArn': ['T']}}
>>> task = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
>>> task_permissions({"Type": "Task", "Resource": task, "Parameters": {"QueueUrl": "u"}})
[('sqs:SendMessage', 'QueueUrl', 'u')]
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

__all__ = [
    "as_list",
    "document",
    "grants",
    "machine_tasks",
    "statement",
    "task_permissions",
    "trust",
]

VERSION = "2012-10-17"
#: (service, API of the integration) -> the IAM action, where it is not the API's own name
_ACTIONS = {("lambda", "invoke"): "lambda:InvokeFunction"}
#: the parameter that names the resource an integration acts on
_TARGET_PARAMETER = {
    "sqs": "QueueUrl",
    "sns": "TopicArn",
    "dynamodb": "TableName",
    "lambda": "FunctionName",
    "states": "StateMachineArn",
    "events": "EventBusName",
}


def document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": statements}


def trust(service: str) -> dict[str, Any]:
    """The trust policy that lets `service` assume a role."""
    return document(
        [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    )


def statement(
    action: str, service: str, resource: Any, sources: list[Any] | None, sid: str = ""
) -> dict[str, Any]:
    """A resource-policy statement letting `service` do `action`, from `sources` when given."""
    found: dict[str, Any] = {"Sid": sid} if sid else {}
    found |= {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": action,
        "Resource": resource,
    }
    if sources:
        found["Condition"] = {"ArnEquals": {"aws:SourceArn": sources}}
    return found


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def grants(documents: list[dict[str, Any]], action: str, principal: str = "") -> set[str] | None:
    """What the allow statements of `documents` grant for `action` (and `principal`, a service,
    for resource policies): None when nothing does, the empty set when it is granted whatever
    the source, else the source ARNs their conditions name."""
    sources: set[str] = set()
    found = False
    for doc in documents:
        for st in as_list(doc.get("Statement", [])):
            if st.get("Effect") != "Allow":
                continue
            actions = [a.lower() for a in as_list(st.get("Action", []))]
            if not any(fnmatchcase(action.lower(), a) for a in actions):
                continue
            condition = st.get("Condition") or {}
            if principal:
                named = st.get("Principal", {})
                services = as_list(named.get("Service", [])) if isinstance(named, dict) else []
                anyone = named in ("*", {"AWS": "*"}) and not condition
                if principal not in services and not anyone:
                    continue
            named_sources = [
                str(arn)
                for test in condition.values()
                for key, arns in test.items()
                if key.lower() == "aws:sourcearn"
                for arn in as_list(arns)
            ]
            if not named_sources:
                return set()
            found = True
            sources.update(named_sources)
    return sources if found else None


def _states(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        yield state
        for branch in state.get("Branches", []):
            yield from _states(branch.get("States", {}))
        inner = state.get("ItemProcessor") or state.get("Iterator")
        if inner:
            yield from _states(inner.get("States", {}))


def machine_tasks(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every Task state of a definition, in Parallel branches and Map processors too."""
    for state in _states(definition.get("States", {})):
        if state.get("Type") == "Task":
            yield state


def task_permissions(state: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(IAM action, the parameter naming its resource, that parameter's value) for a Task state.

    The value is None when the state computes it at run time (a ``Parameter.$`` path).
    """
    resource = str(state.get("Resource", ""))
    params = state.get("Parameters") or state.get("Arguments") or {}
    if resource.startswith("arn:aws:lambda:") or ":function:" in resource:
        return [("lambda:InvokeFunction", "", resource)]
    if not resource.startswith("arn:aws:states:::"):
        return []
    integration = resource.removeprefix("arn:aws:states:::")
    for suffix in (".waitForTaskToken", ".sync:2", ".sync"):
        integration = integration.removesuffix(suffix)
    service, _, api = integration.removeprefix("aws-sdk:").partition(":")
    action = _ACTIONS.get((service, api), f"{service}:{api[:1].upper()}{api[1:]}")
    key = _TARGET_PARAMETER.get(service, "")
    if service == "events":
        if "Entries.$" in params:
            return [(action, key, None)]
        buses = [entry.get("EventBusName", "default") for entry in params.get("Entries", [])]
        return [(action, key, bus) for bus in buses or ["default"]]
    if key in params:
        return [(action, key, params[key])]
    return [(action, key, None)]
