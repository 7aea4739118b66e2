"""Instructor mode: presenter-size plots, reset between demos, step-through animation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import labkit  # noqa: E402
from labkit import plots  # noqa: E402
from labkit.lessons.decoupling import Outage, Timeline  # noqa: E402
from labkit.lessons.saga import choreography_flow  # noqa: E402
from labkit.tools import instructor  # noqa: E402
from labkit.trace.timeline import Bar  # noqa: E402
from tests.scenarios import fan_out  # noqa: E402


@pytest.fixture
def lab() -> Iterator[labkit.Lab]:
    lab = labkit.start_lab("embedded")
    fan_out(lab)
    yield lab
    instructor.presenter(False)
    lab.stop()
    plt.close("all")


def _figsize(ax) -> tuple[float, float]:
    return tuple(round(v, 2) for v in ax.figure.get_size_inches())


def test_presenter_makes_every_default_plot_projector_size(lab) -> None:
    small = _figsize(plots.plot_topology(lab))
    assert small == plots.SIZES["notebook"].figsize == (10.0, 5.6)
    assert instructor.presenter() and instructor.presenting()
    assert _figsize(plots.plot_topology(lab)) == plots.SIZES["presenter"].figsize
    assert _figsize(plots.plot_queue_depth(lab)) == plots.SIZES["presenter"].figsize
    big_font = max(t.get_fontsize() for t in plots.plot_topology(lab).texts)
    instructor.presenter(False)
    assert not instructor.presenting()
    assert _figsize(plots.plot_topology(lab)) == small
    assert max(t.get_fontsize() for t in plots.plot_topology(lab).texts) < big_font


def _timeline() -> Timeline:
    run = Timeline(step=5, outage=Outage(5, 10))
    run.add(5, coupled_ok=1, coupled_failed=0, accepted=1, processed=1, depth=3)
    run.add(10, coupled_ok=0, coupled_failed=1, accepted=1, processed=0, depth=1)
    return run


def _swap_timeline() -> Timeline:
    run = Timeline(step=5)
    run.add(5, sent=10, processed_v1=5, depth=5)
    run.add(10, sent=10, processed_v2=15, depth=0)
    return run


def _one_message(lab: labkit.Lab) -> tuple[Any, ...]:
    flow = labkit.flow(lab)
    return flow.path(flow.messages()[0])  # a few hops: the sequence keeps its shortest figure


_SAGA_EVENTS = [
    {"detail-type": "OrderPlaced", "source": "shop.orders"},
    {"detail-type": "ShipmentFailed", "source": "shop.shipping"},
    {"detail-type": "PaymentRefunded", "source": "shop.payments"},
]

_NINE = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
#: a get_metric_data answer: two metrics over two minutes
_METRICS = [
    {
        "Label": "Delivered",
        "Timestamps": [_NINE, _NINE + dt.timedelta(minutes=1)],
        "Values": [3, 1],
    },
    {"Label": "Failed", "Timestamps": [_NINE], "Values": [2]},
]

#: a stream mapping's invocations: a failed batch of three, bisected, the middle record given up
_STREAM_RUN = [
    SimpleNamespace(trigger="dynamodb", time=0.0, message_ids=("1", "2", "3"), outcome="error"),
    SimpleNamespace(trigger="dynamodb", time=0.25, message_ids=("1",), outcome="ok"),
    SimpleNamespace(trigger="dynamodb", time=0.25, message_ids=("2", "3"), outcome="error"),
    SimpleNamespace(trigger="dynamodb", time=0.5, message_ids=("3",), outcome="ok"),
]

#: every public plot, drawn from a lab holding the fan-out scenario, at a given size
#: plots whose figure is as wide as their text needs (plot_saga: a column per step)
#: two invocations as the function runtime records them: a full batch, then one with a failure
_INVOCATIONS = [
    SimpleNamespace(time=0.0, duration=1.0, message_ids=("a", "b"), failed_ids=(), outcome="ok"),
    SimpleNamespace(time=1.0, duration=1.0, message_ids=("c",), failed_ids=("c",), outcome="error"),
]
AS_WIDE_AS_ITS_TEXT = {"plot_saga"}
PLOTS: dict[str, Callable[[labkit.Lab, str | None], Any]] = {
    "plot_topology": lambda lab, size: plots.plot_topology(lab, size=size),
    "plot_sequence": lambda lab, size: plots.plot_sequence(_one_message(lab), size=size),
    "plot_queue_depth": lambda lab, size: plots.plot_queue_depth(lab, size=size),
    "plot_saga": lambda lab, size: plots.plot_saga(
        choreography_flow(_SAGA_EVENTS, failures=["ShipmentFailed"], compensations=[]), size=size
    ),
    "animate_flow": lambda lab, size: plots.animate_flow(lab, size=size, max_frames=1),
    "plot_side_by_side": lambda lab, size: plots.plot_side_by_side(_timeline(), size=size),
    "plot_drain": lambda lab, size: plots.plot_drain(_timeline(), limit=2, size=size),
    "plot_swap": lambda lab, size: plots.plot_swap(_swap_timeline(), swap_at=5, size=size),
    "plot_drain_times": lambda lab, size: plots.plot_drain_times(
        {1: 80.0, 2: 40.0}, deadline=60, size=size
    ),
    "plot_group_order": lambda lab, size: plots.plot_group_order(
        [("ana", "o-3"), ("ben", "o-2"), ("ana", "o-1")],
        sent=[("ana", "o-1"), ("ben", "o-2"), ("ana", "o-3")],
        size=size,
    ),
    "plot_failure_matrix": lambda lab, size: plots.plot_failure_matrix(
        {"Ship": ["Refund", "Release"], "Charge": []}, ["Release", "Refund"], size=size
    ),
    "plot_metrics": lambda lab, size: plots.plot_metrics(_METRICS, size=size),
    "plot_batches": lambda lab, size: plots.plot_batches(_INVOCATIONS, size=size),
    "plot_workflow": lambda lab, size: plots.plot_workflow(
        [
            Bar("Charge", "Charge", 0.0, 6.0, "state"),
            Bar("Charge", "Charge", 0.0, 0.0, "failed"),
            Bar("Charge", "Charge", 0.0, 6.0, "retry wait"),
        ],
        size=size,
    ),  # fmt: skip
    "plot_stream_batches": lambda lab, size: plots.plot_stream_batches(
        _STREAM_RUN, given_up=["2"], size=size
    ),
}


@dataclass(frozen=True)
class Drawn:
    figsize: tuple[float, float]
    fonts: tuple[float, ...]  # every size of text on the figure, once each


def _drawn(result: Any) -> Drawn:
    """The figure's size and the font sizes of every text it shows once drawn."""
    if isinstance(result, plots.FlowAnimation):
        result.to_html()  # draws every frame; the last stays on the figure
    fig = result.figure
    fig.canvas.draw()
    shown = []
    for ax in fig.axes:
        shown += [*ax.texts, ax.title]
        if ax.get_legend() is not None:
            shown += [*ax.get_legend().get_texts(), ax.get_legend().get_title()]
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                if axis.get_visible():
                    shown += [axis.label, *axis.get_ticklabels()]
    fonts = {round(t.get_fontsize(), 2) for t in shown if t.get_visible() and t.get_text()}
    plt.close(fig)
    return Drawn(_figsize(fig.axes[0]), tuple(sorted(fonts)))


