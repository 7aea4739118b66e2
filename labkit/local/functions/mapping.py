"""The SQS event source mapping: a queue feeding a function in batches, by Lambda's rules.

Batch size and batching window, the queue's visibility timeout (a message still being worked on
when it runs out is delivered again), ``batchItemFailures`` when the mapping reports them, and
the queue's redrive policy (a message received ``maxReceiveCount`` times goes to its dead-letter
queue, which SQS does; the mapping counts it).
"""

from __future__ import annotations

import json
from dataclasses import KW_ONLY, InitVar, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.local.functions.events import batch_failures, sqs_record
from labkit.local.functions.invocation import Delivery, invoke
from labkit.local.functions.polling import SQS_RECEIVE_MAX
from labkit.local.functions.recursion import RECURSION_STOPPED
from labkit.local.functions.shared import TICK
from labkit.moto_patches.lambda_esm_validation import MAX_CONCURRENCY
from labkit.trace.records import actor

if TYPE_CHECKING:
    from labkit.local.functions.function import Function
    from labkit.local.functions.runtime import Runtime
    from labkit.local.functions.shared import Shared

__all__ = [
    "MAX_BATCH",
    "EventSourceMapping",
    "check_batching",
    "check_max_concurrency",
    "redrive_policy",
]

#: Lambda's largest batch for an SQS event source mapping.
MAX_BATCH = 10_000
#: SQS makes a message visible again only once its visibility timeout has fully passed.
VISIBILITY_EPSILON = 0.001

#: A received message and the lab time it was received at.
Received = tuple[dict[str, Any], float]


