"""A swimlane (sequence) diagram of a flow: one lane per node, one arrow per hop, time down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.plots.layout import node_positions
from labkit.plots.style import (
    EDGE_STYLE,
    GREY,
    NODE_STYLE,
    NOTEBOOK,
    STYLE,
    documented,
    edge_handles,
    legend,
    use_axes,
)
from labkit.trace.flows import Flow, FlowLike, as_flow, short_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SequenceRow", "plot_sequence", "sequence_rows"]


@dataclass(frozen=True)
class SequenceRow:
    """One arrow of the sequence diagram."""

    row: int
    source: str
    target: str
    kind: str
    time: float
    message: str  # m1, m2, ...: the message's number in the flow


def sequence_rows(flow: Flow, *, limit: int = 40) -> tuple[SequenceRow, ...]:
    """The first `limit` hops as rows of a sequence diagram, numbered messages m1, m2, ..."""
    numbers = {m: f"m{i + 1}" for i, m in enumerate(flow.messages())}
    return tuple(
        SequenceRow(i, h.source, h.target, h.kind, h.time, numbers[h.message_id])
        for i, h in enumerate(flow[:limit])
    )


@documented
def plot_sequence(
    flow: FlowLike, *, ax: Axes | None = None, size: str | None = None, limit: int = 40
) -> Axes:
    """A swimlane diagram: one lane per node, one arrow per hop, time running down.

    Lanes go left to right as the topology's columns do; each arrow is labelled with its
    message's number (m1, m2, ...) and each new lab time is written on the left.

    Parameters
    ----------
    flow : Flow, FlowSource or sequence of Hop
        What to draw, e.g. one message's path: ``labkit.flow(lab).path(message_id)``.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure (which grows taller with the number of hops).
    %(size)s
    limit : int
        Draw the first `limit` hops only; the title says how many there were.

    %(returns)s

    Examples
    --------
    >>> from labkit.trace import Hop
    >>> queue = "arn:aws:sqs:us-east-1:123456789012:orders"
    >>> ax = plot_sequence([Hop(1, 0.0, "actor:shop", queue, "m-1", "sent", "observed")])
    >>> [t.get_text() for t in ax.texts if t.get_text()]  # arrows are texts without text
    ['m1', 't=0s', 'shop', 'orders']
    """
    flow = as_flow(flow)
    sz = STYLE.size(size)
    rows = sequence_rows(flow, limit=limit)
    # a row per hop, as tall as the text in it
    height = max(sz.figsize[1], 1.2 + 0.28 * len(rows) * sz.font / NOTEBOOK.font)
    ax = use_axes(ax, (sz.figsize[0], height))
    pos = node_positions(flow, flow.graph(idle=False))
    lanes = sorted(pos, key=lambda n: (pos[n][0], -pos[n][1]))
    lane_x = {node: float(i) for i, node in enumerate(lanes)}
    for node, x in lane_x.items():
        colour = NODE_STYLE.get(flow.kind_of(node), (GREY, "o"))[0]
        ax.axvline(x, color=colour, linewidth=sz.line * 0.8, alpha=0.35, zorder=0)
    kinds: list[str] = []
    last_time = None
    for row in rows:
        y = -float(row.row)
        x0, x1 = lane_x[row.source], lane_x[row.target]
        colour, style = EDGE_STYLE.get(row.kind, (GREY, "-"))
        ax.annotate(
            "",
            xy=(x1, y),
            xytext=(x0, y),
            arrowprops={
                "arrowstyle": "-|>",
                "color": colour,
                "linestyle": style,
                "linewidth": sz.line,
                "mutation_scale": sz.font * 1.2,
                "shrinkA": 2,
                "shrinkB": 2,
            },
        )
        ax.text(
            (x0 + x1) / 2,
            y + 0.12,
            row.message,
            ha="center",
            va="bottom",
            fontsize=sz.font * 0.75,
            color=colour,
        )
        if row.time != last_time:
            ax.text(-0.6, y, f"t={row.time:g}s", ha="right", va="center", fontsize=sz.font * 0.8)
            last_time = row.time
        if row.kind not in kinds:
            kinds.append(row.kind)
    ax.set_xlim(-1.4, max(len(lanes) - 0.5, 0.5))
    ax.set_ylim(-max(len(rows), 1) + 0.4, 1.6)
    for node, x in lane_x.items():
        ax.text(
            x,
            0.9,
            short_name(node),
            ha="center",
            va="bottom",
            rotation=30 if len(lanes) > 5 else 0,
            fontsize=sz.font,
            color=NODE_STYLE.get(flow.kind_of(node), (GREY, "o"))[0],
            fontweight="bold",
        )
    ax.axis("off")
    shown = f" (first {len(rows)} of {len(flow)} hops)" if len(flow) > len(rows) else ""
    # rotated lane names rise above the axes: lift the title clear of the longest one
    longest = max((len(short_name(node)) for node in lanes), default=0)
    pad = sz.font * 0.3 * longest if len(lanes) > 5 else 6.0
    ax.set_title(f"Messages over time, one lane per node{shown}", fontsize=sz.font * 1.3, pad=pad)
    legend(ax, edge_handles(kinds, sz), sz)
    return ax
