"""How many messages each queue of a flow held over time: one step line per queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.plots import style
from labkit.trace.flows import FlowLike, as_flow, short_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_queue_depth"]

#: a dead-letter queue gets its own scale when the other queues held this many times more
DEAD_LETTER_SCALE = 10


@style.documented
def plot_queue_depth(
    flow: FlowLike,
    *,
    ax: Axes | None = None,
    size: str | None = None,
    queues: list[str] | None = None,
) -> Axes:
    """How many messages each queue held (waiting or in flight) after every change.

    The x axis is lab time; when the clock never moved it is the event number instead.
    Dead-letter queues are dashed vermilion lines; when they held far fewer messages than the
    other queues (a poison message beside a spike), on their own scale at the right.

    Parameters
    ----------
    flow : Flow, FlowSource or sequence of Hop
        What to draw: ``labkit.flow(lab)`` or the lab itself.
    %(drawing)s
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
    sz = style.STYLE.size(size)
    ax = style.use_axes(ax, sz.figsize)
    depths = flow.queue_depths()
    if queues is not None:
        wanted = set(queues)
        depths = {q: s for q, s in depths.items() if q in wanted or short_name(q) in wanted}
    times = {t for series in depths.values() for t, _, _ in series}
    by_time = len(times) > 1
    # every line runs on past the last change of any queue, so a quiet queue's level, and a
    # change at the very end, stay visible
    changes = [t if by_time else s for d in depths.values() for t, s, _ in d]
    last = max(changes, default=0)
    last += (last - min(changes, default=0)) * 0.04
    dead = {q for q in depths if flow.kind_of(q) == "dead-letter queue"}
    top = {
        side: max(
            (d for q, series in depths.items() if (q in dead) == side for *_, d in series),
            default=0,
        )
        for side in (False, True)
    }
    # a dead-letter queue holding a few messages beside queues holding hundreds would be a flat
    # line on the floor: such dead-letter queues get their own scale, on the right
    own_scale = bool(dead) and top[True] * DEAD_LETTER_SCALE < top[False]
    right = ax.twinx() if own_scale else ax
    note = " (dead-letter, right scale)" if own_scale else " (dead-letter)"
    for i, (queue, series) in enumerate(depths.items()):
        is_dead = queue in dead
        xs = [t if by_time else s for t, s, _ in series]
        ys = [d for _, _, d in series]
        xs.append(last)
        ys.append(ys[-1])
        (right if is_dead else ax).step(
            xs,
            ys,
            where="post",
            label=short_name(queue) + (note if is_dead else ""),
            color=style.VERMILION if is_dead else style.SERIES[i % len(style.SERIES)],
            linestyle="--" if is_dead else "-",
            linewidth=sz.line * 1.2,
        )
    ax.set_xlabel(
        "lab time (s)" if by_time else "event number (the clock did not move)", fontsize=sz.font
    )
    ax.set_ylabel("messages in the queue", fontsize=sz.font)
    ax.grid(alpha=0.3)
    ax.set_title("Queue depth over time", fontsize=sz.font * 1.3)
    scales = [(ax, top[False]), (right, top[True])] if own_scale else [(ax, max(top.values()))]
    for axes, highest in scales:
        axes.tick_params(labelsize=sz.font * 0.9)
        axes.yaxis.get_major_locator().set_params(integer=True)
        # the same proportions on both scales, so their zeros are level
        axes.set_ylim(-0.06 * max(highest, 1), 1.1 * max(highest, 1))
    if own_scale:
        right.set_ylabel(
            "messages in the dead-letter queue", fontsize=sz.font, color=style.VERMILION
        )
    handles = ax.get_legend_handles_labels()[0]
    if own_scale:
        handles += right.get_legend_handles_labels()[0]
    if depths:
        style.lines_legend(ax, sz, min(len(depths), 4), handles=handles)
    return ax
