"""The local function runtime: Lambda-style handlers fed by labkit pollers, on the lab's clock.

moto cannot run Lambda functions without Docker, so labkit runs them: a handler is a plain Python
function ``handler(event, context)``, given the event shapes AWS sends:

* from an SQS queue, through an event source mapping: ``{"Records": [{"messageId",
  "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource":
  "aws:sqs", "eventSourceARN", "awsRegion"}, ...]}`` in batches, with the mapping's semantics
  (batch size, batching window, the queue's visibility timeout, ``batchItemFailures`` when
  ``ReportBatchItemFailures`` is on, retries until ``maxReceiveCount``, then the queue's
  dead-letter queue);
* from an SNS subscription: ``{"Records": [{"EventSource": "aws:sns", "Sns": {...}}]}``;
* from an EventBridge rule: the event itself.

Time is the lab's: on the embedded backend a run of ten simulated minutes takes a fraction of a
second; workers are busy for the simulated ``duration`` of an invocation, so ``concurrency``
(how many invocations run at once) changes throughput exactly as it does on AWS. Faults are
seeded, so a demo of crashes, slowness and outages repeats run after run.

A queue is connected with ``fn.consume(queue_url, batch_size=..., window=...,
report_failures=...)`` or, on moto, with boto3's own ``lambda.create_event_source_mapping``
(the runtime follows the mappings the Lambda service lists). Functions are pushed to by SNS
(``sns.subscribe(Protocol="lambda", Endpoint=fn.arn)``) and EventBridge
(``events.put_targets(..., Targets=[{"Id": "f", "Arn": fn.arn}])``) through labkit's bridges.

The same handlers run unchanged on every backend: queues are polled with the ordinary SQS API.
SNS and EventBridge pushes to a function exist where labkit's bridges deliver them (moto in this
process, or ``python -m labkit.server``).

>>> import labkit
>>> lab = labkit.start_lab()
>>> sqs = lab.client("sqs")
>>> url = sqs.create_queue(QueueName="orders")["QueueUrl"]
>>> seen = []
>>> def handler(event, context):
...     seen.extend(record["body"] for record in event["Records"])
>>> fn = lab.functions.deploy("billing", handler)
>>> mapping = fn.consume(url, batch_size=5)
>>> _ = sqs.send_message_batch(
...     QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"order {i}"} for i in range(7)]
... )
>>> result = lab.functions.run_until_idle()
>>> (result.processed, len(result.invocations), sorted(seen)[:2])
(7, 2, ['order 0', 'order 1'])
>>> lab.stop()
"""

from __future__ import annotations

import base64
import heapq
import io
import itertools
import json
import random
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from labkit.errors import LabError
from labkit.trace.records import actor

if TYPE_CHECKING:
    from labkit.local.bridges import Bridges
    from labkit.local.clock import Clock
    from labkit.parts import Clients, Hooks, HopSink

__all__ = [
    "Faults",
    "Function",
    "EventSourceMapping",
    "Invocation",
    "RunResult",
    "Runtime",
    "LambdaContext",
]

Handler = Callable[[Any, "LambdaContext"], Any]
Outcome = Literal["ok", "partial", "error", "timeout"]
Trigger = Literal["sqs", "sns", "events", "direct"]

#: Lambda's defaults and limits for SQS event source mappings.
MAX_BATCH = 10_000
SQS_RECEIVE_MAX = 10
#: Asynchronous invocations (SNS, EventBridge): two retries, one then two minutes apart.
ASYNC_RETRY_DELAYS = (60.0, 120.0)
#: How long pollers let simulated time jump when nothing is known to be due.
VIRTUAL_POLL_INTERVAL = 20.0
#: SQS makes a message visible again only once its visibility timeout has fully passed.
VISIBILITY_EPSILON = 0.001
#: Lab times are kept to the microsecond; closer than this counts as the same moment.
TICK = 1e-6
REAL_POLL_INTERVAL = 1.0
FUNCTION_ROLE = "labkit-function-role"


