"""SQS: messages sent, received and deleted, followed while in flight, and the moves to a
dead-letter queue inferred from receive counts and confirmed when the message shows up there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit.trace.actors import DEFAULT_CONSUMER, DEFAULT_PUBLISHER
from labkit.trace.journal import Journal
from labkit.trace.records import Evidence
from labkit.trace.resources import Resources
from labkit.trace.routing import Router
from labkit.trace.state import InFlight, QueueInfo, QueueState
from labkit.trace.wiring import DEFAULT_VISIBILITY, Wiring

__all__ = ["QueueTracker"]


@dataclass(eq=False)
class QueueTracker:
    """Follows each received message until it is deleted or moved to a dead-letter queue."""

    journal: Journal
    wiring: Wiring
    resources: Resources
    router: Router
    state: QueueState
    now: Callable[[], float]

    def sent(self, params: dict, parsed: dict, queue: str, caller: str) -> list[str]:
        """SendMessage."""
        mid = str(parsed.get("MessageId", ""))
        self.journal.hop(caller or DEFAULT_PUBLISHER, queue, mid, "sent", evidence="observed")
        return [mid]

    def sent_batch(self, params: dict, parsed: dict, queue: str, caller: str) -> list[str]:
        """SendMessageBatch: each entry that succeeded."""
        ids = [str(ok["MessageId"]) for ok in parsed.get("Successful", [])]
        for mid in ids:
            self.journal.hop(caller or DEFAULT_PUBLISHER, queue, mid, "sent", evidence="observed")
        return ids

    def received(self, params: dict, parsed: dict, queue: str, caller: str) -> list[str]:
        """ReceiveMessage: each message in flight now; a short answer may show dead-letter moves."""
        now = self.now()
        info = self.wiring.queue(queue, str(params.get("QueueUrl", "")))
        default = info.visibility if info else DEFAULT_VISIBILITY
        visible_at = now + float(params.get("VisibilityTimeout", default))
        messages = parsed.get("Messages", [])
        inflight = self.state.inflight[queue]
        ids = [self._received_one(queue, inflight, m, caller, visible_at) for m in messages]
        wanted = int(params.get("MaxNumberOfMessages", 1))
        if info is not None and info.dlq and len(messages) < wanted:
            # moto and AWS move a message on the first receive after maxReceiveCount, when it is
            # visible again; a short answer means the whole queue was looked at
            returned = set(ids)
            for sqs_id, state in list(inflight.items()):
                if (
                    sqs_id not in returned
                    and state.receives >= info.max_receives
                    and state.visible_at <= now
                ):
                    self._dead_letter(queue, info, sqs_id, state, "inferred")
        return ids

    def _received_one(
        self,
        queue: str,
        inflight: dict[str, InFlight],
        message: dict[str, Any],
        caller: str,
        visible_at: float,
    ) -> str:
        sqs_id = str(message.get("MessageId", ""))
        origin = self._arrived(queue, sqs_id, str(message.get("Body", "")))
        known = inflight.get(sqs_id)
        count = int(
            message.get("Attributes", {}).get(
                "ApproximateReceiveCount", (known.receives if known else 0) + 1
            )
        )
        inflight[sqs_id] = InFlight(origin, count, visible_at)
        self.state.receipts[str(message.get("ReceiptHandle", ""))] = (queue, sqs_id)
        labels = (("sqs_message_id", sqs_id), ("receive_count", str(count)))
        self.journal.hop(
            queue, caller or DEFAULT_CONSUMER, origin, "received", evidence="observed",
            labels=labels,
        )  # fmt: skip
        return sqs_id

    def deleted(self, params: dict, parsed: dict, queue: str, caller: str) -> list[str]:
        """DeleteMessage: the message it names is processed."""
        return self._processed(str(params.get("ReceiptHandle", "")), caller)

    def deleted_batch(self, params: dict, parsed: dict, queue: str, caller: str) -> list[str]:
        """DeleteMessageBatch: each entry that succeeded."""
        done = {ok["Id"] for ok in parsed.get("Successful", [])}
        ids: list[str] = []
        for entry in params.get("Entries", []):
            if entry.get("Id") in done:
                ids += self._processed(str(entry.get("ReceiptHandle", "")), caller)
        return ids

    def purged(self, params: dict, parsed: dict, queue: str, caller: str) -> list[str]:
        """PurgeQueue: nothing is in flight there any more."""
        self.state.inflight.pop(queue, None)
        return []

    def _processed(self, receipt: str, caller: str) -> list[str]:
        found = self.state.receipts.pop(receipt, None)
        if found is None:
            return []
        queue, sqs_id = found
        state = self.state.inflight[queue].pop(sqs_id, None)
        origin = state.origin if state else self.journal.origin(sqs_id)
        self.journal.hop(
            queue,
            caller or DEFAULT_CONSUMER,
            origin,
            "processed",
            evidence="observed",
            labels=(("sqs_message_id", sqs_id),),
        )
        return [sqs_id]

    def _dead_letter(
        self, queue: str, info: QueueInfo, sqs_id: str, state: InFlight, evidence: Evidence
    ) -> None:
        inflight = self.state.inflight
        inflight[queue].pop(sqs_id, None)
        inflight[info.dlq][sqs_id] = InFlight(state.origin, 0, 0.0)
        if evidence == "inferred":
            self.state.moved[(info.dlq, sqs_id)] = queue
        self.journal.link(sqs_id, state.origin)
        self.journal.hop(
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
        routed = self.router.arrived(queue, sqs_id, body)
        if routed is not None:
            return routed
        return self.journal.origin(sqs_id)

    def _moved_into(self, queue: str, sqs_id: str) -> str | None:
        """A message seen before in another queue arrived here: a dead-letter move, observed."""
        source = self.state.moved.pop((queue, sqs_id), None)
        if source is not None:
            origin = self.journal.origin(sqs_id)
            self.journal.confirm("dead-lettered", source, queue, origin)
            return origin
        for other, states in list(self.state.inflight.items()):
            if other == queue or sqs_id not in states:
                continue
            info = self.wiring.queue(other, self.resources.url(other))
            if info is not None and info.dlq == queue:
                state = states[sqs_id]
                self._dead_letter(other, info, sqs_id, state, "observed")
                self.state.moved.pop((queue, sqs_id), None)
                return state.origin
        return None
