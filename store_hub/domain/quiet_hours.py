"""Windows of wall-clock time in a store's own time zone, and its local day (pure).

Quiet hours and "time of day" conditions are read off the store's clock on the wall, not UTC:
an instant is converted to the store's zone with zoneinfo and its local time compared with the
window. That is what makes them right across daylight-saving changes without special cases:
on a spring-forward night the skipped hour simply never shows on the clock (so a 22:00-08:00
window lasts 9 real hours), and on a fall-back night the repeated hour shows twice and is inside
the window both times (11 real hours).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def parse_hhmm(text: str) -> time:
    """A wall-clock time from 'HH:MM' (24-hour); ValueError otherwise."""
    match = _HHMM.fullmatch(text)
    if match is None:
        raise ValueError(f"not a 24-hour 'HH:MM' time: {text!r}")
    return time(int(match[1]), int(match[2]))


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def local_time(now: datetime, tz: ZoneInfo) -> datetime:
    """`now` as the store's wall clock shows it."""
    return _aware(now).astimezone(tz)


@dataclass(frozen=True)
class LocalWindow:
    """[start, end) of wall-clock time each day; start > end crosses midnight (22:00-07:00)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        """An empty window is a mistake, not a way to say 'never'."""
        if self.start == self.end:
            raise ValueError("a window's start and end must differ")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("a window is wall-clock time: no tzinfo")

    @property
    def crosses_midnight(self) -> bool:
        """True when the window runs from one evening into the next morning."""
        return self.start > self.end

    def contains(self, now: datetime, tz: ZoneInfo) -> bool:
        """Whether the store's clock at `now` shows a time inside the window."""
        wall = local_time(now, tz).time().replace(tzinfo=None)
        if self.crosses_midnight:
            return wall >= self.start or wall < self.end
        return self.start <= wall < self.end

    def to_dict(self) -> dict[str, str]:
        """JSON form: {'start': 'HH:MM', 'end': 'HH:MM'}."""
        return {"start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}


def local_date(now: datetime, tz: ZoneInfo) -> date:
    """The store's calendar date at `now`."""
    return local_time(now, tz).date()


def local_day_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the store's local day containing `now` (23 or 25 h on DST days).

    Caps "per day" count from the store's midnight, so this is the range a caller queries.
    """
    day = local_date(now, tz)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(UTC), end.astimezone(UTC)