# -- configuration values ---------------------------------------------------------------------
@dataclass(frozen=True)
class Faults:
    """Seeded failure injection for a function.

    ``crash``: probability that an invocation fails (the handler is not called);
    ``slow`` / ``slow_seconds``: probability that an invocation takes ``slow_seconds`` more
    simulated time (past the timeout it times out, past the visibility timeout the message is
    delivered again); ``outages``: ``(start, end)`` windows in lab seconds during which every
    invocation fails; ``duplicate``: probability, per processed message, that its delete is lost,
    so the queue delivers it again (at-least-once delivery). Same seed, same faults.

    >>> Faults(crash=0.2, seed=7).crash
    0.2
    """

    crash: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()
    duplicate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("crash", "slow", "duplicate"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise LabError(
                    f"{name} as a probability between 0 and 1",
                    f"{name}={value!r}",
                    f"write e.g. Faults({name}=0.2) for one invocation in five",
                )
        if self.slow_seconds < 0:
            raise LabError(
                "slow_seconds of zero or more",
                repr(self.slow_seconds),
                "write the extra simulated time, e.g. Faults(slow=0.1, slow_seconds=5)",
            )
        outages = tuple((float(a), float(b)) for a, b in self.outages)
        for start, end in outages:
            if end <= start:
                raise LabError(
                    "outage windows as (start, end) with end after start, in lab seconds",
                    repr((start, end)),
                    "write e.g. Faults(outages=[(60, 120)]) for a one-minute outage",
                )
        object.__setattr__(self, "outages", outages)

    def in_outage(self, at: float) -> bool:
        """True when lab time `at` falls inside an outage window."""
        return any(start <= at < end for start, end in self.outages)


class LambdaContext:
    """The context object a handler receives, like AWS Lambda's Python runtime gives.

    >>> ctx = LambdaContext("billing", "arn:aws:lambda:us-east-1:1:function:billing", "r1", 3.0)
    >>> ctx.get_remaining_time_in_millis()
    3000
    """

    def __init__(
        self,
        function_name: str,
        invoked_function_arn: str,
        aws_request_id: str,
        timeout: float,
        memory_limit_in_mb: int = 128,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"labkit/[$LATEST]{aws_request_id.replace('-', '')}"
        self._timeout = timeout

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out (handlers take no simulated time)."""
        return int(self._timeout * 1000)

    def __repr__(self) -> str:
        return f"<LambdaContext {self.function_name} {self.aws_request_id}>"


# -- records ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Invocation:
    """One run of a handler: when, on what, and how it ended."""

    seq: int
    function: str
    request_id: str
    time: float  # lab seconds when it started
    duration: float  # simulated seconds it took
    trigger: Trigger
    source: str  # queue, topic or rule ARN ("" for a direct invoke)
    message_ids: tuple[str, ...]
    outcome: Outcome
    failed_ids: tuple[str, ...] = ()
    error: str = ""
    attempt: int = 1  # async invocations: 1, then the retries


@dataclass(frozen=True)
class RunResult:
    """What happened during one ``run`` / ``run_until_idle``.

    ``processed``: messages or events a handler finished successfully; ``failed``: failed
    attempts (a message failing twice counts twice); ``retried``: attempts that were a retry;
    ``dead_lettered``: messages that used their last receive (their queue moves them to its
    dead-letter queue) or async events sent to a function's dead-letter queue; ``discarded``:
    async events dropped after their last retry (no dead-letter queue).
    """

    started: float
    ended: float
    invocations: tuple[Invocation, ...]
    dead_lettered: tuple[str, ...] = ()
    discarded: tuple[str, ...] = ()
    retried: int = 0
    idle: bool = True

    @property
    def processed(self) -> int:
        return sum(len(i.message_ids) - len(i.failed_ids) for i in self.invocations)

    @property
    def failed(self) -> int:
        return sum(len(i.failed_ids) for i in self.invocations)

    def by_function(self) -> dict[str, dict[str, int]]:
        """Counts per function: invocations, processed, failed, timeouts."""
        out: dict[str, dict[str, int]] = {}
        for inv in self.invocations:
            row = out.setdefault(
                inv.function, {"invocations": 0, "processed": 0, "failed": 0, "timeouts": 0}
            )
            row["invocations"] += 1
            row["processed"] += len(inv.message_ids) - len(inv.failed_ids)
            row["failed"] += len(inv.failed_ids)
            row["timeouts"] += inv.outcome == "timeout"
        return out

    def per_interval(self, seconds: float = 1.0) -> list[tuple[float, int, int]]:
        """``(interval start, processed, failed)`` for each interval of lab time in the run."""
        if seconds <= 0:
            raise LabError("an interval longer than 0 s", repr(seconds), "use e.g. seconds=1")
        ok: Counter[int] = Counter()
        bad: Counter[int] = Counter()
        for inv in self.invocations:
            slot = int((inv.time - self.started) // seconds)
            ok[slot] += len(inv.message_ids) - len(inv.failed_ids)
            bad[slot] += len(inv.failed_ids)
        slots = int(max(self.ended - self.started, 0) // seconds) + 1
        return [(round(self.started + k * seconds, 6), ok[k], bad[k]) for k in range(slots)]

    def summary(self) -> dict[str, float | int]:
        """The run in one dict (for a table or a check)."""
        return {
            "seconds": round(self.ended - self.started, 6),
            "invocations": len(self.invocations),
            "processed": self.processed,
            "failed": self.failed,
            "retried": self.retried,
            "dead_lettered": len(self.dead_lettered),
            "discarded": len(self.discarded),
        }

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in self.summary().items())
        return f"RunResult({parts})"


# -- functions and mappings -------------------------------------------------------------------
@dataclass
class _Pending:
    """An invocation waiting for a worker, or finishing at a simulated time."""

    finish: float
    action: Callable[[], None]


@dataclass
class _AsyncEvent:
    event: Any
    trigger: Trigger
    source: str
    message_id: str
    attempt: int = 1
    due: float = 0.0


class EventSourceMapping:
    """A queue feeding a function: labkit's poller, with Lambda's event-source-mapping rules."""

    def __init__(
        self,
        runtime: Runtime,
        function: Function,
        queue_url: str,
        queue_arn: str,
        *,
        batch_size: int,
        window: float,
        report_failures: bool,
        uuid_: str,
    ) -> None:
        self.runtime = runtime
        self.function = function
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.window = window
        self.report_failures = report_failures
        self.uuid = uuid_
        self.enabled = True
        self.visibility_timeout = 30.0
        self.max_receive_count = 0
        self.dead_letter_arn = ""
        self._buffer: list[tuple[dict[str, Any], float]] = []
        self._buffer_since = 0.0
        self._drained_at: float | None = None
        #: messages this poller expects back (failed or delete lost): SQS id -> visible again at
        self._expected: dict[str, float] = {}

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        name = self.queue_arn.rsplit(":", 1)[-1]
        return (
            f"<EventSourceMapping {name} -> {self.function.name} batch={self.batch_size} {state}>"
        )

    def refresh(self) -> None:
        """Read the queue's visibility timeout and redrive policy again."""
        attrs = self.runtime._sqs().get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
        )["Attributes"]
        self.visibility_timeout = float(attrs.get("VisibilityTimeout", 30))
        policy = _redrive_policy(attrs.get("RedrivePolicy") or "{}")
        self.max_receive_count = int(policy.get("maxReceiveCount", 0) or 0)
        self.dead_letter_arn = str(policy.get("deadLetterTargetArn", ""))

    def disable(self) -> None:
        """Stop polling (messages stay in the queue), like ``Enabled=False`` on AWS."""
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True


class Function:
    """A deployed handler: its ARN, settings, mappings and invocations."""

    def __init__(
        self,
        runtime: Runtime,
        name: str,
        handler: Handler,
        arn: str,
        *,
        concurrency: int,
        timeout: float,
        duration: float,
        faults: Faults,
        retries: int,
        dead_letter_url: str,
    ) -> None:
        self.runtime = runtime
        self.name = name
        self.handler = handler
        self.arn = arn
        self.concurrency = concurrency
        self.timeout = timeout
        self.duration = duration
        self.faults = faults
        self.retries = retries
        self.dead_letter_url = dead_letter_url
        self.mappings: list[EventSourceMapping] = []
        self._rng = random.Random(faults.seed)
        self._busy: list[float] = [0.0] * concurrency
        self._async: list[_AsyncEvent] = []

    def __repr__(self) -> str:
        return f"<Function {self.name} concurrency={self.concurrency}>"

    @property
    def invocations(self) -> tuple[Invocation, ...]:
        """This function's invocations so far (since the lab started or was reset)."""
        return tuple(i for i in self.runtime.invocations if i.function == self.name)

    def consume(
        self,
        queue: str,
        *,
        batch_size: int = 10,
        window: float = 0.0,
        report_failures: bool = False,
    ) -> EventSourceMapping:
        """Connect a queue (URL or ARN) to this function, like an event source mapping.

        ``window`` is MaximumBatchingWindowInSeconds; ``report_failures`` is
        ``FunctionResponseTypes=["ReportBatchItemFailures"]``.
        """
        return self.runtime.connect(
            queue,
            self,
            batch_size=batch_size,
            window=window,
            report_failures=report_failures,
        )

    def invoke(self, event: Any) -> Any:
        """Call the handler once, synchronously (a RequestResponse invoke); errors propagate."""
        request_id = self.runtime._request_id()
        context = LambdaContext(self.name, self.arn, request_id, self.timeout)
        now = self.runtime.now()
        try:
            answer = self.handler(event, context)
        except Exception as exc:
            self.runtime._record(self, request_id, now, 0.0, "direct", "", (), "error", (), exc)
            raise
        self.runtime._record(self, request_id, now, 0.0, "direct", "", ("direct",), "ok", ())
        return answer

    # -- workers --------------------------------------------------------------------------
    def _free_worker(self, now: float) -> int | None:
        for i, until in enumerate(self._busy):
            if until <= now + TICK:
                return i
        return None

    def _draw(self, now: float) -> tuple[str, float]:
        """The faults for one invocation: (error or "", extra simulated seconds)."""
        faults = self.faults
        crash = self._rng.random() < faults.crash if faults.crash else False
        slow = self._rng.random() < faults.slow if faults.slow else False
        if faults.in_outage(now):
            return "Outage: the function's dependency is unavailable (injected)", 0.0
        if crash:
            return "Crash: the function crashed (injected)", 0.0
        return "", faults.slow_seconds if slow else 0.0

    def _lose_delete(self) -> bool:
        return bool(self.faults.duplicate) and self._rng.random() < self.faults.duplicate


# -- the runtime ------------------------------------------------------------------------------
class Runtime:
    """A lab's functions (``lab.functions``): deploy handlers, connect queues, let time run.

    The lab builds it with what it needs: its clients, its clock, where to register life-cycle
    callbacks, the tracer (``hops``) and the bridges that queue SNS and EventBridge pushes.
    ``in_process``: moto runs in this process (the embedded backend); ``moto``: moto answers
    (here or in a server), so functions exist in its Lambda service and its account is fixed.
    """

    def __init__(
        self,
        *,
        clients: Clients,
        clock: Clock,
        hooks: Hooks,
        hops: HopSink,
        bridges: Bridges,
        seed: int,
        in_process: bool,
        moto: bool,
    ) -> None:
        self._clients = clients
        self._clock = clock
        self._hops = hops
        self._bridges = bridges
        self._seed = seed
        self._in_process = in_process
        self._moto = moto
        self._functions: dict[str, Function] = {}
        self._mappings: list[EventSourceMapping] = []
        self._invocations: list[Invocation] = []
        self._pending: list[tuple[float, int, _Pending]] = []
        self._seq = itertools.count(1)
        self._ids = random.Random(seed)
        self._role_arn = ""
        self._account = ""
        self._remote_now: float | None = None
        self._dead_lettered: list[str] = []
        self._discarded: list[str] = []
        self._retried = 0
        self._sync_clock()
        hooks.on_reset(self.clear)
        if clock.remote_url is not None:
            hooks.on_stop(clock.on_advance(self._advanced))

    # -- public ---------------------------------------------------------------------------
    def deploy(
        self,
        name: str,
        handler: Handler,
        *,
        concurrency: int = 1,
        timeout: float = 3.0,
        duration: float = 0.0,
        faults: Faults | None = None,
        retries: int = 2,
        dead_letter: str | None = None,
    ) -> Function:
        """Deploy `handler` as function `name`; deploying the same name again replaces it.

        ``concurrency``: invocations running at once (Lambda's reserved concurrency);
        ``timeout``: seconds before an invocation times out; ``duration``: simulated seconds
        each invocation takes; ``retries`` (0-2) and ``dead_letter`` (a queue URL or ARN) apply
        to asynchronous invocations (SNS, EventBridge), like MaximumRetryAttempts and the
        function's DeadLetterConfig.
        """
        if not callable(handler):
            raise LabError(
                "a handler function taking (event, context)",
                f"{type(handler).__name__} {handler!r}",
                "define `def handler(event, context): ...` and pass the function itself",
            )
        if not isinstance(concurrency, int) or concurrency < 1:
            raise LabError(
                "concurrency as a whole number of 1 or more",
                repr(concurrency),
                "write e.g. concurrency=2 for two invocations at a time",
            )
        if timeout <= 0 or duration < 0:
            raise LabError(
                "timeout > 0 and duration >= 0 seconds",
                f"timeout={timeout!r}, duration={duration!r}",
                "Lambda's default timeout is 3 seconds; duration is simulated time per call",
            )
        if retries not in (0, 1, 2):
            raise LabError(
                "retries of 0, 1 or 2 (Lambda's MaximumRetryAttempts)",
                repr(retries),
                "asynchronous invocations are retried at most twice",
            )
        old = self._functions.pop(name, None)
        if old is not None:
            self._mappings = [m for m in self._mappings if m.function is not old]
        arn = self._create_function(name)
        dlq_url = self._queue_url(dead_letter) if dead_letter else ""
        fn = Function(
            self,
            name,
            handler,
            arn,
            concurrency=concurrency,
            timeout=float(timeout),
            duration=float(duration),
            faults=faults or Faults(),
            retries=retries,
            dead_letter_url=dlq_url,
        )
        if old is not None:
            for mapping in old.mappings:
                mapping.function = fn
                fn.mappings.append(mapping)
                self._mappings.append(mapping)
        self._functions[name] = fn
        return fn

    def get(self, name_or_arn: str) -> Function:
        """The deployed function with this name or ARN."""
        for fn in self._functions.values():
            if name_or_arn in (fn.name, fn.arn):
                return fn
        raise LabError(
            "the name or ARN of a function deployed in this lab",
            repr(name_or_arn),
            f"deploy it first (lab.functions.deploy(name, handler)); deployed: "
            f"{', '.join(self._functions) or 'none'}",
        )

    @property
    def functions(self) -> tuple[Function, ...]:
        return tuple(self._functions.values())

    @property
    def mappings(self) -> tuple[EventSourceMapping, ...]:
        return tuple(self._mappings)

    @property
    def invocations(self) -> tuple[Invocation, ...]:
        """Every invocation since the lab started or was reset, oldest first."""
        return tuple(self._invocations)

    def connect(
        self,
        queue: str,
        function: Function | str,
        *,
        batch_size: int = 10,
        window: float = 0.0,
        report_failures: bool = False,
    ) -> EventSourceMapping:
        """An event source mapping from `queue` (URL or ARN) to `function`."""
        fn = function if isinstance(function, Function) else self.get(function)
        if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
            raise LabError(
                f"batch_size between 1 and {MAX_BATCH}",
                repr(batch_size),
                "the default is 10; more than 10 needs a batching window (window=1 or more)",
            )
        if not 0 <= window <= 300:
            raise LabError(
                "a batching window between 0 and 300 seconds",
                repr(window),
                "MaximumBatchingWindowInSeconds is at most 300",
            )
        if batch_size > SQS_RECEIVE_MAX and window < 1:
            raise LabError(
                "a batching window of at least 1 second when batch_size is more than 10",
                f"batch_size={batch_size}, window={window}",
                "AWS requires it too: pass window=1 (or more)",
            )
        url = self._queue_url(queue)
        arn = _queue_arn(url, self._clients.region, self._account_id())
        for existing in self._mappings:
            if existing.queue_arn == arn and existing.function is fn:
                raise LabError(
                    "one mapping per queue and function",
                    f"{fn.name} already consumes {arn.rsplit(':', 1)[-1]}",
                    "use the mapping you have (fn.mappings[0]) or deploy another function",
                )
        mapping = EventSourceMapping(
            self,
            fn,
            url,
            arn,
            batch_size=batch_size,
            window=float(window),
            report_failures=report_failures,
            uuid_=str(uuid.UUID(int=self._ids.getrandbits(128), version=4)),
        )
        mapping.refresh()
        fn.mappings.append(mapping)
        self._mappings.append(mapping)
        return mapping

    def run(self, seconds: float) -> RunResult:
        """Let `seconds` of lab time pass with every poller and function working."""
        if seconds < 0:
            raise LabError("seconds >= 0", repr(seconds), "time only moves forward")
        return self._run(until=seconds, stop_when_idle=False)

    def run_until_idle(self, max_seconds: float = 3600.0) -> RunResult:
        """Run until every connected queue is empty and nothing is in flight or retrying."""
        return self._run(until=max_seconds, stop_when_idle=True)

    def now(self) -> float:
        """Lab seconds since the lab (or its last reset) started."""
        if self._remote_now is not None:
            return self._remote_now
        return self._clock.elapsed()

    def clear(self) -> None:
        """Forget every function, mapping and invocation (the lab calls this on reset)."""
        self._functions.clear()
        self._mappings.clear()
        self._invocations.clear()
        self._pending.clear()
        self._seq = itertools.count(1)
        self._ids = random.Random(self._seed)
        self._role_arn = ""
        self._dead_lettered.clear()
        self._discarded.clear()
        self._retried = 0
        self._sync_clock()

    # -- the event loop -------------------------------------------------------------------
    def _run(self, *, until: float, stop_when_idle: bool) -> RunResult:
        start = self.now()
        end = start + until
        first_invocation = len(self._invocations)
        first_dlq, first_discard, first_retry = (
            len(self._dead_lettered),
            len(self._discarded),
            self._retried,
        )
        self._adopt_lambda_mappings()
        for mapping in self._mappings:
            mapping.refresh()
            mapping._drained_at = None
        idle = False
        while True:
            self._collect_pushes()
            now = self.now()
            progress = self._step(now)
            wake = self._next_wake(now)
            if wake is not None and round(wake - now, 6) <= 0 and not progress:
                wake = None  # due already, yet nothing could move: wait for news instead
            if wake is None and stop_when_idle:
                idle = True
                break
            target = min(wake if wake is not None else end, end)
            if self._unknown_arrivals():
                # messages can arrive unseen (other producers, delays, schedules elsewhere)
                target = min(target, now + self._poll_interval())
            step = round(target - now, 6)
            if step <= 0:
                if now >= end or not progress:
                    break
                continue
            self._clock.advance(step)
        invocations = tuple(self._invocations[first_invocation:])
        return RunResult(
            started=start,
            ended=self.now(),
            invocations=invocations,
            dead_lettered=tuple(self._dead_lettered[first_dlq:]),
            discarded=tuple(self._discarded[first_discard:]),
            retried=self._retried - first_retry,
            idle=idle or self._next_wake(self.now()) is None,
        )

    def _step(self, now: float) -> bool:
        """Do everything due at `now` until nothing more can happen without time passing."""
        moved = False
        while True:
            progress = False
            while self._pending and self._pending[0][0] <= now + TICK:
                _, _, pending = heapq.heappop(self._pending)
                pending.action()
                progress = True
            for fn in self._functions.values():
                while fn._async and fn._async[0].due <= now + TICK:
                    if fn._free_worker(now) is None:
                        break
                    self._invoke_async(fn, fn._async.pop(0), now)
                    progress = True
            for mapping in self._mappings:
                if mapping.enabled and self._poll(mapping, now):
                    progress = True
            if not progress:
                return moved
            moved = True

    def _next_wake(self, now: float) -> float | None:
        """The next lab time something is known to happen; None when the runtime is idle."""
        times: list[float] = [p[0] for p in self._pending]
        for fn in self._functions.values():
            if fn._async:
                due = min(e.due for e in fn._async)
                busy = min(fn._busy)
                times.append(max(due, busy))
        for mapping in self._mappings:
            if not mapping.enabled:
                continue
            if mapping._buffer:
                times.append(mapping._buffer_since + mapping.window)
            times += [t for t in mapping._expected.values()]
            if mapping._drained_at is None or mapping._drained_at + TICK < now:
                # the queue may still hold messages: poll again when a worker is free
                times.append(max(now, min(mapping.function._busy)))
        firing = self._next_firing(now)
        if firing is not None and self._functions:
            times.append(firing)
        future = [t for t in times if t > now + TICK]
        if not future:
            return now if times else None
        return min(future)

    def _next_firing(self, now: float) -> float | None:
        """When labkit's scheduler fires next, in lab seconds (in this process only)."""
        at = self._bridges.next_firing()
        if at is None:
            return None
        return now + max(at - self._clock.now().timestamp(), 0.0)

    def _unknown_arrivals(self) -> bool:
        """Can work arrive that the runtime cannot foresee? (queues fed by others, pushes
        from a server's schedules)."""
        if self._mappings:
            return True
        return bool(self._functions) and not self._in_process

    def _poll_interval(self) -> float:
        return VIRTUAL_POLL_INTERVAL if self._clock.virtual else REAL_POLL_INTERVAL

    def _adopt_lambda_mappings(self) -> None:
        """Follow mappings made with boto3's ``lambda.create_event_source_mapping`` (on moto)."""
        if not self._moto or not self._functions:
            return
        lam = self._clients.client("lambda")
        known = {m.uuid for m in self._mappings}
        for fn in list(self._functions.values()):
            answer = lam.list_event_source_mappings(FunctionName=fn.arn)
            for esm in answer.get("EventSourceMappings", []):
                if esm["UUID"] in known or ":sqs:" not in esm.get("EventSourceArn", ""):
                    continue
                mapping = self.connect(
                    esm["EventSourceArn"],
                    fn,
                    batch_size=int(esm.get("BatchSize") or 10),
                    window=float(esm.get("MaximumBatchingWindowInSeconds") or 0),
                    report_failures="ReportBatchItemFailures"
                    in (esm.get("FunctionResponseTypes") or []),
                )
                mapping.uuid = esm["UUID"]
                mapping.enabled = esm.get("State", "Enabled") in ("Enabled", "Enabling")

    # -- SQS polling ----------------------------------------------------------------------
    def _poll(self, mapping: EventSourceMapping, now: float) -> bool:
        fn = mapping.function
        if fn._free_worker(now) is None:
            return False
        # messages expected back whose time has come: poll for them
        for sqs_id, at in list(mapping._expected.items()):
            if at <= now + TICK:
                del mapping._expected[sqs_id]
                mapping._drained_at = None
        progress = False
        drained = mapping._drained_at is not None and mapping._drained_at + TICK >= now
        while len(mapping._buffer) < mapping.batch_size and not drained:
            want = min(SQS_RECEIVE_MAX, mapping.batch_size - len(mapping._buffer))
            messages = self._receive(mapping, want)
            if not mapping._buffer and messages:
                mapping._buffer_since = now
            mapping._buffer += [(m, now) for m in messages]
            if len(messages) < want:
                drained = True
                mapping._drained_at = now
            if messages:
                progress = True
            if mapping.window == 0:
                break
        if not mapping._buffer:
            return progress
        full = len(mapping._buffer) >= mapping.batch_size
        if full or mapping.window == 0 or now + TICK >= mapping._buffer_since + mapping.window:
            batch = mapping._buffer[: mapping.batch_size]
            mapping._buffer = mapping._buffer[mapping.batch_size :]
            mapping._buffer_since = now
            self._invoke_batch(mapping, batch, now)
            return True
        return progress

    def _direct(self) -> bool:
        """Poll moto's SQS in this process without the HTTP round trip?

        Only on the embedded backend with tracing off: the tracer sees calls through botocore,
        so a traced lab polls through boto3 like any client. Both ways give the same records
        (tests/test_runtime.py checks it); the direct way is five times cheaper per batch.
        """
        return self._in_process and not self._hops.enabled

    def _sqs_backend(self) -> Any:
        from moto.sqs import sqs_backends

        return sqs_backends[self._account_id()][self._clients.region]

    def _receive(self, mapping: EventSourceMapping, count: int) -> list[dict[str, Any]]:
        if self._direct():
            return _receive_direct(self._sqs_backend(), mapping.queue_arn, count)
        with self._acting_as(mapping.function.name):
            answer = self._sqs().receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=count,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
        return list(answer.get("Messages", []))

    def _invoke_batch(
        self, mapping: EventSourceMapping, batch: list[tuple[dict[str, Any], float]], now: float
    ) -> None:
        fn = mapping.function
        worker = fn._free_worker(now)
        assert worker is not None
        records = [_sqs_record(m, mapping.queue_arn, self._clients.region) for m, _ in batch]
        ids = tuple(r["messageId"] for r in records)
        for record in records:
            if int(record["attributes"].get("ApproximateReceiveCount", "1")) > 1:
                self._retried += 1
        request_id = self._request_id()
        error, extra = fn._draw(now)
        answer: Any = None
        if not error:
            context = LambdaContext(fn.name, fn.arn, request_id, fn.timeout)
            try:
                answer = fn.handler({"Records": records}, context)
            except Exception as exc:
                error = _describe(exc)
        took = fn.duration + extra
        outcome: Outcome = "ok"
        if took > fn.timeout:
            error = f"Task timed out after {fn.timeout:.2f} seconds"
            took = fn.timeout
            outcome = "timeout"
        failed: tuple[str, ...] = ()
        if error:
            outcome = "timeout" if outcome == "timeout" else "error"
            failed = ids
        elif mapping.report_failures:
            failed, problem = _batch_failures(answer, ids)
            if problem:
                error, failed = problem, ids
                outcome = "error"
            elif failed:
                outcome = "partial"
        fn._busy[worker] = now + took
        self._record(
            fn, request_id, now, took, "sqs", mapping.queue_arn, ids, outcome, failed, error
        )
        if took > mapping.visibility_timeout:
            # still working when the visibility timeout runs out: the queue hands the messages
            # to the next poller too
            for message, received_at in batch:
                back_at = received_at + mapping.visibility_timeout + VISIBILITY_EPSILON
                mapping._expected[message["MessageId"]] = round(back_at, 6)

        def finish() -> None:
            self._finish_batch(mapping, batch, set(failed), error, now)

        if took > 0:
            self._later(now + took, finish)
        else:
            finish()

    def _finish_batch(
        self,
        mapping: EventSourceMapping,
        batch: list[tuple[dict[str, Any], float]],
        failed: set[str],
        error: str,
        started: float,
    ) -> None:
        fn = mapping.function
        deletes: list[dict[str, Any]] = []
        for message, received_at in batch:
            sqs_id = message["MessageId"]
            back_at = round(received_at + mapping.visibility_timeout + VISIBILITY_EPSILON, 6)
            if sqs_id in failed:
                mapping._expected[sqs_id] = back_at
                count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                self._hops.add_hop(
                    mapping.queue_arn,
                    actor(fn.name),
                    sqs_id,
                    "failed",
                    detail=(error or "reported in batchItemFailures")[:200],
                    labels=(("receive_count", str(count)),),
                )
                if mapping.dead_letter_arn and count >= mapping.max_receive_count > 0:
                    self._dead_lettered.append(sqs_id)
            elif fn._lose_delete():
                mapping._expected[sqs_id] = back_at
            else:
                deletes.append({"Id": str(len(deletes)), "ReceiptHandle": message["ReceiptHandle"]})
        for i in range(0, len(deletes), SQS_RECEIVE_MAX):
            chunk = [dict(e, Id=str(k)) for k, e in enumerate(deletes[i : i + SQS_RECEIVE_MAX])]
            if self._direct():
                name = mapping.queue_arn.rsplit(":", 1)[-1]
                self._sqs_backend().delete_message_batch(name, chunk)
                continue
            with self._acting_as(fn.name):
                self._sqs().delete_message_batch(QueueUrl=mapping.queue_url, Entries=chunk)
        if failed or len(deletes) < len(batch):
            mapping._drained_at = None

    # -- asynchronous invocations (SNS, EventBridge) ---------------------------------------
    def deliver(
        self, function_arn: str, event: Any, *, trigger: Trigger, source: str, message_id: str
    ) -> None:
        """Queue an asynchronous invocation (what a bridge does for SNS or EventBridge)."""
        fn = self.get(function_arn)
        fn._async.append(_AsyncEvent(event, trigger, source, message_id, 1, self.now()))

    def _invoke_async(self, fn: Function, item: _AsyncEvent, now: float) -> None:
        worker = fn._free_worker(now)
        assert worker is not None
        if item.attempt > 1:
            self._retried += 1
        request_id = self._request_id()
        error, extra = fn._draw(now)
        if not error:
            context = LambdaContext(fn.name, fn.arn, request_id, fn.timeout)
            try:
                fn.handler(item.event, context)
            except Exception as exc:
                error = _describe(exc)
        took = fn.duration + extra
        outcome: Outcome = "error" if error else "ok"
        if took > fn.timeout:
            error, took, outcome = (
                f"Task timed out after {fn.timeout:.2f} seconds",
                fn.timeout,
                "timeout",
            )
        fn._busy[worker] = now + took
        ids = (item.message_id,)
        self._record(
            fn, request_id, now, took, item.trigger, item.source, ids, outcome,
            ids if error else (), error, attempt=item.attempt,
        )  # fmt: skip
        self._hops.add_hop(
            item.source or fn.arn,
            fn.arn,
            item.message_id,
            "failed" if error else "processed",
            detail=error[:200],
            labels=(("attempt", str(item.attempt)),),
        )
        if not error:
            return
        if item.attempt <= fn.retries:
            delay = ASYNC_RETRY_DELAYS[item.attempt - 1]
            retry = _AsyncEvent(
                item.event, item.trigger, item.source, item.message_id, item.attempt + 1,
                now + took + delay,
            )  # fmt: skip
            fn._async.append(retry)
            fn._async.sort(key=lambda e: e.due)
        elif fn.dead_letter_url:
            self._send_to_function_dlq(fn, item, request_id, error)
            self._dead_lettered.append(item.message_id)
        else:
            self._discarded.append(item.message_id)

    def _send_to_function_dlq(
        self, fn: Function, item: _AsyncEvent, request_id: str, error: str
    ) -> None:
        code = "200"
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": code},
            "ErrorMessage": {"DataType": "String", "StringValue": error[:256] or "error"},
        }
        with self._acting_as(fn.name):
            sent = self._sqs().send_message(
                QueueUrl=fn.dead_letter_url,
                MessageBody=json.dumps(item.event),
                MessageAttributes=attributes,
            )
        self._hops.link(sent["MessageId"], item.message_id)
        dlq = _queue_arn(fn.dead_letter_url, self._clients.region, self._account_id())
        self._hops.add_hop(
            fn.arn, dlq, item.message_id, "dead-lettered",
            detail=f"failed {item.attempt} attempts: {error}"[:200],
        )  # fmt: skip

    def _collect_pushes(self) -> None:
        """Take the invocations labkit's bridges queued for this lab's functions."""
        for item in self._bridges.take_invocations():
            arn = item["function"]
            if not any(fn.arn == arn for fn in self._functions.values()):
                continue
            self.deliver(
                arn,
                item["event"],
                trigger=item["trigger"],
                source=item["source"],
                message_id=item["message_id"],
            )

    # -- plumbing -------------------------------------------------------------------------
    def _record(
        self,
        fn: Function,
        request_id: str,
        now: float,
        took: float,
        trigger: Trigger,
        source: str,
        ids: tuple[str, ...],
        outcome: Outcome,
        failed: tuple[str, ...],
        error: str | BaseException = "",
        *,
        attempt: int = 1,
    ) -> None:
        message = _describe(error) if isinstance(error, BaseException) else error
        self._invocations.append(
            Invocation(
                next(self._seq),
                fn.name,
                request_id,
                round(now, 6),
                round(took, 6),
                trigger,
                source,
                ids,
                outcome,
                tuple(failed),
                message,
                attempt,
            )  # fmt: skip
        )

    def _later(self, at: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._pending, (at, next(self._seq), _Pending(at, action)))

    def _request_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _sqs(self) -> Any:
        return self._clients.client("sqs")

    def _acting_as(self, name: str) -> AbstractContextManager[None]:
        return self._hops.acting_as(name)

    def _account_id(self) -> str:
        if not self._account:
            if self._moto:
                self._account = "123456789012"
            else:
                self._account = self._clients.client("sts").get_caller_identity()["Account"]
        return self._account

    def _queue_url(self, queue: str) -> str:
        if queue.startswith("arn:"):
            name = queue.rsplit(":", 1)[-1]
            owner = queue.split(":")[4]
            sqs = self._sqs()
            try:
                answer = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)
            except sqs.exceptions.QueueDoesNotExist:
                pass
            else:
                return str(answer["QueueUrl"])
        elif queue.startswith(("http://", "https://")):
            return queue
        raise LabError(
            "an existing queue's URL or ARN",
            repr(queue),
            "create the queue first and pass create_queue(...)['QueueUrl'] or its QueueArn",
        )

    def _create_function(self, name: str) -> str:
        """A real-looking ARN: on moto, a function really exists in its Lambda service."""
        if not self._moto:
            return f"arn:aws:lambda:{self._clients.region}:{self._account_id()}:function:{name}"
        lam = self._clients.client("lambda")
        try:
            lam.delete_function(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            pass  # a first deploy: nothing to replace
        answer = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self._role(),
            Handler="index.handler",
            Code={"ZipFile": _STUB_ZIP},
            Description="handler run by labkit's local function runtime",
            Timeout=3,
        )
        return str(answer["FunctionArn"])

    def _role(self) -> str:
        if not self._role_arn:
            iam = self._clients.client("iam")
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            try:
                self._role_arn = iam.get_role(RoleName=FUNCTION_ROLE)["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                self._role_arn = iam.create_role(
                    RoleName=FUNCTION_ROLE, AssumeRolePolicyDocument=json.dumps(trust)
                )["Role"]["Arn"]
        return self._role_arn

    def _sync_clock(self) -> None:
        if self._clock.remote_url is not None:
            self._remote_now = self._clock.elapsed()

    def _advanced(self, seconds: float) -> None:
        if self._remote_now is not None:
            self._remote_now = round(self._remote_now + seconds, 6)


