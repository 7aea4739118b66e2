"""What labkit's moto changes did inside moto, waiting for the lab to read it.

Deliveries moto does not make itself (an EventBridge rule to an SNS topic, a function, a state
machine; a scheduled rule firing; a message moved out of a dead-letter queue) happen inside the
process moto runs in: this process on the embedded backend, a ``python -m labkit.server``
otherwise. Each one is posted here: ``deliveries`` for the trace, ``invocations`` for the lab's
local functions. A lab in this process takes them directly; a lab on a labkit server asks its
route `ROUTE`, which answers with `take()`.

>>> post("deliveries", {"source": "a", "target": "b", "message_id": "1"})
>>> take()["deliveries"][0]["target"]
'b'
>>> take()
{'invocations': [], 'deliveries': []}
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

__all__ = ["ROUTE", "Kind", "post", "stamped", "take"]

#: The route a `python -m labkit.server` answers with what its moto changes posted.
ROUTE = "/labkit-api/bridges"

Kind = Literal["invocations", "deliveries"]

_LOCK = threading.Lock()
_BOX: dict[str, list[dict[str, Any]]] = {"invocations": [], "deliveries": []}
_STAMP = threading.local()


def post(kind: Kind, item: dict[str, Any]) -> None:
    """Leave `item` for the lab (a delivery for its trace, an invocation for its functions)."""
    at = getattr(_STAMP, "at", None)
    if at is not None and "at" not in item:
        item = {**item, "at": at}
    with _LOCK:
        _BOX[kind].append(item)


@contextmanager
def stamped(at: float) -> Iterator[None]:
    """Stamp what is posted meanwhile (in this thread) with epoch second `at`: when it really
    happened (a retry the lab caught up with later)."""
    before = getattr(_STAMP, "at", None)
    _STAMP.at = at
    try:
        yield
    finally:
        _STAMP.at = before


def take() -> dict[str, list[dict[str, Any]]]:
    """Everything posted since the last call (and forget it)."""
    with _LOCK:
        out = {kind: list(items) for kind, items in _BOX.items()}
        for items in _BOX.values():
            items.clear()
    return out
