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
"""

from __future__ import annotations

import threading
import time
import types

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


# execute_state.py reaches Event through the module `threading`; only that name is swapped
_THREADING = types.SimpleNamespace(
    **{name: getattr(threading, name) for name in dir(threading) if not name.startswith("__")}
)
_THREADING.Event = LabTimeEvent

_CALLBACK = "moto.stepfunctions.parser.asl.eval.callback.callback:"

ROWS: list[Row] = [
    Replace("", "threading", _THREADING),
    Replace(_CALLBACK, "Event", LabTimeEvent),
]