def test_the_presenter_test_draws_every_public_plot() -> None:
    public = {n for n in plots.__all__ if n.startswith(("plot_", "animate_"))}
    assert set(PLOTS) == public


@pytest.mark.parametrize("name", list(PLOTS))
def test_presenter_grows_every_plot_unless_it_has_a_size(lab, name: str) -> None:
    draw = PLOTS[name]
    small = _drawn(draw(lab, None))
    assert small == _drawn(draw(lab, "notebook")) and small.fonts
    instructor.presenter()
    big = _drawn(draw(lab, None))
    kept = _drawn(draw(lab, "notebook"))
    instructor.presenter(False)
    notebook, presenter = plots.SIZES["notebook"], plots.SIZES["presenter"]
    grow = [presenter.figsize[i] / notebook.figsize[i] for i in (0, 1)]
    grown = tuple(round(small.figsize[i] * grow[i], 2) for i in (0, 1))
    if name in AS_WIDE_AS_ITS_TEXT:
        # a column per step as wide as its box: wider still, as text grows more than figures
        assert big.figsize[0] >= grown[0] and big.figsize[1] == grown[1]
    else:
        assert big.figsize == grown
    text = presenter.font / notebook.font
    assert big.fonts == tuple(sorted({round(f * text, 2) for f in small.fonts}))
    assert kept == small


def test_reset_between_demos_clears_lab_trace_and_clock(lab) -> None:
    lab.advance(90)
    assert lab.tracer.calls and labkit.flow(lab)
    start = lab.clock.now()
    lab.reset()
    assert lab.clock.now() < start
    assert not lab.tracer.calls
    assert len(labkit.flow(lab)) == 0
    assert lab.client("sqs").list_queues().get("QueueUrls", []) == []


def test_step_through_animation_has_one_frame_per_hop(lab) -> None:
    flow = labkit.flow(lab)
    animation = plots.animate_flow(flow, max_frames=4)
    assert animation.frames == tuple(flow[:4])
    assert "<" in animation.to_html()
