"""Plumbing for lesson 05 (decoupling): a direct call next to a queue, consumers with a fixed rate.

Everything runs on the lab's clock, in steps: each step the producer sends what arrived, every
consumer takes at most ``rate * step`` messages (ReceiveMessage with 10, DeleteMessageBatch) and
the clock moves on. The messages are real SQS messages on every backend; only the *work* a
consumer does is simulated (a Python function per message). The runs' plots are
`labkit.plots.decoupling`'s, taken from here by the lesson.

>>> import labkit
>>> lab = labkit.start_lab()
>>> sqs = lab.client("sqs")
>>> url = sqs.create_queue(QueueName="spike")["QueueUrl"]
>>> send_orders(sqs, url, [f"o-{i}" for i in range(25)])
25
>>> run = drain(lab, sqs, url, consumers=2, rate=1, step=5)
>>> run.column("processed"), run.drain_time
([10, 10, 5], 15.0)
>>> lab.stop()
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.lessons.inbox import depth
from labkit.plots import plot_drain, plot_drain_times, plot_side_by_side, plot_swap

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "Consumer",
    "Outage",
    "Timeline",
    "consume_step",
    "depth",
    "drain",
    "finish",
    "plot_drain_times",
    "plot_drain",
    "plot_side_by_side",
    "plot_swap",
    "run_side_by_side",
    "send_orders",
    "slow_consumer_run",
    "take",
    "order_body",
    "run_swap",
]

BATCH = 10


@dataclass(frozen=True)
class Outage:
    """The downstream service is down from `start` (included) to `end` (excluded), lab seconds.

    >>> Outage(30, 60).down(30), Outage(30, 60).down(60)
    (True, False)
    """

    start: float
    end: float

    def down(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass
class Timeline:
    """One row per step: the lab time at the end of the step and named counts for that step."""

    step: float
    times: list[float] = field(default_factory=list)
    rows: list[dict[str, int]] = field(default_factory=list)
    outage: Outage | None = None

    def add(self, t: float, **counts: int) -> None:
        self.times.append(round(t, 6))
        self.rows.append(dict(counts))

    def column(self, name: str) -> list[int]:
        return [row.get(name, 0) for row in self.rows]

    def total(self, name: str) -> int:
        return sum(self.column(name))

    def cumulative(self, name: str) -> list[int]:
        out, running = [], 0
        for value in self.column(name):
            running += value
            out.append(running)
        return out

    @property
    def drain_time(self) -> float | None:
        """Lab seconds until the queue was first seen empty (None: it never was)."""
        for t, row in zip(self.times, self.rows, strict=True):
            if row.get("depth", 1) == 0:
                return t
        return None


# -- the boto3 calls, in batches of ten -------------------------------------------------------
def send_orders(sqs: Any, queue_url: str, bodies: Iterable[str]) -> int:
    """SendMessageBatch in groups of ten; returns how many SQS accepted (raises on any failure)."""
    items = list(bodies)
    sent = 0
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        answer = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)],
        )
        if answer.get("Failed"):
            raise LabError(
                "every message of the batch accepted",
                f"{len(answer['Failed'])} refused: {answer['Failed'][0]}",
                "look at the Code and Message of the refused entry",
            )
        sent += len(answer.get("Successful", []))
    return sent


def take(sqs: Any, queue_url: str, limit: int) -> list[dict[str, Any]]:
    """ReceiveMessage (10 at a time, no long poll) until `limit` messages or an empty answer."""
    got: list[dict[str, Any]] = []
    while len(got) < limit:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(BATCH, limit - len(got))
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        got.extend(messages)
    return got


def finish(sqs: Any, queue_url: str, messages: Sequence[dict[str, Any]]) -> int:
    """DeleteMessageBatch in groups of ten; returns how many were deleted."""
    done = 0
    for start in range(0, len(messages), BATCH):
        chunk = messages[start : start + BATCH]
        answer = sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ],
        )
        done += len(answer.get("Successful", []))
    return done


# -- consumers -------------------------------------------------------------------------------
@dataclass
class Consumer:
    """A consumer that handles at most `rate` messages per lab second.

    `handler(body)` returns normally when the work is done (the message is deleted) and raises
    when it fails (the message stays and comes back after the visibility timeout).
    """

    name: str
    rate: float
    handler: Callable[[str], Any] = lambda body: None
    processed: int = 0
    failed: int = 0
    seen: list[str] = field(default_factory=list)

    def work(self, sqs: Any, queue_url: str, step: float, limit: int | None = None) -> int:
        """One step of work: at most `rate` x `step` messages, and at most `limit` of them."""
        most = int(self.rate * step)
        messages = take(sqs, queue_url, most if limit is None else min(most, limit))
        done = []
        for message in messages:
            try:
                self.handler(message["Body"])
            except Exception:  # noqa: BLE001 - a failed message simply stays in the queue
                self.failed += 1
                continue
            self.seen.append(message["Body"])
            done.append(message)
        finished = finish(sqs, queue_url, done)
        self.processed += finished
        return finished


def consume_step(
    lab: Lab,
    sqs: Any,
    queue_url: str,
    consumers: Sequence[Consumer],
    step: float,
    downstream: float | None = None,
) -> int:
    """Every consumer works for one step, then the clock moves `step` seconds.

    `downstream` is what the service behind the consumers (a database) takes per second: the
    consumers share it, so together they never finish more than `downstream` x `step`.
    """
    budget = None if downstream is None else int(downstream * step)
    done = 0
    for consumer in consumers:
        left = None if budget is None else budget - done
        if left is not None and left <= 0:
            break  # the database is busy: this consumer waits for it
        done += consumer.work(sqs, queue_url, step, left)
    lab.advance(step)
    return done


def drain(
    lab: Lab,
    sqs: Any,
    queue_url: str,
    *,
    consumers: int,
    rate: float,
    step: float = 10.0,
    max_steps: int = 500,
    downstream: float | None = None,
) -> Timeline:
    """Consumers with a fixed rate empty the queue; one row per step (processed, depth).

    With `downstream`, the service behind them takes at most that many orders per second, so
    more consumers stop helping once they reach it.
    """
    if consumers < 1 or rate <= 0:
        raise LabError(
            "at least one consumer with a positive rate",
            f"consumers={consumers}, rate={rate}",
            "e.g. drain(lab, sqs, url, consumers=2, rate=5)",
        )
    workers = [Consumer(f"consumer-{i + 1}", rate) for i in range(consumers)]
    timeline = Timeline(step)
    start = lab.clock.elapsed()
    with lab.tracer.paused():
        for _ in range(max_steps):
            done = consume_step(lab, sqs, queue_url, workers, step, downstream)
            left = depth(sqs, queue_url)
            timeline.add(lab.clock.elapsed() - start, processed=done, depth=left)
            if left == 0:
                break
    return timeline


def run_side_by_side(
    lab: Lab,
    sqs: Any,
    queue_url: str,
    *,
    seconds: float,
    arrivals_per_second: int,
    outage: Outage,
    consumer_rate: float,
    step: float = 5.0,
) -> Timeline:
    """The same requests, the same outage: a direct call next to a queue.

    Coupled: each request calls the service; while it is down the request fails (the caller
    gets an error and the order is lost unless the caller retries). Decoupled: each request is
    a message; the consumer works only while the service is up, at `consumer_rate` per second.
    """
    timeline = Timeline(step, outage=outage)
    consumer = Consumer("orders-service", consumer_rate)
    start = lab.clock.elapsed()
    n = 0
    while lab.clock.elapsed() - start < seconds:
        t = lab.clock.elapsed() - start
        arriving = int(arrivals_per_second * step)
        bodies = [f"order-{n + i:05d}" for i in range(arriving)]
        n += arriving
        down = outage.down(t)
        # coupled: the caller waits for the service's answer
        coupled_ok, coupled_failed = (0, arriving) if down else (arriving, 0)
        # decoupled: the caller leaves a message and moves on
        accepted = send_orders(sqs, queue_url, bodies)
        processed = 0 if down else consumer.work(sqs, queue_url, step)
        lab.advance(step)
        timeline.add(
            lab.clock.elapsed() - start,
            coupled_ok=coupled_ok,
            coupled_failed=coupled_failed,
            accepted=accepted,
            processed=processed,
            depth=depth(sqs, queue_url),
        )
    return timeline


def slow_consumer_run(
    lab: Lab, sqs: Any, queue_url: str, *, work_seconds: float = 45.0, orders: int = 20
) -> dict[str, int]:
    """Two consumers share a queue; each spends `work_seconds` on a message before deleting it.

    Consumer A takes the batch first; consumer B polls every 10 s while A works. A batch is
    deleted the moment its work ends (`work_seconds` after it was received), before anyone polls
    again, so a visibility timeout longer than the work, by any margin, means no duplicate. When
    it is shorter, B receives the same messages: duplicate work. Returns how many times each
    order was worked on.
    """
    send_orders(sqs, queue_url, [f"order-{i:03d}" for i in range(orders)])
    times: dict[str, int] = {}
    waiting: list[tuple[float, list[dict[str, Any]]]] = []
    clock = lab.clock
    start = clock.elapsed()
    for _ in range(400):
        now = clock.elapsed() - start
        for due, batch in [w for w in waiting if w[0] <= now]:
            waiting.remove((due, batch))
            for message in batch:
                try:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                except sqs.exceptions.ReceiptHandleIsInvalid:
                    pass
        fresh = take(sqs, queue_url, BATCH)
        for message in fresh:
            times[message["Body"]] = times.get(message["Body"], 0) + 1
        if fresh:
            waiting.append((now + work_seconds, fresh))
        if not waiting and depth(sqs, queue_url) == 0:
            break
        # the next poll, or the end of a batch's work if that comes first
        lab.advance(min([10.0] + [due - now for due, _ in waiting if due > now]))
    return dict(sorted(times.items()))


def order_body(n: int, *, new_format: bool) -> str:
    """Order `n` as JSON: v1 has a flat ``amount``; v2 nests it in ``total``.

    >>> order_body(7, new_format=False)
    '{"id": "order-0007", "amount": 17}'
    >>> order_body(7, new_format=True)
    '{"id": "order-0007", "total": {"amount": 17, "currency": "EUR"}}'
    """
    amount = 10 + n % 40
    if new_format:
        return json.dumps({"id": f"order-{n:04d}", "total": {"amount": amount, "currency": "EUR"}})
    return json.dumps({"id": f"order-{n:04d}", "amount": amount})


def run_swap(
    lab: Lab,
    sqs: Any,
    queue_url: str,
    *,
    v1: Consumer,
    v2: Consumer,
    swap_at: float,
    new_format_at: float,
    seconds: float,
    arrivals_per_second: int = 2,
    step: float = 5.0,
) -> Timeline:
    """Orders keep flowing while consumer v1 is replaced by v2 at `swap_at` (lab seconds).

    The producer switches to the new message format at `new_format_at`. Old-format messages
    may still wait in the queue when v2 starts: v2 must read both, or they fail until the
    queue's redrive policy moves them to the dead-letter queue.
    """
    timeline = Timeline(step)
    start = lab.clock.elapsed()
    n = 0
    while lab.clock.elapsed() - start < seconds:
        t = lab.clock.elapsed() - start
        arriving = int(arrivals_per_second * step)
        bodies = [order_body(n + i, new_format=t >= new_format_at) for i in range(arriving)]
        n += arriving
        sent = send_orders(sqs, queue_url, bodies)
        consumer = v1 if t < swap_at else v2
        done = consumer.work(sqs, queue_url, step)
        lab.advance(step)
        timeline.add(
            lab.clock.elapsed() - start,
            sent=sent,
            **{f"processed_{consumer.name}": done},
            depth=depth(sqs, queue_url),
        )
    return timeline
