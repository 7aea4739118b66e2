"""EventBridge rules deliver to SNS topics, functions and state machines; disabled rules to none.

AWS: a rule's targets can be SNS topics, Lambda functions and Step Functions state machines,
among others; each gets the event (or its ``Input`` / ``InputPath`` / ``InputTransformer``
result). A disabled rule matches no events. moto 5.2.5 raises NotImplementedError for SNS,
Lambda and Step Functions targets and delivers to disabled rules. Here:

* an SNS target gets the event as the message, published through moto's SNS, so the topic's own
  subscriptions fan it out;
* a state machine target starts one execution per matching event, with the event as its input;
* a function target is posted (`labkit.moto_patches.outbox`) for the lab's local function
  runtime, which invokes the handler asynchronously as simulated time runs.

Every such delivery is posted for the lab's trace too (``via="labkit"``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.events_input_transformer import aws_event, transform_input
from labkit.moto_patches.outbox import post
from labkit.moto_patches.registry import Row, Wrap

__all__ = ["BRIDGED_TARGETS", "ROWS"]

#: Target services stock moto cannot deliver to, and this change does.
BRIDGED_TARGETS = ("sns", "states", "lambda")


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives: the event, or its Input / InputPath value, or the text its
    InputTransformer makes."""
    clean = aws_event(event)
    if target.get("Input"):
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        found = parse(target["InputPath"]).find(clean)
        return found[0].value if found else None
    transformer = target.get("InputTransformer")
    if transformer:
        return transform_input(transformer, event)  # the text itself, as AWS sends it
    return clean


def _deliver(rule: Any, target: dict[str, Any], event: dict[str, Any], why: str) -> None:
    """Deliver one event to one SNS, Step Functions or function target."""
    from moto.utilities.arns import parse_arn

    arn = parse_arn(target["Arn"])
    payload = _target_input(target, event)
    delivery: dict[str, Any] = {
        "source": rule.arn,
        "target": target["Arn"],
        "message_id": event["id"],
        "kind": "delivered",
        "detail": why,
    }
    if arn.service == "sns":
        from moto.sns import sns_backends

        message = payload if isinstance(payload, str) else json.dumps(payload)
        backend = sns_backends[arn.account][arn.region]
        message_id = backend.publish(message=message, arn=target["Arn"])
        delivery["links"] = [message_id]
        delivery["fan_out"] = {"topic": target["Arn"], "message_id": message_id, "message": message}
    elif arn.service == "states":
        from moto.moto_api._internal import mock_random
        from moto.stepfunctions.responses import get_backend

        backend = get_backend(arn.account, arn.region)

        name = str(mock_random.uuid4())
        execution = backend.start_execution(
            target["Arn"],
            name=name,
            execution_input=payload if isinstance(payload, str) else json.dumps(payload),
        )
        delivery["kind"] = "started"
        delivery["execution"] = execution.execution_arn
        delivery["links"] = [execution.execution_arn]
    elif arn.service == "lambda":
        if isinstance(payload, str) and "InputTransformer" in target:
            # a function is invoked with the text's JSON when the text is JSON
            try:
                payload = json.loads(payload)
            except ValueError:
                pass
        post(
            "invocations",
            {
                "function": target["Arn"],
                "event": payload,
                "trigger": "events",
                "source": rule.arn,
                "message_id": event["id"],
            },
        )
    post("deliveries", delivery)


def _with_bridged_targets(original: Callable[..., Any]) -> Callable[..., Any]:
    def send_to_targets(
        self: Any, original_event: Any, transform_input: bool = True, **kwargs: Any
    ) -> None:
        # AWS: a disabled rule matches no events
        if getattr(self, "state", "ENABLED") != "ENABLED":
            return
        native = [t for t in self.targets if _service(t["Arn"]) not in BRIDGED_TARGETS]
        bridged = [t for t in self.targets if _service(t["Arn"]) in BRIDGED_TARGETS]
        if native:
            view = copy.copy(self)
            view.targets = native
            original(view, original_event, transform_input, **kwargs)
        if not bridged or not self.event_pattern.matches_event(original_event):
            return
        why = "scheduled" if original_event.get("detail-type") == "Scheduled Event" else "rule"
        from moto.core.exceptions import ServiceException

        for target in bridged:
            try:
                _deliver(self, target, original_event, why)
            except ServiceException:
                pass  # the target refused the event: a failed invocation, not PutEvents' error

    return send_to_targets


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 else ""


ROWS: list[Row] = [Wrap("Rule", "send_to_targets", _with_bridged_targets)]
