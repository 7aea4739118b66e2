"""Whether a drawn figure reads cleanly: no label on top of another, nothing off its axes.

`layout_problems` looks at a figure as it was drawn: every text on it (titles, axis and tick
labels, legend entries, the labels a plot writes, with the box around them) as the area it
covers on the canvas, every marker of a scatter as its square. It reports two texts that cover
each other, a label or marker of a plot that lies outside its axes, and anything outside the
figure, naming the texts involved.

Every labkit plot `watch`es the figure it draws on. While strict (`strict`, or the environment
variable ``LABKIT_STRICT_PLOTS`` set, as the workbook's tests set it for every lesson), drawing a
figure that has a problem raises `PlotLayoutError` naming it; otherwise watching costs nothing.

>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")
>>> _ = ax.text(0.5, 0.5, "billing", transform=ax.transAxes)
>>> _ = ax.text(0.52, 0.5, "shipping", transform=ax.transAxes)
>>> fig.canvas.draw()
>>> [problem.kind for problem in layout_problems(fig)]
['overlap']
>>> plt.close(fig)
"""

from __future__ import annotations

import os
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

__all__ = [
    "LayoutProblem",
    "PlotLayoutError",
    "crosses",
    "layout_problems",
    "marker_boxes",
    "renderer_of",
    "shared_area",
    "strict",
    "text_box",
    "watch",
]

#: set (to anything but "" or "0") to make every watched figure refuse to draw with a problem
STRICT_ENV = "LABKIT_STRICT_PLOTS"
#: how far (pixels) two boxes may touch, or a box pass an edge, before it counts: antialiasing
#: and rounding, not a reader's problem
SLACK = 1.0
#: a box as its extents on the canvas, (x0, y0, x1, y1) in pixels: plain numbers compare fast
Extents = tuple[float, float, float, float]


@dataclass(frozen=True)
class LayoutProblem:
    """One thing a reader cannot read: `kind` is "overlap", "outside the axes" or "outside the
    figure"; `what` names the texts or markers involved."""

    kind: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}"


class PlotLayoutError(LabError):
    """A figure was drawn with labels on top of each other or outside its axes."""


@dataclass(frozen=True)
class _Drawn:
    """Something drawn, as the area it covers: `inside` is the axes it must stay within."""

    name: str
    box: Extents
    inside: Axes | None


def _named(text: Text) -> str:
    return repr(" ".join(text.get_text().split()))


def text_box(text: Text, renderer: RendererBase) -> Bbox:
    """The area `text` covers on the canvas, with the box drawn around it, if any."""
    from matplotlib.transforms import Bbox

    box = text.get_window_extent(renderer)
    patch = text.get_bbox_patch()
    if patch is not None and patch.get_visible():
        text.update_bbox_position_size(renderer)  # the box follows the text when drawn
        box = Bbox.union([box, patch.get_window_extent(renderer)])
    return box


def _shown(text: Any) -> bool:
    return bool(text.get_visible() and text.get_text().strip())


def _tick_labels(axis: Axis) -> list[Text]:
    """The tick labels the axis drew: those of ticks within its view."""
    low, high = sorted(axis.get_view_interval())
    slack = (high - low) * 1e-9
    ticks = [*axis.get_major_ticks(), *axis.get_minor_ticks()]
    return [
        label
        for tick in ticks
        if low - slack <= tick.get_loc() <= high + slack
        for label in (tick.label1, tick.label2)
        if _shown(label)
    ]


def _axes_texts(ax: Axes) -> tuple[list[Text], list[Text]]:
    """The texts an axes drew: (its plot's own labels, its decorations)."""
    from matplotlib.text import Text

    own = [t for t in ax.texts if _shown(t)]
    decorations = [c for c in ax.get_children() if isinstance(c, Text) and c not in ax.texts]
    if ax.axison:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_visible():
                decorations += [axis.label, axis.offsetText, *_tick_labels(axis)]
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        decorations += [*legend.get_texts(), legend.get_title()]
    return own, [t for t in decorations if _shown(t)]


