"""Tracing: every messaging call the lab's clients make, and the hops AWS performs inside them.

Calls are seen through botocore's event system on the lab's session (``before-parameter-build``
and ``after-call``, registered with unique ids and removed when the lab stops). The hops that
happen inside one call (SNS -> SQS, EventBridge rule -> target, a Step Functions task -> service,
SQS -> dead-letter queue) fire no event: they are inferred from the topology (subscriptions,
rules, targets, redrive policies, state machine definitions) and confirmed from what arrives
(the SNS envelope's MessageId and TopicArn, the EventBridge event ``id``, the same SQS MessageId
showing up in a dead-letter queue, the execution history). The same reasoning works on every
backend because it only uses what AWS itself returns.

`Tracer` plugs into botocore and hands each call to the part that knows its service:

* `call_filter` decides which calls are the learner's, `actors` who made them;
* `queues` follows SQS messages in flight and their moves to dead-letter queues;
* `routing` infers SNS and EventBridge deliveries (through `labkit.matcher`);
* `executions` harvests the tasks of finished Step Functions executions;
* `wiring` looks the topology up and caches it, `resources` names the ARNs;
* `journal` keeps the records, `state` everything a reset forgets, `timing` the lab's time.

>>> import labkit
>>> lab = labkit.start_lab()
>>> sqs = lab.client("sqs")
>>> url = sqs.create_queue(QueueName="orders")["QueueUrl"]
>>> with lab.tracer.acting_as("shop"):
...     _ = sqs.send_message(QueueUrl=url, MessageBody="order 1")
>>> [(h.source, h.kind, h.target.rsplit(":", 1)[-1]) for h in lab.tracer.hops]
[('actor:shop', 'sent', 'orders')]
>>> lab.stop()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Unpack

from labkit.trace.actors import DEFAULT_CONSUMER, DEFAULT_PUBLISHER, Actors
from labkit.trace.call_filter import CallFilter
from labkit.trace.executions import Harvester
from labkit.trace.flows import Flow
from labkit.trace.journal import Journal
from labkit.trace.queues import QueueTracker
from labkit.trace.records import Call, Hop, HopKind, HopOptions
from labkit.trace.resources import Resources, queue_arn
from labkit.trace.routing import Router
from labkit.trace.state import TraceState
from labkit.trace.timing import TraceTime
from labkit.trace.wiring import TOPOLOGY_CHANGES, Wiring

if TYPE_CHECKING:
    from labkit.local.clock import Clock
    from labkit.parts import Clients, Hooks

__all__ = ["Tracer", "queue_arn", "DEFAULT_PUBLISHER", "DEFAULT_CONSUMER"]

#: botocore's event-name id for each traced service.
TRACED = {
    "sqs": "sqs",
    "sns": "sns",
    "events": "eventbridge",
    "stepfunctions": "sfn",
    "dynamodb": "dynamodb",
}

#: Turns a successful call (params, parsed answer, resource ARN, caller) into hops; returns the
#: ids of the messages it was about.
Handler = Callable[[dict[str, Any], dict[str, Any], str, str], list[str]]


class Tracer:
    """Records a lab's messaging calls and the hops between resources.

    The lab builds one when it starts (``lab.tracer``) and hands it what it needs: where to
    register its botocore hooks, where to get clients for its look-ups, the clock. ``moto``:
    moto answers the calls, so the deliveries moto cannot make are labkit's bridges' (they
    record those themselves); ``prefix``: only resources named with it are the lab's (on AWS).
    """

    def __init__(
        self, *, hooks: Hooks, clients: Clients, clock: Clock, moto: bool, prefix: str = ""
    ) -> None:
        self._hooks = hooks
        self._clock = clock
        self._lock = lock = threading.RLock()
        self._state = state = TraceState()
        self._filter = CallFilter()
        self._actors = Actors()
        self._time = timing = TraceTime(clock)
        internal = self._filter.internal
        self._journal = journal = Journal(state.records, timing.now, lock)
        self._resources = resources = Resources(
            clients, moto=moto, cache=state.wiring, internal=internal
        )
        self._wiring = wiring = Wiring(
            clients, resources, state.wiring, journal, internal=internal, lock=lock,
            prefix="" if moto else prefix,
        )  # fmt: skip
        self._router = router = Router(journal, wiring, resources, state.routing, timing, moto=moto)
        self._queues = QueueTracker(journal, wiring, resources, router, state.queues, timing.now)
        self._executions = Harvester(
            journal, clients, resources, wiring, router, state.executions, timing,
            internal=internal, lock=lock,
        )  # fmt: skip
        self._handlers = self._handler_table()
        self._register()

    def _handler_table(self) -> dict[tuple[str, str], Handler]:
        """Every operation whose answer makes hops, with the part that reads it."""
        queues, router, executions = self._queues, self._router, self._executions
        return {
            ("sqs", "SendMessage"): queues.sent,
            ("sqs", "SendMessageBatch"): queues.sent_batch,
            ("sqs", "ReceiveMessage"): queues.received,
            ("sqs", "DeleteMessage"): queues.deleted,
            ("sqs", "DeleteMessageBatch"): queues.deleted_batch,
            ("sqs", "PurgeQueue"): queues.purged,
            ("sns", "Publish"): router.published,
            ("sns", "PublishBatch"): router.published_batch,
            ("events", "PutEvents"): router.put_events,
            ("stepfunctions", "StartExecution"): executions.started,
            ("stepfunctions", "DescribeExecution"): executions.described,
        }

    # -- public ------------------------------------------------------------------------------
    @property
    def calls(self) -> tuple[Call, ...]:
        """Every traced call, oldest first."""
        return self._journal.calls

    @property
    def hops(self) -> tuple[Hop, ...]:
        """Every hop recorded so far, oldest first (`harvest` adds those of ended executions)."""
        return self._journal.hops

    @property
    def errors(self) -> tuple[str, ...]:
        """What went wrong inside the tracer (it never breaks a call); empty when all is well."""
        return self._journal.errors

    @property
    def enabled(self) -> bool:
        """False while tracing is switched off."""
        return self._filter.enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._filter.enabled = bool(value)

    def paused(self) -> AbstractContextManager[None]:
        """Record nothing inside the block (the wiring cache still follows changes)."""
        return self._filter.paused()

    def internal(self) -> AbstractContextManager[None]:
        """Calls inside the block are labkit's own look-ups: they are not recorded."""
        return self._filter.internal()

    def name(self, name: str | None) -> None:
        """Attribute the following calls to actor `name` (None: back to unnamed)."""
        self._actors.name(name)

    def acting_as(self, name: str) -> AbstractContextManager[None]:
        """Attribute the calls inside the block to actor `name` (a publisher or consumer)."""
        return self._actors.acting_as(name)

    def add_hop(
        self, source: str, target: str, message_id: str, kind: HopKind, **how: Unpack[HopOptions]
    ) -> Hop:
        """Record a hop labkit performed (a bridge delivery, a function invocation); unless told
        otherwise, observed, done by labkit, now."""
        how = {"evidence": "observed", "via": "labkit", **how}
        return self._journal.hop(source, target, self.origin(message_id), kind, **how)

    def origin(self, message_id: str) -> str:
        """The id of the first message a derived id (an SQS copy, a task's message) came from."""
        return self._journal.origin(message_id)

    def link(self, derived_id: str, origin_id: str) -> None:
        """Declare that `derived_id` carries the message first known as `origin_id`."""
        self._journal.link(derived_id, origin_id)

    def fan_out(
        self, topic: str, message_id: str, params: dict[str, Any], time: float | None = None
    ) -> None:
        """Infer the deliveries of `message_id` published to `topic` (its subscriptions)."""
        try:
            self._router.fan_out(topic, message_id, params, time)
        except Exception as error:  # tracing must never break the learner's call
            self._journal.failed(f"fan-out of {topic}", error)

    def track_execution(self, execution_arn: str, machine_arn: str) -> None:
        """Harvest this execution's tasks when it ends (for executions labkit starts itself)."""
        self._executions.track(execution_arn, machine_arn)

    def harvest(self) -> None:
        """Add the hops of tracked Step Functions executions that have ended.

        Asks Step Functions about each execution still tracked; `flow` does this first.
        """
        self._executions.harvest()

    def clear(self) -> None:
        """Forget every record (the lab calls this on reset)."""
        with self._lock:
            self._state.reset()
        self._time.sync()

    def flow(self) -> Flow:
        """The hops so far as a :class:`labkit.trace.flows.Flow` (with the lab's wiring),
        after harvesting the executions that have ended."""
        self.harvest()
        hops = self.hops
        links, dlqs = self._wiring.links()
        with self._lock:
            return Flow(
                hops,
                calls=self._journal.calls,
                aliases=self._journal.aliases,
                wiring=links,
                dead_letter_queues=dlqs,
            )

    # -- botocore ------------------------------------------------------------------------------
    def _register(self) -> None:
        on, calls = self._hooks.on, self._filter
        for service, event_id in TRACED.items():
            on(
                f"before-parameter-build.{event_id}",
                calls.call_starting,
                f"labkit-trace-before-{service}",
            )
            on(f"before-call.{event_id}", calls.call_sent, f"labkit-trace-call-{service}")
            on(f"after-call.{event_id}", self._after, f"labkit-trace-after-{service}")
        # the generic events run after every service-specific handler (other hooks included),
        # so a call is over only then
        on("after-call", calls.call_over, "labkit-trace-over")
        on("after-call-error", calls.call_over, "labkit-trace-over-error")
        self._hooks.on_reset(self.clear)
        if self._clock.remote_url is not None:
            self._hooks.on_stop(self._clock.on_advance(self._time.advanced))

    def _after(self, parsed: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        op = model.name
        error = parsed.get("Error") if isinstance(parsed, dict) else None
        failed = bool(error and error.get("Code"))
        if not failed and op in TOPOLOGY_CHANGES.get(service, ()):
            self._wiring.invalidate(service)
        params = self._filter.admitted(context)
        if params is None:
            return
        try:
            self._record(service, op, params, parsed, error if failed else None)
        except Exception as exc:  # tracing must never break the learner's call
            self._journal.failed(f"{service}.{op}", exc)

    def _record(
        self,
        service: str,
        op: str,
        params: dict[str, Any],
        parsed: dict[str, Any],
        error: dict[str, Any] | None,
    ) -> None:
        caller = self._actors.caller()
        resource = self._resources.of_call(service, params, parsed)
        ids: tuple[str, ...] = ()
        if error is None:
            handler = self._handlers.get((service, op))
            if handler is not None:
                ids = tuple(handler(params, parsed, resource, caller))
        code = None if error is None else str(error.get("Code", ""))
        self._journal.call(service, op, resource, ids, code, caller)
