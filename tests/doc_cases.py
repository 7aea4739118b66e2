"""The filter-policy and event-pattern examples from the AWS documentation (tests/doc_cases.toml).

The cases are data: each with the page and section it comes from and the outcome the
documentation states (the file's header says how a case is written). Here they become
`DocCase` values, with the messages and events in the shapes Publish and PutEvents take.

>>> len(CASES), CASES[0].id, CASES[0].attributes
(97, 'sns-exact-string', {'customer_interests': {'DataType': 'String', 'StringValue': 'rugby'}})
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DocCase", "CASES"]

FILE = Path(__file__).with_name("doc_cases.toml")


@dataclass(frozen=True)
class DocCase:
    """One documented example: a policy or pattern, one message or event, the stated outcome."""

    id: str
    service: str  # "sns" or "events"
    pattern: dict[str, Any]
    expected: str  # "delivered", "dropped" or "invalid"
    source: str  # page URL and section
    scope: str = "MessageAttributes"
    attributes: dict[str, Any] = field(default_factory=dict)  # Publish MessageAttributes shape
    body: str = "{}"
    event: dict[str, Any] = field(default_factory=dict)  # source, detail-type, detail, time, ...
    moto_differs: str = ""  # why stock moto 5.2.5 answers otherwise (empty: it agrees)


def _attribute(typed: dict[str, Any]) -> dict[str, str]:
    """A message attribute as Publish takes it, from { <data type> = <value> }."""
    [(data_type, value)] = typed.items()
    text = json.dumps(value) if data_type == "String.Array" else str(value)
    return {"DataType": data_type, "StringValue": text}


def _event(written: dict[str, Any]) -> dict[str, Any]:
    """An event as PutEvents sends it (source "shop", detail-type "Doc example" unless given)."""
    top = {key: value for key, value in written.items() if key != "detail"}
    return {
        "source": "shop",
        "detail-type": "Doc example",
        **top,
        "detail": json.loads(written["detail"]),
    }


def _case(written: dict[str, Any]) -> DocCase:
    case = dict(written)
    case["pattern"] = json.loads(case["pattern"])
    case["attributes"] = {
        name: _attribute(typed) for name, typed in case.get("attributes", {}).items()
    }
    if "event" in case:
        case["event"] = _event(case["event"])
    return DocCase(**case)


def _load(path: Path) -> tuple[DocCase, ...]:
    with path.open("rb") as file:
        return tuple(_case(written) for written in tomllib.load(file)["case"])


CASES = _load(FILE)
