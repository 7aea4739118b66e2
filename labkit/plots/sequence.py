"""A swimlane (sequence) diagram of a flow: one lane per node, one arrow per hop, time down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.plots import style
from labkit.plots.layout import node_positions
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
    #: for a function's asynchronous invocation, which attempt (1, then Lambda's retries 2, 3);
    #: 0 for every other hop
    attempt: int = 0


def sequence_rows(flow: Flow, *, limit: int = 40) -> tuple[SequenceRow, ...]:
    """The first `limit` hops as rows of a sequence diagram, numbered messages m1, m2, ..."""
    numbers = {m: f"m{i + 1}" for i, m in enumerate(flow.messages())}
    return tuple(
        SequenceRow(
            i,
            h.source,
            h.target,
            h.kind,
            h.time,
            numbers[h.message_id],
            int(dict(h.labels).get("attempt", 0)),
        )
        for i, h in enumerate(flow[:limit])
    )


def attempt_text(row: SequenceRow) -> str:
    """What an invocation attempt's row says: Lambda made it, not the service that delivered.

    >>> attempt_text(SequenceRow(3, "topic", "function", "failed", 60.0, "m1", attempt=2))
    'm1: Lambda retries (attempt 2), failed'
    """
    who = "Lambda invokes" if row.attempt == 1 else "Lambda retries"
    return f"{row.message}: {who} (attempt {row.attempt}), {row.kind}"


@style.documented
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
    ['m1', 't=0s']
    >>> [t.get_text() for t in ax.get_xticklabels()]  # the lanes
    ['shop', 'orders']
    """
    flow = as_flow(flow)
    sz = style.STYLE.size(size)
    rows = sequence_rows(flow, limit=limit)
    # a row per hop, as tall as the text in it
    height = max(sz.figsize[1], 1.2 + 0.28 * len(rows) * sz.font / style.NOTEBOOK.font)
    ax = style.use_axes(ax, (sz.figsize[0], height))
    pos = node_positions(flow, flow.graph(idle=False))
    lanes = sorted(pos, key=lambda n: (pos[n][0], -pos[n][1]))
    lane_x = {node: float(i) for i, node in enumerate(lanes)}
    for node, x in lane_x.items():
        colour = style.NODE_STYLE.get(flow.kind_of(node), (style.GREY, "o"))[0]
        ax.axvline(x, color=colour, linewidth=sz.line * 0.8, alpha=0.35, zorder=0)
    kinds: list[str] = []
    last_time = None
    for row in rows:
        y = -float(row.row)
        x0, x1 = lane_x[row.source], lane_x[row.target]
        if row.attempt:
            # Lambda's own invocation of the function, not a delivery by the row's source:
            # a mark on the function's lane, said in words
            draw_attempt(ax, row, x1, y, left=x1 > (len(lanes) - 1) / 2, size=sz)
        else:
            draw_hop(ax, row, x0, x1, y, sz)
        if row.time != last_time:
            ax.text(-0.6, y, f"t={row.time:g}s", ha="right", va="center", fontsize=sz.font * 0.8)
            last_time = row.time
        if row.kind not in kinds:
            kinds.append(row.kind)
    ax.set_xlim(-1.4, max(len(lanes) - 0.5, 0.5))
    ax.set_ylim(-max(len(rows), 1) + 0.4, 0.6)
    # lane names as the top axis's labels: the layout makes room for them
    ax.set_xticks(list(lane_x.values()), [short_name(node) for node in lanes])
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0, labelsize=sz.font)
    for label, node in zip(ax.get_xticklabels(), lanes, strict=True):
        label.set_color(style.NODE_STYLE.get(flow.kind_of(node), (style.GREY, "o"))[0])
        label.set_fontweight("bold")
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    shown = f" (first {len(rows)} of {len(flow)} hops)" if len(flow) > len(rows) else ""
    ax.set_title(f"Messages over time, one lane per node{shown}", fontsize=sz.font * 1.3)
    style.legend(ax, style.edge_handles(kinds, sz), sz)
    turn_to_fit(ax)
    return ax


def draw_hop(ax: Axes, row: SequenceRow, x0: float, x1: float, y: float, sz: style.Size) -> None:
    """A hop as an arrow from its source's lane to its target's, labelled with its message."""
    colour, linestyle = style.EDGE_STYLE.get(row.kind, (style.GREY, "-"))
    ax.annotate(
        "",
        xy=(x1, y),
        xytext=(x0, y),
        arrowprops={
            "arrowstyle": "-|>",
            "color": colour,
            "linestyle": linestyle,
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


def draw_attempt(
    ax: Axes, row: SequenceRow, x: float, y: float, *, left: bool, size: style.Size
) -> None:
    """An invocation attempt as a mark on the function's lane (x failed, o processed), said in
    words beside it: on its `left` for a lane in the right half, where there is more room."""
    colour = style.EDGE_STYLE.get(row.kind, (style.GREY, "-"))[0]
    ax.scatter([x], [y], s=size.area(70), c=colour, marker="X" if row.kind == "failed" else "o")
    ax.text(
        x - 0.12 if left else x + 0.12,
        y,
        attempt_text(row),
        ha="right" if left else "left",
        va="center",
        fontsize=size.font * 0.75,
        color=colour,
    )


def turn_to_fit(ax: Axes) -> None:
    """Turn the lane names (the top axis's labels) as little as keeps them apart."""
    from labkit.plots.legibility import crosses, renderer_of, text_box

    # measured before the layout settles: the axes only grow then, and the lanes move apart
    renderer = renderer_of(ax.figure)
    labels = ax.get_xticklabels()
    for angle in (0, 30, 60, 90):
        for label in labels:
            label.set_rotation(angle)
            label.set_horizontalalignment("center" if angle == 0 else "left")
            label.set_rotation_mode("anchor" if angle else "default")
        boxes = [text_box(label, renderer).extents for label in labels]
        if not any(crosses(a, b) for a, b in zip(boxes, boxes[1:], strict=False)):
            return