@dataclass(eq=False)
class EventSourceMapping:
    """A queue feeding a function: labkit's poller, with Lambda's event-source-mapping rules."""

    runtime: Runtime
    function: Function
    queue_url: str
    queue_arn: str
    _: KW_ONLY
    batch_size: int
    window: float
    report_failures: bool
    uuid: str
    shared: InitVar[Shared]
    #: ScalingConfig's MaximumConcurrency (None: only the function's concurrency limits it)
    max_concurrency: int | None = None
    enabled: bool = field(default=True, init=False)
    # read from the queue's attributes by `refresh`
    visibility_timeout: float = field(default=30.0, init=False)
    max_receive_count: int = field(default=0, init=False)
    dead_letter_arn: str = field(default="", init=False)

    def __post_init__(self, shared: Shared) -> None:
        self._shared = shared
        self._buffer: list[Received] = []
        self._buffer_since = 0.0
        #: when the queue last answered with fewer messages than asked (None: poll it again)
        self._drained_at: float | None = None
        #: messages this poller expects back (failed or delete lost): SQS id -> visible again at
        self._expected: dict[str, float] = {}
        #: when each invocation this mapping started ends (for its maximum concurrency)
        self._running: list[float] = []

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        name = self.queue_arn.rsplit(":", 1)[-1]
        return (
            f"<EventSourceMapping {name} -> {self.function.name} batch={self.batch_size} {state}>"
        )

    def refresh(self) -> None:
        """Read the queue's visibility timeout and redrive policy again."""
        attrs = self._shared.queues.attributes(
            self.queue_url, ["VisibilityTimeout", "RedrivePolicy"]
        )
        self.visibility_timeout = float(attrs.get("VisibilityTimeout", 30))
        policy = redrive_policy(attrs.get("RedrivePolicy") or "{}")
        self.max_receive_count = int(policy.get("maxReceiveCount", 0) or 0)
        self.dead_letter_arn = str(policy.get("deadLetterTargetArn", ""))

    def disable(self) -> None:
        """Stop polling (messages stay in the queue), like ``Enabled=False`` on AWS."""
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    # -- what the runtime's event loop uses -------------------------------------------------
    def poll_again(self) -> None:
        """Poll the queue at the next step, even if it was empty when last polled."""
        self._drained_at = None

    def poll(self, now: float) -> bool:
        """Receive what is due and invoke a batch when one is ready; True if anything moved."""
        if not self.enabled or self.function.free_worker(now) is None or self._at_limit(now):
            return False
        # messages expected back whose time has come: poll for them
        for sqs_id, at in list(self._expected.items()):
            if at <= now + TICK:
                del self._expected[sqs_id]
                self._drained_at = None
        progress = self._fill(now)
        if not self._buffer:
            return progress
        full = len(self._buffer) >= self.batch_size
        if full or self.window == 0 or now + TICK >= self._buffer_since + self.window:
            batch = self._buffer[: self.batch_size]
            self._buffer = self._buffer[self.batch_size :]
            self._buffer_since = now
            self._invoke(batch, now)
            return True
        return progress

    def wake_times(self, now: float) -> list[float]:
        """The lab times this mapping knows it has something to do at."""
        if not self.enabled:
            return []
        times = list(self._expected.values())
        if self._at_limit(now):
            # nothing starts before one of this mapping's invocations ends
            return [*times, min(self._running)]
        if self._buffer:
            times.append(self._buffer_since + self.window)
        if self._drained_at is None or self._drained_at + TICK < now:
            # the queue may still hold messages: poll again when a worker is free
            times.append(max(now, self.function.free_at()))
        return times

    def _at_limit(self, now: float) -> bool:
        """Does this mapping run as many invocations as its maximum concurrency allows?"""
        self._running = [end for end in self._running if end > now + TICK]
        return self.max_concurrency is not None and len(self._running) >= self.max_concurrency

    # -- a batch's life ------------------------------------------------------------------
    def _fill(self, now: float) -> bool:
        """Receive into the buffer until it holds a batch, the queue is empty, or (without a
        batching window) after one receive; True if anything arrived."""
        progress = False
        drained = self._drained_at is not None and self._drained_at + TICK >= now
        while len(self._buffer) < self.batch_size and not drained:
            want = min(SQS_RECEIVE_MAX, self.batch_size - len(self._buffer))
            messages = self._shared.queues.receive(
                self.queue_url, self.queue_arn, want, caller=self.function.name
            )
            if not self._buffer and messages:
                self._buffer_since = now
            self._buffer += [(m, now) for m in messages]
            if len(messages) < want:
                drained = True
                self._drained_at = now
            if messages:
                progress = True
            if self.window == 0:
                break
        return progress

    def _invoke(self, batch: list[Received], now: float) -> None:
        shared = self._shared
        batch = self._stop_loops(batch)
        if not batch:
            return
        depth = shared.chains.depth(m["MessageId"] for m, _ in batch)
        region = shared.resources.region
        records = [sqs_record(m, self.queue_arn, region) for m, _ in batch]
        ids = tuple(r["messageId"] for r in records)
        for record in records:
            if int(record["attributes"].get("ApproximateReceiveCount", "1")) > 1:
                shared.ledger.count_retry()
        invoked = invoke(
            self.function,
            {"Records": records},
            now,
            Delivery("sqs", self.queue_arn, ids),
            ledger=shared.ledger,
            read_answer=partial(batch_failures, ids=ids) if self.report_failures else None,
            chains=shared.chains,
            depth=depth,
        )
        self._running.append(now + invoked.took)
        if invoked.took > self.visibility_timeout:
            # still working when the visibility timeout runs out: the queue hands the messages
            # to the next poller too
            for message, received_at in batch:
                self._expected[message["MessageId"]] = self._visible_again(received_at)

        def finish() -> None:
            self._finish(batch, set(invoked.failed), invoked.error)

        if invoked.took > 0:
            shared.agenda.later(now + invoked.took, finish)
        else:
            finish()

    def _stop_loops(self, batch: list[Received]) -> list[Received]:
        """Leave out the messages Lambda's recursive loop detection stops (16 invocations led
        to them): not invoked, not deleted, they come back after the visibility timeout and the
        queue's redrive policy moves them to its dead-letter queue."""
        chains = self._shared.chains
        kept = []
        for message, received_at in batch:
            if chains.allowed(chains.depth([message["MessageId"]])):
                kept.append((message, received_at))
                continue
            self._expected[message["MessageId"]] = self._visible_again(received_at)
            self._failed(message, RECURSION_STOPPED)
        return kept

    def _finish(self, batch: list[Received], failed: set[str], error: str) -> None:
        """Delete what succeeded; what failed (or whose delete was lost) comes back later."""
        deletes: list[str] = []
        for message, received_at in batch:
            sqs_id = message["MessageId"]
            if sqs_id in failed:
                self._expected[sqs_id] = self._visible_again(received_at)
                self._failed(message, error)
            elif self.function.lose_delete():
                self._expected[sqs_id] = self._visible_again(received_at)
                self._kept(message)
            else:
                deletes.append(message["ReceiptHandle"])
        self._shared.queues.delete(
            self.queue_url, self.queue_arn, deletes, caller=self.function.name
        )
        if failed or len(deletes) < len(batch):
            self._drained_at = None

    def _failed(self, message: dict[str, Any], error: str) -> None:
        sqs_id = message["MessageId"]
        count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        self._shared.hops.add_hop(
            self.queue_arn,
            actor(self.function.name),
            sqs_id,
            "failed",
            detail=(error or "reported in batchItemFailures")[:200],
            labels=(("receive_count", str(count)),),
        )
        self._kept(message)

    def _kept(self, message: dict[str, Any]) -> None:
        """A message left in the queue (failed, or its delete lost): after its last allowed
        receive, the queue's redrive policy moves it to the dead-letter queue."""
        count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        if self.dead_letter_arn and count >= self.max_receive_count > 0:
            self._shared.ledger.dead_lettered(message["MessageId"])

    def _visible_again(self, received_at: float) -> float:
        return round(received_at + self.visibility_timeout + VISIBILITY_EPSILON, 6)


def check_batching(batch_size: int, window: float) -> None:
    """Refuse a batch size or batching window Lambda refuses, saying why."""
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


def check_max_concurrency(max_concurrency: int | None) -> None:
    """Refuse a maximum concurrency Lambda refuses (ScalingConfig: 2 to 1,000), saying why."""
    low, high = MAX_CONCURRENCY
    if max_concurrency is None:
        return
    if not isinstance(max_concurrency, int) or not low <= max_concurrency <= high:
        raise LabError(
            f"a maximum concurrency between {low} and {high:,}",
            repr(max_concurrency),
            "ScalingConfig={'MaximumConcurrency': 2} is the smallest; leave it out for no cap "
            "other than the function's concurrency",
        )


def redrive_policy(text: str) -> dict[str, Any]:
    """A queue's ``RedrivePolicy`` attribute, the JSON document SQS answers, as a dict.

    >>> redrive_policy('{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":3}')
    {'deadLetterTargetArn': 'arn:aws:sqs:us-east-1:1:dlq', 'maxReceiveCount': 3}
    """
    policy: dict[str, Any] = json.loads(text)
    return policy
