"""Tracing: every messaging call the lab's clients make, and the hops AWS performs inside them.

Calls are seen through botocore's event system on the lab's session (``before-parameter-build``
and ``after-call``, registered with unique ids and removed when the lab stops). The hops that
happen inside one call (SNS -> SQS, EventBridge rule -> target, a Step Functions task -> service,
SQS -> dead-letter queue) fire no event: they are inferred from the topology (subscriptions,
rules, targets, redrive policies, state machine definitions) and confirmed from what arrives
(the SNS envelope's MessageId and TopicArn, the EventBridge event ``id``, the same SQS MessageId
showing up in a dead-letter queue, the execution history). The same reasoning works on every
backend because it only uses what AWS itself returns.

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

import dataclasses
import datetime as dt
import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import labkit.matcher as matching
from labkit.trace.flows import Flow
from labkit.trace.records import Call, Evidence, Hop, HopKind, Via, actor

if TYPE_CHECKING:
    from labkit.local.clock import Clock
    from labkit.parts import Clients, Hooks

__all__ = ["Tracer", "queue_arn", "DEFAULT_PUBLISHER", "DEFAULT_CONSUMER"]

#: Who sends or receives when no actor was named.
DEFAULT_PUBLISHER = actor("publisher")
DEFAULT_CONSUMER = actor("consumer")

#: botocore's event-name id for each traced service.
TRACED = {
    "sqs": "sqs",
    "sns": "sns",
    "events": "eventbridge",
    "stepfunctions": "sfn",
    "dynamodb": "dynamodb",
}
#: Operations that change the wiring the tracer caches (service -> operations).
TOPOLOGY_CHANGES = {
    "sqs": {"CreateQueue", "DeleteQueue", "SetQueueAttributes"},
    "sns": {
        "CreateTopic",
        "DeleteTopic",
        "Subscribe",
        "Unsubscribe",
        "SetSubscriptionAttributes",
        "ConfirmSubscription",
    },
    "events": {
        "CreateEventBus",
        "DeleteEventBus",
        "PutRule",
        "DeleteRule",
        "EnableRule",
        "DisableRule",
        "PutTargets",
        "RemoveTargets",
    },
    "stepfunctions": {"CreateStateMachine", "UpdateStateMachine", "DeleteStateMachine"},
}
#: Deliveries stock moto performs itself; the others come from labkit's bridges (add_hop).
MOTO_NATIVE_TARGETS = {"sqs", "logs", "events"}
RAW_PENDING_LIMIT = 10_000


def queue_arn(url: str, region: str) -> str:
    """The ARN of a queue from its URL (any host: AWS, moto, a local endpoint).

    >>> queue_arn("http://localhost:5000/123456789012/orders", "us-east-1")
    'arn:aws:sqs:us-east-1:123456789012:orders'
    """
    parts = url.rstrip("/").split("/")
    if len(parts) < 2:
        return url
    host = parts[2] if len(parts) > 2 else ""
    if host.startswith("sqs.") and host.count(".") >= 3:
        region = host.split(".")[1]  # the real AWS host names the region
    return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"


def _matched(
    rule: dict[str, Any] | str,
    *,
    scope: str = "MessageAttributes",
    body: str = "",
    attributes: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> tuple[bool, str]:
    """Whether an SNS filter policy (event None) or an EventBridge pattern (event given) matches.

    The one place the tracer makes a routing decision. It asks `labkit.matcher`, the matcher
    that decides the deliveries on `embedded` and writes the "why not delivered?" sentences, so
    a trace, a check and an explanation cannot disagree. Returns (matched, the first reason
    when it does not match).

    >>> _matched({"region": ["eu"]}, attributes={"region": {"DataType": "String",
    ...          "StringValue": "us"}})[1][:47]
    'The message attribute "region" is "us", but the'
    >>> _matched({"source": ["shop"]}, event={"source": "shop", "detail": {}})
    (True, '')
    """
    try:
        if event is not None:
            verdict = matching.explain_pattern(rule, event)
        else:
            verdict = matching.explain_filter(
                rule, scope=scope, body=body, attributes=attributes or {}
            )
    except (matching.InvalidFilterPolicy, matching.InvalidEventPattern) as error:
        return False, str(error)
    if verdict.matched:
        return True, ""
    return False, verdict.reasons[0] if verdict.reasons else "did not match"


@dataclasses.dataclass
class _Subscription:
    arn: str
    protocol: str
    endpoint: str
    policy: dict[str, Any] | None
    scope: str
    raw: bool


@dataclasses.dataclass
class _Rule:
    arn: str
    pattern: str | None
    enabled: bool
    targets: list[str]


@dataclasses.dataclass
class _QueueInfo:
    arn: str
    visibility: float
    dlq: str
    max_receives: int


@dataclasses.dataclass
class _InFlight:
    origin: str
    receives: int
    visible_at: float


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
        self._clients = clients
        self._clock = clock
        self._moto = moto
        self._prefix = "" if moto else prefix
        self._lock = threading.RLock()
        self._local = threading.local()
        self._calls: list[Call] = []
        self._hops: list[Hop] = []
        self._hop_at: dict[tuple[str, str, str, str], int] = {}
        self._seq = 0
        self._enabled = True
        self._default_actor = ""
        self._remote_elapsed: float | None = None
        self._epoch = dt.datetime.fromtimestamp(0, tz=dt.UTC)
        self._clear_state()
        self._register()

    # -- public ------------------------------------------------------------------------------
    @property
    def calls(self) -> tuple[Call, ...]:
        """Every traced call, oldest first."""
        with self._lock:
            return tuple(self._calls)

    @property
    def hops(self) -> tuple[Hop, ...]:
        """Every hop, oldest first (harvesting finished Step Functions executions first)."""
        self._harvest_executions()
        with self._lock:
            return tuple(self._hops)

    @property
    def errors(self) -> tuple[str, ...]:
        """What went wrong inside the tracer (it never breaks a call); empty when all is well."""
        return tuple(self._errors)

    @property
    def enabled(self) -> bool:
        """False while tracing is switched off."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = bool(value)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Record nothing inside the block (the wiring cache still follows changes)."""
        before = self._enabled
        self._enabled = False
        try:
            yield
        finally:
            self._enabled = before

    def name(self, name: str | None) -> None:
        """Attribute the following calls to actor `name` (None: back to unnamed)."""
        self._default_actor = actor(name) if name else ""

    @contextmanager
    def acting_as(self, name: str) -> Iterator[None]:
        """Attribute the calls inside the block to actor `name` (a publisher or consumer)."""
        stack = self._actor_stack()
        stack.append(actor(name))
        try:
            yield
        finally:
            stack.pop()

    def add_hop(
        self,
        source: str,
        target: str,
        message_id: str,
        kind: HopKind,
        *,
        evidence: Evidence = "observed",
        via: Via = "labkit",
        detail: str = "",
        labels: tuple[tuple[str, str], ...] = (),
    ) -> Hop:
        """Record a hop labkit performed (a bridge delivery, a function invocation)."""
        return self._hop(
            source,
            target,
            self.origin(message_id),
            kind,
            evidence=evidence,
            via=via,
            detail=detail,
            labels=labels,
        )

    def origin(self, message_id: str) -> str:
        """The id of the first message a derived id (an SQS copy, a task's message) came from."""
        return self._aliases.get(message_id, message_id)

    def link(self, derived_id: str, origin_id: str) -> None:
        """Declare that `derived_id` carries the message first known as `origin_id`."""
        if derived_id and derived_id != origin_id:
            self._aliases[derived_id] = self.origin(origin_id)

    def track_execution(self, execution_arn: str, machine_arn: str) -> None:
        """Harvest this execution's tasks when it ends (for executions labkit starts itself)."""
        with self._lock:
            self._executions[execution_arn] = machine_arn

    def internal(self) -> AbstractContextManager[None]:
        """Calls inside the block are labkit's own look-ups: they are not recorded."""
        return self._internal()

    def clear(self) -> None:
        """Forget every record (the lab calls this on reset)."""
        with self._lock:
            self._calls.clear()
            self._hops.clear()
            self._hop_at.clear()
            self._seq = 0
            self._clear_state()
        self._sync_clock()

    def flow(self) -> Flow:
        """The hops so far as a :class:`labkit.trace.flows.Flow` (with the lab's wiring)."""
        hops = self.hops
        wiring, dlqs = self._wiring()
        with self._lock:
            return Flow(
                hops,
                calls=tuple(self._calls),
                aliases=dict(self._aliases),
                wiring=wiring,
                dead_letter_queues=dlqs,
            )

    # -- setup -------------------------------------------------------------------------------
    def _register(self) -> None:
        for service, event_id in TRACED.items():
            self._hooks.on(
                f"before-parameter-build.{event_id}",
                self._before,
                f"labkit-trace-before-{service}",
            )
            self._hooks.on(
                f"before-call.{event_id}", self._before_call, f"labkit-trace-call-{service}"
            )
            self._hooks.on(f"after-call.{event_id}", self._after, f"labkit-trace-after-{service}")
        # the generic events run after every service-specific handler (other hooks included),
        # so a call is over only then
        self._hooks.on("after-call", self._call_over, "labkit-trace-over")
        self._hooks.on("after-call-error", self._call_over, "labkit-trace-over-error")
        self._hooks.on_reset(self.clear)
        if self._clock.remote_url is not None:
            # a remote simulated clock only moves when this lab advances it: follow it locally
            # instead of asking the server on every call
            self._hooks.on_stop(self._clock.on_advance(self._advanced))
        self._sync_clock()

    def _sync_clock(self) -> None:
        clock = self._clock
        elapsed = clock.elapsed()
        if clock.remote_url is not None:
            self._remote_elapsed = elapsed
        self._epoch = clock.now() - dt.timedelta(seconds=elapsed)

    def _advanced(self, seconds: float) -> None:
        if self._remote_elapsed is not None:
            self._remote_elapsed = round(self._remote_elapsed + seconds, 6)

    def _now(self) -> float:
        if self._remote_elapsed is not None:
            return self._remote_elapsed
        return self._clock.elapsed()

    def _clear_state(self) -> None:
        self._aliases: dict[str, str] = {}
        self._receipts: dict[str, tuple[str, str]] = {}
        self._inflight: dict[str, dict[str, _InFlight]] = defaultdict(dict)
        self._raw_pending: dict[str, dict[str, deque[str]]] = defaultdict(dict)
        self._executions: dict[str, str] = {}  # execution ARN -> state machine ARN
        self._subscriptions: dict[str, list[_Subscription]] = {}
        self._rules: dict[str, list[_Rule]] = {}
        self._queues: dict[str, _QueueInfo] = {}
        self._definitions: dict[str, dict[str, Any]] = {}
        self._moved: dict[tuple[str, str], str] = {}  # (dead-letter queue, SQS id) -> source
        self._urls: dict[str, str] = {}  # queue ARN -> URL
        self._errors: list[str] = []

    def _actor_stack(self) -> list[str]:
        stack: list[str] | None = getattr(self._local, "actors", None)
        if stack is None:
            stack = self._local.actors = []
        return stack

    def _caller(self) -> str:
        stack = self._actor_stack()
        return stack[-1] if stack else self._default_actor

    @contextmanager
    def _internal(self) -> Iterator[None]:
        """The tracer's own look-ups are not the learner's calls: leave them out."""
        self._local.internal = True
        try:
            yield
        finally:
            self._local.internal = False

    # -- botocore handlers -------------------------------------------------------------------
    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self._enabled and not getattr(self._local, "internal", False):
            context["labkit_trace"] = dict(params)

    def _before_call(self, context: dict[str, Any], **_: Any) -> None:
        active = getattr(self._local, "active", None)
        if active is not None and active is not context:
            # a call made while another is being answered is plumbing (another labkit hook
            # looking something up), not the learner's: leave it out
            context.pop("labkit_trace", None)
        else:
            self._local.active = context

    def _call_over(self, context: dict[str, Any], **_: Any) -> None:
        if getattr(self._local, "active", None) is context:
            self._local.active = None

    def _after(self, parsed: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        op = model.name
        error = parsed.get("Error") if isinstance(parsed, dict) else None
        failed = bool(error and error.get("Code"))
        if not failed and op in TOPOLOGY_CHANGES.get(service, ()):
            self._invalidate(service)
        params = context.get("labkit_trace")
        if params is None:
            return
        try:
            self._record(service, op, params, parsed, error if failed else None)
        except Exception as exc:  # tracing must never break the learner's call
            self._errors.append(f"{service}.{op}: {exc!r}")

    # -- recording ---------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _hop(
        self,
        source: str,
        target: str,
        message_id: str,
        kind: HopKind,
        *,
        evidence: Evidence,
        via: Via = "aws",
        detail: str = "",
        labels: tuple[tuple[str, str], ...] = (),
        time: float | None = None,
    ) -> Hop:
        with self._lock:
            hop = Hop(
                self._next_seq(),
                self._now() if time is None else time,
                source,
                target,
                message_id,
                kind,
                evidence,
                via,
                detail,
                labels,
            )
            self._hop_at[(kind, source, target, message_id)] = len(self._hops)
            self._hops.append(hop)
            return hop

    def _confirm(self, kind: str, source: str, target: str, message_id: str) -> bool:
        """Mark an inferred hop observed; False when there was none to confirm."""
        with self._lock:
            at = self._hop_at.get((kind, source, target, message_id))
            if at is None:
                return False
            hop = self._hops[at]
            if hop.evidence != "observed":
                self._hops[at] = dataclasses.replace(hop, evidence="observed")
            return True

    def _record(
        self,
        service: str,
        op: str,
        params: dict[str, Any],
        parsed: dict[str, Any],
        error: dict[str, Any] | None,
    ) -> None:
        caller = self._caller()
        resource = self._resource(service, params, parsed)
        ids: tuple[str, ...] = ()
        if error is None:
            handler = getattr(self, f"_on_{service}_{op}", None)
            if handler is not None:
                ids = tuple(handler(params, parsed, resource, caller) or ())
        with self._lock:
            self._calls.append(
                Call(
                    self._next_seq(),
                    self._now(),
                    service,
                    op,
                    resource,
                    ids,
                    error is None,
                    str(error.get("Code", "")) if error else "",
                    caller,
                )
            )

    def _resource(self, service: str, params: dict[str, Any], parsed: dict[str, Any]) -> str:
        region = self._clients.region
        if service == "sqs":
            url = params.get("QueueUrl") or parsed.get("QueueUrl")
            if not url:
                return ""
            arn = queue_arn(str(url), region)
            self._urls[arn] = str(url)
            return arn
        if service == "sns":
            return str(params.get("TopicArn") or params.get("TargetArn") or "")
        if service == "events":
            entries = params.get("Entries")
            if isinstance(entries, list) and entries and "EventBusName" in entries[0]:
                return self._bus_arn(str(entries[0]["EventBusName"]))
            if params.get("EventBusName") or "Entries" in params:
                return self._bus_arn(str(params.get("EventBusName") or "default"))
            return str(parsed.get("RuleArn") or parsed.get("EventBusArn") or "")
        if service == "stepfunctions":
            return str(
                params.get("executionArn")
                or params.get("stateMachineArn")
                or parsed.get("stateMachineArn")
                or ""
            )
        if service == "dynamodb" and params.get("TableName"):
            return f"arn:aws:dynamodb:{region}:{self._account()}:table/{params['TableName']}"
        return ""

    def _account(self) -> str:
        return "123456789012" if self._moto else self._aws_account()

    def _aws_account(self) -> str:
        if not hasattr(self, "_aws_account_id"):
            with self._internal():
                self._aws_account_id = self._clients.client("sts").get_caller_identity()["Account"]
        return str(self._aws_account_id)

    def _bus_arn(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:aws:events:{self._clients.region}:{self._account()}:event-bus/{name}"

    # SQS -----------------------------------------------------------------------------------
    def _on_sqs_SendMessage(self, params: dict, parsed: dict, queue: str, caller: str) -> list:
        mid = str(parsed.get("MessageId", ""))
        self._hop(caller or DEFAULT_PUBLISHER, queue, mid, "sent", evidence="observed")
        return [mid]

    def _on_sqs_SendMessageBatch(self, params: dict, parsed: dict, queue: str, caller: str) -> list:
        ids = [str(ok["MessageId"]) for ok in parsed.get("Successful", [])]
        for mid in ids:
            self._hop(caller or DEFAULT_PUBLISHER, queue, mid, "sent", evidence="observed")
        return ids

    def _on_sqs_ReceiveMessage(self, params: dict, parsed: dict, queue: str, caller: str) -> list:
        now = self._now()
        info = self._queue_info(queue, str(params.get("QueueUrl", "")))
        visibility = float(params.get("VisibilityTimeout", info.visibility if info else 30))
        messages = parsed.get("Messages", [])
        inflight = self._inflight[queue]
        returned = set()
        ids = []
        for message in messages:
            sqs_id = str(message.get("MessageId", ""))
            returned.add(sqs_id)
            origin = self._arrived(queue, sqs_id, str(message.get("Body", "")))
            known = inflight.get(sqs_id)
            count = int(
                message.get("Attributes", {}).get(
                    "ApproximateReceiveCount", (known.receives if known else 0) + 1
                )
            )
            inflight[sqs_id] = _InFlight(origin, count, now + visibility)
            self._receipts[str(message.get("ReceiptHandle", ""))] = (queue, sqs_id)
            labels = (("sqs_message_id", sqs_id), ("receive_count", str(count)))
            self._hop(
                queue,
                caller or DEFAULT_CONSUMER,
                origin,
                "received",
                evidence="observed",
                labels=labels,
            )
            ids.append(sqs_id)
        wanted = int(params.get("MaxNumberOfMessages", 1))
        if info is not None and info.dlq and len(messages) < wanted:
            # moto and AWS move a message on the first receive after maxReceiveCount, when it is
            # visible again; a short answer means the whole queue was looked at
            for sqs_id, state in list(inflight.items()):
                if (
                    sqs_id not in returned
                    and state.receives >= info.max_receives
                    and state.visible_at <= now
                ):
                    self._dead_letter(queue, info, sqs_id, state, "inferred")
        return ids

    def _dead_letter(
        self, queue: str, info: _QueueInfo, sqs_id: str, state: _InFlight, evidence: Evidence
    ) -> None:
        self._inflight[queue].pop(sqs_id, None)
        self._inflight[info.dlq][sqs_id] = _InFlight(state.origin, 0, 0.0)
        if evidence == "inferred":
            self._moved[(info.dlq, sqs_id)] = queue
        self.link(sqs_id, state.origin)
        self._hop(
            queue,
            info.dlq,
            state.origin,
            "dead-lettered",
            evidence=evidence,
            detail=f"received {state.receives} times (maxReceiveCount {info.max_receives})",
            labels=(("sqs_message_id", sqs_id),),
        )

    def _arrived(self, queue: str, sqs_id: str, body: str) -> str:
        """Confirm the hop that brought this message here; return the message's origin id."""
        moved = self._moved_into(queue, sqs_id)
        if moved is not None:
            return moved
        if body.startswith("{") and '"TopicArn"' in body and '"MessageId"' in body:
            try:
                envelope = json.loads(body)
            except ValueError:
                envelope = None
            if isinstance(envelope, dict) and envelope.get("Type") == "Notification":
                origin = str(envelope.get("MessageId", ""))
                topic = str(envelope.get("TopicArn", ""))
                if not self._confirm("delivered", topic, queue, origin):
                    self._hop(topic, queue, origin, "delivered", evidence="observed")
                self.link(sqs_id, origin)
                return self.origin(origin)
        if body.startswith("{") and '"detail-type"' in body:
            try:
                event = json.loads(body)
            except ValueError:
                event = None
            if isinstance(event, dict) and "id" in event:
                origin = str(event["id"])
                for rule in self._rules_targeting(queue):
                    if self._confirm("delivered", rule, queue, origin):
                        # the target got it, so the rule matched: confirm bus -> rule too
                        self._confirm("delivered", self._bus_of_rule(rule), rule, origin)
                self.link(sqs_id, origin)
                return self.origin(origin)
        pending = self._raw_pending.get(queue, {}).get(body)
        if pending:
            origin = pending.popleft()
            self._confirm("delivered", self._last_source(origin, queue), queue, origin)
            self.link(sqs_id, origin)
            return origin
        return self.origin(sqs_id)

    def _moved_into(self, queue: str, sqs_id: str) -> str | None:
        """A message seen before in another queue arrived here: a dead-letter move, observed."""
        source = self._moved.pop((queue, sqs_id), None)
        if source is not None:
            origin = self.origin(sqs_id)
            self._confirm("dead-lettered", source, queue, origin)
            return origin
        for other, states in list(self._inflight.items()):
            if other == queue or sqs_id not in states:
                continue
            info = self._queue_info(other, self._urls.get(other, ""))
            if info is not None and info.dlq == queue:
                state = states[sqs_id]
                self._dead_letter(other, info, sqs_id, state, "observed")
                self._moved.pop((queue, sqs_id), None)
                return state.origin
        return None

    def _last_source(self, origin: str, target: str) -> str:
        with self._lock:
            for hop in reversed(self._hops):
                if hop.message_id == origin and hop.target == target and hop.kind == "delivered":
                    return hop.source
        return ""

    def _rules_targeting(self, queue: str) -> list[str]:
        return [
            rule.arn for rules in self._rules.values() for rule in rules if queue in rule.targets
        ]

    def _bus_of_rule(self, rule: str) -> str:
        path = rule.split(":", 5)[-1].split("/")  # rule/name or rule/bus/name
        return self._bus_arn(path[1] if len(path) == 3 else "default")

    def _on_sqs_DeleteMessage(self, params: dict, parsed: dict, queue: str, caller: str) -> list:
        return self._processed(str(params.get("ReceiptHandle", "")), caller)

    def _on_sqs_DeleteMessageBatch(
        self, params: dict, parsed: dict, queue: str, caller: str
    ) -> list:
        done = {ok["Id"] for ok in parsed.get("Successful", [])}
        ids: list[str] = []
        for entry in params.get("Entries", []):
            if entry.get("Id") in done:
                ids += self._processed(str(entry.get("ReceiptHandle", "")), caller)
        return ids

    def _processed(self, receipt: str, caller: str) -> list[str]:
        found = self._receipts.pop(receipt, None)
        if found is None:
            return []
        queue, sqs_id = found
        state = self._inflight[queue].pop(sqs_id, None)
        origin = state.origin if state else self.origin(sqs_id)
        self._hop(
            queue,
            caller or DEFAULT_CONSUMER,
            origin,
            "processed",
            evidence="observed",
            labels=(("sqs_message_id", sqs_id),),
        )
        return [sqs_id]

    def _on_sqs_PurgeQueue(self, params: dict, parsed: dict, queue: str, caller: str) -> list:
        self._inflight.pop(queue, None)
        return []

    # SNS -----------------------------------------------------------------------------------
    def _on_sns_Publish(self, params: dict, parsed: dict, topic: str, caller: str) -> list:
        mid = str(parsed.get("MessageId", ""))
        self._published(topic, mid, params, caller)
        return [mid]

    def _on_sns_PublishBatch(self, params: dict, parsed: dict, topic: str, caller: str) -> list:
        by_id = {entry.get("Id"): entry for entry in params.get("PublishBatchRequestEntries", [])}
        ids = []
        for ok in parsed.get("Successful", []):
            mid = str(ok["MessageId"])
            self._published(topic, mid, by_id.get(ok.get("Id"), {}), caller)
            ids.append(mid)
        return ids

    def _published(self, topic: str, mid: str, params: dict, caller: str) -> None:
        self._hop(caller or DEFAULT_PUBLISHER, topic, mid, "sent", evidence="observed")
        if topic.startswith("arn:") and ":sns:" in topic:
            self.fan_out(topic, mid, params)

    def fan_out(self, topic: str, mid: str, params: dict, time: float | None = None) -> None:
        """Infer the deliveries of message `mid` published to `topic` (its subscriptions)."""
        body = str(params.get("Message", ""))
        attributes = params.get("MessageAttributes") or {}
        for sub in self._topic_subscriptions(topic):
            if not self._natively_delivered(sub.endpoint, sub.protocol):
                continue
            if sub.policy:
                ok, why = _matched(sub.policy, scope=sub.scope, body=body, attributes=attributes)
                if not ok:
                    self._hop(topic, sub.endpoint, mid, "filtered", evidence="inferred", detail=why)
                    continue
            self._hop(topic, sub.endpoint, mid, "delivered", evidence="inferred", time=time)
            if sub.raw and sub.protocol == "sqs":
                pending = self._raw_pending[sub.endpoint].setdefault(
                    body, deque(maxlen=RAW_PENDING_LIMIT)
                )
                pending.append(mid)

    def _natively_delivered(self, target: str, protocol: str = "") -> bool:
        if not self._moto:
            return True
        service = protocol or (target.split(":")[2] if target.startswith("arn:") else "")
        return service in MOTO_NATIVE_TARGETS

    # EventBridge ---------------------------------------------------------------------------
    def _on_events_PutEvents(self, params: dict, parsed: dict, bus: str, caller: str) -> list:
        ids = []
        for entry, answer in zip(
            params.get("Entries", []), parsed.get("Entries", []), strict=False
        ):
            event_id = answer.get("EventId")
            if not event_id:
                continue
            bus_arn = self._bus_arn(str(entry.get("EventBusName") or "default"))
            self._hop(caller or DEFAULT_PUBLISHER, bus_arn, event_id, "sent", evidence="observed")
            self._route_event(bus_arn, event_id, entry)
            ids.append(str(event_id))
        return ids

    def _route_event(self, bus: str, event_id: str, entry: dict) -> None:
        try:
            detail = json.loads(entry.get("Detail") or "{}")
        except ValueError:
            detail = {}
        event = {
            "version": "0",
            "id": event_id,
            "detail-type": entry.get("DetailType"),
            "source": entry.get("Source"),
            "account": bus.split(":")[4],
            "time": (self._epoch + dt.timedelta(seconds=self._now())).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "region": bus.split(":")[3],
            "resources": entry.get("Resources", []),
            "detail": detail,
        }
        for rule in self._bus_rules(bus):
            if not rule.enabled:
                continue
            ok, why = _matched(rule.pattern or "{}", event=event)
            if not ok:
                self._hop(bus, rule.arn, event_id, "filtered", evidence="inferred", detail=why)
                continue
            self._hop(bus, rule.arn, event_id, "delivered", evidence="inferred")
            for target in rule.targets:
                if self._natively_delivered(target):
                    self._hop(rule.arn, target, event_id, "delivered", evidence="inferred")

    # Step Functions ------------------------------------------------------------------------
    def _on_stepfunctions_StartExecution(
        self, params: dict, parsed: dict, machine: str, caller: str
    ) -> list:
        arn = str(parsed.get("executionArn", ""))
        self._hop(caller or DEFAULT_PUBLISHER, machine, arn, "started", evidence="observed")
        with self._lock:
            self._executions[arn] = machine
        return [arn]

    def _on_stepfunctions_DescribeExecution(
        self, params: dict, parsed: dict, resource: str, caller: str
    ) -> list:
        arn = str(parsed.get("executionArn", ""))
        if parsed.get("status") not in (None, "RUNNING") and arn in self._executions:
            self._harvest(arn)
        return []

    def _harvest_executions(self) -> None:
        if not self._executions:
            return
        for arn in list(self._executions):
            with self._internal():
                try:
                    status = self._clients.client("stepfunctions").describe_execution(
                        executionArn=arn
                    )
                except Exception:
                    continue
            if status.get("status") != "RUNNING":
                self._harvest(arn)

    def _harvest(self, execution: str) -> None:
        """Turn a finished execution's history into task / compensation hops."""
        with self._lock:
            machine = self._executions.pop(execution, None)
        if machine is None:
            return
        client = self._clients.client("stepfunctions")
        with self._internal():
            events = client.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        compensations = self._compensation_states(machine)
        state = ""
        scheduled: dict[str, Any] = {}
        for event in events:
            kind = event["type"]
            if kind.endswith("StateEntered"):
                state = event["stateEnteredEventDetails"]["name"]
            elif kind == "TaskScheduled":
                scheduled = event["taskScheduledEventDetails"]
            elif kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut"):
                time = self._elapsed_at(event["timestamp"])
                target = self._task_target(scheduled)
                labels = (("state", state), ("execution", execution))
                if kind == "TaskSucceeded":
                    hop_kind: HopKind = "compensated" if state in compensations else "task"
                    self._hop(
                        machine, target, execution, hop_kind, evidence="observed",
                        labels=labels, time=time,
                    )  # fmt: skip
                    self._task_output(scheduled, target, execution, event, time)
                else:
                    details = event.get("taskFailedEventDetails", {})
                    self._hop(
                        machine, target, execution, "failed", evidence="observed",
                        detail=f"{details.get('error', kind)}: {details.get('cause', '')}"[:200],
                        labels=labels, time=time,
                    )  # fmt: skip

    def _task_output(
        self, scheduled: dict, target: str, execution: str, event: dict, time: float
    ) -> None:
        try:
            output = json.loads(event["taskSucceededEventDetails"].get("output") or "{}")
        except ValueError:
            return
        if not isinstance(output, dict):
            return
        if output.get("MessageId"):
            self.link(str(output["MessageId"]), execution)
        if scheduled.get("resourceType") == "sns" and output.get("MessageId"):
            params = json.loads(scheduled.get("parameters") or "{}")
            self.fan_out(target, execution, params, time)

    def _task_target(self, scheduled: dict) -> str:
        try:
            params = json.loads(scheduled.get("parameters") or "{}")
        except ValueError:
            params = {}
        service = scheduled.get("resourceType", "")
        region = scheduled.get("region") or self._clients.region
        if service == "sqs" and params.get("QueueUrl"):
            return queue_arn(str(params["QueueUrl"]), region)
        if service == "sns" and params.get("TopicArn"):
            return str(params["TopicArn"])
        if service == "dynamodb" and params.get("TableName"):
            return f"arn:aws:dynamodb:{region}:{self._account()}:table/{params['TableName']}"
        if service == "events":
            return self._bus_arn("default")
        if service == "lambda" and params.get("FunctionName"):
            name = str(params["FunctionName"])
            if name.startswith("arn:"):
                return name
            return f"arn:aws:lambda:{region}:{self._account()}:function:{name}"
        return f"service:{service}:{scheduled.get('resource', '')}"

    def _elapsed_at(self, timestamp: dt.datetime) -> float:
        return round((timestamp - self._epoch).total_seconds(), 6)

    def _compensation_states(self, machine: str) -> set[str]:
        """States reached from a Catch: the saga's compensations."""
        definition = self._definitions.get(machine)
        if definition is None:
            with self._internal():
                described = self._clients.client("stepfunctions").describe_state_machine(
                    stateMachineArn=machine
                )
            definition = json.loads(described["definition"])
            self._definitions[machine] = definition
        states = definition.get("States", {})
        todo = [c["Next"] for s in states.values() for c in s.get("Catch", []) if "Next" in c]
        found: set[str] = set()
        while todo:
            name = todo.pop()
            if name in found or name not in states:
                continue
            found.add(name)
            if states[name].get("Next"):
                todo.append(states[name]["Next"])
        return found

    # -- the wiring, cached ------------------------------------------------------------------
    def _invalidate(self, service: str) -> None:
        with self._lock:
            if service == "sqs":
                self._queues.clear()
            elif service == "sns":
                self._subscriptions.clear()
            elif service == "events":
                self._rules.clear()
            elif service == "stepfunctions":
                self._definitions.clear()

    def _topic_subscriptions(self, topic: str) -> list[_Subscription]:
        subs = self._subscriptions.get(topic)
        if subs is not None:
            return subs
        sns = self._clients.client("sns")
        subs = []
        with self._internal():
            pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
            for page in pages:
                for sub in page.get("Subscriptions", []):
                    arn = sub["SubscriptionArn"]
                    if not arn.startswith("arn:"):
                        continue  # pending confirmation: nothing is delivered yet
                    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
                    policy = attrs.get("FilterPolicy")
                    subs.append(
                        _Subscription(
                            arn,
                            sub["Protocol"],
                            sub["Endpoint"],
                            json.loads(policy) if policy else None,
                            attrs.get("FilterPolicyScope") or "MessageAttributes",
                            attrs.get("RawMessageDelivery") == "true",
                        )
                    )
        self._subscriptions[topic] = subs
        return subs

    def _bus_rules(self, bus: str) -> list[_Rule]:
        rules = self._rules.get(bus)
        if rules is not None:
            return rules
        events = self._clients.client("events")
        rules = []
        name = bus.rsplit("/", 1)[-1]
        with self._internal():
            for page in events.get_paginator("list_rules").paginate(EventBusName=name):
                for rule in page.get("Rules", []):
                    if "EventPattern" not in rule:
                        continue  # scheduled rules are fired by the clock, not by PutEvents
                    targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name)
                    rules.append(
                        _Rule(
                            rule["Arn"],
                            rule.get("EventPattern"),
                            rule.get("State", "ENABLED") == "ENABLED",
                            [t["Arn"] for t in targets.get("Targets", [])],
                        )
                    )
        self._rules[bus] = rules
        return rules

    def _queue_info(self, queue: str, url: str) -> _QueueInfo | None:
        info = self._queues.get(queue)
        if info is not None or not url:
            return info
        with self._internal():
            try:
                attrs = self._clients.client("sqs").get_queue_attributes(
                    QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
                )["Attributes"]
            except Exception:
                return None
        redrive = json.loads(attrs.get("RedrivePolicy") or "{}")
        info = _QueueInfo(
            queue,
            float(attrs.get("VisibilityTimeout", 30)),
            str(redrive.get("deadLetterTargetArn", "")),
            int(redrive.get("maxReceiveCount", 0) or 0),
        )
        self._queues[queue] = info
        return info

    def _wiring(self) -> tuple[tuple[tuple[str, str, str], ...], frozenset[str]]:
        """The lab's links as (source, target, what) and its dead-letter queues."""
        links: list[tuple[str, str, str]] = []
        dlqs: set[str] = set()
        prefix = self._prefix
        try:
            with self._internal():
                sqs = self._clients.client("sqs")
                urls = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
                sns = self._clients.client("sns")
                topics = [t["TopicArn"] for t in sns.list_topics().get("Topics", [])]
                buses = [
                    b["Arn"]
                    for b in self._clients.client("events").list_event_buses()["EventBuses"]
                ]
            for url in urls:
                info = self._queue_info(queue_arn(url, self._clients.region), url)
                if info and info.dlq:
                    dlqs.add(info.dlq)
                    links.append((info.arn, info.dlq, "redrive"))
            for topic in topics:
                if prefix and not topic.rsplit(":", 1)[-1].startswith(prefix):
                    continue
                for sub in self._topic_subscriptions(topic):
                    links.append((topic, sub.endpoint, "subscription"))
            for bus in buses:
                for rule in self._bus_rules(bus):
                    links.append((bus, rule.arn, "rule"))
                    links += [(rule.arn, target, "target") for target in rule.targets]
        except Exception:  # the wiring is decoration; a failing look-up must not hide the flow
            pass
        return tuple(links), frozenset(dlqs)
