"""Lesson 05's plots: a direct call next to a queue through an outage, a spike drained, and how
long draining takes with more consumers.

They read a run step by step (`StepCounts`: ``labkit.lessons.decoupling.Timeline`` is one) or a
table of drain times; the runs themselves are the lesson's (``labkit.lessons.decoupling``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from labkit.plots import style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "Span",
    "StepCounts",
    "plot_drain",
    "plot_drain_times",
    "plot_side_by_side",
    "plot_swap",
]


class Span(Protocol):
    """A stretch of lab time, e.g. an outage: from `start` (included) to `end` (excluded)."""

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...


class StepCounts(Protocol):
    """A run in steps: the lab time at the end of each step and named counts for it."""

    @property
    def step(self) -> float: ...

    @property
    def times(self) -> Sequence[float]: ...

    @property
    def outage(self) -> Span | None: ...

    def column(self, name: str) -> list[int]: ...

    def cumulative(self, name: str) -> list[int]: ...


@style.documented
def plot_side_by_side(
    timeline: StepCounts, *, ax: Axes | None = None, size: str | None = None
) -> Axes:
    """Cumulative requests over lab time: coupled succeeded/failed, decoupled accepted/processed.

    Parameters
    ----------
    timeline : StepCounts
        A run with the counts ``coupled_ok``, ``coupled_failed``, ``accepted`` and
        ``processed`` per step, e.g. ``run_side_by_side(...)``; its outage is shaded.
    %(drawing)s

    %(returns)s

    Examples
    --------
    >>> from labkit.lessons.decoupling import Outage, Timeline
    >>> run = Timeline(step=5, outage=Outage(5, 10))
    >>> run.add(5, coupled_ok=1, coupled_failed=0, accepted=1, processed=1)
    >>> run.add(10, coupled_ok=0, coupled_failed=1, accepted=1, processed=0)
    >>> ax = plot_side_by_side(run)
    >>> lost = ax.get_lines()[1]
    >>> lost.get_label(), lost.get_ydata().tolist()
    ('coupled: failed (lost)', [0, 0, 1])
    """
    sz = style.STYLE.size(size)
    ax = style.use_axes(ax, sz.figure(9, 4.2))
    xs = [0.0, *timeline.times]
    lines = [
        ("coupled: succeeded", "coupled_ok", style.BLUE, "-"),
        ("coupled: failed (lost)", "coupled_failed", style.VERMILION, "-"),
        ("queue: accepted", "accepted", style.ORANGE, "--"),
        ("queue: processed", "processed", style.GREEN, "-"),
    ]
    for label, name, colour, linestyle in lines:
        ax.step(
            xs,
            [0, *timeline.cumulative(name)],
            where="post",
            label=label,
            color=colour,
            linestyle=linestyle,
            # processed is drawn wide and underneath: where lines coincide, all stay visible
            linewidth=sz.stroke(4.5 if name == "processed" else 2),
            zorder={"processed": 2, "accepted": 6}.get(name, 4),
        )
    if timeline.outage is not None:
        ax.axvspan(
            timeline.outage.start,
            timeline.outage.end,
            color="#DDDDDD",
            alpha=0.6,
            label="service down",
        )
    return _over_lab_time(ax, sz, "Same requests, same outage: direct call vs queue", "requests")


@style.documented
def plot_drain(
    timeline: StepCounts,
    *,
    limit: float | None = None,
    ax: Axes | None = None,
    size: str | None = None,
) -> Axes:
    """Queue depth (line, left axis) and messages processed per step (bars, right axis).

    Parameters
    ----------
    timeline : StepCounts
        A run with the counts ``depth`` and ``processed`` per step, e.g. ``drain(...)``.
    limit : float, optional
        The most the consumers can process in a step, drawn as a dashed line.
    %(drawing)s

    Returns
    -------
    matplotlib Axes
        The axes with the depth line (the bars are on its twin, sharing the x axis).

    Examples
    --------
    >>> from labkit.lessons.decoupling import Timeline
    >>> run = Timeline(step=5)
    >>> run.add(5, processed=10, depth=15)
    >>> run.add(10, processed=10, depth=5)
    >>> ax = plot_drain(run, limit=10)
    >>> ax.get_lines()[0].get_ydata().tolist()
    [25, 15, 5]
    """
    sz = style.STYLE.size(size)
    ax = style.use_axes(ax, sz.figure(9, 4.2))
    xs = [0.0, *timeline.times]
    # before the first step the queue held what the step left plus what it processed
    first = timeline.column("depth")[0] + timeline.column("processed")[0] if timeline.times else 0
    ax.plot(
        xs,
        [first, *timeline.column("depth")],
        color=style.BLUE,
        linewidth=sz.stroke(2),
        label="queue depth (left axis)",
    )
    right = ax.twinx()
    right.bar(
        [t - timeline.step / 2 for t in timeline.times],
        timeline.column("processed"),
        width=timeline.step * 0.8,
        color=style.GREEN,
        alpha=0.5,
        label=f"processed per {timeline.step:g} s (right axis)",
    )
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    if limit is not None:
        handles.append(_threshold(right, limit, sz, f"consumers' limit: {limit:g} per step"))
    style.describe(
        ax,
        sz,
        title="A spike drained at a fixed rate",
        xlabel="lab time (s)",
        ylabel="messages in the queue",
    )
    right.set_ylabel("processed per step", fontsize=sz.text(style.LABEL_TEXT))
    right.tick_params(labelsize=sz.text(style.LABEL_TEXT))
    right.set_ylim(0, max([limit or 0, *timeline.column("processed"), 1]) * 1.25)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, loc="upper right", fontsize=sz.text(style.SMALL_TEXT))
    return ax


@style.documented
def plot_drain_times(
    results: Mapping[int, float],
    *,
    deadline: float | None = None,
    ax: Axes | None = None,
    size: str | None = None,
) -> Axes:
    """Drain time for each number of consumers, one bar each.

    Parameters
    ----------
    results : mapping of int to float
        Number of consumers -> lab seconds until the queue was empty (``Timeline.drain_time``).
    deadline : float, optional
        The time the queue must be empty by, drawn as a dashed line.
    %(drawing)s

    %(returns)s

    Examples
    --------
    >>> ax = plot_drain_times({1: 80.0, 2: 40.0}, deadline=60)
    >>> [t.get_text() for t in ax.texts]
    ['80 s', '40 s']
    """
    sz = style.STYLE.size(size)
    ax = style.use_axes(ax, sz.figure(7, 3.8))
    labels = [str(n) for n in results]
    bars = ax.bar(labels, list(results.values()), color=style.SKY, label="time to empty the queue")
    ax.bar_label(bars, fmt="%g s", fontsize=sz.text(style.LABEL_TEXT))
    if deadline is not None:
        _threshold(ax, deadline, sz, f"deadline ({deadline:g} s)")
    style.describe(
        ax,
        sz,
        title="More consumers, shorter drain (the producer did not change)",
        xlabel="consumers",
        ylabel="lab seconds",
    )
    ax.set_ylim(0, max([*results.values(), deadline or 0, 1]) * 1.2)
    ax.legend(fontsize=sz.text(style.SMALL_TEXT))
    return ax


@style.documented
def plot_swap(
    timeline: StepCounts,
    *,
    swap_at: float,
    versions: Sequence[str] = ("v1", "v2"),
    ax: Axes | None = None,
    size: str | None = None,
) -> Axes:
    """A consumer swap: orders sent, processed by each version (running totals) and waiting.

    Parameters
    ----------
    timeline : StepCounts
        A run with the counts ``sent``, ``depth`` and ``processed_<version>`` per step, e.g.
        ``run_swap(...)``.
    swap_at : float
        The lab second the old version stopped and the new one started, drawn as a line.
    versions : sequence of str
        The consumers' names, old first.
    %(drawing)s

    %(returns)s

    Examples
    --------
    >>> from labkit.lessons.decoupling import Timeline
    >>> run = Timeline(step=5)
    >>> run.add(5, sent=10, processed_v1=5, depth=5)
    >>> run.add(10, sent=10, processed_v2=15, depth=0)
    >>> ax = plot_swap(run, swap_at=5)
    >>> [(line.get_label(), line.get_ydata().tolist()) for line in ax.get_lines()[:3]]
    [('sent', [0, 10, 20]), ('processed by v1', [0, 5, 5]), ('processed by v2', [0, 0, 15])]
    """
    sz = style.STYLE.size(size)
    ax = style.use_axes(ax, sz.figure(9, 4.2))
    xs = [0.0, *timeline.times]
    series = [("sent", "sent", style.ORANGE, "--")] + [
        (f"processed by {name}", f"processed_{name}", colour, "-")
        for name, colour in zip(versions, (style.BLUE, style.GREEN), strict=False)
    ]
    for label, name, colour, linestyle in series:
        ax.step(xs, [0, *timeline.cumulative(name)], where="post", label=label, color=colour,
                linestyle=linestyle, linewidth=sz.stroke(2))  # fmt: skip
    depth = [0, *timeline.column("depth")]
    ax.step(xs, depth, where="post", label="in the queue at that moment", color=style.VERMILION,
            linewidth=sz.stroke(1.5))  # fmt: skip
    ax.axvline(swap_at, color="#777777", linestyle=":", linewidth=sz.stroke(1.5))
    return _over_lab_time(ax, sz, "Replacing the consumer while orders keep coming", "orders")


def _over_lab_time(ax: Axes, sz: style.Size, title: str, what: str) -> Axes:
    """Title, labels, grid and legend of a plot of running totals over lab time."""
    style.describe(ax, sz, title=title, xlabel="lab time (s)", ylabel=f"{what} (running total)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=sz.text(style.SMALL_TEXT))
    return ax


def _threshold(ax: Axes, value: float, sz: style.Size, label: str) -> Any:
    """A dashed line at `value`: a limit or a deadline the plot measures against."""
    return ax.axhline(
        value, color=style.VERMILION, linestyle="--", linewidth=sz.stroke(1.5), label=label
    )
