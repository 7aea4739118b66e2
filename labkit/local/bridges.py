"""The lab's side of labkit's bridges: the deliveries AWS performs that moto 5.2.5 does not.

The deliveries themselves happen inside moto, made by labkit's moto changes (see
`labkit.moto_patches`: ``events_targets``, ``events_schedules``, ``sns_to_lambda``,
``sqs_message_moves``), which exist only where moto answers: in this process on the embedded
backend, or inside ``python -m labkit.server``. On ``aws`` and on other endpoints the service
itself delivers and the bridges stay off.

:class:`Bridges` follows them from a lab: after each call that can make a bridge deliver
(PutEvents, Publish, PublishBatch, StartMessageMoveTask) and whenever the lab's clock moves, it
fires the scheduled rules that are due, records every bridged delivery in the lab's trace
(``via="labkit"``) and keeps the function invocations for the lab's function runtime.

>>> import json, labkit
>>> from labkit.lessons import allow_delivery, subscriber_queue
>>> lab = labkit.start_lab()
>>> sqs, sns, events = lab.client("sqs"), lab.client("sns"), lab.client("events")
>>> topic = sns.create_topic(Name="alerts")["TopicArn"]
>>> url, arn = subscriber_queue(lab, "inbox", topic)
>>> _ = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
>>> rule = events.put_rule(Name="big", EventPattern=json.dumps({"source": ["shop"]}))
>>> allow_delivery(lab, rule["RuleArn"], topic)
>>> _ = events.put_targets(Rule="big", Targets=[{"Id": "alerts", "Arn": topic}])
>>> _ = events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": "{}"}])
>>> body = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
>>> json.loads(body["Message"])["detail-type"]
'Order'
>>> lab.stop()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.endpoint import post_json
from labkit.moto_patches import delivery_metrics, delivery_retries, events_schedules, outbox
from labkit.moto_patches.events_targets import BRIDGED_TARGETS

if TYPE_CHECKING:
    from labkit.local.clock import Clock
    from labkit.parts import Hooks, HopSink

__all__ = ["BRIDGED_TARGETS", "BRIDGING_CALLS", "Bridges"]

#: The calls after which the bridges may have delivered something for the trace.
BRIDGING_CALLS = frozenset({"Publish", "PublishBatch", "PutEvents", "StartMessageMoveTask"})

Found = dict[str, list[dict[str, Any]]]


class Bridges:
    """Follows labkit's moto-side deliveries for one lab.

    ``in_process``: moto runs in this process (the embedded backend); ``server_url``: the labkit
    server moto runs in otherwise (None: nobody bridges, the service delivers itself).
    """

    def __init__(
        self,
        *,
        hooks: Hooks,
        clock: Clock,
        hops: HopSink,
        in_process: bool,
        server_url: str | None,
    ) -> None:
        self.in_process = in_process
        self.server_url = None if in_process else server_url
        self._hops = hops
        self._clock = clock
        self._invocations: list[dict[str, Any]] = []
        if not self.active:
            return
        if in_process:
            outbox.take()  # what an earlier lab left behind is not this lab's
        # Registered per service, after the tracer's own after-call handlers (the lab builds the
        # tracer first), so the trace holds the call (a "sent" hop) before the deliveries the
        # bridges made inside it.
        for service in ("sns", "eventbridge", "sqs"):
            hooks.on(f"after-call.{service}", self._after_call, f"labkit-bridges.{service}")
        hooks.on_stop(clock.on_advance(lambda _seconds: self.sync()))
        hooks.on_reset(self._reset)

    @property
    def active(self) -> bool:
        """True when labkit's bridges deliver for this lab (moto here, or a labkit server)."""
        return self.in_process or self.server_url is not None

    def sync(self) -> None:
        """Fire due schedules, record the bridges' deliveries, keep their invocations."""
        found = self._fetch()
        for item in found.get("deliveries", []):
            self._trace(item)
        self._invocations += found.get("invocations", [])

    def lab_time(self, at: float | None) -> float | None:
        """Epoch second `at` (a delivery's stamp) in lab seconds; None stays None."""
        if at is None:
            return None
        return round(self._clock.elapsed() - (self._clock.now().timestamp() - at), 6)

    def take_invocations(self) -> list[dict[str, Any]]:
        """The invocations queued for local functions since the last call (then forgotten)."""
        self.sync()
        taken, self._invocations = self._invocations, []
        return taken

    def next_firing(self) -> float | None:
        """The epoch second of the next scheduled firing or delivery retry, when moto runs in
        this process."""
        if not self.in_process:
            return None
        times = [t for t in (events_schedules.next_firing(), delivery_retries.next_due()) if t]
        return min(times) if times else None

    # -- inside ------------------------------------------------------------------------------
    def _after_call(self, model: Any = None, **_: Any) -> None:
        if getattr(model, "name", "") in BRIDGING_CALLS:
            self.sync()

    def _reset(self) -> None:
        if self.in_process:
            delivery_retries.clear()
        self._fetch()
        self._invocations = []

    def _fetch(self) -> Found:
        if self.in_process:
            events_schedules.catch_up()
            delivery_retries.catch_up()
            delivery_metrics.sample_queues()
            return outbox.take()
        if self.server_url is None:
            return {"invocations": [], "deliveries": []}
        answer = post_json(f"{self.server_url}{outbox.ROUTE}")
        return answer if isinstance(answer, dict) else {"invocations": [], "deliveries": []}

    def _trace(self, item: dict[str, Any]) -> None:
        origin = item["message_id"]
        if not origin:
            return
        for derived in item.get("links", []):
            self._hops.link(derived, origin)
        self._hops.add_hop(
            item["source"],
            item["target"],
            origin,
            item.get("kind", "delivered"),
            evidence="observed",
            via="labkit",
            detail=item.get("detail", ""),
            time=self.lab_time(item.get("at")),
        )
        fan_out = item.get("fan_out")
        if fan_out:
            # under the event's id (the topic's MessageId is linked to it above), so the path
            # of one event runs on through the topic to its subscribers
            self._hops.fan_out(fan_out["topic"], origin, {"Message": fan_out["message"]})
        execution = item.get("execution")
        if execution:
            self._hops.track_execution(execution, item["target"])
