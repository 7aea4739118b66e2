"""A stream's records and the batches a stream mapping invoked its function with, over lab time.

One row per stream record (in shard order, the first at the top), one vertical bar per
invocation at the lab time it started, spanning the records of its batch: green when the batch
succeeded, vermilion when it failed. A failed batch retried, split in two
(``BisectBatchOnFunctionError``), and the records waiting behind it in the shard: all visible
at a glance. A record given up is marked with a cross.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.plots import style
from labkit.plots.batches import recorded

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["StreamBatch", "plot_stream_batches", "stream_batches"]

#: how far apart (lab seconds) bars that start at the same time are drawn
NUDGE = 0.035


@dataclass(frozen=True)
class StreamBatch:
    """One invocation as the plot draws it: when, which rows (records, 1 = the first in the
    shard), how it ended, and its place among the invocations of the same lab time."""

    time: float
    first: int
    last: int
    ok: bool
    slot: int


def _records(source: Any) -> list[Any]:
    found = recorded(
        source,
        "a stream mapping's invocations: a run's result or lab.functions.invocations",
        "plot_stream_batches(lab.functions.run_until_idle())",
    )
    return [i for i in found if getattr(i, "trigger", "") == "dynamodb"]


def stream_batches(source: Any) -> tuple[tuple[StreamBatch, ...], tuple[str, ...]]:
    """The bars `plot_stream_batches` draws, and the records' sequence numbers, top row first.

    >>> from types import SimpleNamespace as I
    >>> runs = [I(trigger="dynamodb", time=0.0, message_ids=("7", "8", "9"), outcome="error"),
    ...         I(trigger="dynamodb", time=0.25, message_ids=("7",), outcome="ok"),
    ...         I(trigger="dynamodb", time=0.25, message_ids=("8", "9"), outcome="ok")]
    >>> bars, rows = stream_batches(runs)
    >>> rows, [(b.time, b.first, b.last, b.ok, b.slot) for b in bars]
    (('7', '8', '9'), [(0.0, 1, 3, False, 0), (0.25, 1, 1, True, 0), (0.25, 2, 3, True, 1)])
    """
    invocations = sorted(_records(source), key=lambda i: i.time)
    sequences = sorted({s for i in invocations for s in i.message_ids}, key=lambda s: (len(s), s))
    row = {s: n for n, s in enumerate(sequences, start=1)}
    bars: list[StreamBatch] = []
    slots: dict[float, int] = {}
    for inv in invocations:
        if not inv.message_ids:
            continue
        rows = [row[s] for s in inv.message_ids]
        slot = slots.get(inv.time, 0)
        slots[inv.time] = slot + 1
        bars.append(StreamBatch(inv.time, min(rows), max(rows), inv.outcome == "ok", slot))
    return tuple(bars), tuple(sequences)


@style.documented
def plot_stream_batches(
    source: Any,
    *,
    given_up: Iterable[str] = (),
    labels: dict[str, str] | None = None,
    ax: Axes | None = None,
    title: str = "The stream's records and the batches the function got",
    size: str | None = None,
) -> Axes:
    """Each stream record a row, each invocation a bar over the records of its batch.

    Parameters
    ----------
    source : a run's result, or invocations
        What the runtime recorded (``lab.functions.run_until_idle()``); only invocations by a
        DynamoDB stream mapping are drawn.
    given_up : sequence numbers, optional
        Records the mapping gave up (the run's ``dead_lettered`` or ``discarded``): a cross.
    labels : dict, optional
        A label for a record's row, by sequence number (its order id, say).
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure (which grows taller with the records).
    %(title)s
    %(size)s

    %(returns)s

    Examples
    --------
    >>> from types import SimpleNamespace as I
    >>> ax = plot_stream_batches([I(trigger="dynamodb", time=0.0, message_ids=("1", "2"),
    ...                             outcome="ok")], labels={"1": "o-1"})
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['o-1', '2']
    """
    bars, sequences = stream_batches(source)
    if not bars:
        raise LabError(
            "invocations of a function by a DynamoDB stream mapping",
            "none",
            "run the functions first (run = lab.functions.run_until_idle()) and pass the run",
        )
    sz = style.STYLE.size(size)
    ax = style.use_axes(ax, sz.figure(10.0, max(4.0, 2.0 + 0.35 * len(sequences))))
    for bar in bars:
        x = bar.time + bar.slot * NUDGE
        colour = style.GREEN if bar.ok else style.VERMILION
        ax.plot(
            [x, x],
            [bar.first - 0.3, bar.last + 0.3],
            color=colour,
            linewidth=sz.stroke(5.0),
            solid_capstyle="butt",
        )
    row = {s: n for n, s in enumerate(sequences, start=1)}
    crosses = [row[s] for s in given_up if s in row]
    if crosses:
        end = max(b.time + b.slot * NUDGE for b in bars) + 2 * NUDGE
        ax.scatter([end] * len(crosses), crosses, marker="x", color=style.BLACK, s=sz.area(90))
    names = [(labels or {}).get(s, s) for s in sequences]
    ax.set_yticks(range(1, len(sequences) + 1), names)
    ax.set_ylim(len(sequences) + 0.8, 0.2)  # the first record at the top
    times = [b.time + b.slot * NUDGE for b in bars]
    ax.set_xlim(min(times) - 0.1, max(times) + 0.2)
    ax.spines[["top", "right"]].set_visible(False)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=style.GREEN, linewidth=sz.stroke(5.0), label="batch succeeded"),
        Line2D([], [], color=style.VERMILION, linewidth=sz.stroke(5.0), label="batch failed"),
    ]
    if crosses:
        handles.append(
            Line2D([], [], color=style.BLACK, marker="x", linestyle="", label="record given up")
        )
    style.describe(ax, sz, title=title, xlabel="lab time (s)", ylabel="stream record")
    style.lines_legend(ax, sz, len(handles), handles=handles)
    return ax
