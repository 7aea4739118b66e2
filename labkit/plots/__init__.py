"""Plots of a flow: topology, sequence (swimlanes), queue depth, saga timeline, animation.

One visual language across them: a node kind always has the same colour and marker, a hop kind
always the same colour and line style. Layouts are layered left to right by node kind, so the
same lab draws the same picture every time. Each function takes ``ax=None`` and returns the Axes
(the animation returns an object that shows itself as HTML). ``size="presenter"`` makes text
and lines big enough for a projector.

>>> import labkit
>>> from labkit.plots import plot_topology
>>> lab = labkit.start_lab()
>>> url = lab.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
>>> _ = lab.client("sqs").send_message(QueueUrl=url, MessageBody="order 1")
>>> ax = plot_topology(lab)
>>> ax.get_title()
'Topology: who sent what where'
>>> lab.stop()
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.plots.layout import node_positions
from labkit.trace.flows import EDGE_KINDS, NODE_KINDS, Flow, as_flow, short_name

if TYPE_CHECKING:
    from matplotlib.animation import FuncAnimation
    from matplotlib.axes import Axes

__all__ = [
    "plot_topology",
    "plot_sequence",
    "plot_queue_depth",
    "plot_saga",
    "animate_flow",
    "FlowAnimation",
    "NODE_STYLE",
    "EDGE_STYLE",
    "SIZES",
    "topology_edges",
    "sequence_rows",
]

# Okabe-Ito colours: readable for colour-blind learners and on projectors.
BLUE, ORANGE, SKY, GREEN, VERMILION, PINK, GREY, BLACK, PURPLE = (
    "#0072B2",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#999999",
    "#333333",
    "#6A3D9A",
)
#: node kind -> (colour, marker)
NODE_STYLE: dict[str, tuple[str, str]] = {
    "publisher": (BLUE, "o"),
    "topic": (ORANGE, "^"),
    "bus": (PINK, "h"),
    "rule": (PINK, "D"),
    "state machine": (GREEN, "s"),
    "queue": (SKY, "s"),
    "dead-letter queue": (VERMILION, "X"),
    "table": (GREY, "p"),
    "log group": (GREY, "P"),
    "service": (GREY, "*"),
    "function": (PURPLE, "o"),
    "consumer": (PURPLE, "o"),
}
#: hop kind -> (colour, line style)
EDGE_STYLE: dict[str, tuple[str, str]] = {
    "sent": (BLACK, "-"),
    "started": (BLACK, "-."),
    "delivered": (BLUE, "-"),
    "filtered": (GREY, "--"),
    "received": (GREEN, "-"),
    "processed": (GREEN, ":"),
    "failed": (VERMILION, "--"),
    "dead-lettered": (VERMILION, "-"),
    "redriven": (PINK, "-"),
    "task": (SKY, "-"),
    "compensated": (ORANGE, "--"),
    "wired": ("#C8C8C8", ":"),
}


@dataclass(frozen=True)
class _Size:
    figsize: tuple[float, float]
    font: float
    node: float
    line: float


#: notebook: a laptop screen; presenter: a projector seen from the back of the room.
SIZES = {
    "notebook": _Size((10.0, 5.6), 9.0, 240.0, 1.4),
    "presenter": _Size((14.0, 8.0), 15.0, 560.0, 2.6),
}


def _size(size: str) -> _Size:
    if size not in SIZES:
        raise LabError(
            f"size one of {', '.join(repr(s) for s in SIZES)}",
            repr(size),
            "use size='presenter' for a projector, or leave the default",
        )
    return SIZES[size]


def _axes(ax: Axes | None, size: _Size) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=size.figsize, layout="constrained")
    return new_ax


def _legend(ax: Axes, handles: list[Any], size: _Size, *, title: str | None = None) -> None:
    if not handles:
        return
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=min(len(handles), 5),
        fontsize=size.font * 0.9,
        title=title,
        title_fontsize=size.font * 0.9,
        frameon=False,
    )


def _node_handles(kinds: list[str], size: _Size) -> list[Any]:
    from matplotlib.lines import Line2D

    kinds = sorted(kinds, key=NODE_KINDS.index)  # one order in every legend
    return [
        Line2D(
            [],
            [],
            linestyle="",
            marker=NODE_STYLE[k][1],
            color=NODE_STYLE[k][0],
            markersize=size.font,
            label=k,
        )
        for k in kinds
    ]


def _edge_handles(kinds: list[str], size: _Size) -> list[Any]:
    from matplotlib.lines import Line2D

    kinds = sorted(kinds, key=EDGE_KINDS.index)
    return [
        Line2D(
            [],
            [],
            color=EDGE_STYLE[k][0],
            linestyle=EDGE_STYLE[k][1],
            linewidth=size.line * 1.5,
            label=k,
        )
        for k in kinds
    ]


# -- topology ------------------------------------------------------------------------------
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


def _offsets(edges: tuple[TopologyEdge, ...]) -> dict[TopologyEdge, float]:
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


def _draw_arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    kind: str,
    size: _Size,
    *,
    alpha: float = 1.0,
    width: float = 1.0,
) -> None:
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


def _shifted(
    p: tuple[float, float], q: tuple[float, float], offset: float, canonical: bool
) -> tuple[tuple[float, float], tuple[float, float]]:
    dx, dy = q[0] - p[0], q[1] - p[1]
    if not canonical:
        dx, dy = -dx, -dy
    norm = (dx * dx + dy * dy) ** 0.5 or 1.0
    nx_, ny_ = -dy / norm * offset, dx / norm * offset
    return (p[0] + nx_, p[1] + ny_), (q[0] + nx_, q[1] + ny_)


def _draw_nodes(
    ax: Axes, flow: Flow, pos: dict[str, tuple[float, float]], size: _Size, alpha: float = 1.0
) -> list[str]:
    kinds_seen: list[str] = []
    for node, (x, y) in pos.items():
        kind = flow.kind_of(node)
        colour, marker = NODE_STYLE.get(kind, (GREY, "o"))
        ax.scatter([x], [y], s=size.node, c=colour, marker=marker, zorder=3, alpha=alpha)
        ax.text(
            x,
            y - 0.17,
            _wrapped(short_name(node)),
            ha="center",
            va="top",
            fontsize=size.font,
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
        if kind not in kinds_seen:
            kinds_seen.append(kind)
    return kinds_seen


def _wrapped(name: str, width: int = 14) -> str:
    """Long resource names on two lines, split at a dash, so neighbours do not collide."""
    if len(name) <= width:
        return name
    cut = max(
        (i for i, c in enumerate(name) if c in "-_." and 3 < i < len(name) - 3),
        default=-1,
        key=lambda i: -abs(i - len(name) / 2),
    )
    return name if cut < 0 else f"{name[: cut + 1]}\n{name[cut + 1 :]}"


def _frame(ax: Axes, pos: dict[str, tuple[float, float]]) -> None:
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    ax.set_xlim(min(xs) - 0.45, max(xs) + 0.45)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.4)
    ax.axis("off")


def plot_topology(
    flow_or_lab: Any = None, *, ax: Axes | None = None, size: str = "notebook"
) -> Axes:
    """Draw who sent what where: nodes by kind, arrows labelled with their counts.

    Delivered, filtered and dead-lettered counts each get their own arrow; wiring that has
    carried nothing yet is a faint dotted arrow labelled 0.
    """
    flow = as_flow(flow_or_lab)
    sz = _size(size)
    ax = _axes(ax, sz)
    graph = flow.graph()
    pos = node_positions(flow, graph)
    edges = topology_edges(flow)
    offsets = _offsets(edges)
    kinds_drawn: list[str] = []
    for edge in edges:
        canonical = edge.source <= edge.target
        start, end = _shifted(pos[edge.source], pos[edge.target], offsets[edge], canonical)
        _draw_arrow(ax, start, end, edge.kind, sz)
        # labels sit a little before the middle so fan-outs do not stack them at one spot
        t = 0.5
        lx, ly = start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t
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
    node_kinds = _draw_nodes(ax, flow, pos, sz)
    _frame(ax, pos)
    ax.set_title("Topology: who sent what where", fontsize=sz.font * 1.3)
    _legend(ax, _node_handles(node_kinds, sz) + _edge_handles(kinds_drawn, sz), sz)
    return ax


# -- sequence ------------------------------------------------------------------------------
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


def plot_sequence(
    flow_or_lab: Any = None, *, ax: Axes | None = None, size: str = "notebook", limit: int = 40
) -> Axes:
    """A swimlane diagram: one lane per node, one arrow per hop, time running down."""
    flow = as_flow(flow_or_lab)
    sz = _size(size)
    rows = sequence_rows(flow, limit=limit)
    if ax is None:
        import matplotlib.pyplot as plt

        height = max(sz.figsize[1], 1.2 + 0.28 * len(rows) * sz.font / 9.0)
        _, ax = plt.subplots(figsize=(sz.figsize[0], height), layout="constrained")
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
    _legend(ax, _edge_handles(kinds, sz), sz)
    return ax


# -- queue depth -----------------------------------------------------------------------------
def plot_queue_depth(
    flow_or_lab: Any = None,
    *,
    ax: Axes | None = None,
    size: str = "notebook",
    queues: list[str] | None = None,
) -> Axes:
    """How many messages each queue held (waiting or in flight) after every change.

    The x axis is lab time; when the clock never moved it is the event number instead.
    """
    flow = as_flow(flow_or_lab)
    sz = _size(size)
    ax = _axes(ax, sz)
    depths = flow.queue_depths()
    if queues is not None:
        wanted = set(queues)
        depths = {q: s for q, s in depths.items() if q in wanted or short_name(q) in wanted}
    times = {t for series in depths.values() for t, _, _ in series}
    by_time = len(times) > 1
    palette = [BLUE, ORANGE, GREEN, PINK, SKY, PURPLE, BLACK, GREY]
    for i, (queue, series) in enumerate(depths.items()):
        dead = flow.kind_of(queue) == "dead-letter queue"
        xs = [t if by_time else s for t, s, _ in series]
        ys = [d for _, _, d in series]
        end = max([x for x in xs] + [0])
        last = max((t if by_time else s for t, s, _ in (p for d in depths.values() for p in d)))
        xs.append(max(end, last))
        ys.append(ys[-1])
        ax.step(
            xs,
            ys,
            where="post",
            label=short_name(queue) + (" (dead-letter)" if dead else ""),
            color=VERMILION if dead else palette[i % len(palette)],
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
        ax.legend(
            fontsize=sz.font * 0.9,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12),
            ncol=min(len(depths), 4),
            frameon=False,
        )
    return ax


# -- saga ----------------------------------------------------------------------------------
SAGA_STYLE = {"forward": GREEN, "failed": VERMILION, "compensation": ORANGE}


def plot_saga(
    flow_or_lab: Any = None,
    *,
    execution: str | None = None,
    ax: Axes | None = None,
    size: str = "notebook",
) -> Axes:
    """A saga's execution: forward steps on top, the failure, compensations below."""
    flow = as_flow(flow_or_lab)
    sz = _size(size)
    steps = flow.saga(execution)
    ax = _axes(ax, sz)
    rows = {"forward": 1.0, "failed": 1.0, "compensation": 0.0}
    boxes = []
    for i, step in enumerate(steps):
        x, y = float(i), rows[step.kind]
        colour = SAGA_STYLE[step.kind]
        mark = " ✗" if step.kind == "failed" else ""
        box = ax.text(
            x,
            y,
            f"{step.state}{mark}\n→ {short_name(step.target)}",
            ha="center",
            va="center",
            fontsize=sz.font,
            color="white",
            fontweight="bold",
            zorder=3,
            bbox={"boxstyle": "round,pad=0.5", "fc": colour, "ec": colour},
        )
        boxes.append((box, y))
        ax.text(x, y - 0.3, f"t={step.time:g}s", ha="center", va="top", fontsize=sz.font * 0.8)
    for (box0, y0), (box1, y1) in zip(boxes, boxes[1:], strict=False):
        # from edge to edge of the boxes: right to left on a row, bottom to top across rows
        same_row = y0 == y1
        ax.annotate(
            "",
            xy=(0.0, 0.5) if same_row else (0.5, 1.0),
            xycoords=box1,
            xytext=(1.0, 0.5) if same_row else (0.5, 0.0),
            textcoords=box0,
            arrowprops={
                "arrowstyle": "-|>",
                "color": GREY,
                "linewidth": sz.line,
                "mutation_scale": sz.font * 1.4,
                "shrinkA": 4,
                "shrinkB": 4,
            },
            zorder=1,
        )
    ax.set_xlim(-0.7, max(len(steps) - 0.3, 0.7))
    ax.set_ylim(-0.7, 1.6)
    ax.set_yticks([1.0, 0.0], ["forward", "compensation"], fontsize=sz.font)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    name = short_name(steps[0].execution) if steps else ""
    ax.set_title(f"Saga timeline: execution {name}", fontsize=sz.font * 1.3)
    from matplotlib.patches import Patch

    kinds = [k for k in SAGA_STYLE if any(s.kind == k for s in steps)]
    _legend(ax, [Patch(color=SAGA_STYLE[k], label=k) for k in kinds], sz)
    return ax


