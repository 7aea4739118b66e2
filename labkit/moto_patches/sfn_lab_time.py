"""Step Functions Wait states and Retry intervals pass on the lab's clock; jitter repeats.

AWS (Step Functions developer guide, "Wait workflow state" and "Handling errors in Step
Functions workflows"): a Wait state pauses the execution for ``Seconds`` (or until a
``Timestamp``); a retrier waits ``IntervalSeconds`` before its first retry, each next interval
multiplied by ``BackoffRate``, capped by ``MaxDelaySeconds``, and with ``JitterStrategy: FULL``
a random share of it between 0 and the computed interval. moto 5.2.5 follows those rules, but
sleeps them on the execution's thread in real seconds: a five-minute Wait takes five minutes and
``lab.advance`` cannot shorten it, and its jitter draws from the global ``random``, so runs
differ.

While a lab's simulated time runs in this process (``simulating()``) each of these waits ends
when the lab's clock passes its end, and is listed meanwhile in `TIMERS` (its end, and the
execution waiting), so the lab can move its clock to the next one (`next_timer`). With real time
they wait as moto does (measured monotonically, so a frozen wall clock cannot stretch them).
Jitter draws from a random seeded by the execution, so a run retries at the same moments each
time it is run.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Replace, Row
from labkit.moto_patches.sqs_long_poll import simulating

__all__ = ["JITTER_ROWS", "RETRY_ROWS", "ROWS", "TIMERS", "lab_sleep", "next_timer"]

#: Real seconds between two looks at the simulated clock while a wait is pending.
LOOK_EVERY = 0.01

#: The simulated waits pending now: id -> (simulated epoch second it ends, execution ARN or "").
TIMERS: dict[int, tuple[float, str]] = {}
#: For the waits that end when a thread does: id -> "is that thread still alive".
_ALIVE: dict[int, Callable[[], bool]] = {}
_TIMERS_LOCK = threading.Lock()
_IDS = itertools.count()


def _current() -> list[tuple[float, str]]:
    """The pending waits, after forgetting those whose thread has ended; call under the lock."""
    for key in [key for key, alive in _ALIVE.items() if not alive()]:
        TIMERS.pop(key, None)
        _ALIVE.pop(key, None)
    return list(TIMERS.values())


def next_timer(execution: str | None = None) -> float | None:
    """When the earliest pending simulated wait ends (epoch seconds), for one execution or all.

    >>> next_timer() is None
    True
    """
    with _TIMERS_LOCK:
        ends = [end for end, owner in _current() if execution is None or owner == execution]
    return min(ends) if ends else None


def pending(now: float) -> list[tuple[float, str]]:
    """(simulated seconds left, execution ARN or "") of every pending wait, soonest first."""
    with _TIMERS_LOCK:
        return sorted((round(max(0.0, end - now), 6), owner) for end, owner in _current())


class Timer:
    """A wait listed in `TIMERS`: `move` changes its end, calling it takes it off the list."""

    def __init__(self, end: float, execution: str, alive: Callable[[], bool] | None) -> None:
        self.key = next(_IDS)
        self.execution = execution
        with _TIMERS_LOCK:
            TIMERS[self.key] = (end, execution)
            if alive is not None:
                _ALIVE[self.key] = alive

    @property
    def end(self) -> float:
        """The simulated epoch second the wait ends (infinity once it is off the list)."""
        with _TIMERS_LOCK:
            return TIMERS.get(self.key, (float("inf"), ""))[0]

    def move(self, end: float) -> None:
        with _TIMERS_LOCK:
            if self.key in TIMERS:
                TIMERS[self.key] = (end, self.execution)

    def __call__(self) -> None:
        with _TIMERS_LOCK:
            TIMERS.pop(self.key, None)
            _ALIVE.pop(self.key, None)


def register_timer(
    end: float, execution: str = "", alive: Callable[[], bool] | None = None
) -> Timer:
    """List a pending wait in `TIMERS` until the returned `Timer` is called (or, with `alive`,
    until ``alive()`` is false: the wait ends with the thread that waits)."""
    return Timer(end, execution, alive)


def lab_sleep(
    seconds: float, *, execution: str = "", interrupted: Callable[[], bool] = lambda: False
) -> None:
    """Sleep `seconds` of the lab's time (simulated when it is), or until `interrupted()`.

    >>> from labkit.moto_patches.sqs_long_poll import simulate_waits
    >>> import time_machine
    >>> with time_machine.travel(0, tick=False) as traveller:
    ...     undo = simulate_waits(traveller.shift)
    ...     sleeper = threading.Thread(target=lab_sleep, args=(60,), kwargs={"execution": "e"})
    ...     sleeper.start()
    ...     time.sleep(0.05)  # real hundredths: nowhere near 60 simulated seconds
    ...     print("asleep:", sleeper.is_alive(), "until", next_timer("e"))
    ...     traveller.shift(60)
    ...     sleeper.join()
    ...     undo()
    asleep: True until 60.0
    >>> next_timer() is None
    True
    """
    if seconds <= 0:
        return
    if not simulating():
        _real_sleep(seconds, interrupted)
        return
    started = time.time()  # time.time() is the lab's simulated time
    end = started + float(seconds)
    done = register_timer(end, execution)
    try:
        while not interrupted():
            now = time.time()
            # at the end; or time went back: the lab was reset and this execution is gone
            if now >= end or now < started:
                return
            if not simulating():  # the lab stopped: what is left of the wait is real again
                _real_sleep(end - now, interrupted)
                return
            time.sleep(LOOK_EVERY)
    finally:
        done()


def _real_sleep(seconds: float, interrupted: Callable[[], bool]) -> None:
    ends = time.monotonic() + seconds
    while (remaining := ends - time.monotonic()) > 0 and not interrupted():
        time.sleep(min(remaining, 0.05))


def _execution(env: Any) -> str:
    try:
        return str(env.states.context_object.context_object_data["Execution"]["Id"])
    except (AttributeError, KeyError, TypeError):
        return ""


def _wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
    """moto's WaitFunction._wait_interval, on the lab's clock; a stopped execution ends it."""
    lab_sleep(
        float(wait_seconds), execution=_execution(env), interrupted=lambda: not env.is_running()
    )


def _retrier_eval_body(self: Any, env: Any) -> None:
    """moto's RetrierDecl._eval_body with the interval slept on the lab's clock."""
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import (
        MaxAttemptsOutcome,
    )
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import (
        RetrierOutcome,
    )

    self.error_equals.eval(env)
    if not env.stack.pop():
        env.stack.append(RetrierOutcome.Skipped)
        return
    self.max_attempts.eval(env=env)
    if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
        env.stack.append(RetrierOutcome.Failed)
        return
    # IntervalSeconds, times BackoffRate per earlier retry, capped by MaxDelaySeconds, jittered
    self.interval_seconds.eval(env=env)
    self.backoff_rate.eval(env=env)
    self.max_delay_seconds.eval(env=env)
    self.jitter_strategy.eval(env=env)
    lab_sleep(float(env.stack.pop()), execution=_execution(env))
    env.stack.append(RetrierOutcome.Executed)


def _jitter_eval_body(self: Any, env: Any) -> None:
    """moto's JitterStrategyDecl._eval_body, drawing from a random seeded by the execution and
    the draw's number in it: the same run retries at the same moments, whatever else ran."""
    if self.jitter_strategy.name == "NONE":
        return
    interval = env.stack.pop()
    draws = env.heap.get(_JITTER_DRAWS, 0)
    env.heap[_JITTER_DRAWS] = draws + 1
    env.stack.append(random.Random(f"{_execution(env)}|{draws}").uniform(0, interval))


_JITTER_DRAWS = "labkit-jitter-draws"

#: in moto's wait_function module
ROWS: list[Row] = [Replace("WaitFunction", "_wait_interval", _wait_interval)]
#: in moto's retrier_decl module
RETRY_ROWS: list[Row] = [Replace("RetrierDecl", "_eval_body", _retrier_eval_body)]


#: in moto's jitter_strategy_decl module
JITTER_ROWS: list[Row] = [Replace("JitterStrategyDecl", "_eval_body", _jitter_eval_body)]
