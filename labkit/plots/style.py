"""The plots' one visual language, and how big they draw.

A node kind always has the same colour and marker, a hop kind always the same colour and line
style, in every plot and legend. Sizes: ``"notebook"`` for a laptop screen, ``"presenter"`` for a
projector seen from the back of the room. A plot given no ``size`` asks `STYLE`, which answers
presenter size while presenting (``labkit.tools.instructor.presenter()`` switches it).

>>> STYLE.size().figsize, STYLE.size("presenter").figsize
((10.0, 5.6), (14.0, 8.0))
>>> PRESENTER.figure(5.0, 2.8), PRESENTER.text(9.0)
((7.0, 4.0), 15.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from labkit.errors import LabError
from labkit.plots.legibility import watch
from labkit.trace.flows import EDGE_KINDS, NODE_KINDS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "EDGE_STYLE",
    "NODE_STYLE",
    "SAGA_STYLE",
    "SIZES",
    "STYLE",
    "Size",
    "Style",
    "subplots",
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
NODE_STYLE: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
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
)
#: hop kind -> (colour, line style)
EDGE_STYLE: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "sent": (BLACK, "-"),
        "started": (BLACK, "-."),
        "delivered": (BLUE, "-"),
        "filtered": (GREY, "--"),
        "refused": (VERMILION, ":"),
        "retried": (ORANGE, "-."),
        "received": (GREEN, "-"),
        "processed": (GREEN, ":"),
        "failed": (VERMILION, "--"),
        "dead-lettered": (VERMILION, "-"),
        "redriven": (PINK, "-"),
        "task": (SKY, "-"),
        "compensated": (ORANGE, "--"),
        "wired": ("#C8C8C8", ":"),
    }
)
#: saga step kind -> colour
SAGA_STYLE: Mapping[str, str] = MappingProxyType(
    {"forward": GREEN, "failed": VERMILION, "compensation": ORANGE}
)
#: colours for series that have no kind of their own (one line per queue), in order
SERIES = (BLUE, ORANGE, GREEN, PINK, SKY, PURPLE, BLACK, GREY)
#: text sizes, in points at notebook size, of the plots drawn in matplotlib's own proportions
#: (the lessons' plots): titles, axis and tick labels, and the smaller text of legends and notes
TITLE_TEXT, LABEL_TEXT, SMALL_TEXT = 12.0, 10.0, 9.0


@dataclass(frozen=True)
class Size:
    """How big a plot draws: the flow plots' figure (inches), text (points), nodes and lines.

    Plots with a figure or text size of their own give it at notebook size and scale it by how
    this size compares with notebook size (`figure`, `text`, `stroke`, `area`), so that
    presenter size grows every plot alike.
    """

    figsize: tuple[float, float]
    font: float
    node: float  # marker area, points squared
    line: float

    def figure(self, width: float, height: float) -> tuple[float, float]:
        """A figure `width` x `height` inches at notebook size, at this size."""
        base = NOTEBOOK.figsize
        return (width * (self.figsize[0] / base[0]), height * (self.figsize[1] / base[1]))

    def text(self, points: float) -> float:
        """Text of `points` at notebook size, at this size."""
        return points * (self.font / NOTEBOOK.font)

    def stroke(self, points: float) -> float:
        """A line `points` wide at notebook size, at this size."""
        return points * (self.line / NOTEBOOK.line)

    def area(self, points: float) -> float:
        """A marker of area `points` (points squared) at notebook size, at this size."""
        return points * (self.node / NOTEBOOK.node)


NOTEBOOK = Size((10.0, 5.6), 9.0, 240.0, 1.4)
PRESENTER = Size((14.0, 8.0), 15.0, 560.0, 2.6)
#: the sizes a plot's ``size=`` names (read-only: switch with `STYLE.present`)
SIZES: Mapping[str, Size] = MappingProxyType({"notebook": NOTEBOOK, "presenter": PRESENTER})


class Style:
    """The size every plot draws at when it is given none: notebook, or presenter size while
    presenting. Plots ask `size`; only `present` changes the answer."""

    def __init__(self) -> None:
        self._presenting = False

    @property
    def presenting(self) -> bool:
        """True while plots given no size draw at presenter size."""
        return self._presenting

    def present(self, on: bool = True) -> None:
        """Draw plots given no size at presenter size (``on=False``: at notebook size)."""
        self._presenting = on

    def size(self, name: str | None = None) -> Size:
        """The size called `name`; with None, the size a plot given none draws at."""
        if name is None:
            return PRESENTER if self._presenting else NOTEBOOK
        if name not in SIZES:
            raise LabError(
                f"size one of {', '.join(repr(s) for s in SIZES)}",
                repr(name),
                "use size='presenter' for a projector, or leave the default",
            )
        return SIZES[name]


#: the style every labkit plot reads
STYLE = Style()


def use_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """`ax`, or the axes of a new figure of `figsize` inches (its layout made by matplotlib's
    constrained layout, so labels stay inside it); either way the figure is
    checked for labels on labels when drawn (`labkit.plots.legibility.watch`)."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    watch(ax.figure)
    return ax


