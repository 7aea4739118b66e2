"""EventBridge schedule expressions: ``rate(...)`` and six-field ``cron(...)``, parsed and stepped.

Pure (standard library only): what AWS accepts and when each expression fires next.
`labkit.moto_patches.events_schedules` fires scheduled rules on the lab's clock with it, and
refuses at PutRule what AWS refuses.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

__all__ = ["InvalidSchedule", "Schedule", "parse_schedule"]


class InvalidSchedule(ValueError):
    """A schedule expression AWS refuses: what was expected, what was found, what to do."""

    def __init__(self, expected: str, found: str, hint: str) -> None:
        super().__init__(f"Expected {expected}, found {found}. What to do: {hint}")
        self.expected, self.found, self.hint = expected, found, hint


@dataclass(frozen=True)
class Schedule:
    """A parsed ScheduleExpression: ``rate(5 minutes)`` or ``cron(0 12 * * ? *)``.

    >>> s = parse_schedule("rate(5 minutes)")
    >>> start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    >>> s.next_after(start).isoformat()
    '2026-01-05T09:05:00+00:00'
    >>> parse_schedule("cron(0 18 ? * MON-FRI *)").next_after(start).isoformat()
    '2026-01-05T18:00:00+00:00'
    """

    expression: str
    rate: float = 0.0  # seconds, for rate()
    fields: tuple[frozenset[int] | None, ...] = ()  # minute, hour, dom, month, dow, year
    last_day: bool = False  # "L" in day-of-month

    def next_after(self, after: dt.datetime, anchor: dt.datetime | None = None) -> dt.datetime:
        """The first firing strictly after `after` (rates count from `anchor`, the creation)."""
        if self.rate:
            base = anchor or after
            elapsed = (after - base).total_seconds()
            steps = int(elapsed // self.rate) + 1
            return base + dt.timedelta(seconds=steps * self.rate)
        minutes, hours, dom, months, dow, years = self.fields
        day = after.replace(second=0, microsecond=0)
        first = True
        for _ in range(366 * 6):
            if self._day_matches(day.date(), dom, months, dow, years):
                for hour in sorted(hours or range(24)):
                    for minute in sorted(minutes or range(60)):
                        at = day.replace(hour=hour, minute=minute)
                        if at > after or (not first and at >= day):
                            if at > after:
                                return at
            day = (day + dt.timedelta(days=1)).replace(hour=0, minute=0)
            first = False
        raise InvalidSchedule(
            "a cron expression that fires within the next five years",
            self.expression,
            "check the day-of-month, month and year fields",
        )

    def _day_matches(
        self,
        day: dt.date,
        dom: frozenset[int] | None,
        months: frozenset[int] | None,
        dow: frozenset[int] | None,
        years: frozenset[int] | None,
    ) -> bool:
        if years is not None and day.year not in years:
            return False
        if months is not None and day.month not in months:
            return False
        if self.last_day and day.day != calendar.monthrange(day.year, day.month)[1]:
            return False
        if dom is not None and day.day not in dom:
            return False
        # AWS numbers days of the week 1-7 from Sunday
        return dow is None or (day.isoweekday() % 7) + 1 in dow


_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199))


def parse_schedule(expression: str) -> Schedule:
    """Parse an EventBridge ScheduleExpression, raising InvalidSchedule for what AWS rejects."""
    text = expression.strip()
    hint = "write rate(5 minutes), rate(1 hour) or cron(0 12 * * ? *) (six fields, UTC)"
    if text.startswith("rate(") and text.endswith(")"):
        parts = text[5:-1].split()
        units = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400}
        units["days"] = 86400
        if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in units:
            raise InvalidSchedule("rate(<value> <unit>)", expression, hint)
        value, unit = int(parts[0]), parts[1]
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise InvalidSchedule(
                "a positive value, singular unit for 1 (rate(1 minute)), plural otherwise",
                expression,
                hint,
            )
        return Schedule(text, rate=float(value * units[unit]))
    if text.startswith("cron(") and text.endswith(")"):
        parts = text[5:-1].split()
        if len(parts) != 6:
            raise InvalidSchedule(
                "six cron fields (minutes hours day-of-month month day-of-week year)",
                f"{len(parts)} in {expression}",
                hint,
            )
        if (parts[2] == "?") == (parts[4] == "?"):
            raise InvalidSchedule(
                "'?' in exactly one of day-of-month and day-of-week",
                expression,
                "AWS needs one of the two to be '?', e.g. cron(0 9 ? * MON-FRI *)",
            )
        last_day = parts[2] == "L"
        fields = tuple(
            None if (i == 2 and last_day) else _cron_field(p, i, expression)
            for i, p in enumerate(parts)
        )
        return Schedule(text, fields=fields, last_day=last_day)
    raise InvalidSchedule("a rate(...) or cron(...) expression", repr(expression), hint)


def _cron_field(text: str, index: int, expression: str) -> frozenset[int] | None:
    if text in ("*", "?"):
        return None
    low, high = _RANGES[index]
    names = _MONTHS if index == 3 else _DAYS if index == 4 else {}
    values: set[int] = set()

    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise InvalidSchedule(
                f"numbers{' or names' if names else ''} in cron field {index + 1}",
                f"{token!r} in {expression}",
                "labkit supports , - * / ? and L (last day of month) in cron fields",
            )
        return int(token)

    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = number(step_text)
        if part in ("*", ""):
            start, stop = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, stop = number(a), number(b)
        else:
            start = number(part)
            stop = high if "/" in text else start
        if not (low <= start <= high and low <= stop <= high) or step < 1:
            raise InvalidSchedule(
                f"values from {low} to {high} in cron field {index + 1}",
                f"{part!r} in {expression}",
                "check the ranges of each field",
            )
        values.update(range(start, stop + 1, step))
    return frozenset(values)
