"""labkit's bridges: the deliveries AWS performs that moto 5.2.5 does not.

Each bridge follows what the AWS documentation describes, and exists only where moto answers
(in this process on the embedded backend, or inside ``python -m labkit.server``); on ``aws`` and
on other endpoints the service itself delivers, and labkit's bridges stay off.

* **EventBridge -> SNS**: a rule's SNS target gets the event as the message (or the target's
  ``Input`` / ``InputPath`` / ``InputTransformer`` result), published through moto's SNS, so the
  topic's own subscriptions fan it out.
* **EventBridge -> Step Functions**: a state machine target starts one execution per matching
  event, with the event as its input.
* **EventBridge -> function** and **SNS -> function** (``Protocol="lambda"``): the event, in the
  shape Lambda gives it, is queued for labkit's local function runtime (``lab.functions``), which
  invokes the handler asynchronously (with Lambda's retries) as simulated time runs.
* **Scheduled rules**: ``rate(...)`` and six-field ``cron(...)`` expressions fire on the lab's
  clock; each firing sends a ``"Scheduled Event"`` from ``aws.events`` to the rule's targets.
* **Disabled rules** match nothing (stock moto delivers to them).
* **Dead-letter queue redrive**: ``StartMessageMoveTask``, ``ListMessageMoveTasks`` and
  ``CancelMessageMoveTask`` move messages from a dead-letter queue back to the queues they came
  from (or to ``DestinationArn``). Moves complete at once; tasks then report ``COMPLETED``.

Every delivery a bridge makes is recorded in the lab's trace with ``via="labkit"``.

>>> import json, labkit
>>> lab = labkit.start_lab()
>>> sqs, sns, events = lab.client("sqs"), lab.client("sns"), lab.client("events")
>>> topic = sns.create_topic(Name="alerts")["TopicArn"]
>>> url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
>>> arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
>>> _ = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
>>> _ = events.put_rule(Name="big", EventPattern=json.dumps({"source": ["shop"]}))
>>> _ = events.put_targets(Rule="big", Targets=[{"Id": "alerts", "Arn": topic}])
>>> _ = events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": "{}"}])
>>> body = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
>>> json.loads(body["Message"])["detail-type"]
'Order'
>>> lab.stop()
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import json
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "BRIDGED_TARGETS",
    "ROUTE",
    "Schedule",
    "parse_schedule",
    "active",
    "take",
    "sync",
    "patch_moto",
    "attach",
]

#: Target services stock moto cannot deliver to, and labkit's bridges do.
BRIDGED_TARGETS = ("sns", "states", "lambda")
#: The calls after which the bridges may have delivered something for the trace.
BRIDGING_CALLS = ("Publish", "PublishBatch", "PutEvents", "StartMessageMoveTask")
#: The route a `python -m labkit.server` answers with what its bridges queued for the client.
ROUTE = "/labkit-api/bridges"
#: At most this many firings of one schedule per catch-up (a week of minutes is 10,080).
MAX_FIRINGS = 20_000

_LOCK = threading.RLock()
#: What the bridges did since the client last asked: invocations for local functions, and
#: deliveries for the trace. Lives in the process moto runs in.
_OUTBOX: dict[str, list[dict[str, Any]]] = {"invocations": [], "deliveries": []}
_SCHEDULED: list[weakref.ref[Any]] = []
_PATCHED = False


# -- the outbox -------------------------------------------------------------------------------
def _post(kind: str, item: dict[str, Any]) -> None:
    with _LOCK:
        _OUTBOX[kind].append(item)


def take() -> dict[str, list[dict[str, Any]]]:
    """Everything queued since the last call (and forget it): ``invocations``, ``deliveries``."""
    with _LOCK:
        out = {k: list(v) for k, v in _OUTBOX.items()}
        for items in _OUTBOX.values():
            items.clear()
    return out


def active(lab: Lab) -> bool:
    """True when labkit's bridges deliver for this lab (moto here, or a labkit server)."""
    return lab.backend.name == "embedded" or (lab.backend.is_moto and lab.backend.virtual_clock)


