"""Deliveries that fail with a retriable error are retried on the lab's clock, then
dead-lettered or dropped.

AWS: SNS retries a delivery that failed with a server-side error ("the system that hosts the
subscribed endpoint becomes unavailable") as the protocol's delivery policy says, and
EventBridge retries a target that is unavailable as the target's ``RetryPolicy`` says (see
`labkit.moto_patches.retry_schedules`); when the retries run out, the message goes to the
subscription's or target's dead-letter queue, or is dropped. An endpoint that comes back before
then gets the message, once.

On AWS nobody can switch a service off; in the lab `take_down` makes an endpoint (a queue, topic
or function ARN, an HTTP/S URL) unavailable from a moment on, and `bring_back` ends that, so
every delivery to it in between fails as with a server error (a 5xx). A failed delivery is kept
here (`Pending`) with its schedule. Whenever the lab asks (`catch_up`: after each call, each
advance of its clock), each pending delivery moves on to its first retry at which the endpoint
is up, and is delivered then, or runs out of retries: the retries in between are skipped in one
step, not one by one, so thirty days of an endpoint that never comes back cost nothing. A
delivery made by a retry is posted (`labkit.moto_patches.outbox`) stamped with the time of that
retry, for the trace; the message itself arrives when the lab catches up.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from labkit.moto_patches.outbox import post, stamped

__all__ = [
    "Pending",
    "bring_back",
    "catch_up",
    "clear",
    "down_now",
    "is_down",
    "next_due",
    "serial",
    "start",
    "take_down",
]

_LOCK = threading.RLock()
#: endpoint -> its outage windows [start, end] in epoch seconds (end inf while it is down)
_DOWN: dict[str, list[list[float]]] = {}
_PENDING: list[Pending] = []
#: failed deliveries since the lab started or was reset: seeds their jitter the same way on
#: every backend (moto's ids are not the same in a server and in this process)
_SERIAL = [0]


class Schedule(Protocol):
    def offset(self, k: int) -> float | None: ...
    def first_at_or_after(self, k: int, seconds: float) -> int | None: ...
    def exhausted(self, retried: int) -> str: ...


@dataclass(eq=False)
class Pending:
    """A delivery waiting for its next retry.

    ``deliver(at, retried)`` makes it at epoch second `at` after `retried` failed retries;
    ``give_up(at, retried, why)`` sends it to its dead-letter queue or drops it; ``failed(n,
    at)`` counts `n` more failed retries (the metrics).
    """

    source: str
    target: str
    message_id: str
    first: float
    schedule: Schedule
    deliver: Callable[[float, int], None]
    give_up: Callable[[float, int, str], None]
    failed: Callable[[int, float], None]
    retried: int = 0
    due: float | None = None


def take_down(endpoint: str, at: float | None = None) -> None:
    """Make every delivery to `endpoint` fail (a server-side error) from `at` (now) on."""
    at = time.time() if at is None else at
    with _LOCK:
        windows = _DOWN.setdefault(endpoint, [])
        if not windows or windows[-1][1] <= at:
            windows.append([at, math.inf])


def bring_back(endpoint: str, at: float | None = None) -> None:
    """End `endpoint`'s outage at `at` (now): retries from then on reach it."""
    at = time.time() if at is None else at
    catch_up(at)  # the retries until now found it down
    with _LOCK:
        for window in _DOWN.get(endpoint, []):
            if window[1] > at:
                window[1] = max(at, window[0])


def down_now(at: float | None = None) -> list[str]:
    """The endpoints down at `at` (now), sorted."""
    at = time.time() if at is None else at
    with _LOCK:
        names = list(_DOWN)
    return sorted(name for name in names if _up_at(name, at) > at)


def is_down(endpoint: str, at: float | None = None) -> bool:
    """Whether a delivery to `endpoint` at `at` (now) fails."""
    at = time.time() if at is None else at
    return _up_at(endpoint, at) > at


def _up_at(endpoint: str, at: float) -> float:
    """The first moment from `at` on when `endpoint` is up (inf: not before it comes back)."""
    with _LOCK:
        for start, end in _DOWN.get(endpoint, ()):
            if start <= at < end:
                at = end
    return at


def start(pending: Pending) -> None:
    """Keep a delivery whose first attempt failed, and post it for the trace."""
    post(
        "deliveries",
        {
            "source": pending.source,
            "target": pending.target,
            "message_id": pending.message_id,
            "kind": "retried",
            "detail": "the endpoint is unavailable (a server-side error): retried as the "
            "delivery's retry policy says",
            "at": pending.first,
        },
    )
    with _LOCK:
        _PENDING.append(pending)
        _advance(pending, pending.first)  # the immediate retries happen with the first attempt


def catch_up(now: float | None = None) -> int:
    """Move every pending delivery on to `now`; returns how many were delivered or given up."""
    now = time.time() if now is None else now
    # one catch-up at a time: a labkit server answers requests on several threads, and a
    # delivery must be made once
    with _LOCK:
        return sum(_advance(p, now) for p in list(_PENDING))


def next_due() -> float | None:
    """The epoch second of the next retry that will find its endpoint up (None: none known)."""
    with _LOCK:
        times = [p.due for p in _PENDING if p.due is not None]
    return min(times) if times else None


def serial() -> int:
    """A number for the next failed delivery: 1, 2, ... since the lab started or was reset."""
    with _LOCK:
        _SERIAL[0] += 1
        return _SERIAL[0]


def clear() -> None:
    """Forget every outage and pending delivery (a reset lab)."""
    with _LOCK:
        _DOWN.clear()
        _PENDING.clear()
        _SERIAL[0] = 0


def _advance(p: Pending, now: float) -> bool:
    """Move `p` on to `now`: True when it was delivered or given up."""
    while True:
        k = p.retried + 1
        offset = p.schedule.offset(k)
        if offset is None:
            at = p.first + (p.schedule.offset(p.retried) or 0.0)
            _finish(p)
            with stamped(at):
                p.give_up(at, p.retried, p.schedule.exhausted(p.retried))
            return True
        at = p.first + offset
        if at > now:
            up = _up_at(p.target, at)
            if math.isinf(up):
                p.due = None
            else:
                nxt = p.schedule.first_at_or_after(k, up - p.first)
                p.due = None if nxt is None else p.first + (p.schedule.offset(nxt) or 0.0)
            return False
        up = _up_at(p.target, at)
        if up == at:
            _finish(p)
            with stamped(at):
                p.deliver(at, p.retried)
            return True
        # every retry before the endpoint is up (or before now) fails: skip them in one step
        until = min(up, now + 1e-6)
        nxt = p.schedule.first_at_or_after(k, until - p.first)
        last_failed = (nxt - 1) if nxt is not None else _last(p.schedule, k)
        if last_failed >= k:
            p.failed(last_failed - p.retried, p.first + (p.schedule.offset(last_failed) or 0.0))
            p.retried = last_failed
        # on the next turn: out of retries (given up), or the retry at which it is up, or one
        # after now (it waits for a later catch-up)


def _last(schedule: Schedule, k: int) -> int:
    """The number of the schedule's last retry (from `k` on)."""
    lo, hi = k, k
    while schedule.offset(hi) is not None:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if schedule.offset(mid) is None:
            hi = mid
        else:
            lo = mid
    return lo if schedule.offset(lo) is not None else k - 1


def _finish(p: Pending) -> None:
    with _LOCK:
        if p in _PENDING:
            _PENDING.remove(p)
