"""labkit.lessons.decoupling: batch calls, fixed-rate consumers, side by side, the swap count."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import pytest

import labkit
from labkit.errors import LabError
from labkit.lessons import decoupling
from labkit.lessons.decoupling import Consumer, Outage, Timeline


@pytest.fixture
def lab():
    lab = labkit.start_lab(seed=5)
    yield lab
    lab.stop()


def _queue(lab, name, **attributes):
    return lab.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def test_send_take_finish_use_batches_of_ten(lab):
    sqs, url = lab.client("sqs"), _queue(lab, "q")
    assert decoupling.send_orders(sqs, url, [f"o-{i}" for i in range(23)]) == 23
    got = decoupling.take(sqs, url, 15)
    assert len(got) == 15
    assert decoupling.finish(sqs, url, got) == 15
    assert decoupling.depth(sqs, url) == 8
    sends = [c for c in lab.tracer.calls if c.operation == "SendMessageBatch"]
    assert len(sends) == 3


def test_drain_never_exceeds_the_rate_and_reports_drain_time(lab):
    sqs, url = lab.client("sqs"), _queue(lab, "spike")
    decoupling.send_orders(sqs, url, [f"o-{i}" for i in range(137)])
    run = decoupling.drain(lab, sqs, url, consumers=3, rate=2, step=5)
    assert max(run.column("processed")) <= 3 * 2 * 5
    assert run.total("processed") == 137
    assert run.column("depth")[-1] == 0
    assert run.drain_time == 5 * len(run.rows) == 25.0  # ceil(137 / 30) steps
    assert decoupling.depth(sqs, url) == 0


def test_more_consumers_drain_faster(lab):
    sqs = lab.client("sqs")
    times = {}
    for n in (1, 2, 4):
        url = _queue(lab, f"s{n}")
        decoupling.send_orders(sqs, url, [str(i) for i in range(80)])
        times[n] = decoupling.drain(lab, sqs, url, consumers=n, rate=1, step=10).drain_time
    assert times == {1: 80.0, 2: 40.0, 4: 20.0}


def test_drain_refuses_no_consumers(lab):
    with pytest.raises(LabError):
        decoupling.drain(lab, lab.client("sqs"), _queue(lab, "q"), consumers=0, rate=1)


def test_side_by_side_loses_on_the_coupled_side_only(lab):
    sqs, url = lab.client("sqs"), _queue(lab, "orders")
    run = decoupling.run_side_by_side(
        lab, sqs, url, seconds=60, arrivals_per_second=1, outage=Outage(10, 30), consumer_rate=3
    )
    assert run.total("coupled_failed") == 20
    assert run.total("coupled_ok") == 40
    assert run.total("accepted") == 60
    assert run.total("processed") + run.rows[-1]["depth"] == 60
    assert max(run.column("depth")) == 20  # the backlog of the outage
    assert run.column("processed")[2:6] == [0, 0, 0, 0]  # nothing processed while down


def test_consumer_leaves_failed_messages_in_the_queue(lab):
    sqs, url = lab.client("sqs"), _queue(lab, "q", VisibilityTimeout="5")
    decoupling.send_orders(sqs, url, ["good", "bad", "good"])

    def handler(body):
        if body == "bad":
            raise ValueError(body)

    consumer = Consumer("c", rate=1, handler=handler)
    assert consumer.work(sqs, url, step=10) == 2
    assert consumer.failed == 1
    assert decoupling.depth(sqs, url) == 1


def test_swap_counts_every_message(lab):
    sqs = lab.client("sqs")
    dlq = _queue(lab, "dlq")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = _queue(
        lab,
        "main",
        VisibilityTimeout="5",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"}),
    )
    v1 = Consumer("v1", 1, lambda b: json.loads(b)["amount"])
    v2 = Consumer("v2", 4, lambda b: json.loads(b)["total"]["amount"])
    run = decoupling.run_swap(
        lab, sqs, url, v1=v1, v2=v2, swap_at=50, new_format_at=50, seconds=120
    )
    sent = run.total("sent")
    dead = decoupling.depth(sqs, dlq)
    assert sent == 240
    assert v1.processed + v2.processed + decoupling.depth(sqs, url) + dead == sent
    assert dead == 50  # the old-format backlog v2 cannot read
    assert run.total("processed_v1") == v1.processed == 50


def test_slow_consumer_duplicates_only_with_a_short_timeout(lab):
    sqs = lab.client("sqs")
    short = decoupling.slow_consumer_run(lab, sqs, _queue(lab, "short"), orders=20)
    long = decoupling.slow_consumer_run(
        lab, sqs, _queue(lab, "long", VisibilityTimeout="90"), orders=20
    )
    assert set(short.values()) == {2}
    assert set(long.values()) == {1}
    assert len(long) == 20


def test_timeline_cumulative_and_drain_time():
    t = Timeline(step=5)
    t.add(5, processed=3, depth=2)
    t.add(10, processed=2, depth=0)
    assert t.cumulative("processed") == [3, 5]
    assert t.drain_time == 10
    assert Timeline(step=1).drain_time is None


def test_plots_draw_the_timeline_data(lab):
    run = Timeline(step=5, outage=Outage(5, 10))
    run.add(5, coupled_ok=1, coupled_failed=0, accepted=1, processed=1, depth=0)
    run.add(10, coupled_ok=0, coupled_failed=1, accepted=1, processed=0, depth=1)
    ax = decoupling.plot_side_by_side(run)
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert lines["coupled: failed (lost)"] == [0, 0, 1]
    assert lines["queue: processed"] == [0, 1, 1]
    assert ax.get_title() and ax.get_legend() is not None

    ax = decoupling.plot_drain(run, limit=5)
    depth_line = next(x for x in ax.get_lines() if x.get_label().startswith("queue depth"))
    assert list(depth_line.get_ydata()) == [1, 0, 1]
    ax = decoupling.plot_drain_times({1: 80.0, 2: 40.0}, deadline=60)
    assert [p.get_height() for p in ax.patches] == [80.0, 40.0]


def test_consumers_past_the_downstream_capacity_drain_no_faster(lab):
    sqs = lab.client("sqs")
    times = {}
    for n in (1, 2, 4, 8):
        url = sqs.create_queue(QueueName=f"capped-{n}")["QueueUrl"]
        decoupling.send_orders(sqs, url, [str(i) for i in range(240)])
        run = decoupling.drain(lab, sqs, url, consumers=n, rate=5, step=10, downstream=12)
        assert max(run.column("processed")) <= 12 * 10
        times[n] = run.drain_time
    assert times == {1: 50.0, 2: 30.0, 4: 20.0, 8: 20.0}


def test_the_swap_plot_draws_what_each_version_processed(lab):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="swap")["QueueUrl"]
    v1, v2 = Consumer("v1", 1), Consumer("v2", 4)
    run = decoupling.run_swap(lab, sqs, url, v1=v1, v2=v2, swap_at=20, new_format_at=20, seconds=40)
    ax = decoupling.plot_swap(run, swap_at=20)
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert lines["processed by v1"][-1] == v1.processed
    assert lines["processed by v2"][-1] == v2.processed
    assert lines["sent"][-1] == run.total("sent")
    # the depth is what waits at each step, not a running total like the other lines
    assert lines["in the queue at that moment"] == [0, *run.column("depth")]
