"""Which of the lab's calls the tracer records: one rule, decided once as each call starts.

A call is left out when

* tracing is off: ``enabled`` is False, or the call runs inside ``paused()``. This holds for
  every thread, and only for recording: the wiring cache still follows the changes such a call
  makes, or the trace would route by a stale topology afterwards;
* it is labkit's own: it runs inside ``internal()`` on the same thread (the tracer's look-ups,
  lesson helpers reading state);
* it starts while another call is being answered on the same thread: another labkit hook
  looking something up in the middle of the learner's call is plumbing, not the learner's.

Outside the tracer, the lab's function runtime reads ``enabled`` as well: with tracing off it
may poll moto's SQS without botocore (`labkit.local.functions.Runtime`), a path no hook sees.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CallFilter"]

#: Where a recorded call's parameters wait in botocore's request context for its answer.
_PARAMS = "labkit_trace"


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.internal = False
        self.answering: dict[str, Any] | None = None  # the context of the call being answered


class CallFilter:
    """Decides whether a call starting now is the learner's, to be recorded.

    >>> calls, context = CallFilter(), {}
    >>> with calls.internal():
    ...     with calls.internal():  # a look-up inside a helper's block
    ...         pass
    ...     calls.call_starting({"QueueUrl": "q"}, context)  # still the helper's own
    >>> calls.admitted(context) is None
    True
    >>> calls.call_starting({"QueueUrl": "q"}, context)
    >>> calls.admitted(context)
    {'QueueUrl': 'q'}
    """

    def __init__(self) -> None:
        self.enabled = True
        self._thread = _PerThread()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Tracing off inside the block, on every thread."""
        before = self.enabled
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = before

    @contextmanager
    def internal(self) -> Iterator[None]:
        """This thread's calls inside the block are labkit's own."""
        thread = self._thread
        before = thread.internal
        thread.internal = True
        try:
            yield
        finally:
            thread.internal = before

    # botocore handlers, registered by the tracer for each traced service ---------------------
    def call_starting(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """``before-parameter-build``: keep the parameters of a call to be recorded."""
        thread = self._thread
        if self.enabled and not thread.internal and thread.answering is None:
            context[_PARAMS] = dict(params)

    def call_sent(self, context: dict[str, Any], **_: Any) -> None:
        """``before-call``: the first call sent on a thread is the one being answered."""
        thread = self._thread
        if thread.answering is None:
            thread.answering = context

    def call_over(self, context: dict[str, Any], **_: Any) -> None:
        """``after-call`` / ``after-call-error``: when it was the call being answered, the
        thread's calls are the learner's again."""
        thread = self._thread
        if thread.answering is context:
            thread.answering = None

    @staticmethod
    def admitted(context: dict[str, Any]) -> dict[str, Any] | None:
        """The parameters of the call with this context, when it is to be recorded."""
        return context.get(_PARAMS)
