"""Tracing's cost: 1,000 messages through an SNS -> 3 SQS fan-out, traced vs untraced.

Prints ``trace_overhead_ratio: X`` (traced time / untraced time, both measured in this run, in
interleaved rounds so drift hits both sides alike). Queues are drained as messages arrive, so
queue depth stays small on both sides.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import labkit  # noqa: E402
from labkit.lessons import allow_delivery  # noqa: E402
from labkit.lessons.inbox import take_all  # noqa: E402

MESSAGES = 1_000
ROUND = 50  # messages per round; traced and untraced rounds alternate
QUEUES = ("billing", "shipping", "audit")


def build(lab: labkit.Lab) -> tuple[str, list[str]]:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    urls = []
    for name in QUEUES:
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        queue_arn = queue_arn["Attributes"]["QueueArn"]
        allow_delivery(lab, topic, queue_arn)  # the queue's policy lets the topic send, as on AWS
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        urls.append(url)
    return topic, urls


def one_round(lab: labkit.Lab, topic: str, urls: list[str], n: int) -> None:
    sns = lab.client("sns")
    for start in range(0, n, 10):
        for i in range(start, min(start + 10, n)):
            sns.publish(TopicArn=topic, Message=f'{{"order": {i}}}')
        for url in urls:  # drain as we go: depth stays at most 10
            take_all(lab, url)


def main() -> None:
    lab = labkit.start_lab("embedded")
    topic, urls = build(lab)
    one_round(lab, topic, urls, 20)  # warm up both code paths
    with lab.tracer.paused():
        one_round(lab, topic, urls, 20)
    spent = {"traced": 0.0, "untraced": 0.0}
    for _ in range(MESSAGES // ROUND):
        for side in ("untraced", "traced"):
            began = time.perf_counter()
            if side == "traced":
                one_round(lab, topic, urls, ROUND)
            else:
                with lab.tracer.paused():
                    one_round(lab, topic, urls, ROUND)
            spent[side] += time.perf_counter() - began
    traced = [h for h in lab.tracer.hops if h.kind == "processed"]
    assert len(traced) == 3 * (MESSAGES + 20), len(traced)
    assert not lab.tracer.errors, lab.tracer.errors
    lab.stop()
    print(f"trace_messages: {MESSAGES}")
    print(f"trace_untraced_seconds: {spent['untraced']:.3f}")
    print(f"trace_traced_seconds: {spent['traced']:.3f}")
    print(f"trace_overhead_ratio: {spent['traced'] / spent['untraced']:.3f}")


if __name__ == "__main__":
    main()
