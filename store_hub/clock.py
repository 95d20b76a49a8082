"""The hub's one source of time; the domain never reads a clock itself."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that says what time it is."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return datetime.now(UTC)


class ShiftedClock:
    """Time that starts at a chosen instant and then runs at real speed.

    Replaying a trace recorded at a store against a hub means running the hub at the trace's
    time, because the EIDs in it are only valid around the moment they were recorded.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("clock start must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        """The start instant plus the real time elapsed since this clock was made."""
        return self._start + timedelta(seconds=time.monotonic() - self._origin)