def _fetch(lab: Lab) -> dict[str, list[dict[str, Any]]]:
    if lab.backend.name == "embedded":
        catch_up()
        return take()
    if not active(lab):
        return {"invocations": [], "deliveries": []}
    from labkit.lab.backends import post_json

    answer = post_json(f"{lab.backend.endpoint_url}{ROUTE}")
    return answer if isinstance(answer, dict) else {"invocations": [], "deliveries": []}


def sync(lab: Lab) -> list[dict[str, Any]]:
    """Record the bridges' deliveries in the lab's trace; return the queued invocations.

    The function runtime calls this before each step; hooks call it after the calls that can
    make a bridge deliver (PutEvents, Publish, PublishBatch) and after the clock moves.
    """
    found = _fetch(lab)
    tracer = getattr(lab, "tracer", None)
    if tracer is not None:
        for item in found.get("deliveries", []):
            _trace(tracer, item)
    pending: list[dict[str, Any]] = getattr(lab, "_bridge_invocations", [])
    pending += found.get("invocations", [])
    lab._bridge_invocations = []  # type: ignore[attr-defined]
    return pending


def take_invocations(lab: Lab) -> list[dict[str, Any]]:
    """The function runtime's view: invocations queued for local handlers."""
    return sync(lab)


def _trace(tracer: Any, item: dict[str, Any]) -> None:
    origin = item["message_id"]
    if not origin:
        return
    for derived in item.get("links", []):
        tracer.link(derived, origin)
    tracer.add_hop(
        item["source"],
        item["target"],
        origin,
        item.get("kind", "delivered"),
        evidence="observed",
        via="labkit",
        detail=item.get("detail", ""),
    )
    fan_out = item.get("fan_out")
    if fan_out:
        spread = getattr(tracer, "fan_out", None) or getattr(tracer, "_fan_out", None)
        if spread is not None:
            # under the event's id (the topic's MessageId is linked to it above), so the path
            # of one event runs on through the topic to its subscribers
            spread(fan_out["topic"], origin, {"Message": fan_out["message"]})
    execution = item.get("execution")
    if execution:
        track = getattr(tracer, "track_execution", None)
        if track is not None:
            track(execution, item["target"])
        elif isinstance(getattr(tracer, "_executions", None), dict):
            with tracer._lock:
                tracer._executions[execution] = item["target"]


# -- EventBridge targets ----------------------------------------------------------------------
def _iso(value: Any) -> str:
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _clean_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it (moto keeps `time` as a number and adds ingestion-time)."""
    out = {k: v for k, v in event.items() if k != "ingestion-time"}
    if "time" in out:
        out["time"] = _iso(out["time"])
    return out


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives: the event, or its Input / InputPath / InputTransformer result."""
    clean = _clean_event(event)
    if target.get("Input"):
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        found = parse(target["InputPath"]).find(clean)
        return found[0].value if found else None
    transformer = target.get("InputTransformer")
    if transformer:
        from moto.events.utils import EventTemplateParser

        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event={**clean, "ingestion-time": event.get("ingestion-time", 0)},
        )
    return clean


def _deliver(rule: Any, target: dict[str, Any], event: dict[str, Any], why: str) -> None:
    """Deliver one event to one SNS, Step Functions or function target."""
    from moto.utilities.arns import parse_arn

    arn = parse_arn(target["Arn"])
    payload = _target_input(target, event)
    delivery: dict[str, Any] = {
        "source": rule.arn,
        "target": target["Arn"],
        "message_id": event["id"],
        "kind": "delivered",
        "detail": why,
    }
    if arn.service == "sns":
        from moto.sns import sns_backends

        message = payload if isinstance(payload, str) else json.dumps(payload)
        backend = sns_backends[arn.account][arn.region]
        message_id = backend.publish(message=message, arn=target["Arn"])
        delivery["links"] = [message_id]
        delivery["fan_out"] = {"topic": target["Arn"], "message_id": message_id, "message": message}
    elif arn.service == "states":
        from moto.moto_api._internal import mock_random
        from moto.stepfunctions.responses import get_backend

        backend = get_backend(arn.account, arn.region)

        name = str(mock_random.uuid4())
        execution = backend.start_execution(
            target["Arn"],
            name=name,
            execution_input=payload if isinstance(payload, str) else json.dumps(payload),
        )
        delivery["kind"] = "started"
        delivery["execution"] = execution.execution_arn
        delivery["links"] = [execution.execution_arn]
    elif arn.service == "lambda":
        _post(
            "invocations",
            {
                "function": target["Arn"],
                "event": payload,
                "trigger": "events",
                "source": rule.arn,
                "message_id": event["id"],
            },
        )
    _post("deliveries", delivery)


