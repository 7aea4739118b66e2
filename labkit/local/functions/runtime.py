"""The local function runtime's event loop: Lambda-style handlers fed by labkit pollers and
pushes, on the lab's clock.

moto cannot run Lambda functions without Docker, so labkit runs them: a handler is a plain Python
function ``handler(event, context)``, given the event shapes AWS sends:

* from an SQS queue, through an event source mapping: ``{"Records": [{"messageId",
  "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource":
  "aws:sqs", "eventSourceARN", "awsRegion"}, ...]}`` in batches, with the mapping's semantics
  (batch size, batching window, the queue's visibility timeout, ``batchItemFailures`` when
  ``ReportBatchItemFailures`` is on, retries until ``maxReceiveCount``, then the queue's
  dead-letter queue);
* from a DynamoDB table's stream, through an event source mapping: ``{"Records": [{"eventID",
  "eventName", "dynamodb": {"NewImage", "SequenceNumber", ...}, "eventSource": "aws:dynamodb",
  "eventSourceARN", ...}, ...]}``, each shard in order, with the stream rules (starting
  position, retries, bisect on error, on-failure destination: see ``streams``);
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

from collections import Counter
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.local.functions.destinations import Destinations
from labkit.local.functions.faults import Faults
from labkit.local.functions.function import Function, check_settings
from labkit.local.functions.mapping import (
    EventSourceMapping,
    check_batching,
    check_max_concurrency,
)
from labkit.local.functions.polling import Queues
from labkit.local.functions.pushes import Push, Pushes
from labkit.local.functions.recursion import Chains
from labkit.local.functions.resources import Resources
from labkit.local.functions.results import Ledger
from labkit.local.functions.shared import TICK, Agenda, Shared
from labkit.local.functions.streams import StreamMapping, check_stream_settings

if TYPE_CHECKING:
    from labkit.local.bridges import Bridges
    from labkit.local.clock import Clock
    from labkit.local.functions.events import Handler, Trigger
    from labkit.local.functions.results import Invocation, RunResult
    from labkit.parts import Clients, Hooks, HopSink

__all__ = ["Runtime"]

#: The Lambda calls that change how the runtime treats a function's asynchronous events.
LAMBDA_SETTINGS_CALLS = (
    "PutFunctionConcurrency",
    "DeleteFunctionConcurrency",
    "PutFunctionEventInvokeConfig",
    "UpdateFunctionEventInvokeConfig",
    "DeleteFunctionEventInvokeConfig",
)
#: Invocations at one lab instant after which a run is taken for a loop (no time passing).
INSTANT_LIMIT = 5_000
#: How long pollers let simulated time jump when nothing is known to be due.
VIRTUAL_POLL_INTERVAL = 20.0
REAL_POLL_INTERVAL = 1.0


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
        self._bridges = bridges
        self._in_process = in_process
        self._moto = moto
        self._functions: dict[str, Function] = {}
        self._mappings: list[EventSourceMapping] = []
        self._streams: list[StreamMapping] = []
        self._ledger = Ledger(seed)
        self._agenda = Agenda(self._ledger.next_seq)
        self._resources = Resources(clients=clients, moto=moto)
        queues = Queues(
            clients=clients, hops=hops, in_process=in_process, account=self._resources.account_id
        )
        self._chains = Chains(hooks.on, hops.origin)
        destinations = Destinations(
            clients=clients, hops=hops, queues=queues, resources=self._resources
        )
        destinations.forward = lambda arn, event, source, origin: self.deliver(
            arn, event, trigger="direct", source=source, message_id=origin
        )
        self._shared = Shared(
            self._ledger, self._agenda, queues, hops, self._resources, self._chains, destinations
        )
        self._pushes = Pushes(self._shared)
        self._remote_now: float | None = None
        self._settings_changed = False
        for operation in LAMBDA_SETTINGS_CALLS:
            hooks.on(f"after-call.lambda.{operation}", self._settings_call, f"labkit-{operation}")
        self._sync_clock()
        hooks.on_reset(self.clear)
        if clock.remote_url is not None:
            hooks.on_stop(clock.on_advance(self._advanced))
        if moto:
            # a stream mapping made with boto3 starts reading (LATEST: from now) when it is made
            hooks.on(
                "after-call.lambda.CreateEventSourceMapping",
                self._mapping_made,
                "labkit-runtime-stream-mappings",
            )

    # -- public ---------------------------------------------------------------------------
    def deploy(
        self,
        name: str,
        handler: Handler,
        *,
        concurrency: int = 1,
        timeout: float = 3.0,
        duration: float = 0.0,
        per_record: float = 0.0,
        faults: Faults | None = None,
        retries: int = 2,
        dead_letter: str | None = None,
    ) -> Function:
        """Deploy `handler` as function `name`; deploying the same name again replaces it.

        ``concurrency``: invocations running at once (Lambda's reserved concurrency);
        ``timeout``: seconds before an invocation times out (Lambda's 1 to 900); ``duration``:
        simulated seconds each invocation takes, plus ``per_record`` for each record of its
        event (a batch of 10 takes ``duration + 10 * per_record``); ``retries`` (0-2) and
        ``dead_letter`` (a queue URL or ARN) apply to asynchronous invocations (SNS,
        EventBridge), like MaximumRetryAttempts and the function's DeadLetterConfig.
        """
        check_settings(handler, concurrency, timeout, duration + per_record, retries)
        old = self._functions.pop(name, None)
        if old is not None:
            self._mappings = [m for m in self._mappings if m.function is not old]
            self._pushes.forget(old)
            for stream in self._streams:
                if stream.function is old:
                    stream.function = None  # type: ignore[assignment]  # set again below
        arn = self._resources.create_function(name, timeout)
        dlq_url = self._resources.queue_url(dead_letter) if dead_letter else ""
        fn = Function(
            self,
            name,
            handler,
            arn,
            concurrency=concurrency,
            timeout=float(timeout),
            duration=float(duration),
            per_record=float(per_record),
            faults=faults or Faults(),
            retries=retries,
            dead_letter_url=dlq_url,
            ledger=self._ledger,
        )
        if old is not None:
            for mapping in old.mappings:
                mapping.function = fn
                fn.mappings.append(mapping)
                self._mappings.append(mapping)
            for stream in self._streams:
                if stream.function is None:
                    stream.function = fn
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
        """Every mapping, those made with ``lambda.create_event_source_mapping`` included."""
        self.follow_lambda_mappings()
        return tuple(self._mappings)

    def follow_lambda_mappings(self) -> None:
        """Take up the mappings made with boto3's ``lambda.create_event_source_mapping`` now
        (a run does it anyway), so what reads the lab's functions sees them."""
        self._adopt_lambda_mappings()

    @property
    def stream_mappings(self) -> tuple[StreamMapping, ...]:
        """The DynamoDB stream mappings, oldest first."""
        return tuple(self._streams)

    @property
    def invocations(self) -> tuple[Invocation, ...]:
        """Every invocation since the lab started or was reset, oldest first."""
        return self._ledger.invocations

    def connect(
        self,
        queue: str,
        function: Function | str,
        *,
        batch_size: int = 10,
        window: float = 0.0,
        report_failures: bool = False,
        max_concurrency: int | None = None,
    ) -> EventSourceMapping:
        """An event source mapping from `queue` (URL or ARN) to `function`."""
        fn = function if isinstance(function, Function) else self.get(function)
        check_batching(batch_size, window)
        check_max_concurrency(max_concurrency)
        url = self._resources.queue_url(queue)
        arn = self._resources.queue_arn(url)
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
            uuid=self._ledger.new_id(),
            shared=self._shared,
            max_concurrency=max_concurrency,
        )
        mapping.refresh()
        fn.mappings.append(mapping)
        self._mappings.append(mapping)
        return mapping

    def connect_stream(
        self,
        stream_arn: str,
        function: Function | str,
        *,
        starting_position: str,
        batch_size: int = 100,
        max_retries: int = -1,
        bisect: bool = False,
        on_failure: str = "",
        report_failures: bool = False,
    ) -> StreamMapping:
        """A DynamoDB stream mapping from the table stream `stream_arn` to `function` (what
        ``lambda.create_event_source_mapping`` with the stream's ARN makes, on moto)."""
        fn = function if isinstance(function, Function) else self.get(function)
        check_stream_settings(starting_position, batch_size, max_retries, on_failure)
        if ":dynamodb:" not in stream_arn or "/stream/" not in stream_arn:
            raise LabError(
                "a table's stream ARN (describe_table(...)['Table']['LatestStreamArn'])",
                repr(stream_arn),
                "create the table with StreamSpecification={'StreamEnabled': True, "
                "'StreamViewType': 'NEW_IMAGE'} and pass its LatestStreamArn",
            )
        stream = StreamMapping(
            fn,
            stream_arn,
            starting_position=starting_position,
            batch_size=batch_size,
            max_retries=max_retries,
            bisect=bisect,
            on_failure=on_failure,
            report_failures=report_failures,
            uuid=self._ledger.new_id(),
            shared=self._shared,
            clients=self._clients,
            wall=self._clock.now,
            elapsed=self.now,
        )
        self._streams.append(stream)
        return stream

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
        self._streams.clear()
        self._ledger.clear()
        self._agenda.clear()
        self._pushes.clear()
        self._resources.clear()
        self._chains.clear()
        self._sync_clock()

    def deliver(
        self,
        function_arn: str,
        event: Any,
        *,
        trigger: Trigger,
        source: str,
        message_id: str,
        at: float | None = None,
    ) -> None:
        """Queue an asynchronous invocation (what a bridge does for SNS or EventBridge), handed
        over at lab time `at` (now)."""
        fn = self.get(function_arn)
        at = self.now() if at is None else at
        self._pushes.add(fn, Push(event, trigger, source, message_id, 1, at, at))

    # -- the event loop -------------------------------------------------------------------
    def _run(self, *, until: float, stop_when_idle: bool) -> RunResult:
        start = self.now()
        end = start + until
        mark = self._ledger.mark()
        self._adopt_lambda_mappings()
        self._read_lambda_settings()
        self._adopt_stream_mappings()
        for mapping in self._mappings:
            mapping.refresh()
            mapping.poll_again()
        for stream in self._streams:
            stream.poll_again()
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
        ended = self.now()
        idle = idle or self._next_wake(self.now()) is None
        return self._ledger.since(mark, started=start, ended=ended, idle=idle)

    def _step(self, now: float) -> bool:
        """Do everything due at `now` until nothing more can happen without time passing."""
        moved = False
        first = len(self._ledger)
        while True:
            self._check_instant(now, first)
            invoked = len(self._ledger)
            progress = self._agenda.run_due(now)
            if self._pushes.run_due(self._functions.values(), now):
                progress = True
            for mapping in [*self._mappings, *self._streams]:
                if mapping.poll(now):
                    progress = True
            if len(self._ledger) != invoked:
                # a handler may have sent to a queue polled empty a moment ago (its own, too),
                # or written to a table whose stream was read empty
                for mapping in [*self._mappings, *self._streams]:
                    mapping.poll_again()
            if not progress:
                return moved
            moved = True

    def _check_instant(self, now: float, first: int) -> None:
        """Stop a run that cannot leave lab time `now`: functions invoked over and over with no
        time passing (a handler feeding the queue it reads, with a duration of 0)."""
        if len(self._ledger) - first <= INSTANT_LIMIT:
            return
        names = Counter(i.function for i in self._ledger.invoked_since(first)).most_common(2)
        busiest = ", ".join(f"{name!r} ({count} times)" for name, count in names)
        raise LabError(
            "lab time to move on while functions run",
            f"{len(self._ledger) - first} invocations at lab time {now:g} s, of {busiest}, "
            "without time passing",
            "a handler that sends to the queue (or topic) that triggers it runs for ever: send "
            "elsewhere, or stop after a while; give the function a duration "
            "(deploy(..., duration=0.1)) so each invocation takes lab time",
        )

    def _next_wake(self, now: float) -> float | None:
        """The next lab time something is known to happen; None when the runtime is idle."""
        times = self._agenda.times()
        times += self._pushes.wake_times(self._functions.values())
        for mapping in [*self._mappings, *self._streams]:
            times += mapping.wake_times(now)
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
        if self._mappings or self._streams:
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
        # every mapping, matched by FunctionArn: moto 5.2.5 filters FunctionName by the text the
        # mapping was created with (a name does not find one created with the ARN, nor back)
        listed = lam.list_event_source_mappings().get("EventSourceMappings", [])
        for fn in list(self._functions.values()):
            for esm in listed:
                if esm.get("FunctionArn") != fn.arn:
                    continue
                if esm["UUID"] in known or ":sqs:" not in esm.get("EventSourceArn", ""):
                    continue
                mapping = self.connect(
                    esm["EventSourceArn"],
                    fn,
                    batch_size=int(esm.get("BatchSize") or 10),
                    window=float(esm.get("MaximumBatchingWindowInSeconds") or 0),
                    report_failures="ReportBatchItemFailures"
                    in (esm.get("FunctionResponseTypes") or []),
                    max_concurrency=(esm.get("ScalingConfig") or {}).get("MaximumConcurrency"),
                )
                mapping.uuid = esm["UUID"]
                mapping.enabled = esm.get("State", "Enabled") in ("Enabled", "Enabling")

    def _settings_call(self, **_: Any) -> None:
        self._settings_changed = True

    def _read_lambda_settings(self) -> None:
        """Read what Lambda holds for each function (on moto) after a call changed it: its
        reserved concurrency and its asynchronous settings."""
        if not self._moto or not self._functions or not self._settings_changed:
            return
        self._settings_changed = False
        lam = self._clients.client("lambda")
        for fn in self._functions.values():
            reserved = lam.get_function_concurrency(FunctionName=fn.arn)
            fn.reserved = reserved.get("ReservedConcurrentExecutions")
            try:
                fn.event_config = lam.get_function_event_invoke_config(FunctionName=fn.arn)
            except lam.exceptions.ResourceNotFoundException:
                fn.event_config = {}

    def _adopt_stream_mappings(self) -> None:
        """Follow DynamoDB stream mappings made with boto3 (on moto), for the lab's functions
        named by name or ARN."""
        if not self._moto or not self._functions:
            return
        known = {m.uuid for m in self._streams}
        by_arn = {fn.arn: fn for fn in self._functions.values()}
        answer = self._clients.client("lambda").list_event_source_mappings()
        for esm in answer.get("EventSourceMappings", []):
            fn = by_arn.get(esm.get("FunctionArn", ""))
            if fn is not None and esm["UUID"] not in known and "/stream/" in esm["EventSourceArn"]:
                self._adopt_stream(esm, fn)

    def _adopt_stream(self, esm: dict[str, Any], fn: Function) -> None:
        """Follow a DynamoDB stream mapping as CreateEventSourceMapping answered it."""
        destination = (esm.get("DestinationConfig") or {}).get("OnFailure") or {}
        retries = esm.get("MaximumRetryAttempts")
        stream = self.connect_stream(
            esm["EventSourceArn"],
            fn,
            starting_position=esm.get("StartingPosition") or "",
            batch_size=int(esm.get("BatchSize") or 100),
            max_retries=-1 if retries is None else int(retries),
            bisect=bool(esm.get("BisectBatchOnFunctionError")),
            on_failure=str(destination.get("Destination") or ""),
            report_failures="ReportBatchItemFailures" in (esm.get("FunctionResponseTypes") or []),
        )
        stream.uuid = esm["UUID"]
        stream.enabled = esm.get("State", "Enabled") in ("Enabled", "Enabling")

    def _mapping_made(self, parsed: Any, **_: Any) -> None:
        """After CreateEventSourceMapping: a stream mapping starts reading now."""
        if isinstance(parsed, dict) and "/stream/" in str(parsed.get("EventSourceArn", "")):
            self._adopt_stream_mappings()

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
                at=self._bridges.lab_time(item.get("at")),
            )

    def _sync_clock(self) -> None:
        if self._clock.remote_url is not None:
            self._remote_now = self._clock.elapsed()

    def _advanced(self, seconds: float) -> None:
        if self._remote_now is not None:
            self._remote_now = round(self._remote_now + seconds, 6)
