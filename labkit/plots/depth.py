"""How many messages each queue of a flow held over time: one step line per queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.plots.style import SERIES, STYLE, VERMILION, documented, lines_legend, use_axes
from labkit.trace.flows import FlowLike, as_flow, short_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_queue_depth"]


@documented
def plot_queue_depth(
    flow: FlowLike,
    *,
    ax: Axes | None = None,
    size: str | None = None,
    queues: list[str] | None = None,
) -> Axes:
    """How many messages each queue held (waiting or in flight) after every change.

    The x axis is lab time; when the clock never moved it is the event number instead.
    Dead-letter queues are dashed vermilion lines.

    Parameters
    ----------
    flow : Flow, FlowSource or sequence of Hop
        What to draw: ``labkit.flow(lab)`` or the lab itself.
    %(ax)s
    %(size)s
    queues : list of str, optional
        Only these queues, by ARN or name; default every queue of the flow.

    %(returns)s

    Examples
    --------
    >>> from labkit.trace import Hop
    >>> orders = "arn:aws:sqs:us-east-1:123456789012:orders"
    >>> hops = [Hop(1, 2.0, "actor:shop", orders, "m1", "sent", "observed"),
    ...         Hop(2, 5.0, orders, "actor:billing", "m1", "processed", "observed")]
    >>> ax = plot_queue_depth(hops)
    >>> [(line.get_label(), line.get_ydata().tolist()) for line in ax.get_lines()]
    [('orders', [0, 1, 0, 0])]
    """
    flow = as_flow(flow)
    sz = STYLE.size(size)
    ax = use_axes(ax, sz.figsize)
    depths = flow.queue_depths()
    if queues is not None:
        wanted = set(queues)
        depths = {q: s for q, s in depths.items() if q in wanted or short_name(q) in wanted}
    times = {t for series in depths.values() for t, _, _ in series}
    by_time = len(times) > 1
    # every line runs on to the last change of any queue, so a quiet queue's level stays visible
    last = max((t if by_time else s for d in depths.values() for t, s, _ in d), default=0)
    for i, (queue, series) in enumerate(depths.items()):
        dead = flow.kind_of(queue) == "dead-letter queue"
        xs = [t if by_time else s for t, s, _ in series]
        ys = [d for _, _, d in series]
        xs.append(last)
        ys.append(ys[-1])
        ax.step(
            xs,
            ys,
            where="post",
            label=short_name(queue) + (" (dead-letter)" if dead else ""),
            color=VERMILION if dead else SERIES[i % len(SERIES)],
            linestyle="--" if dead else "-",
            linewidth=sz.line * 1.2,
        )
    ax.set_xlabel(
        "lab time (s)" if by_time else "event number (the clock did not move)", fontsize=sz.font
    )
    ax.set_ylabel("messages in the queue", fontsize=sz.font)
    ax.tick_params(labelsize=sz.font * 0.9)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.set_title("Queue depth over time", fontsize=sz.font * 1.3)
    top = max((d for series in depths.values() for _, _, d in series), default=0)
    ax.set_ylim(-0.2, top + 0.5)
    if depths:
        lines_legend(ax, sz, min(len(depths), 4))
    return ax