def _patch_rules() -> None:
    from moto.events.models import EventsBackend, Rule

    original = Rule.send_to_targets

    def send_to_targets(
        self: Any, original_event: Any, transform_input: bool = True, **kwargs: Any
    ) -> None:
        # AWS: a disabled rule matches no events
        if getattr(self, "state", "ENABLED") != "ENABLED":
            return
        native = [t for t in self.targets if _service(t["Arn"]) not in BRIDGED_TARGETS]
        bridged = [t for t in self.targets if _service(t["Arn"]) in BRIDGED_TARGETS]
        if native:
            view = copy.copy(self)
            view.targets = native
            original(view, original_event, transform_input, **kwargs)
        if not bridged or not self.event_pattern.matches_event(original_event):
            return
        why = "scheduled" if original_event.get("detail-type") == "Scheduled Event" else "rule"
        for target in bridged:
            _deliver(self, target, original_event, why)

    send_to_targets._labkit = True  # type: ignore[attr-defined]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]

    put_rule = EventsBackend.put_rule

    def put_rule_and_schedule(self: Any, *args: Any, **kwargs: Any) -> Any:
        rule = put_rule(self, *args, **kwargs)
        if rule.scheduled_expression:
            parse_schedule(rule.scheduled_expression)  # reject what AWS rejects, early
            now = dt.datetime.fromtimestamp(time.time(), tz=dt.UTC)
            with _LOCK:
                # the schedule starts when the rule is created (or updated)
                rule._labkit_anchor = now
                rule._labkit_next = parse_schedule(rule.scheduled_expression).next_after(now, now)
                rule._labkit_backend = weakref.ref(self)
                if not any(ref() is rule for ref in _SCHEDULED):
                    _SCHEDULED.append(weakref.ref(rule))
        return rule

    EventsBackend.put_rule = put_rule_and_schedule  # type: ignore[method-assign]


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 else ""


# -- SNS -> function --------------------------------------------------------------------------
def _patch_sns() -> None:
    from moto.sns.models import Subscription

    original = Subscription.publish

    def publish(self: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        if self.protocol != "lambda":
            return original(self, message, message_id, *args, **kwargs)
        subject = kwargs.get("subject", args[0] if args else None)
        attributes = kwargs.get("message_attributes", args[1] if len(args) > 1 else None)
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
            attributes, message
        ):
            return None
        if kwargs.get("message_structure") == "json":
            message = self._parse_message_structure(message, "lambda")
        now = dt.datetime.now(dt.UTC)
        record = {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": self.arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": self.topic.arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.amazonaws.com/labkit-local.pem",
                "UnsubscribeUrl": f"https://sns.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={self.arn}",
                "MessageAttributes": {
                    name: {"Type": value.get("Type"), "Value": value.get("Value")}
                    for name, value in (attributes or {}).items()
                },
            },
        }
        _post(
            "invocations",
            {
                "function": self.endpoint,
                "event": {"Records": [record]},
                "trigger": "sns",
                "source": self.topic.arn,
                "message_id": message_id,
            },
        )
        _post(
            "deliveries",
            {
                "source": self.topic.arn,
                "target": self.endpoint,
                "message_id": message_id,
                "kind": "delivered",
                "detail": "subscription",
            },
        )
        return None

    Subscription.publish = publish  # type: ignore[method-assign]


