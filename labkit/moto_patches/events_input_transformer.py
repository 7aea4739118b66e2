"""EventBridge input transformers fill their templates as AWS documents, and PutEvents never
fails because a target cannot take what a rule sends it.

AWS (EventBridge User Guide, input transformation): in a template that is JSON, a placeholder
outside quotes becomes the value's JSON (``{"instance": <instance>}`` gives ``{"instance":
"i-0123456789"}``); inside a string, and in a template that is plain text, it becomes the value's
text. Values come from the event as targets see it (``time`` as an ISO 8601 timestamp); the
predefined ``aws.events.rule-arn``, ``aws.events.rule-name``, ``aws.events.event`` (without
``detail``), ``aws.events.event.json`` and ``aws.events.event.ingestion-time`` need no path. The
target gets the resulting text. A delivery that fails is the target's problem (an invocation
failure, a message for the rule's dead-letter queue), never an error of PutEvents.

moto 5.2.5 pastes every value as bare text and parses the result as JSON, so an unquoted string
placeholder makes ``put_events`` itself raise JSONDecodeError, and a template that is not JSON
cannot be delivered at all; a queue target that no longer exists fails PutEvents too. Here one
substitution (`transform_input`) serves moto's queue targets and the targets labkit delivers
(`labkit.moto_patches.events_targets`); a placeholder with no value is left as written, as moto
leaves it (the guide only says such a variable "isn't created").
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS", "TransformedText", "aws_event", "transform_input"]

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
# the rule whose targets are being served, for <aws.events.rule-arn> and <aws.events.rule-name>
_RULE: contextvars.ContextVar[Any] = contextvars.ContextVar("labkit_events_rule", default=None)


class TransformedText(str):
    """What a transformer made when it is not a JSON object or array: sent exactly as it is."""


def _iso(value: Any) -> str:
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def aws_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it (moto keeps `time` as a number and adds ingestion-time)."""
    out = {k: v for k, v in event.items() if k != "ingestion-time"}
    if "time" in out:
        out["time"] = _iso(out["time"])
    return out


def _values(paths: Mapping[str, str], event: Mapping[str, Any]) -> dict[str, Any]:
    from jsonpath_ng.ext import parse

    seen = aws_event(event)
    values: dict[str, Any] = {
        "aws.events.event": {k: v for k, v in seen.items() if k != "detail"},
        "aws.events.event.json": seen,
    }
    if "ingestion-time" in event:
        values["aws.events.event.ingestion-time"] = _iso(event["ingestion-time"])
    rule = _RULE.get()
    if rule is not None:
        values["aws.events.rule-arn"] = rule.arn
        values["aws.events.rule-name"] = rule.name
    for name, path in paths.items():
        found = parse(path).find(seen)
        if found:
            values[name] = found[0].value
    return values


def _fill(template: str, values: Mapping[str, Any]) -> str:
    """The template with each known placeholder replaced as the guide's examples show."""
    as_json = template.lstrip()[:1] in ("{", "[")
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        found = _PLACEHOLDER.match(template, i) if template[i] == "<" else None
        if found and found.group(1) in values:
            value = values[found.group(1)]
            if as_json and not in_string:
                out.append(json.dumps(value))
            else:  # inside a string, or a plain-text template: the value's text, unescaped
                out.append(value if isinstance(value, str) else json.dumps(value))
            i = found.end()
            continue
        char = template[i]
        if as_json and in_string and char == "\\":
            out.append(template[i : i + 2])
            i += 2
            continue
        if as_json and char == '"':
            in_string = not in_string
        out.append(char)
        i += 1
    return "".join(out)


def transform_input(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """The text a target receives from a rule with this InputTransformer, for this event.

    >>> event = {"time": 0, "detail": {"instance-id": "i-0123456789", "state": "RUNNING"}}
    >>> paths = {"instance": "$.detail.instance-id", "state": "$.detail.state"}
    >>> transform_input({"InputPathsMap": paths, "InputTemplate": '{"id": <instance>}'}, event)
    '{"id": "i-0123456789"}'
    >>> transform_input({"InputPathsMap": paths,
    ...                  "InputTemplate": '"instance <instance> is in <state>"'}, event)
    '"instance i-0123456789 is in RUNNING"'
    """
    values = _values(transformer.get("InputPathsMap") or {}, event)
    return _fill(transformer.get("InputTemplate") or "", values)


@contextmanager
def _serving(rule: Any) -> Iterator[None]:
    token = _RULE.set(rule)
    try:
        yield
    finally:
        _RULE.reset(token)


def _knowing_the_rule(send_to_targets: Callable[..., Any]) -> Callable[..., Any]:
    def send_to_targets_of_rule(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _serving(self):
            return send_to_targets(self, *args, **kwargs)

    return send_to_targets_of_rule


def _as_documented(parse: Callable[..., Any]) -> Any:
    def parse_template(
        input_template: str | None, input_paths_map: dict[str, Any], event: Any
    ) -> Any:
        if not input_template:
            # no transformer: moto's template for the whole event, which its targets expect
            return parse(input_template, input_paths_map, event)
        text = transform_input(
            {"InputPathsMap": input_paths_map, "InputTemplate": input_template}, event
        )
        try:
            value = json.loads(text)
        except ValueError:
            return TransformedText(text)
        # moto's other targets read objects; anything else travels as its text
        return value if isinstance(value, (dict, list)) else TransformedText(text)

    return staticmethod(parse_template)


def _sending_text(send: Callable[..., Any]) -> Callable[..., Any]:
    def send_to_sqs_queue(
        self: Any, resource_id: str, event: Any, group_id: str | None = None
    ) -> None:
        from moto.core.exceptions import ServiceException

        try:
            if isinstance(event, str) or (
                isinstance(event, dict) and isinstance(event.get("time"), str)
            ):
                _send_body(self, resource_id, event, group_id)
            else:
                send(self, resource_id, event, group_id)
        except ServiceException:
            pass  # the queue cannot take it (gone, ...): a failed invocation, not PutEvents'

    return send_to_sqs_queue


def _send_body(rule: Any, queue_name: str, event: Any, group_id: str | None) -> None:
    """Send the transformer's text (or an object already as AWS shows it) without moto's
    epoch-to-ISO step, which would fail on a time that is already a timestamp."""
    from moto.sqs import sqs_backends

    backend = sqs_backends[rule.account_id][rule.region_name]
    queue = backend.get_queue(queue_name)
    if group_id and queue.attributes.get("ContentBasedDeduplication") == "false":
        return  # moto's rule: a FIFO target without content-based deduplication gets nothing
    body = str(event) if isinstance(event, str) else json.dumps(event)
    backend.send_message(queue_name=queue_name, message_body=body, group_id=group_id)


ROWS: list[Row] = [
    Wrap("moto.events.utils:EventTemplateParser", "parse", _as_documented),
    Wrap("Rule", "_send_to_sqs_queue", _sending_text),
    Wrap("Rule", "send_to_targets", _knowing_the_rule),
]
