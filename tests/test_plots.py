"""Plots, checked through what they draw (labels, counts, lanes, steps, no overlaps) and where."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import labkit  # noqa: E402
from labkit import plots  # noqa: E402
from labkit.errors import LabError  # noqa: E402
from labkit.lessons import allow_delivery
from labkit.plots.layout import node_positions  # noqa: E402
from labkit.plots.legibility import (  # noqa: E402
    STRICT_ENV,
    PlotLayoutError,
    layout_problems,
    strict,
    watch,
)
from labkit.trace import Hop  # noqa: E402
from labkit.trace.flows import Flow, short_name  # noqa: E402
from tests.scenarios import event_routing, fan_out, poison_message, queue_arn, saga  # noqa: E402

SCENARIOS: dict[str, Callable[[labkit.Lab], Any]] = {
    "fan_out": fan_out,
    "event_routing": event_routing,
    "poison_message": poison_message,
    "saga": saga,
}


@pytest.fixture(scope="module")
def flows() -> dict[str, Flow]:
    """One flow per canonical scenario (embedded; the flow tests cover both backends)."""
    lab = labkit.start_lab("embedded")
    taken = {}
    for name, build in SCENARIOS.items():
        lab.reset()
        build(lab)
        taken[name] = labkit.flow(lab)
    lab.stop()
    return taken


def texts(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.texts]


def problems(ax: Any) -> list[str]:
    """What the layout check finds in the axes' figure once drawn."""
    ax.figure.canvas.draw()
    return [str(problem) for problem in layout_problems(ax.figure)]


def test_layout_is_layered_and_repeatable(embedded_lab: labkit.Lab) -> None:
    event_routing(embedded_lab)
    first = labkit.flow(embedded_lab)
    pos = node_positions(first)
    assert pos == node_positions(labkit.flow(embedded_lab))
    column = {first.kind_of(n): x for n, (x, _) in pos.items()}
    assert column["publisher"] < column["bus"] < column["rule"] < column["queue"]
    assert column["queue"] < column["consumer"]
    ys = [y for n, (x, y) in pos.items() if first.kind_of(n) == "rule"]
    assert len(set(ys)) == 3  # no two nodes of a column on top of each other


