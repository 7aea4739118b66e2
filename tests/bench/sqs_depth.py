"""SQS cost per call against queue depth, with labkit's fast path and on stock moto.

``measure()`` returns, all measured in one run on the embedded backend (simulated clock);
``bench_runtime.py`` prints them beside the runtime's figures:

- ``sqs_depth_cost_ratio``: 20 SendMessageBatch calls of 10 messages on a queue 10,000 deep,
  over the same on an empty queue, with the fast path (goal: <= 1.5);
- ``sqs_depth_receive_cost_ratio``: the same for 20 receive (10) + delete-batch rounds;
- ``sqs_depth_cost_ratio_stock``: stock moto's batch-send ratio at ``sqs_depth_stock_depth``
  (1,000: deeper, stock moto takes minutes);
- ``sqs_fill_10000_seconds``: the time to fill a queue to 10,000 with the fast path.

Each side is timed in interleaved rounds so drift on the machine hits both alike; the ratio is
of the medians.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import labkit  # noqa: E402
from labkit.moto_patches import REGISTRY

DEEP = 10_000
STOCK_DEEP = 1_000
CALLS = 20
STOCK_CALLS = 5
ROUNDS = 5


def send_batches(sqs: Any, url: str, calls: int, tag: str = "m") -> None:
    for call in range(calls):
        entries = [{"Id": str(i), "MessageBody": f"{tag}-{call}-{i}"} for i in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def receive_delete(sqs: Any, url: str, calls: int) -> None:
    for _ in range(calls):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        if entries:
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ratio(
    sqs: Any,
    deep_url: str,
    fresh_queue: Callable[[], str],
    work: Callable[[Any, str, int], None],
    calls: int,
    rounds: int,
) -> float:
    """Median time of `work` on the deep queue over the median on a fresh (empty) queue."""
    shallow, deep = [], []
    for _ in range(rounds):
        url = fresh_queue()
        shallow.append(timed(lambda url=url: work(sqs, url, calls)))  # type: ignore[misc]
        deep.append(timed(lambda: work(sqs, deep_url, calls)))
    return statistics.median(deep) / statistics.median(shallow)


def measure() -> dict[str, float]:
    lab = labkit.start_lab("embedded")
    sqs = lab.client("sqs")
    sqs.list_queues()  # moto's SQS is loaded: its changes apply
    if "sqs_fastpath" not in REGISTRY.applied:
        raise SystemExit("the fast path is not applied (moto version?): nothing to measure")
    counter = iter(range(1_000_000))

    def fresh_queue() -> str:
        return sqs.create_queue(QueueName=f"shallow-{next(counter)}")["QueueUrl"]

    deep_url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    send_batches(sqs, fresh_queue(), 5)  # warm up
    fill = timed(lambda: send_batches(sqs, deep_url, DEEP // 10, "fill"))
    send_ratio = ratio(sqs, deep_url, fresh_queue, send_batches, CALLS, ROUNDS)

    # shallow side: a queue holding only what this round receives
    def fresh_filled_queue() -> str:
        url = fresh_queue()
        send_batches(sqs, url, CALLS)
        return url

    receive_ratio = ratio(sqs, deep_url, fresh_filled_queue, receive_delete, CALLS, ROUNDS)

    # stock moto: filled with the fast path (quick), measured without it
    stock_deep = sqs.create_queue(QueueName="stock-deep")["QueueUrl"]
    send_batches(sqs, stock_deep, STOCK_DEEP // 10, "fill")
    with REGISTRY.only():
        stock_ratio = ratio(sqs, stock_deep, fresh_queue, send_batches, STOCK_CALLS, 3)
    lab.stop()

    return {
        "sqs_depth_cost_ratio": send_ratio,
        "sqs_depth_receive_cost_ratio": receive_ratio,
        "sqs_depth_cost_ratio_stock": stock_ratio,
        "sqs_fill_10000_seconds": fill,
    }
