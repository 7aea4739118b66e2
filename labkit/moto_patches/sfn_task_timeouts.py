"""Step Functions task timeouts and heartbeats count simulated time while a lab's clock runs here.

AWS (Step Functions developer guide, "Using timeouts to avoid stuck executions", and the Task
state's fields): a Task state that runs longer than its ``TimeoutSeconds`` fails with
``States.Timeout``; a callback task (``.waitForTaskToken``) that hears no ``SendTaskHeartbeat``
for ``HeartbeatSeconds`` fails with ``States.HeartbeatTimeout``. Both are errors a ``Catch`` on
``States.ALL`` (or on their own names) routes like any other. Without a timeout a callback task
waits for its token for as long as the execution may run (a year for a Standard workflow).

moto 5.2.5 measures both with ``threading.Event.wait(timeout)``, in real seconds, so under a lab's
frozen clock a 300-second timeout would take five real minutes, and ``lab.advance`` would never
reach it. Here the events those waits use (the state's own timeout in ``ExecutionState``, the
token's and the heartbeat's in moto's callback module) end when the lab's simulated time passes
the deadline; with real time, or with no timeout set (moto's stand-in of 99,999,999 s), they wait
exactly as moto does.

A heartbeat restarts the heartbeat's count the moment ``SendTaskHeartbeat`` is answered, not
when the execution's thread next wakes: moto's endpoint waits again only after its thread has
run, and a lab moving its clock in between would skip past the new deadline.
"""

from __future__ import annotations

import threading
import time
import types
from typing import Any

from labkit.moto_patches.registry import Replace, Row
from labkit.moto_patches.sfn_lab_time import register_timer
from labkit.moto_patches.sqs_long_poll import simulating

__all__ = ["ROWS", "LabTimeEvent"]

#: moto's TimeoutSeconds for a state that sets none: it means "no timeout".
NO_TIMEOUT = 99_999_999
#: Real seconds between two looks at the simulated clock while a timed wait is pending.
LOOK_EVERY = 0.02


class LabTimeEvent(threading.Event):
    """A ``threading.Event`` whose timed ``wait`` counts the lab's simulated seconds.

    >>> from labkit.moto_patches.sqs_long_poll import simulate_waits
    >>> import time_machine
    >>> with time_machine.travel(0, tick=False) as traveller:
    ...     undo = simulate_waits(traveller.shift)
    ...     event = LabTimeEvent()
    ...     waiter = threading.Thread(target=lambda: print("set:", event.wait(300)))
    ...     waiter.start()
    ...     time.sleep(0.05)  # five real hundredths: nowhere near 300 simulated seconds
    ...     print("still waiting:", waiter.is_alive())
    ...     traveller.shift(301)
    ...     waiter.join()
    ...     undo()
    still waiting: True
    set: False
    """

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is None or timeout >= NO_TIMEOUT or not simulating():
            return super().wait(timeout)
        started = time.time()  # time.time() is the lab's simulated time
        deadline = started + float(timeout)
        done = register_timer(deadline)  # the lab may move its clock to this deadline
        try:
            return self._wait_simulated(started, deadline)
        finally:
            done()

    def _wait_simulated(self, started: float, deadline: float) -> bool:
        while True:
            now = time.time()
            remaining = deadline - now
            # past the deadline; or time went back: the lab was reset and this execution is gone
            if remaining <= 0 or now < started:
                return self.is_set()
            if super().wait(min(remaining, LOOK_EVERY)):
                return True
            if not simulating():  # the lab stopped: what is left of the wait is real again
                return super().wait(max(0.0, deadline - time.time()))


def _heartbeat_notify(self: Any) -> None:
    """moto's HeartbeatEndpoint.notify; under a lab's clock the heartbeat's count restarts now."""
    with self._mutex:
        self._next_heartbeat_event.set()
        timer = vars(self).get("labkit_timer")
        if timer is not None:
            timer.move(time.time() + self._heartbeat_seconds)


def _heartbeat_clear_and_wait(self: Any) -> bool:
    """moto's HeartbeatEndpoint.clear_and_wait, waiting out the heartbeat on the lab's clock.

    One `Timer` per endpoint lives as long as the thread that waits on it; a heartbeat moves
    its end (`_heartbeat_notify`), so the lab always sees when the next heartbeat is due.
    """
    event = self._next_heartbeat_event
    with self._mutex:
        if event.is_set():
            event.clear()
            return True
        if not simulating():
            timer = None
        elif (timer := vars(self).get("labkit_timer")) is None:
            waiter = threading.current_thread()
            timer = register_timer(time.time() + self._heartbeat_seconds, alive=waiter.is_alive)
            self.labkit_timer = timer
    if timer is None:
        return threading.Event.wait(event, self._heartbeat_seconds)
    started = time.time()
    while True:
        now, end = time.time(), timer.end
        # past the deadline; or time went back: the lab was reset and this execution is gone
        if now >= end or now < started:
            _forget_timer(self)
            return event.is_set()
        if threading.Event.wait(event, min(end - now, LOOK_EVERY)):
            return True
        if not simulating():  # the lab stopped: what is left of the wait is real again
            _forget_timer(self)
            return threading.Event.wait(event, max(0.0, end - time.time()))


def _forget_timer(endpoint: Any) -> None:
    with endpoint._mutex:
        timer = vars(endpoint).pop("labkit_timer", None)
    if timer is not None:
        timer()


# execute_state.py reaches Event through the module `threading`; only that name is swapped
_THREADING = types.SimpleNamespace(
    **{name: getattr(threading, name) for name in dir(threading) if not name.startswith("__")}
)
_THREADING.Event = LabTimeEvent

_CALLBACK = "moto.stepfunctions.parser.asl.eval.callback.callback:"

ROWS: list[Row] = [
    Replace("", "threading", _THREADING),
    Replace(_CALLBACK, "Event", LabTimeEvent),
    Replace(f"{_CALLBACK}HeartbeatEndpoint", "notify", _heartbeat_notify),
    Replace(f"{_CALLBACK}HeartbeatEndpoint", "clear_and_wait", _heartbeat_clear_and_wait),
]