# -- SQS ESMs on moto invoke through Docker: labkit's runtime polls instead -------------------
def _patch_lambda_mappings() -> None:
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        esm = original(self, spec)
        from moto.sqs import sqs_backends

        # moto would invoke the function inside SendMessage (through Docker); labkit's runtime
        # polls the queue with the mapping's settings instead
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            queue.lambda_event_source_mappings.pop(esm.function_arn, None)
        return esm

    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]


# -- scheduled rules --------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """A parsed ScheduleExpression: ``rate(5 minutes)`` or ``cron(0 12 * * ? *)``.

    >>> s = parse_schedule("rate(5 minutes)")
    >>> start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    >>> s.next_after(start).isoformat()
    '2026-01-05T09:05:00+00:00'
    >>> parse_schedule("cron(0 18 ? * MON-FRI *)").next_after(start).isoformat()
    '2026-01-05T18:00:00+00:00'
    """

    expression: str
    rate: float = 0.0  # seconds, for rate()
    fields: tuple[frozenset[int] | None, ...] = ()  # minute, hour, dom, month, dow, year
    last_day: bool = False  # "L" in day-of-month

    def next_after(self, after: dt.datetime, anchor: dt.datetime | None = None) -> dt.datetime:
        """The first firing strictly after `after` (rates count from `anchor`, the creation)."""
        if self.rate:
            base = anchor or after
            elapsed = (after - base).total_seconds()
            steps = int(elapsed // self.rate) + 1
            return base + dt.timedelta(seconds=steps * self.rate)
        minutes, hours, dom, months, dow, years = self.fields
        day = after.replace(second=0, microsecond=0)
        first = True
        for _ in range(366 * 6):
            if self._day_matches(day.date(), dom, months, dow, years):
                for hour in sorted(hours or range(24)):
                    for minute in sorted(minutes or range(60)):
                        at = day.replace(hour=hour, minute=minute)
                        if at > after or (not first and at >= day):
                            if at > after:
                                return at
            day = (day + dt.timedelta(days=1)).replace(hour=0, minute=0)
            first = False
        raise LabError(
            "a cron expression that fires within the next five years",
            self.expression,
            "check the day-of-month, month and year fields",
        )

    def _day_matches(
        self,
        day: dt.date,
        dom: frozenset[int] | None,
        months: frozenset[int] | None,
        dow: frozenset[int] | None,
        years: frozenset[int] | None,
    ) -> bool:
        if years is not None and day.year not in years:
            return False
        if months is not None and day.month not in months:
            return False
        if self.last_day and day.day != calendar.monthrange(day.year, day.month)[1]:
            return False
        if dom is not None and day.day not in dom:
            return False
        # AWS numbers days of the week 1-7 from Sunday
        return dow is None or (day.isoweekday() % 7) + 1 in dow


_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199))


def parse_schedule(expression: str) -> Schedule:
    """Parse an EventBridge ScheduleExpression, raising LabError for what AWS rejects."""
    text = expression.strip()
    hint = "write rate(5 minutes), rate(1 hour) or cron(0 12 * * ? *) (six fields, UTC)"
    if text.startswith("rate(") and text.endswith(")"):
        parts = text[5:-1].split()
        units = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400}
        units["days"] = 86400
        if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in units:
            raise LabError("rate(<value> <unit>)", expression, hint)
        value, unit = int(parts[0]), parts[1]
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise LabError(
                "a positive value, singular unit for 1 (rate(1 minute)), plural otherwise",
                expression,
                hint,
            )
        return Schedule(text, rate=float(value * units[unit]))
    if text.startswith("cron(") and text.endswith(")"):
        parts = text[5:-1].split()
        if len(parts) != 6:
            raise LabError(
                "six cron fields (minutes hours day-of-month month day-of-week year)",
                f"{len(parts)} in {expression}",
                hint,
            )
        if (parts[2] == "?") == (parts[4] == "?"):
            raise LabError(
                "'?' in exactly one of day-of-month and day-of-week",
                expression,
                "AWS needs one of the two to be '?', e.g. cron(0 9 ? * MON-FRI *)",
            )
        last_day = parts[2] == "L"
        fields = tuple(
            None if (i == 2 and last_day) else _cron_field(p, i, expression)
            for i, p in enumerate(parts)
        )
        return Schedule(text, fields=fields, last_day=last_day)
    raise LabError("a rate(...) or cron(...) expression", repr(expression), hint)


def _cron_field(text: str, index: int, expression: str) -> frozenset[int] | None:
    if text in ("*", "?"):
        return None
    low, high = _RANGES[index]
    names = _MONTHS if index == 3 else _DAYS if index == 4 else {}
    values: set[int] = set()

    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise LabError(
                f"numbers{' or names' if names else ''} in cron field {index + 1}",
                f"{token!r} in {expression}",
                "labkit supports , - * / ? and L (last day of month) in cron fields",
            )
        return int(token)

    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = number(step_text)
        if part in ("*", ""):
            start, stop = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, stop = number(a), number(b)
        else:
            start = number(part)
            stop = high if "/" in text else start
        if not (low <= start <= high and low <= stop <= high) or step < 1:
            raise LabError(
                f"values from {low} to {high} in cron field {index + 1}",
                f"{part!r} in {expression}",
                "check the ranges of each field",
            )
        values.update(range(start, stop + 1, step))
    return frozenset(values)


def catch_up(now: float | None = None) -> int:
    """Fire every scheduled rule whose time has come (in this process); returns the firings."""
    if not _SCHEDULED:
        return 0
    now_dt = dt.datetime.fromtimestamp(time.time() if now is None else now, tz=dt.UTC)
    fired = 0
    with _LOCK:
        alive = []
        for ref in _SCHEDULED:
            rule = ref()
            backend = getattr(rule, "_labkit_backend", lambda: None)()
            if rule is None or backend is None or not _still_defined(backend, rule):
                continue
            alive.append(ref)
            fired += _fire_due(backend, rule, now_dt)
        _SCHEDULED[:] = alive
    return fired


def _still_defined(backend: Any, rule: Any) -> bool:
    bus = backend.event_buses.get(rule.event_bus_name)
    return bus is not None and bus.rules.get(rule.name) is rule


def _fire_due(backend: Any, rule: Any, now: dt.datetime) -> int:
    schedule = parse_schedule(rule.scheduled_expression)
    fired = 0
    while rule._labkit_next <= now and fired < MAX_FIRINGS:
        at = rule._labkit_next
        if rule.state == "ENABLED":
            _fire(backend, rule, at)
            fired += 1
        rule._labkit_next = schedule.next_after(at, rule._labkit_anchor)
    return fired


def _fire(backend: Any, rule: Any, at: dt.datetime) -> None:
    from moto.moto_api._internal import mock_random

    event = {
        "version": "0",
        "id": str(mock_random.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": backend.account_id,
        "time": at.timestamp(),
        "region": backend.region_name,
        "resources": [rule.arn],
        "detail": {},
        "ingestion-time": at.timestamp(),
    }
    for target in rule.targets:
        if _service(target["Arn"]) not in BRIDGED_TARGETS:
            _post(
                "deliveries",
                {
                    "source": rule.arn,
                    "target": target["Arn"],
                    "message_id": event["id"],
                    "kind": "delivered",
                    "detail": f"scheduled {rule.scheduled_expression}",
                },
            )
    rule.send_to_targets(event)


def next_firing() -> float | None:
    """The epoch second of the next scheduled firing in this process (None: no schedules)."""
    with _LOCK:
        times = [
            rule._labkit_next.timestamp()
            for rule in (ref() for ref in _SCHEDULED)
            if rule is not None and rule._labkit_next is not None and rule.state == "ENABLED"
        ]
    return min(times) if times else None


# -- SQS: redrive from a dead-letter queue ----------------------------------------------------
def _patch_sqs() -> None:
    from moto.sqs.models import SQSBackend
    from moto.sqs.responses import SQSResponse

    receive = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        # remember where a message came from when moto moves it to a dead-letter queue, as
        # AWS does (DeadLetterQueueSourceArn), so a redrive can send it home
        queue = self.get_queue(queue_name)
        dlq = queue.dead_letter_queue
        before = len(dlq._messages) if dlq is not None else 0
        result = receive(self, queue_name, *args, **kwargs)
        if dlq is not None and len(dlq._messages) > before:
            for message in dlq._messages[before:]:
                if not getattr(message, "_labkit_source", None):
                    message._labkit_source = queue.queue_arn
        return result

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    SQSBackend.start_message_move_task = _start_move  # type: ignore[attr-defined]
    SQSBackend.list_message_move_tasks = _list_moves  # type: ignore[attr-defined]
    SQSBackend.cancel_message_move_task = _cancel_move  # type: ignore[attr-defined]

    def start_message_move_task(self: Any) -> Any:
        from moto.core.responses import ActionResult

        handle = self.sqs_backend.start_message_move_task(
            source_arn=self._get_param("SourceArn"),
            destination_arn=self._get_param("DestinationArn"),
            max_per_second=self._get_param("MaxNumberOfMessagesPerSecond"),
        )
        return ActionResult({"TaskHandle": handle})

    def list_message_move_tasks(self: Any) -> Any:
        from moto.core.responses import ActionResult

        tasks = self.sqs_backend.list_message_move_tasks(
            source_arn=self._get_param("SourceArn"),
            max_results=self._get_param("MaxResults"),
        )
        return ActionResult({"Results": tasks})

    def cancel_message_move_task(self: Any) -> Any:
        from moto.core.responses import ActionResult

        moved = self.sqs_backend.cancel_message_move_task(self._get_param("TaskHandle"))
        return ActionResult({"ApproximateNumberOfMessagesMoved": moved})

    SQSResponse.start_message_move_task = start_message_move_task  # type: ignore[attr-defined]
    SQSResponse.list_message_move_tasks = list_message_move_tasks  # type: ignore[attr-defined]
    SQSResponse.cancel_message_move_task = cancel_message_move_task  # type: ignore[attr-defined]


def _sqs_error(code: str, message: str) -> Exception:
    from moto.sqs.exceptions import SQSException

    return SQSException(code, message)


def _queue_by_arn(backend: Any, arn: str, what: str) -> Any:
    for queue in backend.queues.values():
        if queue.queue_arn == arn:
            return queue
    raise _sqs_error("ResourceNotFoundException", f"The {what} queue {arn} does not exist.")


def _start_move(
    self: Any, source_arn: str, destination_arn: str | None = None, max_per_second: Any = None
) -> str:
    from moto.moto_api._internal import mock_random

    dlq = _queue_by_arn(self, source_arn, "source")
    sources = [q for q in self.queues.values() if q.dead_letter_queue is dlq]
    if not sources:
        raise _sqs_error(
            "InvalidParameterValue",
            "Source queue must be configured as a Dead Letter Queue.",
        )
    if dlq.fifo_queue and not destination_arn:
        raise _sqs_error(
            "InvalidParameterValue", "Redrive to the source queue is not supported for FIFO."
        )
    destination = _queue_by_arn(self, destination_arn, "destination") if destination_arn else None
    tasks = getattr(self, "_labkit_move_tasks", None)
    if tasks is None:
        tasks = self._labkit_move_tasks = []
    if any(t["SourceArn"] == source_arn and t["Status"] == "RUNNING" for t in tasks):
        raise _sqs_error(
            "UnsupportedOperation",
            "There is already a task running. Only one active task is allowed.",
        )
    by_arn = {q.queue_arn: q for q in sources}
    movable = [m for m in list(dlq._messages) if m.visible and not m.delayed]
    to_move = len(movable)
    moved = 0
    handle = str(mock_random.uuid4())
    for message in movable:
        home = destination or by_arn.get(getattr(message, "_labkit_source", "") or "")
        if home is None and len(sources) == 1:
            home = sources[0]
        if home is None:
            continue
        dlq._messages.remove(message)
        message._labkit_source = None
        # a redriven message starts over: receive count and visibility as if just sent
        message.approximate_receive_count = 0
        message.visible_at = 0.0
        home.add_message(message)
        moved += 1
        _post(
            "deliveries",
            {
                "source": source_arn,
                "target": home.queue_arn,
                "message_id": message.id,
                "kind": "redriven",
                "detail": f"message move task {handle}",
            },
        )
    task = {
        "TaskHandle": handle,
        "Status": "COMPLETED",
        "SourceArn": source_arn,
        "ApproximateNumberOfMessagesMoved": moved,
        "ApproximateNumberOfMessagesToMove": to_move,
        "StartedTimestamp": int(time.time() * 1000),
    }
    if destination_arn:
        task["DestinationArn"] = destination_arn
    if max_per_second is not None:
        task["MaxNumberOfMessagesPerSecond"] = int(max_per_second)
    tasks.append(task)
    return handle


def _list_moves(self: Any, source_arn: str, max_results: Any = None) -> list[dict[str, Any]]:
    _queue_by_arn(self, source_arn, "source")
    limit = int(max_results or 1)
    if not 1 <= limit <= 10:
        raise _sqs_error("InvalidParameterValue", "MaxResults must be between 1 and 10.")
    tasks = [t for t in getattr(self, "_labkit_move_tasks", []) if t["SourceArn"] == source_arn]
    answer = []
    for task in reversed(tasks[-limit:]):
        entry = dict(task)
        if entry["Status"] != "RUNNING":
            entry.pop("TaskHandle", None)
        answer.append(entry)
    return answer


def _cancel_move(self: Any, handle: str) -> int:
    for task in getattr(self, "_labkit_move_tasks", []):
        if task["TaskHandle"] == handle and task["Status"] == "RUNNING":
            task["Status"] = "CANCELLED"
            return int(task["ApproximateNumberOfMessagesMoved"])
    raise _sqs_error(
        "ResourceNotFoundException", "The task handle does not refer to a running task."
    )


# -- the server route -------------------------------------------------------------------------
def _patch_server() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original: Callable[..., Any] = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        catch_up()
        if environ.get("PATH_INFO") == ROUTE:
            body = json.dumps(take()).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = __call__  # type: ignore[method-assign]


def patch_moto() -> None:
    """Install the bridges in this process's moto (idempotent)."""
    global _PATCHED
    with _LOCK:
        if _PATCHED:
            return
        _patch_rules()
        _patch_sns()
        _patch_lambda_mappings()
        _patch_sqs()
        _patch_server()
        _PATCHED = True


