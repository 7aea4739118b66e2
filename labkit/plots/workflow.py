"""A Step Functions run as a timeline: a lane per state, Map iteration or Parallel branch, its
bars over the lab's clock, failed attempts and the waits between retries marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from labkit.plots import style
from labkit.trace.timeline import Bar

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_workflow"]


@style.documented
def plot_workflow(
    bars: Sequence[Bar],
    *,
    title: str = "Workflow timeline",
    ax: Axes | None = None,
    size: str | None = None,
) -> Axes:
    """A run's states over the lab clock: one lane each, top to bottom in the order they began.

    Parameters
    ----------
    bars : sequence of Bar
        ``labkit.trace.timeline.timeline(events)`` of an execution's history.
    %(title)s
    %(drawing)s

    %(returns)s

    Examples
    --------
    >>> ax = plot_workflow([Bar("Charge", "Charge", 0.0, 6.0, "state"),
    ...                     Bar("Charge", "Charge", 0.0, 0.0, "failed"),
    ...                     Bar("Charge", "Charge", 0.0, 2.0, "retry wait")])
    >>> [t.get_text() for t in ax.get_yticklabels()], len(ax.patches)
    (['Charge'], 2)
    """
    sz = style.STYLE.size(size)
    lanes = list(dict.fromkeys(bar.lane for bar in bars))
    width, _ = sz.figure(10.0, 1.0)
    ax = style.use_axes(ax, (width, sz.figure(1.0, 1.8 + 0.42 * max(len(lanes), 1))[1]))
    row = {lane: len(lanes) - 1 - i for i, lane in enumerate(lanes)}
    end = max((bar.end for bar in bars), default=1.0) or 1.0
    for bar in bars:
        y = row[bar.lane]
        if bar.kind == "state":
            # a state that took no lab time still shows: a sliver of the run's length
            ax.barh(y, max(bar.end - bar.start, end / 200), left=bar.start, height=0.6,
                    color=style.GREEN, edgecolor=style.GREEN, zorder=2)  # fmt: skip
        elif bar.kind == "retry wait":
            # narrower than the state's bar, which shows around it
            ax.barh(y, bar.end - bar.start, left=bar.start, height=0.34, color="white",
                    edgecolor=style.GREY, hatch="///", zorder=3)  # fmt: skip
        else:
            ax.plot([bar.start], [y], marker="X", color=style.VERMILION, markersize=sz.font,
                    linestyle="none", zorder=4, clip_on=False)  # fmt: skip
    ax.set_yticks(range(len(lanes)), list(reversed(lanes)))
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_xlim(-end * 0.02, end * 1.03)
    style.describe(ax, sz, title=title, xlabel="lab seconds since the execution started", ylabel="")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=style.GREEN, label="state running")]
    if any(b.kind == "retry wait" for b in bars):
        handles.append(
            Patch(facecolor="white", edgecolor=style.GREY, hatch="///", label="retry wait")
        )
    if any(b.kind == "failed" for b in bars):
        handles.append(Line2D([], [], marker="X", color=style.VERMILION, linestyle="none",
                              label="attempt failed"))  # fmt: skip
    # beside the axes: under them it would meet the x axis's label on a one-lane plot
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5),
              fontsize=sz.font * 0.9, frameon=False)  # fmt: skip
    return ax