# -- helpers ----------------------------------------------------------------------------------
def _stub_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("index.py", date_time=(2026, 1, 5, 9, 0, 0))
        archive.writestr(info, "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


_STUB_ZIP = _stub_zip()


def _queue_arn(url: str, region: str, account: str) -> str:
    parts = url.rstrip("/").split("/")
    return f"arn:aws:sqs:{region}:{parts[-2] if len(parts) >= 2 else account}:{parts[-1]}"


def _receive_direct(backend: Any, queue_arn: str, count: int) -> list[dict[str, Any]]:
    """ReceiveMessage on moto's backend, answered in the shape boto3 parses it into."""
    name = queue_arn.rsplit(":", 1)[-1]
    queue = backend.get_queue(name)
    found = backend.receive_message(name, count, 0, queue.visibility_timeout, ["All"])
    answer = []
    for message in found:
        item: dict[str, Any] = {
            "MessageId": message.id,
            "ReceiptHandle": message.receipt_handle,
            "MD5OfBody": message.body_md5,
            "Body": message.body,
        }
        attributes = {
            "SenderId": message.sender_id,
            "SentTimestamp": str(message.sent_timestamp),
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if message.deduplication_id is not None:
            attributes["MessageDeduplicationId"] = message.deduplication_id
        if message.group_id is not None:
            attributes["MessageGroupId"] = message.group_id
        if message.sequence_number is not None:
            attributes["SequenceNumber"] = message.sequence_number
        item["Attributes"] = attributes
        if len(message.message_attributes):
            item["MessageAttributes"] = {
                key: {
                    k: (base64.b64decode(v) if k == "BinaryValue" and isinstance(v, str) else v)
                    for k, v in value.items()
                }
                for key, value in message.message_attributes.items()
            }
            item["MD5OfMessageAttributes"] = message.attribute_md5
        answer.append(item)
    return answer


def _sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """The record Lambda builds from one received SQS message."""
    attributes = {k: str(v) for k, v in message.get("Attributes", {}).items()}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": {
            name: _lambda_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        out["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw
    return out


def _batch_failures(answer: Any, ids: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """Read ``batchItemFailures``: (failed ids, "" ) or ((), why the whole batch failed)."""
    if answer is None:
        return (), ""
    if not isinstance(answer, dict) or "batchItemFailures" not in answer:
        return (), ""
    items = answer["batchItemFailures"]
    if items is None:
        return (), ""
    known = set(ids)
    failed: list[str] = []
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in known:
            # Lambda treats an empty, null or unknown itemIdentifier as a failure of the batch
            return (), f"invalid batchItemFailures entry {item!r}: the whole batch is retried"
        failed.append(str(identifier))
    return tuple(dict.fromkeys(failed)), ""


def _redrive_policy(text: str) -> dict[str, Any]:
    """A queue's ``RedrivePolicy`` attribute, the JSON document SQS answers, as a dict."""
    policy: dict[str, Any] = json.loads(text)
    return policy


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
