"""Who sent what where: the flow's nodes by kind, one arrow between two nodes, labelled with the
count of each kind of hop.

The drawing pieces here (arrows side by side, nodes with their names) serve the animation too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.plots import style
from labkit.plots.layout import node_positions
from labkit.plots.legibility import (
    Extents,
    crosses,
    marker_boxes,
    renderer_of,
    shared_area,
    text_box,
)
from labkit.trace.flows import Flow, FlowLike, as_flow, short_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Arrow", "TopologyEdge", "plot_topology", "topology_arrows", "topology_edges"]

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


@dataclass(frozen=True)
class Arrow:
    """One arrow of the topology: every kind of hop from `source` to `target`, one label each.

    It is drawn in the style of its first kind (`ARROW_ORDER`: delivered before filtered,
    received before failed, a task before its failure or compensation)."""

    source: str
    target: str
    edges: tuple[TopologyEdge, ...]

    @property
    def kind(self) -> str:
        return self.edges[0].kind


#: The order of an arrow's kinds: what carried messages on before what stopped or undid them.
ARROW_ORDER = (
    "sent",
    "started",
    "delivered",
    "received",
    "processed",
    "task",
    "redriven",
    "retried",
    "dead-lettered",
    "filtered",
    "refused",
    "failed",
    "compensated",
    "wired",
)


def topology_arrows(edges: tuple[TopologyEdge, ...]) -> tuple[Arrow, ...]:
    """The edges grouped into one arrow per (source, target), in `ARROW_ORDER`."""
    pairs: dict[tuple[str, str], list[TopologyEdge]] = defaultdict(list)
    for edge in edges:
        pairs[(edge.source, edge.target)].append(edge)
    return tuple(
        Arrow(source, target, tuple(sorted(group, key=lambda e: ARROW_ORDER.index(e.kind))))
        for (source, target), group in pairs.items()
    )


def arrow_offsets(arrows: tuple[Arrow, ...]) -> dict[Arrow, float]:
    """Arrows going both ways between two nodes side by side; every other arrow on the line
    between its nodes' centres."""
    pairs = {(a.source, a.target) for a in arrows}
    return {a: 0.12 if (a.target, a.source) in pairs else 0.0 for a in arrows}


def arrow_ends(arrow: Arrow, pos: dict[str, Point], offsets: dict[Arrow, float]) -> Ends:
    """Where `arrow` starts and ends, shifted sideways by its offset.

    The shift is measured on the pair's canonical direction, so arrows going both ways between
    two nodes land on opposite sides rather than on top of each other.
    """
    p, q = pos[arrow.source], pos[arrow.target]
    dx, dy = q[0] - p[0], q[1] - p[1]
    if arrow.source > arrow.target:
        dx, dy = -dx, -dy
    norm = (dx * dx + dy * dy) ** 0.5 or 1.0
    offset = offsets[arrow] if arrow.source < arrow.target else -offsets[arrow]
    nx_, ny_ = -dy / norm * offset, dx / norm * offset
    return (p[0] + nx_, p[1] + ny_), (q[0] + nx_, q[1] + ny_)


def along(ends: Ends, t: float) -> Point:
    """The point a fraction `t` of the way along an arrow."""
    start, end = ends
    return start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t


def draw_arrow(
    ax: Axes, ends: Ends, kind: str, size: style.Size, *, alpha: float = 1.0, width: float = 1.0
) -> None:
    """An arrow in the style of its hop kind, stopping short of the node markers."""
    start, end = ends
    colour, linestyle = style.EDGE_STYLE.get(kind, (style.GREY, "-"))
    shrink = (size.node**0.5) * 0.75
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": "-|>",
            "color": colour,
            "linestyle": linestyle,
            "linewidth": size.line * width,
            "shrinkA": shrink,
            "shrinkB": shrink,
            "mutation_scale": size.font * 1.4,
            "alpha": alpha,
        },
        zorder=1,
    )


