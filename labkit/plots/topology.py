"""Who sent what where: the flow's nodes by kind, one labelled arrow per kind of hop between two.

The drawing pieces here (arrows side by side, nodes with their names) serve the animation too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.plots.layout import node_positions
from labkit.plots.style import (
    EDGE_STYLE,
    GREY,
    NODE_STYLE,
    STYLE,
    Size,
    documented,
    edge_handles,
    legend,
    node_handles,
    use_axes,
)
from labkit.trace.flows import Flow, FlowLike, as_flow, short_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["TopologyEdge", "plot_topology", "topology_edges"]

Point = tuple[float, float]
#: Where an arrow starts and where it ends.
Ends = tuple[Point, Point]


@dataclass(frozen=True)
class TopologyEdge:
    """One arrow of the topology plot and its label."""

    source: str
    target: str
    kind: str  # the hop kind drawn (received stands for received + processed)
    label: str


def topology_edges(flow: Flow) -> tuple[TopologyEdge, ...]:
    """The arrows plot_topology draws: one per (source, target, kind), deletes folded in."""
    graph = flow.graph()
    edges: list[TopologyEdge] = []
    counts = {(u, v, k): d["count"] for u, v, k, d in graph.edges(keys=True, data=True)}
    for (u, v, k), count in counts.items():
        if k == "processed" and (u, v, "received") in counts:
            continue  # shown on the received arrow
        if k == "received" and (u, v, "processed") in counts:
            label = f"{count} received, {counts[(u, v, 'processed')]} deleted"
        elif k == "wired":
            label = "0"
        else:
            label = f"{count} {k}"
        edges.append(TopologyEdge(u, v, k, label))
    return tuple(edges)


def arrow_offsets(edges: tuple[TopologyEdge, ...]) -> dict[TopologyEdge, float]:
    """Spread arrows between the same two nodes (either direction) side by side."""
    groups: dict[tuple[str, str], list[TopologyEdge]] = defaultdict(list)
    for edge in edges:
        groups[(min(edge.source, edge.target), max(edge.source, edge.target))].append(edge)
    offsets: dict[TopologyEdge, float] = {}
    for group in groups.values():
        n = len(group)
        for i, edge in enumerate(group):
            offsets[edge] = (i - (n - 1) / 2.0) * 0.2
    return offsets


def arrow_ends(
    edge: TopologyEdge, pos: dict[str, Point], offsets: dict[TopologyEdge, float]
) -> Ends:
    """Where the arrow of `edge` starts and ends, shifted sideways by its offset.

    The shift is measured on the pair's canonical direction, so arrows going both ways between
    two nodes land on opposite sides rather than on top of each other.
    """
    p, q = pos[edge.source], pos[edge.target]
    dx, dy = q[0] - p[0], q[1] - p[1]
    if edge.source > edge.target:
        dx, dy = -dx, -dy
    norm = (dx * dx + dy * dy) ** 0.5 or 1.0
    offset = offsets[edge]
    nx_, ny_ = -dy / norm * offset, dx / norm * offset
    return (p[0] + nx_, p[1] + ny_), (q[0] + nx_, q[1] + ny_)


def midpoint(ends: Ends) -> Point:
    """Where an arrow's label goes: arrows between the same two nodes are already side by side
    (`arrow_offsets`), so labels at their middles do not stack."""
    start, end = ends
    return start[0] + (end[0] - start[0]) * 0.5, start[1] + (end[1] - start[1]) * 0.5


def draw_arrow(
    ax: Axes, ends: Ends, kind: str, size: Size, *, alpha: float = 1.0, width: float = 1.0
) -> None:
    """An arrow in the style of its hop kind, stopping short of the node markers."""
    start, end = ends
    colour, style = EDGE_STYLE.get(kind, (GREY, "-"))
    shrink = (size.node**0.5) * 0.75
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": "-|>",
            "color": colour,
            "linestyle": style,
            "linewidth": size.line * width,
            "shrinkA": shrink,
            "shrinkB": shrink,
            "mutation_scale": size.font * 1.4,
            "alpha": alpha,
        },
        zorder=1,
    )


def draw_nodes(
    ax: Axes, flow: Flow, pos: dict[str, Point], size: Size, alpha: float = 1.0
) -> list[str]:
    """Every node as its kind's marker with its name below; returns the kinds drawn, in order."""
    kinds_seen: list[str] = []
    for node, (x, y) in pos.items():
        kind = flow.kind_of(node)
        colour, marker = NODE_STYLE.get(kind, (GREY, "o"))
        ax.scatter([x], [y], s=size.node, c=colour, marker=marker, zorder=3, alpha=alpha)
        ax.text(
            x,
            y - 0.17,
            wrapped(short_name(node)),
            ha="center",
            va="top",
            fontsize=size.font,
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
        if kind not in kinds_seen:
            kinds_seen.append(kind)
    return kinds_seen


def wrapped(name: str, width: int = 14) -> str:
    """Long resource names on two lines, split at a dash, so neighbours do not collide."""
    if len(name) <= width:
        return name
    cut = max(
        (i for i, c in enumerate(name) if c in "-_." and 3 < i < len(name) - 3),
        default=-1,
        key=lambda i: -abs(i - len(name) / 2),
    )
    return name if cut < 0 else f"{name[: cut + 1]}\n{name[cut + 1 :]}"


def frame(ax: Axes, pos: dict[str, Point]) -> None:
    """Limits that leave room around the outer nodes for their names; no axes lines."""
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    ax.set_xlim(min(xs) - 0.45, max(xs) + 0.45)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.4)
    ax.axis("off")


