"""One place that invokes a handler, for every trigger.

A queued invocation (a batch from a mapping, a push from SNS or EventBridge) takes a free worker
of its function, draws the function's faults, calls the handler, applies the timeout, keeps the
worker busy for the simulated time it took and records the invocation. A direct invoke
(``fn.invoke``) calls the handler at once and lets its error through, as a RequestResponse
invoke does.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.local.functions.deadline import HandlerTimedOut, time_limit
from labkit.local.functions.events import LambdaContext, Outcome, Trigger
from labkit.local.functions.results import Invocation

if TYPE_CHECKING:
    from labkit.local.functions.function import Function
    from labkit.local.functions.recursion import Chains
    from labkit.local.functions.results import Ledger

__all__ = ["Delivery", "Invoked", "ReadAnswer", "describe", "invoke", "invoke_direct"]

#: Reads a handler's answer: (the ids that failed, "") or ((), why the whole invocation failed).
ReadAnswer = Callable[[Any], tuple[tuple[str, ...], str]]


@dataclass(frozen=True)
class Delivery:
    """What brought an event to a function: its trigger and source, the messages it carries."""

    trigger: Trigger
    source: str
    ids: tuple[str, ...]  # fail together unless the handler's answer says which failed
    attempt: int = 1


@dataclass(frozen=True)
class Invoked:
    """How an invocation ended, for its record and what follows it (deletes, retries, DLQ)."""

    request_id: str
    took: float  # simulated seconds, unrounded: what finishes it is scheduled from this
    outcome: Outcome
    failed: tuple[str, ...]
    error: str


def invoke(
    fn: Function,
    event: Any,
    now: float,
    delivery: Delivery,
    *,
    ledger: Ledger,
    read_answer: ReadAnswer | None = None,
    chains: Chains | None = None,
    depth: int = 0,
) -> Invoked:
    """Invoke `fn` on one of its free workers at lab time `now`, and record it.

    ``read_answer`` says which of the delivery's messages failed; ``depth``: the invocations
    that led to it (what the handler sends is one further on).
    """
    worker = fn.free_worker(now)
    assert worker is not None, "invoked with no free worker"
    request_id = ledger.new_id()
    error, extra = fn.draw_faults(now)
    answer: Any = None
    timed_out = False
    if not error:
        with chains.invoking(depth) if chains is not None else nullcontext():
            answer, exc = _call(fn, event, request_id)
        timed_out = isinstance(exc, HandlerTimedOut)
        error = describe(exc) if exc is not None else ""
    took = fn.duration + fn.per_record * len(delivery.ids) + extra
    outcome: Outcome = "error" if error else "ok"
    if timed_out or took > fn.timeout:
        took, outcome = fn.timeout, "timeout"
        error = f"Task timed out after {fn.timeout:.2f} seconds"
    failed = delivery.ids if error else ()
    if not error and read_answer is not None:
        failed, error, outcome = _read(answer, delivery.ids, read_answer)
    fn.occupy(worker, now + took)
    invoked = Invoked(request_id, took, outcome, failed, error)
    _record(ledger, fn, now, invoked, delivery)
    return invoked


def invoke_direct(fn: Function, event: Any, now: float, *, ledger: Ledger) -> Any:
    """Call `fn`'s handler once, synchronously: its answer, or its error raised again."""
    request_id = ledger.new_id()
    answer, exc = _call(fn, event, request_id)
    if isinstance(exc, HandlerTimedOut):
        exc = TimeoutError(f"Task timed out after {fn.timeout:.2f} seconds")
        invoked = Invoked(request_id, fn.timeout, "timeout", (), str(exc))
    elif exc is None:
        invoked = Invoked(request_id, 0.0, "ok", (), "")
    else:
        invoked = Invoked(request_id, 0.0, "error", (), describe(exc))
    _record(ledger, fn, now, invoked, Delivery("direct", "", ("direct",) if exc is None else ()))
    if exc is not None:
        raise exc
    return answer


def _record(ledger: Ledger, fn: Function, now: float, invoked: Invoked, delivery: Delivery) -> None:
    """Keep the invocation in the ledger, numbered, its times to the microsecond."""
    ledger.keep(
        Invocation(
            seq=ledger.next_seq(),
            function=fn.name,
            request_id=invoked.request_id,
            time=round(now, 6),
            duration=round(invoked.took, 6),
            trigger=delivery.trigger,
            source=delivery.source,
            message_ids=delivery.ids,
            outcome=invoked.outcome,
            failed_ids=invoked.failed,
            error=invoked.error,
            attempt=delivery.attempt,
        )
    )


def _read(
    answer: Any, ids: tuple[str, ...], read_answer: ReadAnswer
) -> tuple[tuple[str, ...], str, Outcome]:
    """What the handler's answer says: (failed ids, error, outcome)."""
    failed, problem = read_answer(answer)
    if problem:
        return ids, problem, "error"
    return failed, "", "partial" if failed else "ok"


def describe(exc: BaseException) -> str:
    """An error as Lambda reports it: its type, and its message when it has one."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _call(
    fn: Function, event: Any, request_id: str
) -> tuple[Any, Exception | HandlerTimedOut | None]:
    context = LambdaContext(fn.name, fn.arn, request_id, fn.timeout)
    try:
        with time_limit(fn.timeout):  # Lambda stops a function at its timeout
            return fn.handler(event, context), None
    except HandlerTimedOut as timed_out:
        return None, timed_out
    except Exception as exc:
        # the handler is the learner's code: whatever it raises is the invocation's error, as
        # on Lambda (interrupts and exits are not caught)
        return None, exc
