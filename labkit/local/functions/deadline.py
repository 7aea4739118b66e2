"""A handler's timeout on real time: Lambda stops a function that runs past its timeout.

Simulated time passes only as the lab says (``duration``); a handler's own Python code runs on
the real clock, so ``while True: pass`` or ``time.sleep(4)`` with ``timeout=1`` must end too.
`time_limit` interrupts the block after the timeout, in real seconds: in the main thread (a
notebook's cells) with a timer signal, which also cuts a sleep short; in another thread by
raising in that thread, which ends Python code but waits for a blocking call to return.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["HandlerTimedOut", "time_limit"]


class HandlerTimedOut(BaseException):
    """Raised inside a handler whose time is up.

    Not an Exception: a handler's ``except Exception`` must not swallow its own timeout.
    """


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Run the block for at most `seconds` real seconds, then raise HandlerTimedOut in it.

    >>> import time
    >>> try:
    ...     with time_limit(0.05):
    ...         time.sleep(5)
    ... except HandlerTimedOut:
    ...     print("stopped")
    stopped
    """
    main = threading.current_thread() is threading.main_thread()
    if main and hasattr(signal, "setitimer") and signal.getitimer(signal.ITIMER_REAL)[0] == 0:
        with _by_signal(seconds):
            yield
    else:
        with _by_thread(seconds):
            yield


@contextmanager
def _by_signal(seconds: float) -> Iterator[None]:
    armed = [True]

    def expire(signum: int, frame: Any) -> None:
        if armed[0]:  # a late signal after the block ended is ignored
            raise HandlerTimedOut(f"timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-6))
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _by_thread(seconds: float) -> Iterator[None]:
    target = threading.get_ident()
    done = threading.Event()

    def expire() -> None:
        if not done.is_set():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(target), ctypes.py_object(HandlerTimedOut)
            )

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        done.set()
        timer.cancel()