# -- animation -------------------------------------------------------------------------------
class FlowAnimation:
    """Hop-by-hop animation of a topology; shows itself inline as HTML (no ffmpeg needed)."""

    def __init__(self, animation: FuncAnimation, frames: tuple[Any, ...]) -> None:
        self.animation = animation
        #: the hop each frame highlights
        self.frames = frames
        self._html: str | None = None

    def to_html(self) -> str:
        """The animation as self-contained HTML with play / step controls."""
        if self._html is None:
            self._html = self.animation.to_jshtml(default_mode="once")
        return self._html

    def _repr_html_(self) -> str:
        return self.to_html()


def animate_flow(
    flow_or_lab: Any = None,
    *,
    size: str = "notebook",
    max_frames: int = 40,
    interval: int = 700,
) -> FlowAnimation:
    """Step through the flow one hop per frame; counts on arrows grow as messages move."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    flow = as_flow(flow_or_lab)
    sz = _size(size)
    hops = tuple(flow[:max_frames])
    graph = flow.graph()
    pos = node_positions(flow, graph)
    fig, ax = plt.subplots(figsize=sz.figsize, layout="constrained")
    plt.close(fig)  # shown through the HTML only, not as a second static picture

    def draw(i: int) -> None:
        ax.clear()
        seen = Flow(hops[: i + 1])
        done = {(e.source, e.target, e.kind): e.label for e in topology_edges(seen)}
        edges = topology_edges(flow)
        offsets = _offsets(edges)
        current = hops[i] if hops else None
        for edge in edges:
            canonical = edge.source <= edge.target
            start, end = _shifted(pos[edge.source], pos[edge.target], offsets[edge], canonical)
            lit = current is not None and (current.source, current.target) == (
                edge.source,
                edge.target,
            )
            lit = lit and (
                current.kind == edge.kind
                or (current.kind == "processed" and edge.kind == "received")
            )
            label = done.get((edge.source, edge.target, edge.kind))
            _draw_arrow(
                ax,
                start,
                end,
                edge.kind,
                sz,
                alpha=1.0 if label else 0.2,
                width=2.2 if lit else 1.0,
            )
            if label:
                lx, ly = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
                ax.text(
                    lx, ly, label, ha="center", va="center", fontsize=sz.font * 0.85,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none"},
                )  # fmt: skip
        kinds = _draw_nodes(ax, flow, pos, sz)
        _frame(ax, pos)
        what = (
            f"{short_name(current.source)} → {short_name(current.target)}: {current.kind}"
            if current
            else "nothing yet"
        )
        ax.set_title(f"Step {i + 1}/{max(len(hops), 1)}: {what}", fontsize=sz.font * 1.3)
        _legend(ax, _node_handles(kinds, sz), sz)

    animation = FuncAnimation(fig, draw, frames=max(len(hops), 1), interval=interval)
    return FlowAnimation(animation, hops)
