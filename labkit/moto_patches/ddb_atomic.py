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

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS", "GUARDED"]

#: The DynamoDBBackend methods that read or change items.
GUARDED = ("put_item", "get_item", "update_item", "delete_item", "transact_write_items")

_LOCK = threading.RLock()


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return one_at_a_time


ROWS: list[Row] = [Wrap("DynamoDBBackend", name, _serialised) for name in GUARDED]
