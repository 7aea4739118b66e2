"""A cancelled DynamoDB transaction leaves the tables, and their streams' readers, in place.

AWS: the actions of ``TransactWriteItems`` succeed or fail together, and a cancelled transaction
changes nothing; a stream's readers (a shard iterator, Lambda's event source mapping) read on
from where they were. moto 5.2.5 takes a deep copy of every table a transaction touches and, on
cancellation, puts the copies in the tables' place: the live stream shard every open shard
iterator points at is left behind, so its readers never see a record written after a cancelled
transaction.

The correction copies the restored state back into the live table and keeps the live stream
shard, cut back to the records it held before the transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS"]


def _kept_in_place(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def transact_write_items(self: Any, *args: Any, **kwargs: Any) -> Any:
        live = dict(self.tables)
        try:
            return method(self, *args, **kwargs)
        finally:
            for name, table in live.items():
                restored = self.tables.get(name)
                if restored is None or restored is table:
                    continue
                # moto put back a copy taken before the transaction: its items, the live
                # table's identity and stream shard (the one readers hold)
                shard, kept = table.stream_shard, restored.stream_shard
                vars(table).update(vars(restored))
                if shard is not None and kept is not None:
                    del shard.items[len(kept.items) :]
                    table.stream_shard = shard
                self.tables[name] = table

    return transact_write_items


ROWS: list[Row] = [Wrap("DynamoDBBackend", "transact_write_items", _kept_in_place)]
