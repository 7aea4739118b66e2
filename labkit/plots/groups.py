"""Message groups: the order each group's messages were received in, as rows and as a plot.

A FIFO queue promises order *within* a message group, not across groups. To see that promise
kept (or broken), take the messages in the order a consumer received them, note each one's group
and its place among its group's sends, and draw one lane per group.

>>> sent = [("ana", "o-1"), ("ben", "o-2"), ("ana", "o-3")]
>>> received = [("ben", "o-2"), ("ana", "o-1"), ("ana", "o-3")]
>>> [(d.position, d.group, d.label, d.in_order) for d in group_order(received, sent=sent)]
[(1, 'ben', 'o-2', True), (2, 'ana', 'o-1', True), (3, 'ana', 'o-3', True)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.errors import LabError
from labkit.plots import style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["GroupDelivery", "group_order", "plot_group_order"]


@dataclass(frozen=True)
class GroupDelivery:
    """One received message: where it came in the receive order, and whether its group's order held.

    ``sent_rank`` is its place among its group's sends (1 = sent first), 0 when not in `sent`.
    """

    position: int
    group: str
    label: str
    sent_rank: int
    in_order: bool


def group_order(
    received: Sequence[tuple[str, str]], *, sent: Sequence[tuple[str, str]] | None = None
) -> tuple[GroupDelivery, ...]:
    """Rows for `plot_group_order` from ``(group, label)`` pairs in the order they were received.

    With `sent` (the same pairs in the order they were sent), a message is ``in_order`` when no
    message of its group sent after it was received before it. Without `sent`, the receive order
    within each group is taken as the intended one.

    >>> rows = group_order([("ana", "o-3"), ("ana", "o-1")], sent=[("ana", "o-1"), ("ana", "o-3")])
    >>> [(r.label, r.sent_rank, r.in_order) for r in rows]
    [('o-3', 2, True), ('o-1', 1, False)]
    """
    ranks: dict[tuple[str, str], int] = {}
    per_group: dict[str, int] = defaultdict(int)
    for group, label in sent if sent is not None else received:
        if (group, label) not in ranks:
            per_group[group] += 1
            ranks[(group, label)] = per_group[group]
    rows = []
    best: dict[str, int] = defaultdict(int)  # highest rank received so far, per group
    for position, (group, label) in enumerate(received, start=1):
        rank = ranks.get((group, label), 0)
        # a message is in order unless something its group sent later already came through
        in_order = rank == 0 or rank >= best[group]
        best[group] = max(best[group], rank)
        rows.append(GroupDelivery(position, str(group), str(label), rank, in_order))
    return tuple(rows)


@style.documented
def plot_group_order(
    received: Sequence[tuple[str, str]],
    *,
    sent: Sequence[tuple[str, str]] | None = None,
    ax: Axes | None = None,
    title: str = "Order of receipt, one lane per message group",
    size: str | None = None,
) -> Axes:
    """One lane per group, messages placed by when they were received; late ones in vermilion.

    Parameters
    ----------
    received : sequence of (group, label)
        What the consumer received, in the order it received it.
    sent : sequence of (group, label), optional
        The same pairs in the order they were sent; with it the title gives a verdict.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure (which grows taller with the number of groups).
    title : str
        The plot's title (the verdict is appended when `sent` is given).
    %(size)s

    %(returns)s

    Examples
    --------
    >>> ax = plot_group_order([("ana", "o-1"), ("ben", "o-2")])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['ana', 'ben']
    """
    rows = group_order(received, sent=sent)
    if not rows:
        raise LabError(
            "at least one received (group, label) pair",
            "an empty list",
            "collect what the consumer received, e.g. [(m['Attributes']['MessageGroupId'], "
            "m['Body']) ...], and plot after receiving",
        )
    sz = style.STYLE.size(size)
    ax = style.use_axes(ax, sz.figure(10.0, 1.2 + 0.7 * len({r.group for r in rows})))
    groups = list(dict.fromkeys(r.group for r in rows))
    lane = {group: len(groups) - 1 - i for i, group in enumerate(groups)}  # first group on top
    for group in groups:
        xs = [r.position for r in rows if r.group == group]
        ax.plot(xs, [lane[group]] * len(xs), color=style.GREY, linewidth=sz.stroke(1.5), zorder=1)
    late = False
    for row in rows:
        colour = style.BLUE if row.in_order else style.VERMILION
        late = late or not row.in_order
        ax.scatter([row.position], [lane[row.group]], s=sz.area(160), color=colour, zorder=2)
        ax.annotate(
            row.label,
            (row.position, lane[row.group]),
            textcoords="offset points",
            xytext=(0, 9),
            ha="center",
            fontsize=sz.text(style.SMALL_TEXT),
        )
    ax.set_yticks([lane[g] for g in groups], groups)
    ax.set_ylim(-0.6, len(groups) - 0.2)
    ax.set_xlim(0.4, len(rows) + 0.6)
    ax.set_xticks(range(1, len(rows) + 1))
    ax.spines[["top", "right"]].set_visible(False)
    verdict = (
        "some came out of order (vermilion)" if late else "each group in the order it was sent"
    )
    style.describe(
        ax,
        sz,
        title=f"{title}: {verdict}" if sent is not None else title,
        xlabel="position in the order the consumer received them",
        ylabel="message group",
    )
    return ax