def marker_boxes(ax: Axes, renderer: RendererBase) -> list[tuple[str, Bbox]]:
    """Each scatter marker of `ax` as the square it covers, named for its series."""
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Bbox

    drawn = []
    for collection in ax.collections:
        if not isinstance(collection, PathCollection) or not collection.get_visible():
            continue
        sizes = collection.get_sizes()
        centres = collection.get_offset_transform().transform(collection.get_offsets())
        for i, (x, y) in enumerate(centres):
            side = sizes[i % len(sizes)] ** 0.5 if len(sizes) else 0.0  # sizes are areas
            half = renderer.points_to_pixels(side / 2)
            label = collection.get_label()
            name = f"a marker{'' if label.startswith('_') else f' of {label!r}'}"
            drawn.append((name, Bbox([[x - half, y - half], [x + half, y + half]])))
    return drawn


def crosses(a: Extents, b: Extents) -> bool:
    """Whether boxes `a` and `b` cover each other by more than the slack, both ways."""
    return min(a[2], b[2]) - max(a[0], b[0]) > SLACK and min(a[3], b[3]) - max(a[1], b[1]) > SLACK


def renderer_of(figure: Figure) -> RendererBase:
    """The renderer `figure` draws with (an Agg canvas's, for a figure no longer shown)."""
    canvas = figure.canvas
    if not hasattr(canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(figure)
    return canvas.get_renderer()


def shared_area(a: Extents, b: Extents) -> float:
    """The area (pixels squared) boxes `a` and `b` have in common."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, width) * max(0.0, height)


def _within(box: Extents, frame: Extents) -> bool:
    return (
        box[0] >= frame[0] - SLACK
        and box[1] >= frame[1] - SLACK
        and box[2] <= frame[2] + SLACK
        and box[3] <= frame[3] + SLACK
    )


def layout_problems(fig: Figure, renderer: RendererBase | None = None) -> list[LayoutProblem]:
    """What a reader of the drawn `fig` cannot read: labels on labels, things off their axes.

    Parameters
    ----------
    fig : matplotlib Figure
        A figure that has been drawn (``fig.canvas.draw()``, or shown).
    renderer : optional
        The renderer it was drawn with; default the canvas's.

    Returns
    -------
    list of LayoutProblem
        Empty when every text is clear of every other and everything is where it belongs.
    """
    renderer = renderer or renderer_of(fig)
    # the figure's own texts (a suptitle among them) and legends
    placed = [*fig.texts, *(t for lg in fig.legends for t in (*lg.get_texts(), lg.get_title()))]
    texts = [_Drawn(_named(t), text_box(t, renderer).extents, None) for t in placed if _shown(t)]
    markers: list[_Drawn] = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        own, decorations = _axes_texts(ax)
        texts += [_Drawn(_named(t), text_box(t, renderer).extents, ax) for t in own]
        texts += [_Drawn(_named(t), text_box(t, renderer).extents, None) for t in decorations]
        markers += [_Drawn(name, box.extents, ax) for name, box in marker_boxes(ax, renderer)]
    problems = [
        LayoutProblem("overlap", f"{a.name} and {b.name}")
        for i, a in enumerate(texts)
        for b in texts[i + 1 :]
        if crosses(a.box, b.box)
    ]
    for drawn in [*texts, *markers]:
        if drawn.inside is not None and not _within(drawn.box, drawn.inside.bbox.extents):
            problems.append(LayoutProblem("outside the axes", drawn.name))
        elif not _within(drawn.box, fig.bbox.extents):
            problems.append(LayoutProblem("outside the figure", drawn.name))
    return problems


_WATCHED: weakref.WeakSet[Figure] = weakref.WeakSet()
_STRICT = False


def _is_strict() -> bool:
    return _STRICT or os.environ.get(STRICT_ENV, "") not in ("", "0")


def _check_drawn(event: Any) -> None:
    if not _is_strict():
        return
    problems = layout_problems(event.canvas.figure, event.renderer)
    if problems:
        title = next((ax.get_title() for ax in event.canvas.figure.axes if ax.get_title()), "")
        raise PlotLayoutError(
            "every label clear of the others and every label and marker inside its axes",
            f"in the figure {title!r}: " + "; ".join(str(p) for p in problems),
            "give the figure more room (a larger figsize, fewer or shorter labels), or move "
            "what collides; the problems name the texts involved",
        )


def watch(fig: Figure) -> None:
    """Check `fig` each time it is drawn, while strict (see the module's description)."""
    if fig not in _WATCHED:
        _WATCHED.add(fig)
        fig.canvas.mpl_connect("draw_event", _check_drawn)


@contextmanager
def strict() -> Iterator[None]:
    """Within the block, a watched figure with a layout problem raises when drawn."""
    global _STRICT
    before, _STRICT = _STRICT, True
    try:
        yield
    finally:
        _STRICT = before
