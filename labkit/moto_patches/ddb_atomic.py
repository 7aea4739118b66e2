"""DynamoDB writes one at a time, as AWS applies them to an item.

On AWS, UpdateItem, PutItem, DeleteItem and TransactWriteItems are atomic: ``ADD balance :x`` from
two callers at once adds both, and a ``ConditionExpression`` is checked against the item as it is
when the write happens. moto 5.2.5 reads the item, evaluates and writes back without a lock, so two
threads updating the same item (Step Functions executions run in threads, and so do labkit's
functions) can lose one update: a charge applied twice looks like a charge applied once.

The correction serialises moto's DynamoDB writes (and reads, so a read never sees a half-applied
update) behind one lock. Clean enough to offer upstream as a per-backend lock; re-check before
applying to another moto version.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["patch_moto", "unpatch_moto", "is_patched"]

#: The DynamoDBBackend methods that read or change items.
GUARDED = ("put_item", "get_item", "update_item", "delete_item", "transact_write_items")

_LOCK = threading.RLock()
_ORIGINALS: dict[str, Callable[..., Any]] = {}


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return one_at_a_time


def patch_moto() -> None:
    """Apply the correction in this process (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    if _ORIGINALS:
        return
    for name in GUARDED:
        original = getattr(DynamoDBBackend, name)
        _ORIGINALS[name] = original
        setattr(DynamoDBBackend, name, _serialised(original))


def unpatch_moto() -> None:
    """Put moto's own behaviour back (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    for name, original in _ORIGINALS.items():
        setattr(DynamoDBBackend, name, original)
    _ORIGINALS.clear()


def is_patched() -> bool:
    """Whether the correction is applied in this process."""
    return bool(_ORIGINALS)