def test_a_topic_a_rule_feeds_sits_after_the_rule(embedded_lab: labkit.Lab) -> None:
    events, sns, sqs = (embedded_lab.client(s) for s in ("events", "sns", "sqs"))
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url = sqs.create_queue(QueueName="pager")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    allow_delivery(embedded_lab, topic, queue["Attributes"]["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue["Attributes"]["QueueArn"])
    rule = events.put_rule(Name="failures", EventPattern='{"detail-type": ["PaymentFailed"]}')
    allow_delivery(embedded_lab, rule["RuleArn"], topic)
    events.put_targets(Rule="failures", Targets=[{"Id": "t", "Arn": topic}])
    entry = {"Source": "shop", "DetailType": "PaymentFailed", "Detail": "{}"}
    events.put_events(Entries=[entry])
    flow = labkit.flow(embedded_lab)
    x = {short_name(n): pos[0] for n, pos in node_positions(flow).items()}
    assert x["default"] < x["failures"] < x["alerts"] < x["pager"], x


@pytest.mark.parametrize("size", ["notebook", "presenter"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_topology_draws_every_count_without_overlaps(
    flows: dict[str, Flow], scenario: str, size: str
) -> None:
    flow = flows[scenario]
    ax = plots.plot_topology(flow, size=size)
    drawn = texts(ax)
    for edge in plots.topology_edges(flow):
        assert edge.label in drawn
    for node in flow.nodes():
        assert short_name(node) in [t.replace("\n", "") for t in drawn]
    assert ax.get_title() and ax.get_legend() is not None
    assert problems(ax) == []
    plt.close(ax.figure)


def test_topology_labels_for_the_fan_out(flows: dict[str, Flow]) -> None:
    labels = {
        (short_name(e.source), short_name(e.target)): e.label
        for e in plots.topology_edges(flows["fan_out"])
        if e.kind != "filtered"
    }
    assert labels[("orders", "shipping")] == "2 delivered"
    assert labels[("shipping", "shipping-service")] == "2 received, 2 deleted"
    filtered = [e.label for e in plots.topology_edges(flows["fan_out"]) if e.kind == "filtered"]
    assert filtered == ["1 filtered"]
    dead = [e.label for e in plots.topology_edges(flows["poison_message"])]
    assert "1 dead-lettered" in dead and "3 received" in dead


def test_legend_names_the_kinds_drawn(flows: dict[str, Flow]) -> None:
    ax = plots.plot_topology(flows["poison_message"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "publisher", "queue", "dead-letter queue", "consumer", "sent", "received", "dead-lettered",
    ]  # fmt: skip
    plt.close(ax.figure)


def test_sequence_has_one_arrow_per_hop_in_order(flows: dict[str, Flow]) -> None:
    flow = flows["poison_message"]
    rows = plots.sequence_rows(flow)
    assert [r.kind for r in rows] == [h.kind for h in flow]
    assert {r.message for r in rows} == {"m1"}
    ax = plots.plot_sequence(flow, size="presenter")
    arrows = [t for t in ax.texts if t.get_text() == "m1"]
    assert len(arrows) == len(flow)
    assert [t for t in texts(ax) if t.startswith("t=")] == [
        "t=0s",
        "t=31s",
        "t=62s",
        "t=93s",
        "t=124s",
    ]
    assert ax.get_title() and ax.get_legend() is not None and problems(ax) == []
    plt.close(ax.figure)


def test_queue_depth_draws_the_depth_series(flows: dict[str, Flow]) -> None:
    ax = plots.plot_queue_depth(flows["poison_message"])
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert lines == {"payments": [0, 1, 0, 0], "payments-dlq (dead-letter)": [0, 1, 0, 0]}
    assert ax.get_xlabel() == "lab time (s)"
    plt.close(ax.figure)
    ax = plots.plot_queue_depth(flows["fan_out"], size="presenter")
    assert max(max(line.get_ydata()) for line in ax.get_lines()) == 3
    assert ax.get_xlabel().startswith("event number")  # the clock never moved
    plt.close(ax.figure)


@pytest.mark.parametrize("size", ["notebook", "presenter"])
def test_saga_timeline_shows_forward_failure_compensation(
    flows: dict[str, Flow], size: str
) -> None:
    ax = plots.plot_saga(flows["saga"], size=size)
    boxes = [t for t in texts(ax) if "→" in t]
    assert boxes == [
        "ReserveStock\n→ inventory",
        "ChargeCard ✗\n→ payments",
        "ReleaseStock\n→ inventory",
    ]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["forward", "failed", "compensation"]
    assert problems(ax) == []
    plt.close(ax.figure)


def test_plots_draw_into_a_given_axes_and_reject_bad_sizes(flows: dict[str, Flow]) -> None:
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.plot_topology(flows["fan_out"], ax=left) is left
    assert plots.plot_queue_depth(flows["fan_out"], ax=right) is right
    with pytest.raises(LabError, match="presenter"):
        plots.plot_topology(flows["fan_out"], size="huge")
    plt.close(fig)


def test_animation_steps_through_hops_as_html(flows: dict[str, Flow]) -> None:
    flow = flows["event_routing"]
    animation = plots.animate_flow(flow, max_frames=3)
    assert animation.frames == tuple(flow[:3])
    html = animation._repr_html_()
    assert "<script" in html and html.count("data:image/png;base64") == 3


def test_every_edge_kind_has_a_style_of_its_own() -> None:
    styles = list(plots.EDGE_STYLE.values())
    assert len(set(styles)) == len(styles), "two kinds of hop would look the same in a legend"


#: what of labkit the plots may use: themselves, the flow and its records, and labkit's errors
PLOTS_MAY_IMPORT = {
    "labkit.trace",
    "labkit.trace.flows",
    "labkit.trace.records",
    "labkit.trace.timeline",
    "labkit.errors",
}


def _labkit_imports(path: Path) -> list[str]:
    """Every labkit module `path` imports, at any depth (TYPE_CHECKING blocks included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # relative: level 1 is labkit.plots itself, each level more a package further up
            base = ["labkit", "plots"][: 3 - node.level] if node.level else []
            names = [".".join([*base, *([node.module] if node.module else [])])]
        else:
            continue
        found += [n for n in names if n == "labkit" or n.startswith("labkit.")]
    return found


def test_plots_import_nothing_of_labkit_but_the_trace_and_errors() -> None:
    modules = sorted(Path(plots.__file__).parent.rglob("*.py"))
    seen = {path.name: _labkit_imports(path) for path in modules}
    assert "labkit.trace.flows" in seen["topology.py"]  # the parse finds what is there
    for name, imported in seen.items():
        stray = [
            m for m in imported if not m.startswith("labkit.plots") and m not in PLOTS_MAY_IMPORT
        ]
        assert stray == [], f"labkit/plots/{name} imports {stray}"


def test_importing_labkit_loads_no_plotting_library() -> None:
    script = "import sys, labkit; print(sorted({'matplotlib', 'networkx'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- the layout check every lesson's figures pass --------------------------------------------
def figure_with(*texts: tuple[float, float, str]) -> Any:
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    for x, y, text in texts:
        ax.text(x, y, text, ha="center", va="center")
    return ax


def test_the_layout_check_names_labels_drawn_on_each_other() -> None:
    ax = figure_with((0.5, 0.5, "billing"), (0.52, 0.51, "shipping"), (0.5, 0.2, "apart"))
    assert problems(ax) == ["overlap: 'billing' and 'shipping'"]
    plt.close(ax.figure)


def test_the_layout_check_counts_a_label_s_box_as_part_of_it() -> None:
    ax = figure_with((0.5, 0.5, "billing"), (0.5, 0.44, "orders"))
    assert problems(ax) == []  # the texts alone just clear each other
    ax.texts[0].set_bbox({"boxstyle": "round,pad=0.6", "fc": "white"})
    assert problems(ax) == ["overlap: 'billing' and 'orders'"]
    plt.close(ax.figure)


def test_the_layout_check_finds_labels_and_markers_off_their_axes() -> None:
    ax = figure_with((1.3, 0.5, "lost label"), (0.5, 0.5, "kept"))
    ax.scatter([0.995], [0.2], s=400, label="queues")
    ax.scatter([0.5], [0.8], s=400)
    assert problems(ax) == [
        "outside the axes: 'lost label'",
        "outside the axes: a marker of 'queues'",
    ]
    plt.close(ax.figure)


def test_the_layout_check_passes_a_clean_figure_and_ignores_what_is_not_drawn() -> None:
    ax = figure_with((0.3, 0.5, "billing"), (0.7, 0.5, "shipping"))
    ax.set_title("Two queues")
    ax.plot([0, 1], [0, 1], label="depth")
    ax.legend(loc="lower right")
    assert problems(ax) == []
    # tick labels on top of each other, on an axes whose axis is off: never drawn
    ax.set_xticks([0.5, 0.501], ["a long tick label", "another long one"])
    assert problems(ax) == ["overlap: 'a long tick label' and 'another long one'"]
    ax.axis("off")
    assert problems(ax) == []
    plt.close(ax.figure)


def test_a_watched_figure_refuses_to_draw_with_a_problem_only_while_strict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    ax = figure_with((0.5, 0.5, "billing"), (0.5, 0.5, "shipping"))
    ax.set_title("Queues")
    watch(ax.figure)
    ax.figure.canvas.draw()  # a learner's figure draws as it is
    with strict(), pytest.raises(PlotLayoutError) as refused:
        ax.figure.canvas.draw()
    assert "in the figure 'Queues': overlap: 'billing' and 'shipping'" in str(refused.value)
    monkeypatch.setenv(STRICT_ENV, "1")  # how the lessons' test runs switch it on
    with pytest.raises(PlotLayoutError, match="'billing' and 'shipping'"):
        ax.figure.canvas.draw()
    ax.texts[1].set_position((0.5, 0.2))
    ax.figure.canvas.draw()  # moved apart: it draws
    plt.close(ax.figure)


def test_every_labkit_figure_is_watched(flows: dict[str, Flow]) -> None:
    with strict():
        ax = plots.plot_topology(flows["fan_out"])
        ax.text(0.5, 0.5, "on top", transform=ax.transAxes)
        ax.text(0.5, 0.5, "of each other", transform=ax.transAxes)
        with pytest.raises(PlotLayoutError, match="'on top' and 'of each other'"):
            ax.figure.canvas.draw()
    plt.close(ax.figure)


# -- what the plots draw ----------------------------------------------------------------------
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:email-customer"


def test_lambda_s_attempts_are_drawn_as_lambda_s_not_as_deliveries() -> None:
    def attempt(seq: int, time: float, kind: str, n: int) -> Hop:
        return Hop(seq, time, TOPIC, FUNCTION, "m", kind, "observed", labels=(("attempt", str(n)),))

    hops = [
        Hop(1, 0.0, "actor:shop", TOPIC, "m", "sent", "observed"),
        Hop(2, 0.0, TOPIC, FUNCTION, "m", "delivered", "observed"),
        attempt(3, 0.0, "failed", 1),
        attempt(4, 60.0, "failed", 2),
        attempt(5, 180.0, "processed", 3),
    ]
    ax = plots.plot_sequence(hops)
    arrows = [t for t in ax.texts if not t.get_text()]
    assert len(arrows) == 2  # the send and SNS's one delivery; the attempts are no arrows
    said = [t.get_text() for t in ax.texts if "Lambda" in t.get_text()]
    assert said == [
        "m1: Lambda invokes (attempt 1), failed",
        "m1: Lambda retries (attempt 2), failed",
        "m1: Lambda retries (attempt 3), processed",
    ]
    lane = [t.get_text() for t in ax.get_xticklabels()].index("email-customer")
    marks = [c.get_offsets()[0][0] for c in ax.collections]
    assert marks == [lane, lane, lane]
    assert problems(ax) == []
    plt.close(ax.figure)


def test_a_dead_letter_queue_beside_a_spike_gets_its_own_scale() -> None:
    queue = "arn:aws:sqs:us-east-1:123456789012:billing"
    dlq = "arn:aws:sqs:us-east-1:123456789012:billing-dlq"
    hops = [Hop(i, float(i), "actor:shop", queue, f"m{i}", "sent", "observed") for i in range(40)]
    hops.append(Hop(40, 41.0, queue, dlq, "m0", "dead-lettered", "observed"))
    ax = plots.plot_queue_depth(hops)
    left, right = ax.figure.axes
    assert [line.get_label() for line in right.get_lines()] == [
        "billing-dlq (dead-letter, right scale)"
    ]
    assert max(right.get_lines()[0].get_ydata()) == 1 and right.get_ylim()[1] < 2
    assert left.get_ylim()[1] > 39
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["billing", "billing-dlq (dead-letter, right scale)"]
    assert problems(ax) == []
    plt.close(ax.figure)


def test_a_figure_of_several_plots_grows_at_presenter_size(flows: dict[str, Flow]) -> None:
    fig, (left, right) = plots.subplots(1, 2, figsize=(12, 4))
    plots.plot_saga(flows["saga"], ax=left)
    plots.plot_topology(flows["fan_out"], ax=right)
    assert fig.get_size_inches().tolist() == [12.0, 4.0] and problems(left) == []
    plt.close(fig)
    plots.STYLE.present(True)
    try:
        fig, ax = plots.subplots(figsize=(12, 4))
        assert fig.get_size_inches().tolist() == pytest.approx([16.8, 5.714], abs=0.01)
        wide = plots.plot_saga(flows["saga"])  # its own figure, as wide as its steps need
        assert problems(wide) == []
    finally:
        plots.STYLE.present(False)
    plt.close("all")


def test_the_lessons_runs_are_strict_about_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from tests import nbbackends
    from tests.tools.execute_notebooks import unreadable_figures

    monkeypatch.delenv(STRICT_ENV, raising=False)
    options = type("Options", (), {"nbval_fork_kernels": False})()
    nbbackends.pytest_configure(type("Config", (), {"option": options})())  # type: ignore[arg-type]
    assert os.environ[STRICT_ENV] == "1"  # the notebooks' kernels inherit it
    refused = new_output("error", ename="PlotLayoutError", evalue="overlap: 'a' and 'b'")
    other = new_output("error", ename="CheckFailed", evalue="an exercise left to do")
    nb = new_notebook(
        cells=[new_code_cell("plot()", outputs=[refused]), new_code_cell("x", outputs=[other])]
    )
    assert unreadable_figures(nbformat.from_dict(nb)) == ["cell 0: overlap: 'a' and 'b'"]


def test_plot_metrics_draws_what_cloudwatch_answers(embedded_lab: labkit.Lab) -> None:
    import datetime as dt

    lab = embedded_lab
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    queue = lab.client("sqs").create_queue(QueueName="no-policy")["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(lab, queue))
    for minute in range(3):
        for _ in range(minute + 1):
            sns.publish(TopicArn=topic, Message="o")
        lab.advance(60)
    metric = {"Namespace": "AWS/SNS", "MetricName": "NumberOfNotificationsFailed"}
    metric["Dimensions"] = [{"Name": "TopicName", "Value": "orders"}]
    now = lab.clock.now()
    answer = lab.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {"Id": "failed", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}}
        ],
        StartTime=now - dt.timedelta(minutes=10),
        EndTime=now,
    )
    ax = labkit.plot_metrics(answer)
    [line] = ax.get_lines()
    assert line.get_xdata().tolist() == [0.0, 1.0, 2.0]
    assert line.get_ydata().tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(labkit.LabError) as err:
        labkit.plot_metrics({"Metrics": []})
    assert "MetricDataResults" in str(err.value) and "What to do" in str(err.value)


def test_plot_metrics_breaks_its_lines_over_periods_without_data() -> None:
    import datetime as dt
    import math

    nine = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    at = [nine + dt.timedelta(minutes=m) for m in (0, 10, 11)]
    answer = {
        "MetricDataResults": [
            {"Label": "Delivered", "Timestamps": at, "Values": [21.0, 2.0, 5.0]},
            {"Label": "Failed", "Timestamps": at[2:], "Values": [2.0]},
        ]
    }
    ax = labkit.plot_metrics(answer)
    delivered, failed = ax.get_lines()
    xs, ys = delivered.get_xdata().tolist(), delivered.get_ydata().tolist()
    # minutes 1 to 9 had no data: no line across them; minutes 10 and 11 stay joined
    assert xs[0] == 0.0 and math.isnan(xs[1]) and xs[2:] == [10.0, 11.0]
    assert ys[0] == 21.0 and math.isnan(ys[1]) and ys[2:] == [2.0, 5.0]
    assert failed.get_xdata().tolist() == [11.0]
    # counts are whole: every tick a whole number
    assert all(float(t).is_integer() for t in ax.get_yticks())


def test_plot_batches_draws_each_invocation_of_a_run(embedded_lab: labkit.Lab) -> None:
    lab = embedded_lab
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    for first in range(0, 25, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "MessageBody": f"m{i}"} for i in range(first, min(first + 10, 25))
            ],
        )

    def handler(event: dict, context: object) -> dict:
        bad = [r["messageId"] for r in event["Records"] if r["body"] == "m3"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}

    fn = lab.functions.deploy("f", handler, concurrency=2, duration=1.0)
    fn.consume(url, batch_size=10, report_failures=True)
    result = lab.functions.run(5)
    bars = plots.batch_bars(result)
    assert [(b.start, b.records, b.bottom, b.outcome) for b in bars] == [
        (0.0, 10, 0, "partial"),
        (0.0, 10, 10, "ok"),
        (1.0, 5, 0, "ok"),
    ]
    with strict():
        ax = plots.plot_batches(result)
        ax.figure.canvas.draw()
    # the partial batch: 9 processed, 1 failed on top; then the full batch, then the last 5
    assert [(float(p.get_x()), float(p.get_y()), float(p.get_height())) for p in ax.patches] == [
        (0.0, 0.0, 9.0),
        (0.0, 9.0, 1.0),
        (0.0, 10.0, 10.0),
        (1.0, 0.0, 5.0),
    ]
    failed = ax.patches[1].get_facecolor()
    assert [p.get_facecolor() == failed for p in ax.patches] == [False, True, False, False]
    running = ax.figure.axes[1].get_lines()[0]
    assert running.get_ydata().tolist() == [2, 1, 0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "processed",
        "failed",
        "invocations running",
    ]
    with pytest.raises(LabError, match="invocations"):
        plots.plot_batches(42)


def test_plot_batches_hatches_the_records_of_a_timed_out_batch() -> None:
    from types import SimpleNamespace

    runs = [
        SimpleNamespace(time=0.0, duration=3.0, message_ids=("a", "b"), failed_ids=("a", "b"),
                        outcome="timeout"),
        SimpleNamespace(time=3.0, duration=1.0, message_ids=("c",), failed_ids=("c",),
                        outcome="error"),
    ]  # fmt: skip
    ax = plots.plot_batches(runs)
    assert [(float(p.get_height()), p.get_hatch()) for p in ax.patches] == [
        (2.0, "//"),
        (1.0, None),
    ]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "failed",
        "failed (timeout)",
        "invocations running",
    ]
