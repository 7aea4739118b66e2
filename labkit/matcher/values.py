"""What a message or an event holds under a key, read the way SNS and EventBridge read it.

Events may come as the caller holds them (moto's own event dicts carry `time` as epoch seconds,
sometimes a datetime): only the values a pattern looks at are turned into their JSON form, and
only when they are not JSON already.

>>> read_json({"a": 1}, service="events")
(False, ())
>>> read_json(["x", ["", None]], service="sns")
(True, ('x', '', None))
>>> read_attribute({"DataType": "Number", "StringValue": "150"})
((150,), 'number')
>>> with_iso_time({"time": 0})["time"]
'1970-01-01T00:00:00Z'
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

__all__ = [
    "MISSING",
    "is_number",
    "num_equal",
    "same",
    "scalars",
    "array_objects",
    "read_json",
    "read_attribute",
    "body_json",
    "with_iso_time",
]

#: what `dict.get` gives for a key the message does not have
MISSING: Any = object()
#: what reads as a JSON array
_ARRAYS = (list, tuple)
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
# the documentation promises six digits after the decimal point; compare at that precision
_NUMBER_TOLERANCE = 5e-7


def is_number(value: Any) -> bool:
    """A JSON number (true and false are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def num_equal(a: float, b: float) -> bool:
    """Equal at the precision the documentation promises."""
    return math.isclose(a, b, rel_tol=0.0, abs_tol=_NUMBER_TOLERANCE)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values: numbers by value, anything else of the same type only."""
    if is_number(a) and is_number(b):
        return num_equal(float(a), float(b))
    return type(a) is type(b) and a == b


def _json_scalar(value: Any) -> Any:
    if type(value) in _JSON_SCALARS:
        return value
    # a value JSON has no type for reads as its text, as a JSON encoder with default=str gives it
    return json.loads(json.dumps(value, default=str))


def scalars(value: Any) -> tuple[Any, ...]:
    """The scalar values of a JSON value: arrays flattened, objects left out."""
    if isinstance(value, _ARRAYS):
        return tuple(s for item in value for s in scalars(item))
    if isinstance(value, dict):
        return ()
    return (_json_scalar(value),)


def array_objects(value: Any) -> list[dict[str, Any]]:
    """The objects in an array (nested arrays flattened); none when `value` is not an array.

    >>> array_objects([{"a": 1}, [{"b": 2}, 3]])
    [{'a': 1}, {'b': 2}]
    """
    if not isinstance(value, _ARRAYS):
        return []
    return [item for item in _flatten(value) if isinstance(item, dict)]


def _flatten(value: list[Any] | tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, _ARRAYS) else [item])
    return out


def read_json(value: Any, *, service: str) -> tuple[bool, tuple[Any, ...]]:
    """Whether a JSON value counts as present, and its scalar values (`MISSING`: absent)."""
    if value is MISSING:
        return False, ()
    values = scalars(value)
    if service == "sns":
        # SNS: "exists": true needs a non-null and non-empty value
        return any(v is not None and v != "" for v in values), values
    # event-ruler: a leaf with any value (null too) is there; objects and empty arrays are not
    return bool(values), values


def read_attribute(attribute: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
    """The values SNS compares in one message attribute, and the form it took.

    The form is "string", "number", "array", "binary", "not a number" or "not an array"; the
    last three give no values to compare. `attribute` has the Publish shape (DataType,
    StringValue) or the one moto stores (Type, Value).
    """
    kind = str(attribute.get("DataType") or attribute.get("Type") or "String")
    raw = attribute.get("StringValue", attribute.get("Value"))
    if kind.startswith(("String.Array", "Number.Array")):
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError):
            return (), "not an array"
        return scalars(parsed if isinstance(parsed, list) else [parsed]), "array"
    base = kind.split(".")[0]
    if base == "Number":
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return (), "not a number"
        return (int(number) if number.is_integer() and "." not in str(raw) else number,), "number"
    if base == "Binary":
        return (), "binary"
    return (raw,), "string"


def body_json(body: str) -> dict[str, Any] | None:
    """The message body as a JSON object, or None when it is not one."""
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def with_iso_time(event: dict[str, Any]) -> dict[str, Any]:
    """EventBridge matches `time` as an ISO-8601 string, whatever form the caller held it in.

    A copy when `time` changes: the caller's event is left as it was.
    """
    when = event.get("time")
    if is_number(when) or isinstance(when, dt.datetime):
        event = dict(event)
        moment = when if isinstance(when, dt.datetime) else dt.datetime.fromtimestamp(when, dt.UTC)
        event["time"] = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event
