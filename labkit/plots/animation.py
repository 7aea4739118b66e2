"""A flow's topology, step by step: one hop per frame, counts growing as messages move."""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.plots import style
from labkit.plots.layout import node_positions
from labkit.plots.legibility import watch
from labkit.plots.topology import (
    Arrow,
    Spot,
    arrow_ends,
    arrow_offsets,
    draw_arrow,
    draw_nodes,
    frame,
    label_stops,
    place_labels,
    topology_arrows,
    topology_edges,
    topology_figsize,
)
from labkit.trace.flows import Flow, FlowLike, as_flow, short_name
from labkit.trace.records import Hop

if TYPE_CHECKING:
    from matplotlib.animation import FuncAnimation
    from matplotlib.figure import Figure

__all__ = ["FlowAnimation", "animate_flow"]

#: the topology draws deletes (processed) on the received arrow
DELETE_ON_RECEIVE = ("processed", "received")


class FlowAnimation:
    """Hop-by-hop animation of a topology; shows itself inline as HTML (no ffmpeg needed)."""

    def __init__(self, animation: FuncAnimation, frames: tuple[Hop, ...], figure: Figure) -> None:
        self.animation = animation
        #: the hop each frame highlights
        self.frames = frames
        #: the figure the frames are drawn on (closed: it shows through the HTML only)
        self.figure = figure
        self._html: str | None = None

    def to_html(self) -> str:
        """The animation as self-contained HTML with play / step controls."""
        if self._html is None:
            self._html = self.animation.to_jshtml(default_mode="once")
        return self._html

    def _repr_html_(self) -> str:
        return self.to_html()


@style.documented
def animate_flow(
    flow: FlowLike,
    *,
    size: str | None = None,
    max_frames: int = 40,
    interval: int = 700,
) -> FlowAnimation:
    """Step through the flow one hop per frame; counts on arrows grow as messages move.

    Every arrow the whole flow has is there from the first frame, faint until a hop has gone
    along it; the current hop's arrow is drawn thick.

    Parameters
    ----------
    flow : Flow, FlowSource or sequence of Hop
        What to animate: ``labkit.flow(lab)`` or the lab itself.
    %(size)s
    max_frames : int
        Animate the first `max_frames` hops only.
    interval : int
        Milliseconds between frames when playing.

    Returns
    -------
    FlowAnimation
        Shows itself in a notebook as HTML with play, pause and step buttons.

    Examples
    --------
    >>> from labkit.trace import Hop
    >>> queue = "arn:aws:sqs:us-east-1:123456789012:orders"
    >>> animation = animate_flow([Hop(1, 0.0, "actor:shop", queue, "m1", "sent", "observed")])
    >>> len(animation.frames), "<script" in animation.to_html()
    (1, True)
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    flow = as_flow(flow)
    sz = style.STYLE.size(size)
    hops = tuple(flow[:max_frames])
    pos = node_positions(flow)
    arrows = topology_arrows(topology_edges(flow))
    offsets = arrow_offsets(arrows)
    ends = {arrow: arrow_ends(arrow, pos, offsets) for arrow in arrows}
    fig, ax = plt.subplots(figsize=topology_figsize(pos, sz), layout="constrained")
    watch(fig)
    plt.close(fig)  # shown through the HTML only, not as a second static picture

    # where each arrow's labels go, found once (on the last frame) for every frame
    spots: dict[Arrow, Spot] = {}

    def draw(i: int) -> None:
        ax.clear()
        seen = Flow(hops[: i + 1])
        done = {(e.source, e.target, e.kind): e.label for e in topology_edges(seen)}
        current = hops[i] if hops else None
        labelled = []
        for arrow, arrow_at in ends.items():
            lit = (
                current is not None
                and (current.source, current.target) == (arrow.source, arrow.target)
                and any(
                    current.kind == e.kind or (current.kind, e.kind) == DELETE_ON_RECEIVE
                    for e in arrow.edges
                )
            )
            labels = [
                (done[key], "black")
                for e in arrow.edges
                if (key := (e.source, e.target, e.kind)) in done
            ]
            draw_arrow(
                ax, arrow_at, arrow.kind, sz, alpha=1.0 if labels else 0.2, width=2.2 if lit else 1
            )
            if labels:
                labelled.append((arrow, (arrow_at, labels, label_stops(arrow, arrows))))
        kinds = draw_nodes(ax, flow, pos, sz)
        frame(ax, pos)
        what = (
            f"{short_name(current.source)} → {short_name(current.target)}: {current.kind}"
            if current
            else "nothing yet"
        )
        ax.set_title(f"Step {i + 1}/{max(len(hops), 1)}: {what}", fontsize=sz.font * 1.3)
        style.legend(ax, style.node_handles(kinds, sz), sz)
        items = [item for _, item in labelled]
        if all(arrow in spots for arrow, _ in labelled):
            place_labels(ax, items, sz, [spots[arrow] for arrow, _ in labelled])
        else:
            placed = place_labels(ax, items, sz)
            spots.update(zip([arrow for arrow, _ in labelled], placed, strict=True))

    draw(max(len(hops), 1) - 1)  # the last frame has every label, at its longest: place them

    animation = FuncAnimation(fig, draw, frames=max(len(hops), 1), interval=interval)
    return FlowAnimation(animation, hops, fig)