# -- the client side --------------------------------------------------------------------------
def attach(lab: Lab) -> None:
    """Follow the bridges from a lab: trace their deliveries, fire schedules on the clock."""
    lab._bridge_invocations = []  # type: ignore[attr-defined]
    if not active(lab):
        return
    if lab.backend.name == "embedded":
        take()  # what an earlier lab left behind is not this lab's

    def after(**_: Any) -> None:
        runtime = getattr(lab, "functions", None)
        items = sync(lab)
        if runtime is not None and items:
            lab._bridge_invocations = items  # type: ignore[attr-defined]

    def after_call(model: Any = None, **_: Any) -> None:
        if getattr(model, "name", "") in BRIDGING_CALLS:
            after()

    # Registered per service, like the tracer's own after-call handlers and after them, so the
    # trace holds the call (a "sent" hop) before the deliveries the bridges made inside it.
    for service in ("sns", "eventbridge", "sqs"):
        lab.on(f"after-call.{service}", after_call, f"labkit-bridges-after-call.{service}")

    def advanced(seconds: float) -> None:
        after()

    lab.on_stop(lab.clock.on_advance(advanced))

    def reset() -> None:
        _fetch(lab)
        lab._bridge_invocations = []  # type: ignore[attr-defined]

    lab.on_reset(reset)
