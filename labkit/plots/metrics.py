"""CloudWatch metrics as ``get_metric_data`` answers them: one line per query, over lab time."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.plots import style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_metrics"]


@style.documented
def plot_metrics(
    answer: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    ax: Axes | None = None,
    size: str | None = None,
    title: str = "CloudWatch metrics",
) -> Axes:
    """Each metric of a ``get_metric_data`` answer as a line: its value per period.

    The x axis counts minutes from the earliest timestamp of the answer; a line is labelled
    with its query's ``Label`` (CloudWatch sets it to the metric's name when the query gave
    none).

    Parameters
    ----------
    answer : dict or list of dict
        ``cloudwatch.get_metric_data(...)`` as it came back, or its ``MetricDataResults``.
    %(drawing)s
    %(title)s

    %(returns)s

    Examples
    --------
    >>> import datetime as dt
    >>> nine = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    >>> answer = {"MetricDataResults": [{"Label": "NumberOfNotificationsFailed",
    ...     "Timestamps": [nine + dt.timedelta(minutes=2), nine], "Values": [1.0, 3.0]}]}
    >>> ax = plot_metrics(answer)
    >>> [(line.get_label(), line.get_xdata().tolist(), line.get_ydata().tolist())
    ...  for line in ax.get_lines()]
    [('NumberOfNotificationsFailed', [0.0, 2.0], [3.0, 1.0])]
    """
    results = answer.get("MetricDataResults") if isinstance(answer, Mapping) else answer
    if results is None or isinstance(results, str | bytes):
        raise LabError(
            "the answer of cloudwatch.get_metric_data(...), or its MetricDataResults",
            f"{type(answer).__name__} without MetricDataResults",
            "pass what get_metric_data returned: plot_metrics(cloudwatch.get_metric_data(...))",
        )
    sz = style.STYLE.size(size)
    ax = style.use_axes(ax, sz.figsize)
    stamps = sorted({t for r in results for t in r.get("Timestamps", [])})
    start = stamps[0] if stamps else None
    # the period: the shortest step between two timestamps; a longer step is a stretch without
    # data (CloudWatch answers only periods that have some), so the line breaks there
    period = min((b - a for a, b in zip(stamps, stamps[1:], strict=False)), default=None)
    for i, result in enumerate(results):
        points = sorted(zip(result.get("Timestamps", []), result.get("Values", []), strict=True))
        xs: list[float] = []
        ys: list[float] = []
        for k, (stamp, value) in enumerate(points):
            if k and period is not None and stamp - points[k - 1][0] > period:
                xs.append(math.nan)
                ys.append(math.nan)
            xs.append((stamp - start).total_seconds() / 60)
            ys.append(value)
        ax.plot(
            xs,
            ys,
            marker="o",
            label=str(result.get("Label") or result.get("Id", f"metric {i + 1}")),
            color=style.SERIES[i % len(style.SERIES)],
            linewidth=sz.line * 1.2,
        )
    values = [v for r in results for v in r.get("Values", [])]
    if values and all(float(v).is_integer() for v in values):
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 2.5 messages
    ax.set_xlabel("minutes of lab time", fontsize=sz.font)
    ax.set_ylabel("value per period", fontsize=sz.font)
    ax.tick_params(labelsize=sz.font * 0.9)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=sz.font * 1.3)
    if results:
        style.lines_legend(ax, sz, min(len(results), 2))
    return ax