def draw_nodes(
    ax: Axes, flow: Flow, pos: dict[str, Point], size: style.Size, alpha: float = 1.0
) -> list[str]:
    """Every node as its kind's marker with its name below; returns the kinds drawn, in order."""
    kinds_seen: list[str] = []
    for node, (x, y) in pos.items():
        kind = flow.kind_of(node)
        colour, marker = style.NODE_STYLE.get(kind, (style.GREY, "o"))
        ax.scatter([x], [y], s=size.node, c=colour, marker=marker, zorder=3, alpha=alpha)
        ax.annotate(
            wrapped(short_name(node)),
            (x, y),
            xytext=(0, -(size.node**0.5) * 0.6),
            textcoords="offset points",
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
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.35)
    ax.axis("off")


def topology_figsize(pos: dict[str, Point], size: style.Size) -> tuple[float, float]:
    """A figure with room for every column and row: `size`'s, or larger for a larger flow."""
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    columns, rows = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
    width, height = size.figure(max(10.0, 1.7 * columns), max(5.6, 0.95 * rows + 1.8))
    return width, height


#: Where along an arrow its label may go, best first: the middle, then outwards. An arrow
#: from a node that fans out tries nearer its target first, where the arrows have spread.
LABEL_STOPS = (0.5, 0.6, 0.4, 0.7, 0.3, 0.78, 0.22)


def label_stops(arrow: Arrow, arrows: tuple[Arrow, ...]) -> list[float]:
    """The places along `arrow` to try for its label, best first."""
    fan_out = sum(a.source == arrow.source for a in arrows)
    fan_in = sum(a.target == arrow.target for a in arrows)
    prefer = 0.62 if fan_out > fan_in else 0.38 if fan_in > fan_out else 0.5
    return sorted(LABEL_STOPS, key=lambda t: (round(abs(t - prefer), 3), -t))


Spot = tuple[float, float]  # how far along an arrow (0 to 1), how far beside it (points)


def place_labels(
    ax: Axes,
    labelled: list[tuple[Ends, list[tuple[str, str]], list[float]]],
    size: style.Size,
    spots: list[Spot] | None = None,
) -> list[Spot]:
    """Write each arrow's labels (text, colour), stacked, at the first of its stops where they
    cover no other text or marker; failing that, where they cover least. Returns where each
    stack went; given those `spots`, puts the stacks there without measuring.

    Placement measures the texts as they will be drawn: the figure's layout is settled first,
    so every other text and marker must already be on the axes.
    """
    chosen: list[Spot] = []
    given = spots
    figure = ax.figure
    engine = figure.get_layout_engine()
    if engine is not None and given is None:
        engine.execute(figure)
    renderer = renderer_of(figure)
    taken: list[Extents] = []
    if given is None:
        taken += [text_box(t, renderer).extents for t in ax.texts if t.get_text()]
        taken += [box.extents for _, box in marker_boxes(ax, renderer)]
    inside = ax.bbox.extents
    line = size.font * 0.9 * 1.55  # points between stacked labels
    for ends, labels, stops in labelled:
        stack = [
            ax.annotate(
                text,
                along(ends, stops[0]),
                xytext=(0, 0),
                textcoords="offset points",
                ha="center",
                va="center",
                fontsize=size.font * 0.9,
                color=colour,
                zorder=5,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": colour, "lw": 0.6},
            )
            for text, colour in labels
        ]
        # beside the arrow when nothing on it is free: half the stack's height and a little
        (x0, y0), (x1, y1) = ax.transData.transform(ends)
        norm = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 or 1.0
        normal = (-(y1 - y0) / norm, (x1 - x0) / norm)
        aside = line * len(labels) / 2 + 3
        candidates = [(t, side * aside) for side in (0, 1, -1, 2, -2) for t in stops]

        placed = LabelStack(stack, ends, normal, line)
        if given is not None:
            placed.put(given[len(chosen)])
            chosen.append(given[len(chosen)])
            continue
        boxes = [box.extents for box in placed.boxes(candidates, renderer)]
        costs = [
            sum(shared_area(box, other) for other in taken if crosses(box, other))
            + (box[2] - box[0]) * (box[3] - box[1])
            - shared_area(box, inside)
            for box in boxes
        ]
        best = min(range(len(candidates)), key=lambda i: (costs[i] > 0, costs[i], i))
        placed.put(candidates[best])
        chosen.append(candidates[best])
        taken.append(boxes[best])
    return chosen


