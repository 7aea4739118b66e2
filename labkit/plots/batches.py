"""A function's invocations over lab time: how many records each batch carried, how it ended,
and how many invocations ran at once.

It reads invocations as the function runtime records them (``lab.functions.invocations``, a
``RunResult`` of ``run_until_idle``, or ``fn.invocations``): anything with a start ``time``, a
``duration``, the ``message_ids`` of its batch, the ``failed_ids`` and an ``outcome``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from labkit.errors import LabError
from labkit.plots import style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BatchBar", "PART_COLOURS", "batch_bars", "plot_batches", "running_at_once"]

#: a part of a bar -> its colour (in the order the legend lists them)
PART_COLOURS = {"processed": style.GREEN, "failed": style.VERMILION, "failed (timeout)": style.PINK}


class InvocationLike(Protocol):
    """What the plot reads of one invocation."""

    @property
    def time(self) -> float: ...

    @property
    def duration(self) -> float: ...

    @property
    def message_ids(self) -> tuple[str, ...]: ...

    @property
    def failed_ids(self) -> tuple[str, ...]: ...

    @property
    def outcome(self) -> str: ...


@dataclass(frozen=True)
class BatchBar:
    """One invocation as the plot draws it: a bar at its start, as high as its batch, stacked
    on the invocations that started at the same lab time (``bottom``)."""

    start: float
    end: float
    records: int
    failed: int
    outcome: str
    bottom: int


def recorded(source: Any, expected: str, example: str) -> list[Any]:
    """The invocations a run's result, a function or the runtime recorded (or the list itself);
    anything else is refused with `expected` and an `example` call."""
    found = getattr(source, "invocations", source)
    if not isinstance(found, Iterable) or isinstance(found, str | bytes):
        raise LabError(
            expected, type(source).__name__, f"pass what the runtime recorded: {example}"
        )
    return list(found)


def _invocations(source: Any) -> list[InvocationLike]:
    found = recorded(
        source,
        "invocations: lab.functions.invocations, fn.invocations or a run's result",
        "plot_batches(lab.functions.run_until_idle())",
    )
    return [i for i in found if getattr(i, "message_ids", None) is not None]


def batch_bars(source: Any) -> list[BatchBar]:
    """The bars `plot_batches` draws, oldest first.

    >>> from types import SimpleNamespace as I
    >>> runs = [I(time=0.0, duration=1.0, message_ids=("a", "b"), failed_ids=(), outcome="ok"),
    ...         I(time=0.0, duration=3.0, message_ids=("c",), failed_ids=("c",), outcome="timeout")]
    >>> [(b.start, b.records, b.bottom, b.outcome) for b in batch_bars(runs)]
    [(0.0, 2, 0, 'ok'), (0.0, 1, 2, 'timeout')]
    """
    bars: list[BatchBar] = []
    stacked: dict[float, int] = {}
    for inv in sorted(_invocations(source), key=lambda i: i.time):
        bottom = stacked.get(inv.time, 0)
        records = len(inv.message_ids)
        bars.append(
            BatchBar(
                start=inv.time,
                end=round(inv.time + inv.duration, 6),
                records=records,
                failed=len(inv.failed_ids),
                outcome=inv.outcome,
                bottom=bottom,
            )
        )
        stacked[inv.time] = bottom + records
    return bars


def running_at_once(bars: Sequence[BatchBar]) -> list[tuple[float, int]]:
    """``(lab time, invocations running)`` at every start and end, as a step line draws it.

    >>> bars = [BatchBar(0.0, 2.0, 10, 0, "ok", 0), BatchBar(1.0, 3.0, 5, 0, "ok", 0)]
    >>> running_at_once(bars)
    [(0.0, 1), (1.0, 2), (2.0, 1), (3.0, 0)]
    """
    moments = sorted({b.start for b in bars} | {b.end for b in bars})
    return [(t, sum(1 for b in bars if b.start <= t < b.end)) for t in moments]


@style.documented
def plot_batches(
    source: Any,
    *,
    ax: Axes | None = None,
    size: str | None = None,
    title: str = "Batches per invocation",
) -> Axes:
    """Each invocation as a bar at its start, as high as the records of its batch: the records
    it processed in green, those that failed (an error, a timeout, or reported in
    ``batchItemFailures``) in vermilion on top, hatched when the invocation timed out.
    Invocations that started at the same moment are stacked. A black step line counts the
    invocations running at once.

    Parameters
    ----------
    source : RunResult, Function, Runtime or sequence of Invocation
        What to draw: ``lab.functions.run_until_idle()``, ``fn``, ``lab.functions``.
    %(drawing)s
    %(title)s

    %(returns)s

    Examples
    --------
    >>> from types import SimpleNamespace as I
    >>> runs = [I(time=0.0, duration=2.0, message_ids=("a", "b"), failed_ids=(), outcome="ok"),
    ...         I(time=1.0, duration=2.0, message_ids=("c",), failed_ids=("c",), outcome="error")]
    >>> ax = plot_batches(runs)
    >>> [(float(p.get_x()), float(p.get_height())) for p in ax.patches]
    [(0.0, 2.0), (1.0, 1.0)]
    >>> [p.get_facecolor() == ax.patches[0].get_facecolor() for p in ax.patches]
    [True, False]
    >>> running = ax.figure.axes[1].get_lines()[0]  # the step line, on the right scale
    >>> list(zip(running.get_xdata().tolist(), running.get_ydata().tolist()))
    [(0.0, 1), (1.0, 2), (2.0, 1), (3.0, 0)]
    """
    bars = batch_bars(source)
    sz = style.STYLE.size(size)
    ax = style.use_axes(ax, sz.figsize)
    span = max((b.end for b in bars), default=1.0) - min((b.start for b in bars), default=0.0)
    shortest = min((b.end - b.start for b in bars if b.end > b.start), default=span or 1.0)
    # as wide as the shortest invocation, but never too thin to see nor wider than 1/40 of the run
    width = max(min(shortest, (span or 1.0) / 40), (span or 1.0) / 60)
    shown: set[str] = set()
    for bar in bars:
        ok, failed = bar.records - bar.failed, bar.failed
        timed_out = bar.outcome == "timeout"
        for part, bottom, kind in (
            (ok, bar.bottom, "processed"),
            (failed, bar.bottom + ok, "failed (timeout)" if timed_out else "failed"),
        ):
            if not part:
                continue
            ax.bar(
                bar.start,
                part,
                width=width,
                bottom=bottom,
                align="edge",
                color=PART_COLOURS[kind],
                hatch="//" if timed_out and kind != "processed" else None,
                edgecolor="white",
                linewidth=sz.line * 0.5,
                label=None if kind in shown else kind,
            )
            shown.add(kind)
    style.describe(ax, sz, title=title, xlabel="lab time (s)", ylabel="records in the batch")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    extra: list[Any] = []
    running = running_at_once(bars)
    if running:
        right = ax.twinx()
        right.step(
            [t for t, _ in running],
            [n for _, n in running],
            where="post",
            color=style.BLACK,
            linewidth=sz.line,
            label="invocations running",
        )
        right.set_ylabel("invocations running", fontsize=sz.font)
        right.tick_params(labelsize=sz.font * 0.9)
        right.yaxis.get_major_locator().set_params(integer=True)
        right.set_ylim(0, max(n for _, n in running) * 1.15 + 0.1)
        extra = right.get_lines()
    order = {k: i for i, k in enumerate(PART_COLOURS)}
    handles, labels = ax.get_legend_handles_labels()
    pairs = sorted(zip(labels, handles, strict=True), key=lambda p: order.get(p[0], 99))
    if pairs:
        handles = [h for _, h in pairs] + extra
        style.lines_legend(ax, sz, len(handles), handles=handles)
    return ax
