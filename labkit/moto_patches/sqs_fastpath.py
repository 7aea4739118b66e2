"""A fast path for moto's SQS: the cost of a call no longer grows with the depth of the queue.

Stock moto 5.2.5 rebuilds every queue attribute, including three counters that scan every
message, whenever it reads one attribute; it does so several times in each send and receive. It
also lists every visible message before a receive takes the first ten, and scans the whole queue
to find a receipt handle. The fast path changes only how these answers are computed:

- ``Queue.attributes`` is a read-only mapping that computes each attribute when it is read, so
  reading ``ContentBasedDeduplication`` no longer counts the messages;
- ``Queue.messages`` is a lazy view: a receive stops scanning once it has its messages, and the
  counters read the clock once instead of twice per message;
- a receipt handle is found through an index of the handles moto hands out (checked against the
  queue, falling back to moto's own scan when the index has no answer), and a delete takes the
  message out by its position instead of rebuilding the queue around it;
- the copy moto makes of each message it hands out copies only the mutable fields one by one
  (strings and numbers are shared, as ``copy.deepcopy`` would share them).

What a client observes (bodies, order, receive counts, dead-letter moves, attribute counters,
errors) stays the same as stock moto; ``tests/test_fastpath.py`` checks that on random call
sequences. It is one change in labkit's registry (``labkit.moto_patches``), written for moto
5.2.5: on another version the registry warns and leaves it off.
"""

from __future__ import annotations

import datetime
import functools
import json
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from labkit.moto_patches.registry import Replace, Row, Wrap

__all__ = ["ROWS", "QueueAttributes", "VisibleMessages"]

# every receipt handle moto issued -> the message it was issued for (weak: deleted messages go)
_HANDLES: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


@functools.cache
def _field(attribute: str) -> str:
    """moto's field for an attribute name (moto's conversion is slow and called per read)."""
    from moto.core.utils import camelcase_to_underscores

    return camelcase_to_underscores(attribute)


@functools.cache
def _attribute_names(queue_class: type, fifo: bool, kms: bool) -> dict[str, None]:
    """The attribute names moto lists for a queue, in moto's order (read-only: shared)."""
    names = list(queue_class.BASE_ATTRIBUTES)
    if fifo:
        names += queue_class.FIFO_ATTRIBUTES
    if kms:
        names += queue_class.KMS_ATTRIBUTES
    return dict.fromkeys(names)


class QueueAttributes(Mapping[str, Any]):
    """The attributes moto's ``Queue.attributes`` returns, each computed when first read.

    Same keys in the same order and the same values as stock moto, which builds them all (three
    of them by scanning every message) on each access.
    """

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self._keys = _attribute_names(
            type(queue), bool(queue.fifo_queue), bool(queue.kms_master_key_id)
        )
        self._values: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        if key not in self._values:
            self._values[key] = self._compute(key)
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._keys else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __repr__(self) -> str:
        return repr(dict(self))

    def _compute(self, key: str) -> Any:
        queue = self._queue
        if key == "RedrivePolicy" and queue.redrive_policy:
            return json.dumps(queue.redrive_policy)
        value = getattr(queue, _field(key))
        return str(value).lower() if isinstance(value, bool) else value


class VisibleMessages(Sequence[Any]):
    """moto's ``Queue.messages`` (visible and not delayed, in queue order), computed lazily.

    Takes a snapshot of the queue and the time when made, as stock moto's list does; iterating
    stops wherever the caller stops.
    """

    def __init__(self, queue: Any) -> None:
        from moto.core.utils import unix_time_millis

        self._all = list(queue._messages)
        self._now = unix_time_millis()

    def __iter__(self) -> Iterator[Any]:
        now = self._now
        return (m for m in self._all if now > m.visible_at and not now < m.delayed_until)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None

    def __getitem__(self, index: Any) -> Any:
        return list(self)[index]


def _approximate_number_of_messages_delayed(self: Any) -> int:
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return sum(1 for m in list(self._messages) if now < m.delayed_until)


def _approximate_number_of_messages_not_visible(self: Any) -> int:
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return sum(1 for m in list(self._messages) if not now > m.visible_at)


def _mark_received(original: Callable[..., None]) -> Callable[..., None]:
    def mark_received(self: Any, visibility_timeout: int | None = None) -> None:
        original(self, visibility_timeout)
        _HANDLES[self.receipt_handle] = self

    return mark_received


def _position(messages: list[Any], receipt_handle: str) -> int | None:
    """Where the message given `receipt_handle` sits in `messages`, if the index knows it.

    Consumers delete what they received, which sits near the front of the queue: ``index``
    meets it by identity (in C, after a few elements) instead of scanning the whole queue.
    """
    message = _HANDLES.get(receipt_handle)
    if message is None:
        return None
    try:
        return messages.index(message)
    except ValueError:  # moved to a dead-letter queue, or deleted
        return None