@dataclass(frozen=True)
class LabelStack:
    """An arrow's labels, one above the other, `line` points apart, moved along the arrow."""

    texts: list[Any]
    ends: Ends
    normal: Point  # the arrow's sideways direction on the canvas
    line: float

    def put(self, spot: Spot) -> None:
        """Put the stack at `spot`: how far along its arrow (0 to 1), how far beside it
        (points)."""
        t, shift = spot
        middle = (len(self.texts) - 1) / 2
        for i, text in enumerate(self.texts):
            text.xy = along(self.ends, t)
            text.xyann = (
                self.normal[0] * shift,
                self.normal[1] * shift + (middle - i) * self.line,
            )

    def boxes(self, spots: list[Spot], renderer: Any) -> list[Any]:
        """The box the stack would cover at each of `spots`, measured once and moved."""
        from matplotlib.transforms import Bbox

        ax = self.texts[0].axes
        self.put((0.0, 0.0))
        shape = Bbox.union([text_box(text, renderer) for text in self.texts])
        start = ax.transData.transform(along(self.ends, 0.0))
        pixels = renderer.points_to_pixels(1.0)
        found = []
        for t, shift in spots:
            x, y = ax.transData.transform(along(self.ends, t))
            dx = x - start[0] + self.normal[0] * shift * pixels
            dy = y - start[1] + self.normal[1] * shift * pixels
            found.append(shape.translated(dx, dy))
        return found


@style.documented
def plot_topology(flow: FlowLike, *, ax: Axes | None = None, size: str | None = None) -> Axes:
    """Draw who sent what where: nodes by kind, arrows labelled with their counts.

    One arrow from a node to another, with a label for each kind of hop between them
    (delivered, filtered, failed, ...) in that kind's colour; wiring that has carried nothing
    yet is a faint dotted arrow labelled 0. Labels sit along their arrows where they cover no
    other text, and the figure grows with the flow.

    Parameters
    ----------
    flow : Flow, FlowSource or sequence of Hop
        What to draw: ``labkit.flow(lab)``, a part of it (``.where(...)``), or the lab itself.
    %(drawing)s

    %(returns)s

    Examples
    --------
    >>> from labkit.trace import Flow, Hop
    >>> queue = "arn:aws:sqs:us-east-1:123456789012:orders"
    >>> ax = plot_topology(Flow([Hop(1, 0.0, "actor:shop", queue, "m1", "sent", "observed")]))
    >>> [t.get_text() for t in ax.texts if t.get_text()]  # arrows are texts without text
    ['shop', 'orders', '1 sent']
    """
    flow = as_flow(flow)
    sz = style.STYLE.size(size)
    pos = node_positions(flow)
    ax = style.use_axes(ax, topology_figsize(pos, sz))
    arrows = topology_arrows(topology_edges(flow))
    offsets = arrow_offsets(arrows)
    labelled = []
    kinds_drawn: list[str] = []
    for arrow in arrows:
        ends = arrow_ends(arrow, pos, offsets)
        draw_arrow(ax, ends, arrow.kind, sz)
        colours = [
            (e.label, style.EDGE_STYLE.get(e.kind, (style.GREY, "-"))[0]) for e in arrow.edges
        ]
        labelled.append((ends, colours, label_stops(arrow, arrows)))
        kinds_drawn += [e.kind for e in arrow.edges if e.kind not in kinds_drawn]
    node_kinds = draw_nodes(ax, flow, pos, sz)
    frame(ax, pos)
    ax.set_title("Topology: who sent what where", fontsize=sz.font * 1.3)
    style.legend(ax, style.node_handles(node_kinds, sz) + style.edge_handles(kinds_drawn, sz), sz)
    place_labels(ax, labelled, sz)
    return ax
