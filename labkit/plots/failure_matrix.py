"""Which compensations ran, for each step a saga failed at: a grid numbered in run order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from labkit.errors import LabError
from labkit.plots import style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["failure_matrix", "plot_failure_matrix"]

#: a cell whose compensation did not run
NOT_RUN = "#F2F2F2"


def failure_matrix(
    runs: Mapping[str, Sequence[str]], compensations: Sequence[str]
) -> tuple[tuple[int, ...], ...]:
    """For each run (failure point -> compensations in the order they ran), a row of numbers:
    0 where a compensation did not run, k where it ran k-th.

    >>> failure_matrix({"reserve": ["Refund", "Cancel"]}, ["Release", "Refund", "Cancel"])
    ((0, 1, 2),)
    """
    rows = []
    for ran in runs.values():
        unknown = [c for c in ran if c not in compensations]
        if unknown:
            raise LabError(
                f"compensations among {list(compensations)}",
                repr(unknown),
                "pass every compensation's name in `compensations`",
            )
        rows.append(tuple(list(ran).index(c) + 1 if c in ran else 0 for c in compensations))
    return tuple(rows)


@style.documented
def plot_failure_matrix(
    runs: Mapping[str, Sequence[str]],
    compensations: Sequence[str],
    *,
    title: str = "Which compensations ran, for each failure point",
    ax: Axes | None = None,
    size: str | None = None,
) -> Axes:
    """A grid: one row per failure point, one column per compensation, numbered in run order.

    Parameters
    ----------
    runs : mapping of str to sequence of str
        The step that failed -> the compensations that ran, in the order they ran.
    compensations : sequence of str
        Every compensation, in the order of the columns.
    %(title)s
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure (sized to the grid).
    %(size)s

    %(returns)s

    Examples
    --------
    >>> ax = plot_failure_matrix({"Ship": ["Refund", "Release"], "Charge": []},
    ...                          ["Release", "Refund"])
    >>> [t.get_text() for t in ax.texts]
    ['ran #2', 'ran #1', '–', '–']
    """
    from matplotlib.colors import ListedColormap

    matrix = failure_matrix(runs, compensations)
    sz = style.STYLE.size(size)
    # wide enough for the grid and for the title (about 0.55 em per character, centred over
    # the axes, which the step names push to the right)
    title_inches = 0.55 * style.TITLE_TEXT / 72 * len(title) + 2.4
    figsize = sz.figure(max(1.8 + 1.6 * len(compensations), title_inches), 0.9 + 0.55 * len(runs))
    ax = style.use_axes(ax, figsize)
    ran = [[1 if cell else 0 for cell in row] for row in matrix]
    ax.imshow(ran, cmap=ListedColormap([NOT_RUN, style.ORANGE]), vmin=0, vmax=1, aspect="auto")
    for i, row in enumerate(matrix):
        for j, cell in enumerate(row):
            text = f"ran #{cell}" if cell else "–"
            ax.text(j, i, text, ha="center", va="center", fontsize=sz.text(style.LABEL_TEXT))
    ax.set_xticks(range(len(compensations)), list(compensations))
    ax.set_yticks(range(len(runs)), list(runs))
    style.describe(ax, sz, title=title, xlabel="compensation", ylabel="the step that failed")
    ax.tick_params(length=0)
    return ax