def _indexed(queue: Any, receipt_handle: str) -> Any | None:
    """The queue's message that was given `receipt_handle`, if the index knows it."""
    messages = list(queue._messages)
    at = _position(messages, receipt_handle)
    return None if at is None else messages[at]


def _delete_message(original: Callable[..., None]) -> Callable[..., None]:
    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        remaining = list(self._messages)
        at = _position(remaining, receipt_handle)
        if at is None:  # unknown, moved or invalid: moto's scan decides (and raises)
            return original(self, receipt_handle)
        # a message object is queued once: moto's sends and moves each add a new or removed one
        message = remaining.pop(at)
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages = remaining

    return delete_message


def _delete_message_batch(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_message_batch(
        self: Any, queue_name: str, receipts: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, str]]]:
        """moto's batch delete, entry by entry as moto does, with one copy of the queue per
        batch instead of one per entry (the queue is still replaced, never changed in place)."""
        if not receipts:
            return original(self, queue_name, receipts)
        queue = self.get_queue(queue_name)
        success: list[str] = []
        errors: list[dict[str, str]] = []
        remaining: list[Any] | None = None
        for entry in receipts:
            handle = entry["ReceiptHandle"]
            if handle in queue.deleted_messages:
                success.append(entry["Id"])
                continue
            if remaining is None:
                remaining = list(queue._messages)
            at = _position(remaining, handle)
            if at is not None:
                message = remaining.pop(at)
                queue.pending_messages.discard(message)
                queue.deleted_messages.update(message.all_receipt_handles)
                success.append(entry["Id"])
                continue
            # unknown, moved or invalid: moto decides, on the queue as it now is
            queue._messages, remaining = remaining, None
            done, failed = original(self, queue_name, [entry])
            success += done
            errors += failed
        if remaining is not None:
            queue._messages = remaining
        return success, errors

    return delete_message_batch


_ATOMS = (str, int, float, bool, type(None))


def _message_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy`` of a moto Message: same result, without visiting each string and number.

    moto copies every message it hands out in a receive; most of a message's fields are
    immutable, which deepcopy would return as they are after a dispatch per field.
    """
    from copy import deepcopy

    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    fields = clone.__dict__
    fields.update(self.__dict__)
    for name, value in fields.items():
        if type(value) not in _ATOMS:
            fields[name] = deepcopy(value, memo)
    return clone


def _change_message_visibility(original: Callable[..., None]) -> Callable[..., None]:
    def change_message_visibility(
        self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        from moto.core.utils import unix_time_millis
        from moto.sqs.exceptions import InvalidParameterValue

        queue = self.get_queue(queue_name)
        message = _indexed(queue, receipt_handle)
        if message is None:
            return original(self, queue_name, receipt_handle, visibility_timeout)
        # the body of moto's loop, for the one message that holds the handle
        given_visibility_timeout = unix_time_millis() + int(visibility_timeout) * 1000
        if given_visibility_timeout - message.sent_timestamp > 43200 * 1000:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: "
                "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)

    return change_message_visibility


_EPOCH = datetime.datetime(1970, 1, 1)


def _unix_time(dt: datetime.datetime | None = None) -> float:
    """moto's `unix_time`, same arithmetic, without rebuilding the epoch on every call."""
    if dt is None:
        dt = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    delta = dt - _EPOCH
    return (delta.days * 86400) + (delta.seconds + (delta.microseconds / 1e6))


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    return _unix_time(dt) * 1000.0


ROWS: list[Row] = [
    # SQS reads the clock a few times per message; moto's helper rebuilds the epoch each time
    Replace("", "unix_time", _unix_time),
    Replace("", "unix_time_millis", _unix_time_millis),
    Replace("Queue", "attributes", property(QueueAttributes)),
    Replace("Queue", "messages", property(VisibleMessages)),
    Replace(
        "Queue",
        "approximate_number_of_messages_delayed",
        property(_approximate_number_of_messages_delayed),
    ),
    Replace(
        "Queue",
        "approximate_number_of_messages_not_visible",
        property(_approximate_number_of_messages_not_visible),
    ),
    Wrap("Message", "mark_received", _mark_received),
    Replace("Message", "__deepcopy__", _message_deepcopy),
    Wrap("Queue", "delete_message", _delete_message),
    Wrap("SQSBackend", "delete_message_batch", _delete_message_batch),
    Wrap("SQSBackend", "change_message_visibility", _change_message_visibility),
]
