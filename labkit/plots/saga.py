"""A saga's execution as a timeline: forward steps on top, the failure, compensations below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.plots import style
from labkit.trace.flows import FlowLike, as_flow, short_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_saga"]


@style.documented
def plot_saga(
    flow: FlowLike,
    *,
    execution: str | None = None,
    ax: Axes | None = None,
    size: str | None = None,
) -> Axes:
    """A saga's execution: forward steps on top, the failure, compensations below.

    Parameters
    ----------
    flow : Flow, FlowSource or sequence of Hop
        A flow with a state machine's task steps (or ``choreography_flow``'s events).
    execution : str, optional
        The execution's ARN; default the last one that ran a task (see ``Flow.saga``).
    %(drawing)s

    %(returns)s

    Examples
    --------
    >>> from labkit.trace import Hop
    >>> def step(seq, kind, state):
    ...     return Hop(seq, 0.0, "actor:shop", "actor:stock", "run-1", kind, "observed",
    ...                labels=(("state", state),))
    >>> ax = plot_saga([step(1, "task", "Reserve"), step(2, "compensated", "Release")])
    >>> ax.get_title(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('Saga timeline: execution run-1', ['forward', 'compensation'])
    """
    flow = as_flow(flow)
    sz = style.STYLE.size(size)
    steps = flow.saga(execution)
    # a column per step, as wide as the widest step's box (bold text about 0.62 of its size
    # per character, a font size of padding each side), then two rows and the times under them
    widest = max((len(s.state) + 2 for s in steps), default=8) * 0.62 * sz.font + 2 * sz.font
    width, height = sz.figure(6.0, 3.4)
    ax = style.use_axes(ax, (max(width, len(steps) * widest * 1.15 / 72 + 1.0), height))
    rows = {"forward": 1.0, "failed": 1.0, "compensation": 0.0}
    boxes = []
    for i, step in enumerate(steps):
        x, y = float(i), rows[step.kind]
        colour = style.SAGA_STYLE[step.kind]
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
        ax.annotate(
            f"t={step.time:g}s",
            (0.5, 0.0),
            xycoords=box,  # the text: its box reaches half a font size further
            xytext=(0, -(0.5 * sz.font + 3)),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=sz.font * 0.8,
        )
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
                "color": style.GREY,
                "linewidth": sz.line,
                "mutation_scale": sz.font * 1.4,
                "shrinkA": 4,
                "shrinkB": 4,
            },
            zorder=1,
        )
    ax.set_xlim(-0.7, max(len(steps) - 0.3, 0.7))
    ax.set_ylim(-0.8, 1.6)
    ax.set_yticks([1.0, 0.0], ["forward", "compensation"], fontsize=sz.font)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    name = short_name(steps[0].execution) if steps else ""
    ax.set_title(f"Saga timeline: execution {name}", fontsize=sz.font * 1.3)
    from matplotlib.patches import Patch

    kinds = [k for k in style.SAGA_STYLE if any(s.kind == k for s in steps)]
    style.legend(ax, [Patch(color=style.SAGA_STYLE[k], label=k) for k in kinds], sz)
    return ax
