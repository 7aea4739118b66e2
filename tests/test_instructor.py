"""Instructor mode: presenter-size plots, reset between demos, step-through animation."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import labkit  # noqa: E402
from labkit import plots  # noqa: E402
from labkit.tools import instructor  # noqa: E402
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