@documented
def plot_topology(flow: FlowLike, *, ax: Axes | None = None, size: str | None = None) -> Axes:
    """Draw who sent what where: nodes by kind, arrows labelled with their counts.

    Delivered, filtered and dead-lettered counts each get their own arrow; wiring that has
    carried nothing yet is a faint dotted arrow labelled 0.

    Parameters
    ----------
    flow : Flow, FlowSource or sequence of Hop
        What to draw: ``labkit.flow(lab)``, a part of it (``.where(...)``), or the lab itself.
    %(ax)s
    %(size)s

    %(returns)s

    Examples
    --------
    >>> from labkit.trace import Flow, Hop
    >>> queue = "arn:aws:sqs:us-east-1:123456789012:orders"
    >>> ax = plot_topology(Flow([Hop(1, 0.0, "actor:shop", queue, "m1", "sent", "observed")]))
    >>> [t.get_text() for t in ax.texts if t.get_text()]  # arrows are texts without text
    ['1 sent', 'shop', 'orders']
    """
    flow = as_flow(flow)
    sz = STYLE.size(size)
    ax = use_axes(ax, sz.figsize)
    pos = node_positions(flow)
    edges = topology_edges(flow)
    offsets = arrow_offsets(edges)
    kinds_drawn: list[str] = []
    for edge in edges:
        ends = arrow_ends(edge, pos, offsets)
        draw_arrow(ax, ends, edge.kind, sz)
        lx, ly = midpoint(ends)
        colour = EDGE_STYLE.get(edge.kind, (GREY, "-"))[0]
        ax.text(
            lx,
            ly,
            edge.label,
            ha="center",
            va="center",
            fontsize=sz.font * 0.85,
            color=colour,
            zorder=5,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": colour, "lw": 0.6},
        )
        if edge.kind not in kinds_drawn:
            kinds_drawn.append(edge.kind)
    node_kinds = draw_nodes(ax, flow, pos, sz)
    frame(ax, pos)
    ax.set_title("Topology: who sent what where", fontsize=sz.font * 1.3)
    legend(ax, node_handles(node_kinds, sz) + edge_handles(kinds_drawn, sz), sz)
    return ax
