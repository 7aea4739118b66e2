"""The function runtime under load, SQS cost against queue depth, and simulated time, in one run.

Prints:

* ``spike_10k_seconds: X``: 10,000 messages published to an SNS topic (PublishBatch, ten at a
  time), fanned out to 3 queues, and consumed by 3 functions through event source mappings,
  end to end (publish, fan-out, every message processed and deleted), on the embedded backend,
  each queue's policy letting the topic in; then ``spike_10k_seconds_policies_skipped: Y`` and
  ``policy_cost_ratio: X/Y``, the same spike in a lab started with ``enforce_policies=False``;
* ``sqs_depth_cost_ratio: X (stock moto: Y at depth 1000)``: cost of a batch send on a queue
  10,000 deep over an empty one, with the fast path, and stock moto's ratio beside; then the
  receive + delete ratio and the fill time (``sqs_depth.py`` says how each is measured);
* ``clock_demo_seconds: X``: a scenario spanning 10 simulated minutes: a consumer that fails
  some messages (visibility timeouts run out, retries, one message reaches the dead-letter
  queue) and a scheduled rule ``rate(1 minute)`` firing 10 times into a function.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import labkit  # noqa: E402
from labkit.lessons import allow_delivery, subscriber_queue  # noqa: E402
from tests.scenarios import queue_with_dlq  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sqs_depth  # noqa: E402

#: `python bench_runtime.py N` spikes N messages per queue (imported, as pytest does, 10 000)
MESSAGES = int(sys.argv[1]) if __name__ == "__main__" and len(sys.argv) > 1 else 10_000
#: set in the environment of a process that runs one spike only (policies "on" or "off")
SPIKE_ONLY = "LABKIT_BENCH_SPIKE"
QUEUES = ("billing", "shipping", "audit")


def spike(*, enforce_policies: bool = True) -> float:
    lab = labkit.start_lab(enforce_policies=enforce_policies)
    lab.tracer.enabled = False  # tracing's own cost is bench_trace's ratio
    try:
        sns = lab.client("sns")
        topic = sns.create_topic(Name="orders")["TopicArn"]
        counts: dict[str, int] = {}
        for name in QUEUES:
            url, arn = subscriber_queue(lab, name, topic)
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
            counts[name] = 0

            def handler(event: dict[str, Any], context: Any, name: str = name) -> None:
                counts[name] += len(event["Records"])

            lab.functions.deploy(name, handler, concurrency=2).consume(url, batch_size=10)
        start = time.perf_counter()
        for first in range(0, MESSAGES, 10):
            entries = [
                {"Id": str(i), "Message": json.dumps({"order": first + i})} for i in range(10)
            ]
            sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
        result = lab.functions.run_until_idle()
        took = time.perf_counter() - start
        expected = {name: MESSAGES for name in QUEUES}
        if counts != expected or result.processed != MESSAGES * len(QUEUES):
            raise SystemExit(f"spike lost messages: {counts}, {result}")
        return took
    finally:
        lab.stop()


def clock_demo() -> float:
    lab = labkit.start_lab()
    try:
        sqs, events = lab.client("sqs"), lab.client("events")
        url, dlq = queue_with_dlq(lab, "orders", max_receives=3)

        def consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
            failures = [
                {"itemIdentifier": r["messageId"]}
                for r in event["Records"]
                if "poison" in r["body"]
                or (r["body"] == "flaky" and r["attributes"]["ApproximateReceiveCount"] == "1")
            ]
            return {"batchItemFailures": failures}

        ticks: list[str] = []
        tick = lab.functions.deploy("tick", lambda event, context: ticks.append(event["time"]))
        lab.functions.deploy("orders", consumer).consume(url, report_failures=True)
        rule = events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")
        allow_delivery(lab, rule["RuleArn"], tick.arn)
        events.put_targets(Rule="every-minute", Targets=[{"Id": "tick", "Arn": tick.arn}])
        start = time.perf_counter()
        for body in ("ok", "flaky", "poison"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        result = lab.functions.run(seconds=600)
        took = time.perf_counter() - start
        dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
        if len(ticks) != 10 or [m["Body"] for m in dead] != ["poison"] or result.retried < 3:
            raise SystemExit(f"clock demo went wrong: {len(ticks)} ticks, {dead}, {result}")
        return took
    finally:
        lab.stop()


def spike_alone(enforce_policies: bool) -> float:
    """One spike in a fresh process, so neither run inherits the other's memory and caches."""
    env = {**os.environ, SPIKE_ONLY: "on" if enforce_policies else "off"}
    command = [sys.executable, __file__, str(MESSAGES)]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if os.environ.get(SPIKE_ONLY):
        print(spike(enforce_policies=os.environ[SPIKE_ONLY] == "on"), flush=True)
        return
    # each spike twice, alternating, in fresh processes; the faster of each pair counts
    runs = {True: [], False: []}  # type: dict[bool, list[float]]
    for enforce in (True, False, False, True):
        runs[enforce].append(spike_alone(enforce))
    enforced, skipped = min(runs[True]), min(runs[False])
    print(f"spike_10k_seconds: {enforced:.2f}", flush=True)
    print(f"spike_10k_seconds_policies_skipped: {skipped:.2f}", flush=True)
    print(f"policy_cost_ratio: {enforced / skipped:.2f}", flush=True)
    depth = sqs_depth.measure()
    print(
        f"sqs_depth_cost_ratio: {depth['sqs_depth_cost_ratio']:.2f} "
        f"(stock moto: {depth['sqs_depth_cost_ratio_stock']:.2f} at depth {sqs_depth.STOCK_DEEP})"
    )
    print(f"sqs_depth_receive_cost_ratio: {depth['sqs_depth_receive_cost_ratio']:.2f}")
    print(f"sqs_fill_10000_seconds: {depth['sqs_fill_10000_seconds']:.2f}", flush=True)
    print(f"clock_demo_seconds: {clock_demo():.2f}", flush=True)


if __name__ == "__main__":
    main()