def subplots(
    nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = NOTEBOOK.figsize
) -> tuple[Any, Any]:
    """A figure of several labkit plots: ``plt.subplots`` with `figsize` given at notebook size
    and grown at presenter size, laid out by constrained layout, its labels checked when drawn.

    >>> fig, (left, right) = subplots(1, 2, figsize=(12, 4))
    >>> fig.get_size_inches().tolist()
    [12.0, 4.0]
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        nrows, ncols, figsize=STYLE.size().figure(*figsize), layout="constrained"
    )
    watch(fig)
    return fig, axes


def describe(ax: Axes, size: Size, *, title: str, xlabel: str, ylabel: str) -> None:
    """Title, axis labels and tick labels in matplotlib's own proportions, grown with `size`."""
    ax.set_title(title, fontsize=size.text(TITLE_TEXT))
    ax.set_xlabel(xlabel, fontsize=size.text(LABEL_TEXT))
    ax.set_ylabel(ylabel, fontsize=size.text(LABEL_TEXT))
    ax.tick_params(labelsize=size.text(LABEL_TEXT))


def legend(ax: Axes, handles: list[Any], size: Size, *, title: str | None = None) -> None:
    """The legend under the axes, in columns of at most five entries."""
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


def lines_legend(ax: Axes, size: Size, columns: int, *, handles: list[Any] | None = None) -> None:
    """The legend of the lines drawn (or of `handles`), under the x axis's label, in `columns`
    columns."""
    ax.legend(
        **({"handles": handles} if handles is not None else {}),
        fontsize=size.font * 0.9,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=columns,
        frameon=False,
    )


def node_handles(kinds: list[str], size: Size) -> list[Any]:
    """Legend entries for node kinds: their marker in their colour."""
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


def edge_handles(kinds: list[str], size: Size) -> list[Any]:
    """Legend entries for hop kinds: their line in their colour and style."""
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


_AX = "ax : matplotlib Axes, optional\n        Draw here instead of on a new figure."
_SIZE = (
    'size : {"notebook", "presenter"}, optional\n'
    "        Default: presenter size while presenting (``labkit.tools.instructor``), "
    "else notebook."
)
#: The parameters and return value every plot shares, filled into docstrings by `documented`:
#: ``drawing`` is where and how big a plot draws, its ``ax`` and its ``size`` together.
SHARED_DOC = {
    "ax": _AX,
    "size": _SIZE,
    "drawing": f"{_AX}\n    {_SIZE}",
    "returns": "Returns\n    -------\n    matplotlib Axes\n        The axes drawn on.",
    "title": "title : str\n        The plot's title.",
}

F = TypeVar("F", bound=Callable[..., Any])


def documented(function: F) -> F:
    """Fill the shared parameter texts (``%(drawing)s`` for ``ax`` and ``size``, or each alone
    as ``%(ax)s`` and ``%(size)s``; ``%(title)s``, ``%(returns)s``) into a plot's docstring, as
    matplotlib's docstring interpolation does.

    >>> @documented
    ... def plot(ax=None, size=None):
    ...     '''Draw.
    ...
    ...     %(drawing)s
    ...     '''
    >>> "Draw here instead" in plot.__doc__, "presenter size while presenting" in plot.__doc__
    (True, True)
    """
    if function.__doc__:
        function.__doc__ = function.__doc__ % SHARED_DOC
    return function
